"""The pipeline stages as commands: ``split``, ``generate``, ``evaluate``, ``gate``,
``manifest``. Each reads params.yaml; dvc.yaml runs them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sdops_dvc import pipeline
from sdops_dvc.base.errors import GateFailed
from sdops_dvc.base.output import alert, info, interactive, result, warn
from sdops_dvc.cli.setup import PARAMS_OPTION
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.manifest import check

if TYPE_CHECKING:
    from sdops_dvc.stages.gate import GateResult

log = logging.getLogger("sdops_dvc.cli")
PathType = click.Path(path_type=Path)


@click.command(epilog="Example:\n\n  sdops split --params params.yaml")
@PARAMS_OPTION
@click.option("--train", "train_out", type=PathType, default=None, help=f"Default: {L.TRAIN}.")
@click.option(
    "--holdout", "holdout_out", type=PathType, default=None, help=f"Default: {L.HOLDOUT}."
)
def split(params_path: Path, train_out: Path | None, holdout_out: Path | None) -> None:
    """Verify the source against its pin, then write a seeded train/holdout split."""
    res, _ = pipeline.split(params_path, train_out, holdout_out)
    log.info("split %d rows: %d train, %d holdout", res.n_source, res.n_train, res.n_holdout)
    related = res.tables if len(res.tables) > 1 else {}  # a set of one: the counts above
    for name, (n, tr, ho) in related.items():
        log.info("  %s: %d rows, %d train, %d holdout", name, n, tr, ho)
    result(
        {
            "source_rows": res.n_source,
            "train_rows": res.n_train,
            "holdout_rows": res.n_holdout,
            **({"tables": related} if related else {}),
        }
    )


@click.command(
    epilog="Example:\n\n  sdops generate --params params.yaml --out data/synthetic/synthetic.csv"
)
@PARAMS_OPTION
@click.option("--train", "train_path", type=PathType, default=None, help=f"Default: {L.TRAIN}.")
@click.option(
    "--out", type=PathType, default=None, help="Default: data/synthetic/synthetic.<output.format>."
)
@click.option(
    "--model-sample",
    type=PathType,
    default=None,
    help="Also write the unconditioned sample from the same fit here (what the gates judge; "
    "with generator.conditions the --out rows are drawn group by group).",
)
def generate(
    params_path: Path, train_path: Path | None, out: Path | None, model_sample: Path | None
) -> None:
    """Fit the configured SDV synthesizer on the train split and sample, reproducibly."""
    res, layout = pipeline.generate(
        params_path, train_path, out, model_sample, progress=interactive()
    )
    log.info("wrote %d synthetic rows to %s", res.rows, layout.rel(res.output))
    result({"rows": res.rows, "output": layout.rel(res.output)})


@click.command(
    epilog="""\b
