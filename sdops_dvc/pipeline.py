"""The pipeline as a project runs it (as DVC's ``Repo`` wires its commands): params.yaml
found and loaded, the layout its kind of source implies, and the release registry's budget
checks handed to the stages that need them. The stages never reach the registry
themselves (an import-linter contract); the click layer only parses, calls these and
renders their results.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sdops_dvc import layout as L
from sdops_dvc.config import Params, load_params
from sdops_dvc.layout import Layout

if TYPE_CHECKING:
    from sdops_dvc.stages.gate import GateResult
    from sdops_dvc.stages.generate import GenerateResult

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
