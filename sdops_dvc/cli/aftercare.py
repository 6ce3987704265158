"""``sdops monitor``, ``consumers``, ``incident``: after a release is out."""

from __future__ import annotations

from pathlib import Path

import click

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.base.output import JSON_OPTION, info, result
from sdops_dvc.domain.config import load_params


@click.command(
    epilog="""\b
Examples:
  sdops monitor health-insurance@current --fresh exports/2026-06.csv --out monitoring/latest
  sdops monitor --history health-insurance"""
)
@click.argument("ref", required=False)
@click.option(
    "--fresh",
    "fresh",
    type=click.Path(path_type=Path),
    default=None,
    help="A fresh snapshot of the real source (related tables: a directory, one file per "
    "table as in the release's source).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("monitoring/latest"),
    show_default=True,
    help="Where monitor.json and monitor.md go.",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="params.yaml with monitor thresholds (default: ./params.yaml if present).",
)
@click.option(
    "--history", "history_name", default=None, help="Show the monitor history of NAME instead."
)
@JSON_OPTION
def monitor(
    ref: str | None,
    fresh: Path | None,
    out_dir: Path,
    params_path: Path | None,
    history_name: str | None,
    as_json: bool,
) -> None:
    """Check a release against fresh real data: source drift (PSI, KS, TV, categories,
    schema), utility decay (TSTR on fresh rows vs at release) and subgroups, worst first.

    Exit codes: 0 healthy, 1 warning, 2 action needed (retrain or revoke).
    """
    import sys

    from sdops_dvc.monitor import history, run_monitor

    if history_name:
        runs = history(Path.cwd(), history_name)
        if as_json:
            result(runs)
            return
        if not runs:
            info(f"no monitor records for {history_name} under monitoring/{history_name}/")
        for r in runs:
            s = r["summary"]
            decay = s.get("utility_decay")
            info(
                f"{r['checked_at']}  {r['release']:<32} {r['status']:<8} max PSI {s['max_psi']:.3f}  "
                f"utility decay {decay if decay is None else round(decay, 4)}  worst group {s.get('worst_group_decay')}"
            )
        return
    if ref is None or fresh is None:
        raise ConfigError("give REF and --fresh PATH (or --history NAME)")
    from sdops_dvc.pipeline import discover_params

    params_path = discover_params(params_path)
    params = load_params(params_path) if params_path else None
    res = run_monitor(Path.cwd(), ref, fresh, out_dir, params)
    if as_json:
        result(res.record)
    else:
        info(f"{res.release}: {res.status.upper()} — {res.record['recommendation']}")
        for f in res.findings:
            info(f"  {f.level}: {f.what}")
        info(f"record: {res.path}")
    sys.exit(res.exit_code)


@click.command(epilog="Example:\n\n  sdops consumers health-insurance --version v1.2.0")
@click.argument("name")
@click.option("--version", "version", default=None, help="Only consumers of this version (vX.Y.Z).")
@JSON_OPTION
def consumers(name: str, version: str | None, as_json: bool) -> None:
    """Who consumes a dataset (from the committed consumers.yaml)."""
    from sdops_dvc.registry.incidents import consumers_json, consumers_of

    found = consumers_of(Path.cwd(), name, version)
    if as_json:
        result(consumers_json(found))
        return
    if not found:
        info(f"no consumers of {name}{' ' + version if version else ''} in consumers.yaml")
    for c in found:
        info(f"{c.name:<30} {c.version:<10} {c.contact}")


@click.command(epilog="Example:\n\n  sdops incident health-insurance@v1.2.0")
@click.argument("ref")
@click.option(
    "--kind",
    type=click.Choice(["privacy", "schema", "utility", "other"]),
    default=None,
    help="Needed when the release is not revoked yet.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for the record (default: incidents/).",
)
def incident(ref: str, kind: str | None, out_dir: Path | None) -> None:
    """Write an incident record: class and severity, affected consumers, the diff against
    the last good release, the restore command and a corrective-action checklist."""
    from sdops_dvc.registry.incidents import incident as do_incident

    path = do_incident(Path.cwd(), ref, kind, out_dir)
    info(f"wrote {path}; commit it and work through its checklist")
    result({"record": str(path)})