Examples:
  sdops evaluate --params params.yaml --synthetic data/synthetic/synthetic.csv --out reports
  sdops evaluate --train t.csv --holdout h.csv --synthetic s.csv --out reports"""
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="params.yaml (default: ./params.yaml if present).",
)
@click.option("--train", "train_path", type=PathType, default=None, help=f"Default: {L.TRAIN}.")
@click.option(
    "--holdout", "holdout_path", type=PathType, default=None, help=f"Default: {L.HOLDOUT}."
)
@click.option(
    "--synthetic", "synthetic_path", type=PathType, required=True, help="Synthetic table."
)
@click.option(
    "--out",
    "out_dir",
    type=PathType,
    default=Path(L.REPORTS),
    show_default=True,
    help="Output directory.",
)
@click.option(
    "--target", default=None, help="Target column for utility when no params.yaml is used."
)
@click.option(
    "--model-sample",
    type=PathType,
    default=None,
    help="The unconditioned sample `sdops generate --model-sample` wrote: the gates' metrics "
    "are computed on it, and --synthetic (rebalanced by generator.conditions) is reported "
    "on its own as the data view.",
)
def evaluate(
    params_path: Path | None,
    train_path: Path | None,
    holdout_path: Path | None,
    synthetic_path: Path,
    out_dir: Path,
    target: str | None,
    model_sample: Path | None,
) -> None:
    """Compute metrics of a synthetic table against the real train and holdout splits.

    Writes metrics.json (DVC metrics), details.json and plots/ (DVC plots) into --out:
    schema, column shapes and pair trends (as SDMetrics), detection AUC, TSTR/TRTR,
    exact copies, DCR share, NNDR, membership inference, singling-out, linkability and
    inference risks (anonymeter's method) and per-subgroup figures.
    """
    res = pipeline.evaluate(
        params_path,
        synthetic_path,
        out_dir,
        train=train_path,
        holdout=holdout_path,
        target=target,
        model_sample=model_sample,
        progress=interactive(),
    )
    log.info(
        "wrote %s (%s)",
        res.metrics_path,
        ", ".join(f"{k} {v:.1f}s" for k, v in res.seconds.items()),
    )
    result({"metrics_path": str(res.metrics_path), "metrics": res.metrics})


@click.command(
    epilog="""\b
Examples:
  sdops gate reports/metrics.json --params params.yaml   # the pipeline's gate stage
  sdops gate --check                                      # CI: exit 1 when blocked
  sdops gate --check reports/gate.json"""
)
@click.argument("path", type=PathType, required=False)
@click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="params.yaml with gates and policy (default: ./params.yaml if present).",
)
@click.option("--out", type=PathType, default=None, help="Default: gate.json beside metrics.json.")
@click.option(
    "--check",
    is_flag=True,
    help="Read PATH as a gate.json (default reports/gate.json) and exit 1 when it is blocked; "
    "computes nothing.",
)
def gate(path: Path | None, params_path: Path | None, out: Path | None, check: bool) -> None:
    """Decide from metrics.json (PATH, default reports/metrics.json) and the thresholds in
    params.yaml; write gate.json, verdict.json, report.html and report.md beside it.

    A blocked verdict is printed with every reason and the command still exits 0, so the
    pipeline goes on to record the decision in the manifest and `dvc exp show` lists every
    candidate with `gate.approved`. Enforce it with `sdops gate --check` (exit 1 when
    blocked), as the CI templates do after `dvc repro`; `sdops release` refuses a blocked
    candidate whatever was run.
    """
    if check:
        _check_gate(path or Path(L.GATE))
        return
    _render_gate(*pipeline.gate(path, params_path, out))


def _check_gate(gate_path: Path) -> None:
    """``sdops gate --check``: GateFailed (exit 1) when the recorded verdict is blocked."""
    from sdops_dvc.stages.gate import check_gate_file

    approved, failures = check_gate_file(gate_path)
    if not approved:
        raise GateFailed(
            f"{gate_path}: release blocked by gates:\n" + "\n".join(f"  - {f}" for f in failures),
            hint=f"see {gate_path.parent / 'report.html'}; fix the data or generator "
            "(thresholds are reviewed in params.yaml)",
        )
    info(f"{gate_path}: approved, every enabled gate passed")
    result({"gate": str(gate_path), "approved": True, "failures": []})


def _render_gate(res: GateResult, target: Path) -> None:
    """The review notes, each gate's state, the verdict with every reason; the JSON result."""

    for note in res.review_notes:
        warn(note)
    for name, g in res.gates.items():
        state = "skipped" if not g.enabled else "passed" if g.passed else "FAILED"
        info(f"  {name:<8} {state}")
    info(f"report: {target.parent / 'report.html'}")
    if not res.approved:
        alert(
            "RELEASE BLOCKED:",
            f"{len(res.failures)} gate failure(s)\n"
            + "\n".join(f"  - {f}" for f in res.failures)
            + f"\nthe verdict is recorded in {target} and the manifest; `sdops gate --check` "
            "fails on it and `sdops release` refuses it"
            + (
                "\nthe way to pass is a better candidate, never a looser threshold: `sdops tune` "
                "searches the built-in candidates (cart, the copula, TabularARGN) on a "
                "validation part of the train split"
                if any(not f.startswith(("policy", "budget")) for f in res.failures)
                else ""
            ),
        )
    else:
        info("approved: every enabled gate passed")
    result(
        {
            "gate": str(target),
            "approved": res.approved,
            "failures": res.failures,
            "gates": {n: {"enabled": g.enabled, "passed": g.passed} for n, g in res.gates.items()},
            "review_notes": res.review_notes,
        }
    )


@click.command(
    epilog="""\b
Examples:
  sdops manifest --params params.yaml --out release/manifest.json
  sdops manifest --check release/manifest.json"""
)
@PARAMS_OPTION
@click.option("--out", type=PathType, default=None, help=f"Default: {L.MANIFEST}.")
@click.option(
    "--check",
    "check_path",
    type=PathType,
    default=None,
    help="Validate this manifest against the schema and its digest instead.",
)
def manifest(params_path: Path, out: Path | None, check_path: Path | None) -> None:
    """Write the release manifest, or validate one with --check."""
    if check_path is not None:
        data = check(check_path)
        info(f"{check_path}: valid (sha256 {data['digest']['value']})")
        result({"manifest": str(check_path), "valid": True, "sha256": data["digest"]["value"]})
        return
    data, target = pipeline.manifest(params_path, out)
    log.info("manifest sha256 %s", data["digest"]["value"])
    result({"manifest": str(target), "sha256": data["digest"]["value"]})
