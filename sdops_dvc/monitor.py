"""``sdops monitor``: after release, is the real source drifting, is the release's utility
decaying on fresh real data, and are subgroups diverging first?

Compares a fresh real snapshot with the release's own source snapshot (read through DVC at
the release tag) and scores the release's synthetic data, as a training set, on the fresh
rows, against the TSTR recorded at release, overall and per declared subgroup.
Status: 0 healthy, 1 warning, 2 action needed.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdops_dvc.config import MonitorCfg, Params
from sdops_dvc.errors import ReleaseUnavailable
from sdops_dvc.fsutil import write_json_atomic, write_text_atomic

STATUS = {"healthy": 0, "warning": 1, "action": 2}
EPS = 1e-4


@dataclass
class Finding:
    level: str  # warning | action
    what: str


@dataclass
class MonitorResult:
    release: str
    status: str
    findings: list[Finding] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def exit_code(self) -> int:
        return STATUS[self.status]


def psi(expected: Any, actual: Any) -> float:
    """Population stability index over the given bin shares."""
    import numpy as np

    e = np.clip(np.asarray(expected, dtype=float), EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), EPS, None)
    return float(((a - e) * np.log(a / e)).sum())


def numeric_drift(base: Any, fresh: Any) -> dict[str, float]:
    import numpy as np
    from scipy.stats import ks_2samp

    b, f = base.dropna().astype(float), fresh.dropna().astype(float)
    if len(b) == 0 or len(f) == 0:
        return {"psi": math.nan, "ks": math.nan, "tv": math.nan}
    edges = np.unique(np.quantile(b, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    bs = np.histogram(b, edges)[0] / len(b)
    fs = np.histogram(f, edges)[0] / len(f)
    return {
        "psi": psi(bs, fs),
        "ks": float(ks_2samp(b, f).statistic),
        "tv": float(0.5 * np.abs(bs - fs).sum()),
    }


def categorical_drift(base: Any, fresh: Any) -> dict[str, Any]:
    b = base.astype("string").fillna("<null>").value_counts(normalize=True)
    f = fresh.astype("string").fillna("<null>").value_counts(normalize=True)
    cats = sorted(set(b.index) | set(f.index))
    bs = [float(b.get(c, 0.0)) for c in cats]
    fs = [float(f.get(c, 0.0)) for c in cats]
    return {
        "psi": psi(bs, fs),
        "ks": None,
        "tv": 0.5 * sum(abs(x - y) for x, y in zip(bs, fs, strict=True)),
        "new_categories": sorted(set(f.index) - set(b.index)),
        "vanished_categories": sorted(set(b.index) - set(f.index)),
    }


def _read_at(repo_root: Path, path: str, rev: str) -> Any:
    import dvc.api
    import pandas as pd

    with dvc.api.open(path, repo=str(repo_root), rev=rev, mode="rb") as fh:
        data = fh.read()
    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), sep="\t" if path.endswith(".tsv") else ",")


def run_monitor(
    root: Path, ref: str, fresh_path: Path, out_dir: Path, params: Params | None
) -> MonitorResult:
    import warnings

    from sdops_dvc.api import read_dataframe
    from sdops_dvc.metrics.learning import infer_task, score_model, utility
    from sdops_dvc.registry.releases import _git_file, _repo, manifest_at, resolve
    from sdops_dvc.tables import read_table

    cfg = params.monitor if params is not None else MonitorCfg()
    repo = _repo(root)
    top = Path(repo.working_tree_dir)
    rel = resolve(repo, ref, live_only=False)
    manifest = manifest_at(repo, rel.tag, top)
    if manifest is None:
        raise ReleaseUnavailable(f"{rel.tag} has no manifest")
    base = _read_at(top, manifest["source"]["path"], rel.tag)
    fresh = read_table(fresh_path, what="fresh snapshot")
    synthetic = read_dataframe(rel.tag, repo=top)
    meta_text = _git_file(repo.commit(rel.tag), manifest["source"]["metadata"]["path"])
    sdtypes = {}
    if meta_text:
        cols = next(iter(json.loads(meta_text)["tables"].values()))["columns"]
        sdtypes = {c: v.get("sdtype") for c, v in cols.items()}
    findings: list[Finding] = []

    # schema
    added = [c for c in fresh.columns if c not in base.columns]
    removed = [c for c in base.columns if c not in fresh.columns]
    if added or removed:
        findings.append(
            Finding(
                "action", f"schema changed: added {added or 'none'}, removed {removed or 'none'}"
            )
        )
    import pandas as pd

    retyped = [
        c
        for c in base.columns
        if c in fresh.columns
        and pd.api.types.is_numeric_dtype(base[c]) != pd.api.types.is_numeric_dtype(fresh[c])
    ]
    if retyped:
        findings.append(Finding("action", f"schema changed: column types differ for {retyped}"))

    # drift per column
    drift: dict[str, Any] = {}
    for c in base.columns:
        if c not in fresh.columns or sdtypes.get(c, "numerical") not in (
            "numerical",
            "datetime",
            "categorical",
            "boolean",
            "ordinal",
        ):
            continue
        numeric = (
            sdtypes.get(c) in ("numerical",)
            and pd.api.types.is_numeric_dtype(base[c])
            and pd.api.types.is_numeric_dtype(fresh[c])
        )
        d: dict[str, Any] = (
            dict(numeric_drift(base[c], fresh[c]))
            if numeric
            else categorical_drift(base[c], fresh[c])
        )
        drift[c] = {
            k: (round(v, 6) if isinstance(v, float) and not math.isnan(v) else v)
            for k, v in d.items()
        }
        for metric, warn, act in (
            ("psi", cfg.psi_warn, cfg.psi_action),
            ("ks", cfg.ks_warn, cfg.ks_action),
            ("tv", cfg.tv_warn, cfg.tv_action),
        ):
            v = d.get(metric)
            if isinstance(v, float) and not math.isnan(v):
                if v > act:
                    findings.append(
                        Finding("action", f"drift: {c} {metric.upper()} {v:.3f} > {act}")
                    )
                elif v > warn:
                    findings.append(
                        Finding("warning", f"drift: {c} {metric.upper()} {v:.3f} > {warn}")
                    )
        if d.get("new_categories"):
            findings.append(
                Finding(
                    "warning",
                    f"drift: {c} has categories the release never saw: {d['new_categories'][:5]}",
                )
            )
        if d.get("vanished_categories"):
            findings.append(
                Finding("warning", f"drift: {c} lost categories: {d['vanished_categories'][:5]}")
            )

    # utility decay, overall and per subgroup
    target = manifest["dataset"].get("target")
    recorded = (manifest.get("metrics") or {}).get("utility.tstr")
    util_rec: dict[str, Any] = {"target": target, "recorded_tstr": recorded}
    groups: list[dict[str, Any]] = []
    if target and target in fresh.columns and target in synthetic.columns:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shared = [c for c in synthetic.columns if c in fresh.columns and c in base.columns]
            task = infer_task(base[target], manifest["dataset"].get("task", "auto"))
            u = utility(
                base[shared],
                fresh[shared],
                synthetic[shared],
                target,
                task,
                seed=params.evaluation.seed if params else 0,
                max_rows=100_000,
                score_also=base[shared],
            )
        # the same model (trained on the released synthetic rows) scored on the release's own
        # source rows and on the fresh rows: only the real data differs between the two
        base_tstr = score_model(u.model_tstr, u.task, u.x_also, u.y_also)
        util_rec.update({"fresh_tstr": u.tstr, "source_tstr": base_tstr, "metric": u.metric})
        if base_tstr is not None and u.tstr is not None:
            decay = base_tstr - u.tstr
            util_rec["decay"] = decay
            msg = (
                f"utility: TSTR {u.tstr:.3f} on fresh data vs {base_tstr:.3f} on the release's "
                f"source (decay {decay:.3f}; {recorded} on the holdout at release)"
            )
            if decay > cfg.utility_decay_action:
                findings.append(Finding("action", msg))
            elif decay > cfg.utility_decay_warn:
                findings.append(Finding("warning", msg))
        columns = list(params.evaluation.subgroups.columns) if params else []
        for col in columns:
            if col not in fresh.columns or col not in base.columns:
                continue
            key_f = fresh[col].astype("string").fillna("<null>")
            key_b = base[col].astype("string").fillna("<null>")
            for g in sorted(set(key_f) | set(key_b)):
                rows_f = u.x_holdout.index.intersection(fresh.index[key_f == g])
                rows_b = u.x_also.index.intersection(base.index[key_b == g])
                fresh_g = score_model(
                    u.model_tstr, u.task, u.x_holdout.loc[rows_f], u.y_holdout.loc[rows_f]
                )
                base_g = score_model(
                    u.model_tstr, u.task, u.x_also.loc[rows_b], u.y_also.loc[rows_b]
                )
                decay_g = (base_g - fresh_g) if base_g is not None and fresh_g is not None else None
                entry: dict[str, Any] = {
                    "column": col,
                    "group": str(g),
                    "fresh_rows": len(rows_f),
                    "source_rows": len(rows_b),
                    "source_tstr": base_g,
                    "fresh_tstr": fresh_g,
                    "decay": decay_g,
                    "gated": min(len(rows_f), len(rows_b)) >= cfg.min_group_size,
                }
                groups.append(entry)
                if entry["gated"] and decay_g is not None:
                    msg = f"subgroup {col}={g}: TSTR {fresh_g:.3f} on fresh rows vs {base_g:.3f} on the source (decay {decay_g:.3f})"
                    if decay_g > cfg.utility_decay_action:
                        findings.append(Finding("action", msg))
                    elif decay_g > cfg.utility_decay_warn:
                        findings.append(Finding("warning", msg))
        groups.sort(key=lambda e: -(e["decay"] or -1.0))

    status = (
        "action"
        if any(f.level == "action" for f in findings)
        else "warning"
        if findings
        else "healthy"
    )
    if status == "healthy":
        advice = "healthy: keep the release"
    elif any(f.what.startswith(("schema", "drift")) for f in findings):
        advice = (
            "retrain: the source moved. Review the fresh snapshot, `sdops snapshot --id NEW_ID`, "
            "`dvc repro`, and release again; revoke this release if it now misleads"
        )
    else:
        advice = f"the release's utility decays: retrain from a fresh snapshot, or `sdops revoke {rel.tag} --kind utility`"
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    record = {
        "release": rel.tag,
        "name": rel.name,
        "version": str(rel.version),
        "checked_at": now,
        "status": status,
        "exit_code": STATUS[status],
        "recommendation": advice,
        "fresh": {"path": str(fresh_path), "rows": len(fresh)},
        "baseline_rows": len(base),
        "drift": drift,
        "utility": util_rec,
        "subgroups": groups,
        "findings": [{"level": f.level, "what": f.what} for f in findings],
        "summary": {
            "max_psi": max(
                (d["psi"] for d in drift.values() if isinstance(d.get("psi"), float)), default=0.0
            ),
            "max_ks": max(
                (d["ks"] for d in drift.values() if isinstance(d.get("ks"), float)), default=0.0
            ),
            "utility_decay": util_rec.get("decay"),
            "worst_group_decay": max(
                (g["decay"] for g in groups if g["gated"] and g["decay"] is not None), default=None
            ),
        },
    }
    write_json_atomic(out_dir / "monitor.json", record)
    write_text_atomic(out_dir / "monitor.md", _markdown(record))
    write_text_atomic(out_dir / "monitor.html", _html(record, cfg))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # unique per run, sorts by time
    history = top / "monitoring" / rel.name / f"{stamp}-{rel.version}.json"
    write_json_atomic(history, record)
    return MonitorResult(rel.tag, status, findings, record, history)


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        f"## sdops monitor: {r['release']} — **{r['status'].upper()}**",
        "",
        r["recommendation"],
        "",
    ]
    lines += [f"- {f['level']}: {f['what']}" for f in r["findings"]] or ["- no findings"]
    u = r["utility"]
    if u.get("fresh_tstr") is not None:
        lines += [
            "",
            f"TSTR at release {u.get('recorded_tstr')}, on fresh data {u['fresh_tstr']:.4f}.",
        ]
    return "\n".join(lines) + "\n"


def _html(r: dict[str, Any], cfg: MonitorCfg) -> str:
    """Self-contained report: findings, drift per column, utility decay per subgroup."""
    from html import escape

    from sdops_dvc.report import CSS, svg

    color = {"healthy": "ok", "warning": "bad", "action": "bad"}[r["status"]]
    h = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>sdops monitor: {escape(r['release'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(r['release'])}: <span class='{color}'>{r['status'].upper()}</span></h1>",
        f"<div class='review'>{escape(r['recommendation'])}</div><ul>",
        *[f"<li>{escape(f['level'])}: {escape(f['what'])}</li>" for f in r["findings"]],
        "</ul>" if r["findings"] else "<p>No findings.</p></ul>",
        f"<p class='note'>Checked {escape(r['checked_at'])}: {r['fresh']['rows']} fresh rows against "
        f"{r['baseline_rows']} rows of the release's source snapshot.</p>",
    ]
    psis = [
        (c, d.get("psi") if isinstance(d.get("psi"), float) else None)
        for c, d in r["drift"].items()
    ]
    top = max([v for _, v in psis if v is not None] + [cfg.psi_action * 1.2])
    h.append(
        "<h2>Drift</h2>"
        + svg.hbars(
            "PSI per column (red line: action threshold)", psis, hi=top, threshold=cfg.psi_action
        )
    )
    h.append(
        "<table><tr><th>column</th><th>PSI</th><th>KS</th><th>TV</th><th>new categories</th>"
        "<th>vanished</th></tr>"
    )
    for c, d in r["drift"].items():

        def f(x: Any) -> str:
            return f"{x:.4f}" if isinstance(x, float) else ""

        h.append(
            f"<tr><td>{escape(c)}</td><td>{f(d.get('psi'))}</td><td>{f(d.get('ks'))}</td><td>{f(d.get('tv'))}</td>"
            f"<td>{escape(', '.join(d.get('new_categories', [])[:5]))}</td>"
            f"<td>{escape(', '.join(d.get('vanished_categories', [])[:5]))}</td></tr>"
        )
    h.append("</table>")
    u = r["utility"]
    h.append(
        f"<h2>Utility</h2><p>TSTR of the released synthetic data: {u.get('source_tstr')} on the "
        f"release's source rows, {u.get('fresh_tstr')} on fresh rows (decay {u.get('decay')}); "
        f"{u.get('recorded_tstr')} on the holdout at release.</p>"
    )
    groups = [g for g in r["subgroups"] if g["gated"]]
    if groups:
        items = [(f"{g['column']}={g['group']}", g["decay"]) for g in groups]
        lo = min([0.0] + [v for _, v in items if v is not None])
        hi = max([cfg.utility_decay_action * 1.5] + [v for _, v in items if v is not None])
        h.append(
            svg.hbars(
                "TSTR decay per subgroup, worst first (red line: action threshold)",
                items,
                lo=lo,
                hi=hi,
                threshold=cfg.utility_decay_action,
            )
        )
    h.append(
        "<p class='note'>Aggregates only: no rows of the real data. Generated by sdops-dvc.</p></body></html>"
    )
    return "".join(h)


def history(root: Path, name: str) -> list[dict[str, Any]]:
    """Every committed monitor record of NAME, oldest first."""
    folder = root / "monitoring" / name
    records = (
        [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
        if folder.exists()
        else []
    )
    return sorted(records, key=lambda r: r["checked_at"])
