"""Reports for reviewers: a self-contained ``report.html`` (plots inline as SVG) and a
``report.md`` short enough for a pull-request comment. Aggregates only: no real rows."""

from __future__ import annotations

import csv
from html import escape
from pathlib import Path
from typing import Any

from sdops_dvc.base.fsutil import write_text_atomic
from sdops_dvc.domain.config import Params
from sdops_dvc.domain.metric_table import METRICS, Goal, Metric, get as _get
from sdops_dvc.report import svg


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def metric_rows(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, value, threshold) of every metric the metric table gates or summarises; a
    single table's report leaves out the related-tables metrics (they do not apply)."""
    single = _get(metrics, "relational.tables") is None
    unconditioned = not _get(metrics, "conditions.groups")
    return [
        (m.label[0].upper() + m.label[1:], _fmt(_get(metrics, m.key)), _bound(m, thresholds))
        for m in METRICS
        if m.shown
        and not (single and m.family == "relational")
        and not (unconditioned and m.family == "conditions")
    ]


def _bound(m: Metric, thresholds: dict[str, Any]) -> str:
    """``<= 0.55`` when the threshold bounds the metric itself; its name and value when it
    bounds something the gate derives from it (the excess of train over holdout copies)."""
    t = m.threshold
    limit = _get(thresholds, f"{t.gate}.{t.name}") if t else None
    if t is None or limit is None:
        return ""
    if t.of_metric:
        return f"{'>=' if m.goal is Goal.MAXIMIZE else '<='} {limit}"
    return f"{t.name}: {limit}"


def candidate_line(metrics: dict[str, Any], params: Params | None) -> str:
    """What was evaluated: generator family and seed, source snapshot, the sdops-dvc version
    it ran with, and how many column pairs Column Pair Trends counted.
    (Not the git commit: a report committed with its own commit could never be reproduced
    byte for byte; `git log reports/report.md` names it.)"""
    from sdops_dvc import __version__

    parts = []
    if params is not None:
        g = params.generator
        parts.append(f"generator {g.family}, seed {g.seed}")
        snap = params.source.snapshot_id or "no id"
        parts.append(f"source snapshot {snap} (md5 {(params.source.md5 or '?')[:12]})")
    parts.append(f"sdops-dvc {__version__}")
    q = metrics.get("quality") or {}
    if q.get("column_pairs_counted") is not None:
        parts.append(f"column pairs counted in Column Pair Trends: {q['column_pairs_counted']}")
    return "; ".join(parts)


