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
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import DataError, ReleaseUnavailable
from sdops_dvc.base.fsutil import write_json_atomic, write_text_atomic
from sdops_dvc.base.scm import repo_at, work_tree
from sdops_dvc.domain.config import MonitorCfg, Params
from sdops_dvc.domain.metadata import column_sdtypes, named_as, parse_datetimes, table_metadata
from sdops_dvc.domain.records import monitor_history, utc_stamp
from sdops_dvc.domain.relationships import Relationship, evaluation_view, view_metadata
from sdops_dvc.domain.tableset import read_tables as read_files

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.manifest import Manifest
    from sdops_dvc.registry.reader import Release

STATUS = {"healthy": 0, "warning": 1, "action": 2}


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


def _read_at(repo_root: Path, path: str, rev: str) -> Any:
    import dvc.api
    import pandas as pd

    with dvc.api.open(path, repo=str(repo_root), rev=rev, mode="rb") as fh:
        data = fh.read()
    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), sep="\t" if path.endswith(".tsv") else ",")


@dataclass(frozen=True)
class _Inputs:
    """A release and what it is checked against."""

    rel: Release
    manifest: Manifest
    base: pd.DataFrame  # the release's own source snapshot
    fresh: pd.DataFrame
    synthetic: pd.DataFrame
    sdtypes: dict[str, str]
    top: Path
    # related tables: the frames above are entity views; these are the tables themselves
    tables: _Tables | None = None


@dataclass(frozen=True)
class _Tables:
    base: dict[str, pd.DataFrame]
    fresh: dict[str, pd.DataFrame]
    metadata: dict[str, Any]


def _grade(value: float | None, warn: float, action: float, what: str) -> Finding | None:
    """``action`` above the action threshold, ``warning`` above the warning one."""
    if value is None or math.isnan(value) or value <= warn:
        return None
    return Finding("action" if value > action else "warning", what)


