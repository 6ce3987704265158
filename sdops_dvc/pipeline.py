"""The pipeline as a project runs it (as DVC's ``Repo`` wires its commands): one function
per stage (split, generate, evaluate, gate, manifest), each finding and loading params.yaml,
the layout its kind of source implies and the stage's default files, and handing the
release registry's budget checks to the stages that need them. The stages never reach the registry
themselves (an import-linter contract); the click layer only parses, calls these and
renders their results.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.domain import layout as L
from sdops_dvc.domain.config import Params, load_params
from sdops_dvc.domain.layout import Layout

if TYPE_CHECKING:
    from sdops_dvc.stages.evaluate import EvaluateResult
    from sdops_dvc.stages.gate import GateResult
    from sdops_dvc.stages.generate import GenerateResult
    from sdops_dvc.stages.split import SplitResult

log = logging.getLogger(__name__)


def open_project(params_path: Path) -> tuple[Params, Layout]:
    """params.yaml loaded (every key validated) and the layout of its project."""
    params = load_params(params_path)
    return params, Layout.for_params(params_path, params)


def discover_params(params_path: Path | None) -> Path | None:
    """``--params`` as given, else ./params.yaml when there is one (commands that also work
    without a project: evaluate, gate, monitor)."""
    if params_path is None and Path(L.PARAMS).exists():
        return Path(L.PARAMS)
    return params_path


def generate(
    params_path: Path,
    train: Path | None,
    out: Path | None,
    model_sample: Path | None,
    *,
    progress: bool,
) -> tuple[GenerateResult, Layout]:
    """The generate stage on the project's train split (or ``train``), writing ``out`` (the
    layout's synthetic output by default). A DP family's measurement is checked against the
    privacy budget the release registry records before it spends."""
    from sdops_dvc.registry.budget import measure_problems
    from sdops_dvc.stages.generate import run_generate

    params, layout = open_project(params_path)
    log.info("generating with %s (seed %d)", params.generator.family, params.generator.seed)
    res = run_generate(
        params,
        layout,
        train or layout.train(),
        out or layout.synthetic_out(params.output.format),
        budget_check=lambda metadata: measure_problems(params, layout, metadata),
        progress=progress,
        model_sample=model_sample,
    )
    return res, layout


def gate(
    metrics_path: Path | None, params_path: Path | None, out: Path | None
) -> tuple[GateResult, Path]:
    """The gate stage on ``metrics_path`` (default reports/metrics.json), with the
    thresholds and policy of params.yaml when there is one, and this run's spend against
    the releases so far; writes gate.json (``out``, default beside the metrics). The result
    and where it was written."""
    from sdops_dvc.stages.gate import run_gate

    metrics = metrics_path or Path(L.METRICS)
    target = out or metrics.parent / "gate.json"
    found = discover_params(params_path)
    if found is None:
        return run_gate(metrics, None, target), target
    from sdops_dvc.registry.budget import gate_summary

    params, layout = open_project(found)
    budget = gate_summary(layout.root, params)
    return run_gate(metrics, params, target, root=layout.root, budget=budget), target


def split(
    params_path: Path, train_out: Path | None, holdout_out: Path | None
) -> tuple[SplitResult, Layout]:
    """The split stage: the source checked against its pin, then a seeded train/holdout
    split written to ``train_out`` and ``holdout_out`` (the layout's by default)."""
    from sdops_dvc.stages.split import run_split

    params, layout = open_project(params_path)
    res = run_split(params, layout, train_out or layout.train(), holdout_out or layout.holdout())
    return res, layout


def evaluate(
    params_path: Path | None,
    synthetic: Path,
    out_dir: Path,
    *,
    train: Path | None = None,
    holdout: Path | None = None,
    target: str | None = None,
    model_sample: Path | None = None,
    progress: bool = False,
) -> EvaluateResult:
    """The evaluate stage on ``synthetic`` against the train and holdout splits (the
    project's, or those given), with params.yaml's settings when there is one (found in
    the working directory when not given); writes metrics, details and plots to
    ``out_dir``."""
    from sdops_dvc.stages.evaluate import run_evaluate

    found = discover_params(params_path)
    params, layout = open_project(found) if found is not None else (None, Layout(Path.cwd()))
    return run_evaluate(
        params,
        layout.root,
        train or layout.train(),
        holdout or layout.holdout(),
        synthetic,
        out_dir,
        target=target,
        progress=progress,
        model_sample=model_sample,
    )


def manifest(params_path: Path, out: Path | None) -> tuple[dict[str, Any], Path]:
    """The manifest stage on the project's stage outputs, written to ``out`` (default
    release/manifest.json): the manifest and where it was written."""
    from sdops_dvc.stages.manifest import ManifestInputs, run_manifest

    params, layout = open_project(params_path)
    inputs = ManifestInputs(
        train=layout.train(),
        holdout=layout.holdout(),
        synthetic=layout.synthetic_out(params.output.format),
        metrics=layout.path(L.METRICS),
        gate=layout.path(L.GATE),
        fit=layout.path(L.DP_FIT),
        model_sample=layout.model_sample(params.output.format),
    )
    target = out or layout.path(L.MANIFEST)
    return run_manifest(params, layout, inputs, target), target


def runtimes(install: str | None = None, *, force: bool = False) -> list[dict[str, Any]]:
    """The isolated runtimes of generator families (synthesizers/runtime.py): name, lock
    digest, path, whether installed and, when it is, the versions it holds; ``install``
    builds that one first (again, with ``force``)."""
    from sdops_dvc.synthesizers import runtime as rt

    if install is not None:
        rt.install(install, force=force)
    rows: list[dict[str, Any]] = []
    for name in [install] if install else sorted(rt.PROBES):
        found = rt.locate(name)
        row: dict[str, Any] = {
            "name": name,
            "lock": found.digest,
            "path": str(found.path),
            "installed": found.installed,
        }
        if found.installed:
            row["packages"] = found.record()["packages"]
        rows.append(row)
    return rows