def md(text: object) -> str:
    """A value from the data or the params, safe inside Markdown text and table cells: HTML
    markup becomes entities (category values such as ``<script>`` render as text, also where
    a forge allows inline HTML) and a cell separator is escaped."""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;")  # no tag can open without "<"
    return out.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    metrics: dict[str, Any],
    gate: dict[str, Any],
    params: Params | None,
    candidate: str = "",
    details: dict[str, Any] | None = None,
) -> str:
    details = details or {}
    name = md(params.dataset.name if params else "synthetic table")
    verdict = "APPROVED" if gate["approved"] else "BLOCKED"
    lines = [f"## sdops-dvc gate: {name} — **{verdict}**", ""]
    if candidate:
        lines += [f"Candidate: {md(candidate)}.", ""]
    for note in gate.get("review_notes", []):
        lines += [f"> **Review:** {md(note)}", ""]
    lines.append("| gate | result |")
    lines.append("| --- | --- |")
    for g, o in gate["gates"].items():
        state = "skipped" if not o["enabled"] else ("passed" if o["passed"] else "**FAILED**")
        lines.append(f"| {g} | {state} |")
    if gate["failures"]:
        lines += ["", "**Why it is blocked:**", ""]
        lines += [f"- {md(f)}" for f in gate["failures"][:20]]
        if len(gate["failures"]) > 20:
            lines.append(f"- ... and {len(gate['failures']) - 20} more (see gate.json)")
    lines += budget_lines(gate.get("budget"))
    lines += ["", "| metric | value | threshold |", "| --- | --- | --- |"]
    rows_ = metric_rows(metrics, gate["thresholds"])
    lines += [f"| {md(a)} | {md(b)} | {md(c)} |" for a, b, c in rows_]
    for title, header, rows in relational_tables(details) + conditions_tables(details):
        lines += ["", f"**{md(title)}**", "", "| " + " | ".join(md(h) for h in header) + " |"]
        lines += ["| " + " | ".join("---" for _ in header) + " |"]
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    r = metrics.get("rows", {})
    lines += [
        "",
        f"Rows: train {r.get('train')}, holdout {r.get('holdout')}, synthetic {r.get('synthetic')}. "
        "Full report: `reports/report.html`.",
    ]
    return "\n".join(lines) + "\n"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1 span.ok{color:#1a7f37}h1 span.bad{color:#cf222e}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
.review{background:#fff3cd;border:2px solid #e0a800;padding:.8em;margin:1em 0;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:8px}.fail{color:#cf222e}.note{color:#555;font-size:12px}"""


def conditions_tables(details: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """Rebalanced generation's data view (title, header, rows): each group's rows against
    its target, its privacy on the rebalanced rows, and a model trained on them. Empty
    without generator.conditions. Counts of real records below report.min_bin_count are
    withheld (n/a)."""
    c = details.get("conditions")
    if not c:
        return []
    out = [
        (
            "Rebalanced output (the data view): rows against the declared targets. "
            f"Why: {c['rationale']}",
            ["group", "target rows", "rows", "share", "train records"],
            [
                [
                    t["group"],
                    _fmt(t["target_rows"]),
                    _fmt(t["rows"]),
                    _fmt(t["share"]),
                    _fmt(t["train_rows"]),
                ]
                for t in c["targets"]
            ],
        ),
        (
            "Rebalanced output: privacy per group (its rows against the group's train and "
            f"holdout records; gated with at least {c['min_size']} holdout records)",
            [
                "group",
                "gated",
                "copies of train",
                "copies of holdout",
                "McNemar p",
                "DCR share",
                "DCR p",
            ],
            [
                [
                    g["group"],
                    str(g["gated"]),
                    _fmt(g["copies_train"]),
                    _fmt(g["copies_holdout"]),
                    _fmt(g["copies_p_value"]),
                    _fmt(g["dcr_share"]),
                    _fmt(g["dcr_p_value"]),
                ]
                for g in c["privacy"]
            ],
        ),
    ]
    return out + _rebalanced_model_table(c)


def _rebalanced_model_table(c: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """Utility and fairness of a model trained on the rebalanced rows (none: no section)."""
    u, fair = c.get("utility"), c.get("fairness") or []
    if not (u or fair):
        return []
    rows = [["utility (TSTR / TRTR)", _fmt(u["tstr"]), _fmt(u["trtr"]), ""]] if u else []
    rows += [
        [
            f"{f['column']}: {f['measure']}",
            _fmt(f["synthetic_model"]),
            _fmt(f["real_model"]),
            _fmt(f["increase"]),
        ]
        for f in fair
    ]
    return [
        (
            "Rebalanced output: a model trained on it against one trained on real rows "
            "(holdout; reported, the fairness gate judges the model sample)",
            ["measure", "trained on rebalanced", "trained on real", "increase"],
            rows,
        )
    ]


def relational_tables(details: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The related tables' sections (title, header, rows): each table's rows and copies, each
    relationship's integrity, cardinality and inter-table trends. Empty for one table."""
    rel = details.get("relational")
    if not rel:
        return []
    tables = [
        [
            name + (" (entity)" if name == rel.get("entity") else ""),
            _fmt(t["rows_train"]),
            _fmt(t["rows_holdout"]),
            _fmt(t["rows_synthetic"]),
            _fmt(t.get("duplicate_key_share")),
            "kept whole" if t.get("kept_whole") else _fmt(t.get("copies_train")),
            "" if t.get("kept_whole") else _fmt(t.get("copies_holdout")),
        ]
        for name, t in rel["tables"].items()
    ]
    relationships = [
        [
            label,
            _fmt(r["orphan_share_real"]),
            _fmt(r["orphan_share_synthetic"]),
            _fmt(r["cardinality_shape"]),
            _fmt(r["cardinality_bounds"]),
            _fmt(r["intertable_trends"]),
        ]
        for label, r in rel["relationships"].items()
    ]
    return [
        (
            "Related tables",
            [
                "table",
                "train rows",
                "holdout rows",
                "synthetic rows",
                "duplicate keys",
                "copies of train",
                "copies of holdout",
            ],
            tables,
        ),
        (
            "Relationships",
            [
                "relationship",
                "orphans (real)",
                "orphans (synthetic)",
                "cardinality shape",
                "within real bounds",
                "inter-table trends",
            ],
            relationships,
        ),
    ]


def budget_lines(budget: dict[str, Any] | None) -> list[str]:
    """The privacy-budget section: spent, this release, remaining, cap changes."""
    if not budget:
        return []
    cap = budget.get("cap") or {}
    this = budget.get("this_release") or {}
    lines = ["", "**Privacy budget** (scope `" + str(budget.get("scope", ""))[:23] + "…`):", ""]
    before, after = budget.get("before"), budget.get("after")
    if this.get("formal_guarantee"):
        lines.append(
            f"- this release: {this.get('mechanism')} rho {this.get('rho'):.4g}, "
            f"epsilon {this.get('epsilon')} at delta {this.get('delta')}"
            + ("" if this.get("counted", True) else " (measurement already spent: no new spend)")
        )
    else:
        lines.append("- this release: no formal guarantee (mechanism none)")
    if cap.get("epsilon") is None:
        lines.append("- cap: none set (budget.epsilon is null)")
    else:
        if before:
            lines.append(
                f"- spent before: epsilon {before['epsilon']:.4g} (rho {before['rho']:.4g}) "
                f"in {budget.get('releases_in_scope', 0)} release(s)"
            )
        if after:
            lines.append(
                f"- after this release: epsilon {after['epsilon']:.4g} of {cap['epsilon']} at "
                f"delta {cap['delta']}; remaining epsilon {after['remaining_epsilon']:.4g}"
                + ("" if after["within"] else " — OVER THE CAP")
            )
    lines += [f"- {n.removeprefix('budget: ')}" for n in budget.get("notes", []) if "cap " in n]
    return lines


def render_html(
    out_dir: Path,
    metrics: dict[str, Any],
    details: dict[str, Any],
    gate: dict[str, Any],
    params: Params | None,
    candidate: str = "",
) -> str:
    """The report page: verdict, gates, budget, key metrics, the relational and conditions
    tables, then quality, privacy, subgroups, fairness and samples (aggregates only)."""
    name = escape(params.dataset.name if params else "synthetic table")
    ok = gate["approved"]
    h = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>sdops-dvc report: {name}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{name}: <span class='{'ok' if ok else 'bad'}'>{'APPROVED' if ok else 'BLOCKED'}</span></h1>",
    ]
    if candidate:
        h.append(f"<p class='note'>Candidate: {escape(candidate)}.</p>")
    for note in gate.get("review_notes", []):
        h.append(f"<div class='review'>{escape(note)}</div>")
    h += _gates_html(metrics, details, gate)
    h += _quality_html(out_dir, details, gate)
    h += _privacy_html(out_dir, details)
    h += _subgroups_html(details.get("subgroups", []))
    h += fairness_html(details.get("fairness") or {})
    h.append("<h2>Samples and seeds</h2><table>")
    for k, v in details.get("samples", {}).items():
        h.append(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>")
    h.append(
        "</table><p class='note'>Aggregates only: this report contains no rows of the real data. "
        "Generated by sdops-dvc.</p></body></html>"
    )
    return "".join(h)


def _gates_html(
    metrics: dict[str, Any], details: dict[str, Any], gate: dict[str, Any]
) -> list[str]:
    """Each gate's result and reasons, the privacy budget, the key metrics against their
    thresholds, and the relational and conditions tables."""
    h = ["<h2>Gates</h2><table><tr><th>gate</th><th>result</th><th>reasons</th></tr>"]
    for g, o in gate["gates"].items():
        state = (
            "skipped"
            if not o["enabled"]
            else ("passed" if o["passed"] else "<b class='fail'>FAILED</b>")
        )
        reasons = "<br>".join(escape(f) for f in o["failures"] + o.get("notes", []))
        h.append(f"<tr><td>{g}</td><td>{state}</td><td>{reasons}</td></tr>")
    budget = budget_lines(gate.get("budget"))
    if budget:
        h.append("</table><h2>Privacy budget</h2><ul>")
        h += [f"<li>{escape(line.lstrip('- '))}</li>" for line in budget if line.startswith("- ")]
        h.append("</ul><table>")
    h.append(
        "</table><h2>Key metrics</h2><table><tr><th>metric</th><th>value</th><th>threshold</th></tr>"
    )
    h += [
        f"<tr><td>{a}</td><td>{b}</td><td>{escape(c)}</td></tr>"
        for a, b, c in metric_rows(metrics, gate["thresholds"])
    ]
    h.append("</table>")
    for title, header, rows in relational_tables(details) + conditions_tables(details):
        h.append(f"<h2>{escape(title)}</h2><table><tr>")
        h += [f"<th>{escape(c)}</th>" for c in header]
        h.append("</tr>")
        h += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows]
        h.append("</table>")
    return h


def _quality_html(out_dir: Path, details: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """Column shapes per column and the marginal plots."""
    h = []
    cs = details.get("column_shapes", {})
    if cs:
        th = _get(gate["thresholds"], "quality.min_column_shapes")
        h.append(
            "<h2>Quality</h2>"
            + svg.hbars("Column shapes per column", list(cs.items()), threshold=th)
        )
    marg_dir = out_dir / "plots" / "marginals"
    if marg_dir.exists():
        h.append("<h3>Marginals: real (blue) vs synthetic (orange)</h3><div class='grid'>")
        for f in sorted(marg_dir.glob("*.csv")):
            h.append(svg.paired_bars(f.stem, _read_csv(f), "bin", "real", "synthetic"))
        h.append("</div>")
    return h


def _privacy_html(out_dir: Path, details: dict[str, Any]) -> list[str]:
    """The distances to closest record and each attack's risk."""
    dcr = _read_csv(out_dir / "plots" / "dcr.csv")
    h = ["<h2>Privacy</h2>"]
    if dcr:
        h.append(
            svg.paired_bars(
                "Distance to closest record: to train (red) vs to holdout (green)",
                dcr,
                "distance",
                "synthetic_to_train",
                "synthetic_to_holdout",
                colors=(svg.TRAIN, svg.HOLD),
                width=640,
            )
        )
    priv = details.get("privacy", {})
    h.append(
        "<table><tr><th>attack</th><th>risk</th><th>95% CI</th><th>attacks</th><th>successes</th><th>control</th></tr>"
    )
    risks = [("singling out", priv.get("singling_out")), ("linkability", priv.get("linkability"))]
    risks += [(f"inference ({r.get('secret')})", r) for r in priv.get("inference", [])]
    for label, r in risks:
        if r:
            h.append(
                f"<tr><td>{escape(label)}</td><td>{r['risk']:.4f}</td><td>[{r['ci_low']:.4f}, {r['ci_high']:.4f}]</td>"
                f"<td>{r['n_attacks']}</td><td>{_fmt(r['n_success'])}</td><td>{_fmt(r['n_control'])}</td></tr>"
            )
    h.append("</table>")
    h.append(
        f"<p class='note'>Quasi-identifiers: {escape(', '.join(priv.get('quasi_identifiers', [])))}; "
        f"sensitive: {escape(', '.join(priv.get('sensitive', [])) or 'none')}.</p>"
    )
    return h


def _subgroups_html(groups: list[dict[str, Any]]) -> list[str]:
    """Each subgroup's shares, shapes and TSTR with their gaps, worst first."""
    if not groups:
        return []
    h = [
        "<h2>Subgroups (worst first)</h2><table><tr><th>group</th><th>gated</th><th>real rows</th>"
        "<th>real share</th><th>synthetic share</th><th>column shapes</th><th>TSTR</th>"
        "<th>shapes gap</th><th>TSTR gap</th><th>notes</th></tr>"
    ]
    for g in groups:
        h.append(
            f"<tr><td>{escape(g['column'])}={escape(g['group'])}</td><td>{g['gated']}</td>"
            f"<td>{g['real_rows']}</td><td>{_fmt(g['real_share'])}</td><td>{_fmt(g['synthetic_share'])}</td>"
            f"<td>{_fmt(g['column_shapes'])}</td><td>{_fmt(g['tstr'])}</td>"
            f"<td>{_fmt(g['column_shapes_gap'])}</td><td>{_fmt(g['tstr_gap'])}</td>"
            f"<td>{escape('; '.join(g['notes']))}</td></tr>"
        )
    h.append("</table>")
    h.append(
        svg.hbars("TSTR per group", [(f"{g['column']}={g['group']}", g["tstr"]) for g in groups])
    )
    return h


_RATES = {
    "selection_rate": "selection rate",
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "mean_absolute_error": "MAE",
}


def fairness_html(block: dict[str, Any]) -> list[str]:
    """The fairness section: per protected column, each measure for the model trained on
    synthetic rows and the one trained on real rows, and every group's rates side by side."""
    if not block.get("groups") and not block.get("notes"):
        return []
    h = [
        "<h2>Fairness: model trained on synthetic vs on real rows (holdout)</h2>",
        "<table><tr><th>protected column</th><th>measure</th><th>trained on synthetic</th>"
        "<th>trained on real</th><th>increase</th><th>bootstrap SE</th><th>p</th></tr>",
    ]
    for c in block.get("comparisons") or []:
        h.append(
            f"<tr><td>{escape(str(c['column']))}</td><td>{escape(str(c['measure']))}</td>"
            f"<td>{_fmt(c['synthetic_model'])}</td><td>{_fmt(c['real_model'])}</td>"
            f"<td>{_fmt(c['increase'])}</td><td>{_fmt(c['se'])}</td><td>{_fmt(c['p_value'])}</td></tr>"
        )
    h.append("</table>")
    for col, groups in (block.get("groups") or {}).items():
        names = list((groups[0]["synthetic_model"] if groups else {}).keys())
        head = "".join(
            f"<th>{_RATES.get(n, n)} (synthetic)</th><th>{_RATES.get(n, n)} (real)</th>"
            for n in names
        )
        h.append(
            f"<h3>{escape(str(col))}</h3><table><tr><th>group</th><th>holdout rows</th>"
            f"<th>gated</th>{head}</tr>"
        )
        for g in groups:
            cells = "".join(
                f"<td>{_fmt(g['synthetic_model'][n])}</td><td>{_fmt(g['real_model'][n])}</td>"
                for n in names
            )
            h.append(
                f"<tr><td>{escape(str(g['group']))}</td><td>{g['holdout_rows']}</td>"
                f"<td>{g['gated']}</td>{cells}</tr>"
            )
        h.append("</table>")
    h += [f"<p class='note'>{escape(str(n))}</p>" for n in block.get("notes") or []]
    return h


def render_reports(
    out_dir: Path,
    metrics: dict[str, Any],
    details: dict[str, Any],
    gate: dict[str, Any],
    params: Params | None,
) -> None:
    candidate = candidate_line(metrics, params)
    write_text_atomic(
        out_dir / "report.md", render_markdown(metrics, gate, params, candidate, details)
    )
    write_text_atomic(
        out_dir / "report.html", render_html(out_dir, metrics, details, gate, params, candidate)
    )