def _load(root: Path, ref: str, fresh_path: Path) -> _Inputs:
    """A release and what it is checked against, as table sets: its source tables (through
    DVC at the tag), the fresh tables (``--fresh``: the table file for a single table, a
    directory holding a file of the same name per table for related tables), its synthetic
    tables, each with its datetimes parsed; and the views drift and utility are measured on
    (a single table's view is the table itself)."""
    from sdops_dvc.api import read_tables
    from sdops_dvc.registry.reader import Registry

    repo = repo_at(root)
    top = work_tree(repo)
    registry = Registry(repo, top)
    rel, manifest = registry.release(ref, live_only=False)
    sources = manifest.source_tables
    fresh = read_files(_fresh_files(rel, sources, fresh_path), "fresh snapshot")
    base = {n: _read_at(top, p, rel.tag) for n, p in sources.items()}
    synthetic = read_tables(rel.tag, repo=top)
    meta = manifest.source.metadata
    text = registry.file_at(rel, meta.path) if meta else None
    if not text and len(sources) > 1:
        raise ReleaseUnavailable(f"{rel.tag} has no metadata.json")
    metadata = named_as(json.loads(text) if text else {"tables": {}}, list(sources))
    rels = Relationship.all_of(metadata)

    def parsed(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        if not metadata["tables"]:  # a release made before metadata was committed with it
            return tables
        return {n: parse_datetimes(df, table_metadata(metadata, n)) for n, df in tables.items()}

    base, fresh, synthetic = parsed(base), parsed(fresh), parsed(synthetic)
    entity = manifest.entity
    known = entity in metadata["tables"]
    sdtypes = column_sdtypes(view_metadata(metadata, rels, entity)) if known else {}
    return _Inputs(
        rel,
        manifest,
        evaluation_view(base, rels, entity),
        evaluation_view(fresh, rels, entity),
        evaluation_view(synthetic, rels, entity),
        sdtypes,
        top,
        _Tables(base, fresh, metadata) if rels else None,
    )


def _fresh_files(rel: Release, sources: dict[str, str], fresh: Path) -> dict[str, Path]:
    """Where each fresh table is: ``--fresh`` itself for a single table; for related tables a
    file named as the release's source file of that table, in the directory ``--fresh``."""

    if len(sources) == 1:
        return {name: fresh for name in sources}
    if not fresh.is_dir():
        raise DataError(
            f"{rel.tag} releases related tables: --fresh must be a directory with "
            f"{', '.join(Path(p).name for p in sources.values())}",
            hint="point --fresh at the directory of the fresh snapshot's tables",
        )
    return {n: fresh / Path(p).name for n, p in sources.items()}


def _table_findings(
    tables: _Tables, cfg: MonitorCfg
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[Finding]]:
    """Per table: schema and column drift (columns named ``table.column``); per
    relationship: the orphan share in the fresh tables against the release's source."""
    from sdops_dvc.metrics.drift import column_drift
    from sdops_dvc.metrics.relational import orphan_share

    drift: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    for name, base in tables.base.items():
        fresh = tables.fresh[name]
        findings += _schema_findings(base, fresh, where=f" in {name}")
        sdtypes = column_sdtypes(tables.metadata, name)
        keyless = {c: t for c, t in sdtypes.items() if t != "id"}
        for col, d in column_drift(base, fresh, keyless).items():
            drift[f"{name}.{col}"] = d
    orphans: dict[str, Any] = {}
    for rel in Relationship.all_of(tables.metadata):
        before = orphan_share(
            tables.base[rel.parent][rel.parent_key], tables.base[rel.child][rel.child_key]
        )
        after = orphan_share(
            tables.fresh[rel.parent][rel.parent_key], tables.fresh[rel.child][rel.child_key]
        )
        orphans[rel.label] = {
            "source": round(before, 6),
            "fresh": round(after, 6),
            "drift": round(after - before, 6),
        }
        f = _grade(
            after - before,
            cfg.orphan_drift_warn,
            cfg.orphan_drift_action,
            f"drift: {rel.label}: {after:.2%} of fresh keys name no parent vs {before:.2%} in "
            "the release's source",
        )
        findings += [f] if f else []
    return drift, orphans, findings


def _schema_findings(base: pd.DataFrame, fresh: pd.DataFrame, where: str = "") -> list[Finding]:
    """Columns added, removed, or turned between numbers and not."""
    import pandas as pd

    found = []
    added = [c for c in fresh.columns if c not in base.columns]
    removed = [c for c in base.columns if c not in fresh.columns]
    if added or removed:
        found.append(
            Finding(
                "action",
                f"schema changed{where}: added {added or 'none'}, removed {removed or 'none'}",
            )
        )
    numeric = pd.api.types.is_numeric_dtype
    retyped = [
        c for c in base.columns if c in fresh.columns and numeric(base[c]) != numeric(fresh[c])
    ]
    if retyped:
        found.append(Finding("action", f"schema changed{where}: column types differ for {retyped}"))
    return found


def _drift_findings(drift: dict[str, dict[str, Any]], cfg: MonitorCfg) -> list[Finding]:
    found: list[Finding] = []
    for c, d in drift.items():
        for metric, warn, act in (
            ("psi", cfg.psi_warn, cfg.psi_action),
            ("ks", cfg.ks_warn, cfg.ks_action),
            ("tv", cfg.tv_warn, cfg.tv_action),
        ):
            v = d.get(metric)
            if isinstance(v, float):
                limit = act if v > act else warn
                f = _grade(v, warn, act, f"drift: {c} {metric.upper()} {v:.3f} > {limit}")
                found += [f] if f else []
        if d.get("new_categories"):
            found.append(
                Finding(
                    "warning",
                    f"drift: {c} has categories the release never saw: {d['new_categories'][:5]}",
                )
            )
        if d.get("vanished_categories"):
            found.append(
                Finding("warning", f"drift: {c} lost categories: {d['vanished_categories'][:5]}")
            )
    return found


@dataclass
class _Decay:
    record: dict[str, Any]  # the utility block of the monitor record
    groups: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _utility_decay(inp: _Inputs, params: Params | None, cfg: MonitorCfg) -> _Decay:
    """The same model, trained on the released synthetic rows, scored on the release's own
    source rows and on the fresh rows: only the real data differs between the two."""
    import warnings

    from sdops_dvc.metrics.learning import infer_task, score_model, utility

    target = inp.manifest.target
    recorded = inp.manifest.metrics.get("utility.tstr")
    out = _Decay({"target": target, "recorded_tstr": recorded})
    base, fresh, synthetic = inp.base, inp.fresh, inp.synthetic
    if not (target and target in fresh.columns and target in synthetic.columns):
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shared = [c for c in synthetic.columns if c in fresh.columns and c in base.columns]
        task = infer_task(base[target], inp.manifest.task)
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
    base_tstr = score_model(u.model_tstr, u.task, u.x_also, u.y_also)
    out.record.update({"fresh_tstr": u.tstr, "source_tstr": base_tstr, "metric": u.metric})
    if base_tstr is not None and u.tstr is not None:
        decay = base_tstr - u.tstr
        out.record["decay"] = decay
        msg = (
            f"utility: TSTR {u.tstr:.3f} on fresh data vs {base_tstr:.3f} on the release's "
            f"source (decay {decay:.3f}; {recorded} on the holdout at release)"
        )
        f = _grade(decay, cfg.utility_decay_warn, cfg.utility_decay_action, msg)
        out.findings += [f] if f else []
    columns = list(params.evaluation.subgroups.columns) if params else []
    for col in columns:
        if col in fresh.columns and col in base.columns:
            _group_decay(inp, u, col, cfg, out)
    out.groups.sort(key=lambda e: -(e["decay"] or -1.0))
    return out


def _group_decay(inp: _Inputs, u: Any, col: str, cfg: MonitorCfg, out: _Decay) -> None:
    """Per group of ``col``: the decay of the same model on the group's rows."""
    from sdops_dvc.metrics.learning import score_model

    key_f = inp.fresh[col].astype("string").fillna("<null>")
    key_b = inp.base[col].astype("string").fillna("<null>")
    for g in sorted(set(key_f) | set(key_b)):
        rows_f = u.x_holdout.index.intersection(inp.fresh.index[key_f == g])
        rows_b = u.x_also.index.intersection(inp.base.index[key_b == g])
        fresh_g = score_model(
            u.model_tstr, u.task, u.x_holdout.loc[rows_f], u.y_holdout.loc[rows_f]
        )
        base_g = score_model(u.model_tstr, u.task, u.x_also.loc[rows_b], u.y_also.loc[rows_b])
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
        out.groups.append(entry)
        if entry["gated"] and decay_g is not None:
            msg = f"subgroup {col}={g}: TSTR {fresh_g:.3f} on fresh rows vs {base_g:.3f} on the source (decay {decay_g:.3f})"
            f = _grade(decay_g, cfg.utility_decay_warn, cfg.utility_decay_action, msg)
            out.findings += [f] if f else []


def _verdict(findings: list[Finding], tag: str) -> tuple[str, str]:
    """(status, recommendation)."""
    if not findings:
        return "healthy", "healthy: keep the release"
    status = "action" if any(f.level == "action" for f in findings) else "warning"
    if any(f.what.startswith(("schema", "drift")) for f in findings):
        return status, (
            "retrain: the source moved. Review the fresh snapshot, `sdops snapshot --id NEW_ID`, "
            "`dvc repro`, and release again; revoke this release if it now misleads"
        )
    return status, (
        f"the release's utility decays: retrain from a fresh snapshot, or `sdops revoke {tag} "
        "--kind utility`"
    )


def _summary(drift: dict[str, dict[str, Any]], decay: _Decay) -> dict[str, Any]:
    def largest(metric: str) -> float:
        return max(
            (d[metric] for d in drift.values() if isinstance(d.get(metric), float)), default=0.0
        )

    return {
        "max_psi": largest("psi"),
        "max_ks": largest("ks"),
        "utility_decay": decay.record.get("decay"),
        "worst_group_decay": max(
            (g["decay"] for g in decay.groups if g["gated"] and g["decay"] is not None),
            default=None,
        ),
    }


def run_monitor(
    root: Path, ref: str, fresh_path: Path, out_dir: Path, params: Params | None
) -> MonitorResult:
    """Check a release against fresh real data; write monitor.json, .md and .html to
    ``out_dir`` and the record to ``monitoring/NAME/`` (its history)."""
    from sdops_dvc.metrics.drift import column_drift
    from sdops_dvc.report.monitor import html, markdown

    cfg = params.monitor if params is not None else MonitorCfg()
    inp = _load(root, ref, fresh_path)
    orphans: dict[str, Any] | None = None
    if inp.tables is not None:
        drift, orphans, table_findings = _table_findings(inp.tables, cfg)
    else:
        drift = column_drift(inp.base, inp.fresh, inp.sdtypes)
        table_findings = _schema_findings(inp.base, inp.fresh)
    decay = _utility_decay(inp, params, cfg)
    findings = [*table_findings, *_drift_findings(drift, cfg), *decay.findings]
    status, advice = _verdict(findings, inp.rel.tag)
    rel = inp.rel
    record = {
        "release": rel.tag,
        "name": rel.name,
        "version": str(rel.version),
        "checked_at": utc_stamp(),
        "status": status,
        "exit_code": STATUS[status],
        "recommendation": advice,
        "fresh": {"path": str(fresh_path), "rows": len(inp.fresh)},
        "baseline_rows": len(inp.base),
        **(
            {
                "tables": {
                    n: {"baseline_rows": len(b), "fresh_rows": len(inp.tables.fresh[n])}
                    for n, b in inp.tables.base.items()
                }
            }
            if inp.tables is not None
            else {}
        ),
        "drift": drift,
        **({"orphans": orphans} if orphans is not None else {}),
        "utility": decay.record,
        "subgroups": decay.groups,
        "findings": [{"level": f.level, "what": f.what} for f in findings],
        "summary": _summary(drift, decay),
    }
    write_json_atomic(out_dir / "monitor.json", record)
    write_text_atomic(out_dir / "monitor.md", markdown(record))
    write_text_atomic(out_dir / "monitor.html", html(record, cfg))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # unique per run, sorts by time
    history = inp.top / "monitoring" / rel.name / f"{stamp}-{rel.version}.json"
    write_json_atomic(history, record)
    return MonitorResult(rel.tag, status, findings, record, history)


def history(root: Path, name: str) -> list[dict[str, Any]]:
    """Every committed monitor record of NAME, oldest first."""

    return monitor_history(root, name)
