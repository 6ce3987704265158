"""Tiny inline-SVG charts: self-contained reports without a plotting dependency."""

from __future__ import annotations

from html import escape

REAL, SYN, TRAIN, HOLD = "#4c72b0", "#dd8452", "#c44e52", "#55a868"


def paired_bars(
    title: str,
    rows: list[dict[str, object]],
    key: str,
    a: str,
    b: str,
    colors: tuple[str, str] = (REAL, SYN),
    width: int = 340,
    height: int = 150,
) -> str:
    """Side-by-side bars of two shares per bin (e.g. real vs synthetic marginal)."""
    n = max(1, len(rows))
    top = max([float(r[a] or 0) for r in rows] + [float(r[b] or 0) for r in rows] + [1e-9])  # type: ignore[arg-type]
    pad, plot_h = 18, height - 36
    bw = (width - 2 * pad) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="{pad}" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
    ]
    for i, r in enumerate(rows):
        for k, (field, color) in enumerate(((a, colors[0]), (b, colors[1]))):
            v = float(r[field] or 0)  # type: ignore[arg-type]
            h = plot_h * v / top
            x = pad + i * bw + k * bw / 2
            parts.append(
                f'<rect x="{x:.1f}" y="{20 + plot_h - h:.1f}" width="{max(bw / 2 - 1, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(str(r[key]))}: {field} {v:.3f}</title></rect>'
            )
    if rows and len(rows) <= 12:
        for i, r in enumerate(rows):
            label = escape(str(r[key]))[:10]
            parts.append(
                f'<text x="{pad + (i + 0.5) * bw:.1f}" y="{height - 4}" font-size="8" text-anchor="middle">{label}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def hbars(
    title: str,
    items: list[tuple[str, float | None]],
    lo: float = 0.0,
    hi: float = 1.0,
    threshold: float | None = None,
    width: int = 520,
) -> str:
    """Horizontal bars, one per label (e.g. per-column scores), with an optional threshold."""
    row_h, left = 16, 170
    height = 24 + row_h * max(1, len(items))
    span = (hi - lo) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="4" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        y = 18 + i * row_h
        parts.append(
            f'<text x="{left - 4}" y="{y + 11}" font-size="10" text-anchor="end">{escape(label)[:28]}</text>'
        )
        if value is None:
            parts.append(f'<text x="{left + 2}" y="{y + 11}" font-size="10">n/a</text>')
            continue
        w = max(0.0, min(1.0, (value - lo) / span)) * (width - left - 50)
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" fill="{REAL}"/>'
        )
        parts.append(f'<text x="{left + w + 3:.1f}" y="{y + 11}" font-size="9">{value:.3f}</text>')
    if threshold is not None:
        x = left + max(0.0, min(1.0, (threshold - lo) / span)) * (width - left - 50)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="16" y2="{height}" stroke="#c00" stroke-dasharray="3,2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend(
    title: str,
    points: list[tuple[str, float | None, bool]],
    threshold: float | None = None,
    width: int = 300,
    height: int = 140,
) -> str:
    """One metric across releases: a line through the versions (``(label, value, live)``;
    revoked or retired releases drawn hollow), with the gate's threshold dashed."""
    pad_l, pad_r, top, bottom = 34, 22, 20, 22
    values = [v for _, v, _ in points if v is not None] + (
        [threshold] if threshold is not None else []
    )
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
    plot_w, plot_h = width - pad_l - pad_r, height - top - bottom
    step = plot_w / max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (i * step if len(points) > 1 else plot_w / 2)
        return x, top + plot_h * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'class="trend"><title>{escape(title)}</title>',
        f'<text x="4" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
        f'<text x="{pad_l - 3}" y="{top + 8}" font-size="8" text-anchor="end">{hi:.3g}</text>',
        f'<text x="{pad_l - 3}" y="{top + plot_h}" font-size="8" text-anchor="end">{lo:.3g}</text>',
        f'<line x1="{pad_l}" x2="{pad_l}" y1="{top}" y2="{top + plot_h}" stroke="#999"/>',
    ]
    if threshold is not None:
        _, y = xy(0, threshold)
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c00" '
            f'stroke-dasharray="3,2"><title>threshold {threshold:g}</title></line>'
        )
    line = [xy(i, v) for i, (_, v, _) in enumerate(points) if v is not None]
    if len(line) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{REAL}"/>')
    for i, (label, v, live) in enumerate(points):
        x = xy(i, lo)[0]
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" font-size="8" text-anchor="middle">'
            f"{escape(label)[:10]}</text>"
        )
        if v is None:
            continue
        _, y = xy(i, v)
        fill = REAL if live else "white"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{fill}" stroke="{REAL}">'
            f"<title>{escape(label)}: {v:.4g}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
