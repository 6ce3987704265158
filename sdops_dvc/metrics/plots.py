"""Plot data ``evaluate`` writes under reports/plots: aggregates only, never rows.

Every histogram bin and category holds at least ``report.min_bin_count`` real records, and
no bin edge sits on a real record's value.
"""

from __future__ import annotations

from typing import Any


def _round_edge(x: float) -> float:
    """An edge rounded to 3 significant digits, so it is not a real record's exact value."""
    return float(f"{x:.3g}")


def numeric_bins(values: Any, k: int, n_bins: int = 20) -> list[float]:
    """Interior bin edges for a numeric column such that every bin holds at least ``k`` of
    ``values``: equal-width edges between the k-th smallest and k-th largest value (so no
    edge sits on a real extreme, and the open first and last bins hold at least k), rounded
    to 3 significant digits, then adjacent bins merged until each has k. An empty list means
    one bin (fewer than 2k values)."""
    import numpy as np

    v = np.sort(np.asarray(values, dtype=float))
    if len(v) < 2 * k:
        return []
    lo, hi = v[k - 1], v[len(v) - k]
    if not hi > lo:
        return []
    edges = sorted({_round_edge(e) for e in np.linspace(lo, hi, n_bins + 1)})
    edges = [e for e in edges if v[0] < e < v[-1]]
    # merge: drop an edge while the bin it closes holds fewer than k values
    # bins are [a, b) as np.histogram counts them
    kept: list[float] = []
    start = 0
    for e in edges:
        below = int(np.searchsorted(v, e, side="left"))
        if below - start >= k and len(v) - below >= k:
            kept.append(e)
            start = below
    return kept


def marginals(
    real: Any, synthetic: Any, sdtypes: dict[str, str], k: int
) -> dict[str, list[dict[str, Any]]]:
    """Per column: shares of real and synthetic rows per bin. Numbers: bins that each hold at
    least ``k`` real records, with edges off the real extremes (:func:`numeric_bins`);
    categories: those held by at least ``k`` real records, the rest pooled as "(other)" (itself
    grown until it holds k). No bin describes fewer than k real records."""
    import pandas as pd

    out: dict[str, list[dict[str, Any]]] = {}
    for col, sd in sdtypes.items():
        if col not in real.columns:
            continue
        r, s = real[col].dropna(), synthetic[col].dropna()
        if sd in ("numerical", "datetime") and pd.api.types.is_numeric_dtype(r) and len(r):
            out[col] = _numeric_marginal(r, s, k)
        elif sd in ("categorical", "boolean", "ordinal"):
            out[col] = _category_marginal(r, s, k)
    return out


def _numeric_marginal(r: Any, s: Any, k: int) -> list[dict[str, Any]]:
    """Shares of real and synthetic values per bin of at least ``k`` real records."""
    import numpy as np
    import pandas as pd

    edges = numeric_bins(r.to_numpy(), k)
    bounds = [-np.inf, *edges, np.inf]
    rc = np.histogram(r.to_numpy(dtype=float), bounds)[0]
    sc = np.histogram(pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float), bounds)[0]
    rows = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        label = (
            f"< {b:g}"
            if not np.isfinite(a) and np.isfinite(b)
            else f">= {a:g}"
            if np.isfinite(a) and not np.isfinite(b)
            else "all"
            if not np.isfinite(a)
            else f"[{a:g}, {b:g})"
        )
        rows.append(
            {
                "bin": label,
                "real": round(float(rc[i] / max(1, len(r))), 6),
                "synthetic": round(float(sc[i] / max(1, len(s))), 6),
            }
        )
    return rows


def _category_marginal(r: Any, s: Any, k: int) -> list[dict[str, Any]]:
    """Shares of the categories held by at least ``k`` real records, the rest "(other)"."""
    from sdops_dvc.metrics.schema import canonical_categories

    counts = canonical_categories(r).value_counts()
    sv = canonical_categories(s).value_counts(normalize=True)
    keep = [c for c in counts.index[:30] if counts[c] >= k]
    # the pooled rest must hold k real records too: fold the smallest kept ones in
    while keep and 0 < counts.drop(keep).sum() < k:
        keep.pop()
    keep = _by_value(keep)
    rows = [
        {
            "bin": str(c),
            "real": round(float(counts[c] / max(1, len(r))), 6),
            "synthetic": round(float(sv.get(c, 0.0)), 6),
        }
        for c in keep
    ]
    other_r = float(counts.drop(keep).sum()) / max(1, len(r))
    other_s = float(sv.drop([c for c in keep if c in sv.index]).sum())
    if other_r > 0 or other_s > 1e-4:
        rows.append({"bin": "(other)", "real": round(other_r, 6), "synthetic": round(other_s, 6)})
    return rows


def _by_value(labels: list[Any]) -> list[Any]:
    """Category labels in value order when every label is a number (education 12 < 13 < 14,
    not the order of appearance or of frequency), else as given."""
    try:
        return sorted(labels, key=lambda v: float(v))
    except (TypeError, ValueError):
        return labels


def dcr_histogram(d_tr: Any, d_ho: Any) -> list[dict[str, Any]]:
    import numpy as np

    hi = float(max(np.max(d_tr) if len(d_tr) else 0, np.max(d_ho) if len(d_ho) else 0, 1e-9))
    edges = np.linspace(0, hi, 31)
    a, _ = np.histogram(d_tr, edges)
    b, _ = np.histogram(d_ho, edges)
    return [
        {
            "distance": round(float((edges[i] + edges[i + 1]) / 2), 6),
            "synthetic_to_train": round(float(a[i] / max(1, len(d_tr))), 6),
            "synthetic_to_holdout": round(float(b[i] / max(1, len(d_ho))), 6),
        }
        for i in range(30)
    ]
