"""``evaluate``: compute every metric of a synthetic table against the real splits.

Writes ``metrics.json`` (DVC metrics: numbers only, no real values), ``details.json``
(per column, pair, group and attack; sizes and seeds of every subsample; timings) and
DVC plot data under ``plots/`` (aggregated histograms, never rows). Works inside the
pipeline (``--params``) and stand-alone on data made by any generator.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sdops_dvc.config import EvaluationCfg, Params
from sdops_dvc.fsutil import write_json_atomic
from sdops_dvc.metadata import check_against_table, read_metadata
from sdops_dvc.metric_table import BY_KEY, nest
from sdops_dvc.parallel import set_wait_policy
from sdops_dvc.tables import read_table, require_columns

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# OpenMP threads that spin while they wait collapse when another process holds the cores
# (a shared CI runner): there they sleep instead (parallel.set_wait_policy; read when the
# OpenMP runtime starts, so before sklearn loads it; a value the user set wins)
set_wait_policy()


@dataclass(frozen=True)
class EvaluateResult:
    metrics_path: Path
    metrics: dict[str, Any]
    details: dict[str, Any]
    seconds: dict[str, float]  # timings per metric family: logged, never written (not reproducible)


def _metadata_for(params: Params | None, root: Path, train: Any) -> dict[str, Any]:
    if params is not None:
        path = root / params.source.metadata
        meta = read_metadata(path)
        check_against_table(meta, train, path)
        return meta
    from sdops_dvc.metadata import detect

    return detect(train, "table")


class _Timer:
    """Times each metric family (to the log) and, on a terminal, shows a progress bar."""

    def __init__(self, progress: bool, steps: int) -> None:
        self.seconds: dict[str, float] = {}
        self._bar: Any = None
        self._steps = steps
        if progress:
            import sys

            from tqdm import tqdm

            self._bar = tqdm(total=steps, desc="evaluate", file=sys.stderr, leave=False)

    def __call__(self, name: str) -> _Timer:
        self._name = name
        return self

    def __enter__(self) -> None:
        self._t0 = time.perf_counter()
        log.info("evaluating %s", self._name)
        if self._bar is not None:
            self._bar.set_description(f"evaluate: {self._name}")

    def __exit__(self, *exc: object) -> None:
        self.seconds[self._name] = round(time.perf_counter() - self._t0, 3)
        log.info("%s took %.1f s", self._name, self.seconds[self._name])
        if self._bar is not None:
            self._bar.update(1)
            if self._bar.n >= self._steps:
                self._bar.close()


def _bounded_threads(func: Callable[..., _T]) -> Callable[..., _T]:
    """Run ``func`` with every OpenMP and BLAS pool, and our own chunked kernels, bounded by
    ``evaluation.threads`` (:mod:`sdops_dvc.parallel`)."""

    signature = inspect.signature(func)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> _T:
        from sdops_dvc.parallel import bounded

        params = signature.bind(*args, **kwargs).arguments.get("params")
        cfg = params.evaluation if params is not None else EvaluationCfg()
        threads = cfg.thread_count()
        log.info("evaluate: %d thread(s)", threads)
        with bounded(threads):
            return func(*args, **kwargs)

    return run


@_bounded_threads
def compute_metrics(
    train: Any,
    holdout: Any,
    synthetic: Any,
    metadata: dict[str, Any],
    params: Params | None,
    *,
    target: str | None = None,
    progress: bool = False,
    relational: Any = None,
    released: Any = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, float]]:
    """(metrics, details, plot data, seconds per metric family): every registered family
    in turn, metrics.json assembled in the metric table's order. ``relational``
    (:class:`~sdops_dvc.metrics.relational.RelationalInputs`): related tables, whose entity
    view the frames are. ``released``: rows rebalanced by generator.conditions, where
    ``synthetic`` is the unconditioned sample from the same fit."""
    from sdops_dvc.metrics.families import FAMILIES, Evaluation
    from sdops_dvc.metrics.plots import dcr_histogram, marginals

    ev = Evaluation(
        train, holdout, synthetic, metadata, params, target, relational, released=released
    )
    timer = _Timer(progress, len(FAMILIES))
    flat: dict[str, Any] = {}
    details: dict[str, Any] = {"samples": {}}
    plots: dict[str, Any] = {}
    for name, family in FAMILIES.items():
        with timer(name):
            out = family(ev)
        strays = [k for k in out.metrics if k in BY_KEY and BY_KEY[k].family != name]
        if strays:  # a bug: the metric table says another family computes them
            raise AssertionError(f"family {name} computed metrics of other families: {strays}")
        flat.update(out.metrics)
        details["samples"].update(out.samples)
        for key, value in out.details.items():
            details[key] = {**details[key], **value} if key in details else value
        plots.update(out.plots)
    min_bin = params.report.min_bin_count if params is not None else 10
    cols = ev.columns
    plots["marginals"] = marginals(ev.train[cols], ev.synthetic[cols], ev.sdtypes, min_bin)
    plots["dcr"] = dcr_histogram(ev.dcr.dcr_train, ev.dcr.dcr_holdout)
    return nest(flat), details, plots, timer.seconds


def write_plots(out_dir: Path, plots: dict[str, Any]) -> None:
    import csv
    import io
    import shutil

    from sdops_dvc.fsutil import csv_cell, write_text_atomic

    def to_csv(rows: list[dict[str, Any]]) -> str:
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        return buf.getvalue()

    marg = out_dir / "plots" / "marginals"
    if marg.exists():
        shutil.rmtree(marg)  # columns may have been removed since the last run
    for col, rows in plots["marginals"].items():
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in col)
        write_text_atomic(marg / f"{safe}.csv", to_csv(rows))
    write_text_atomic(out_dir / "plots" / "dcr.csv", to_csv(plots["dcr"]))
    write_text_atomic(
        out_dir / "plots" / "subgroups.csv",
        to_csv(
            plots["subgroups"]
            or [
                {
                    "group": "",
                    "real_share": "",
                    "synthetic_share": "",
                    "column_shapes": "",
                    "tstr": "",
                }
            ][:0]
        )
        or "group,real_share,synthetic_share,column_shapes,tstr\n",
    )


def _write_outputs(
    out_dir: Path,
    metrics: dict[str, Any],
    details: dict[str, Any],
    plots: dict[str, Any],
    seconds: dict[str, float],
) -> EvaluateResult:
    write_plots(out_dir, plots)
    write_json_atomic(out_dir / "details.json", details)
    path = out_dir / "metrics.json"
    write_json_atomic(path, metrics)
    return EvaluateResult(path, metrics, details, seconds)


def run_evaluate(
    params: Params | None,
    root: Path,
    train_path: Path,
    holdout_path: Path,
    synthetic_path: Path,
    out_dir: Path,
    *,
    target: str | None = None,
    progress: bool = False,
    model_sample: Path | None = None,
) -> EvaluateResult:
    """``model_sample``: the unconditioned sample from the same fit, on which the gates'
    metrics are computed; with generator.conditions, ``synthetic_path`` (the released,
    rebalanced rows) is then reported on its own (the ``conditions`` family)."""
    import warnings

    if params is not None and params.source.multi_table:
        return run_evaluate_tables(
            params, root, train_path, holdout_path, synthetic_path, out_dir, progress=progress
        )
    conditioned = params is not None and params.generator.conditions is not None
    if conditioned and model_sample is None:
        from sdops_dvc.errors import ConfigError

        raise ConfigError(
            "generator.conditions: the gates judge the unconditioned sample, and evaluate "
            "was not given it",
            hint="add `--model-sample model/sample.${output.format}` to evaluate's command "
            "and deps in dvc.yaml (as `sdops init` writes them)",
        )
    train = read_table(train_path, what="train table")
    holdout = read_table(holdout_path, what="holdout table")
    released = read_table(synthetic_path, what="synthetic table")
    # without conditions the gates judge the released table itself (the model sample is the
    # same bytes, and a released file swapped after generate must not hide behind it)
    synthetic = released
    if conditioned and model_sample is not None:
        synthetic = read_table(model_sample, what="model sample")
    else:
        released = None
    if params is not None:
        require_columns(train, params.named_columns(), "the train table")
    elif target is not None:
        require_columns(train, {"--target": [target]}, "the train table")
    metadata = _metadata_for(params, root, train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, details, plots, seconds = compute_metrics(
            train,
            holdout,
            synthetic,
            metadata,
            params,
            target=target,
            progress=progress,
            released=released,
        )
    return _write_outputs(out_dir, metrics, details, plots, seconds)


def run_evaluate_tables(
    params: Params,
    root: Path,
    train_dir: Path,
    holdout_dir: Path,
    synthetic_dir: Path,
    out_dir: Path,
    *,
    progress: bool = False,
) -> EvaluateResult:
    """Related tables: the relational family on the table sets, every other family on the
    entity view (:func:`sdops_dvc.relational.evaluation_view`: each entity with the
    aggregates of its rows below and its parents' columns), where params' column names
    (target, quasi-identifiers, subgroups) are read."""
    from sdops_dvc.layout import Layout
    from sdops_dvc.metadata import check_against_tables
    from sdops_dvc.tableset import read_tables

    layout = Layout(root)
    names = list(params.source.tables)
    meta_path = layout.path(params.source.metadata)
    metadata = read_metadata(meta_path, tables=None)
    sets = {
        what: read_tables(layout.table_files(d, names, suffix), what)
        for what, d, suffix in (
            ("train", train_dir, "parquet"),
            ("holdout", holdout_dir, "parquet"),
            ("synthetic", synthetic_dir, params.output.format),
        )
    }
    for tables in sets.values():
        check_against_tables(metadata, tables, meta_path)
    metrics, details, plots, seconds = compute_table_set_metrics(
        params, sets["train"], sets["holdout"], sets["synthetic"], metadata, progress=progress
    )
    return _write_outputs(out_dir, metrics, details, plots, seconds)


def compute_table_set_metrics(
    params: Params,
    train: dict[str, Any],
    holdout: dict[str, Any],
    synthetic: dict[str, Any],
    metadata: dict[str, Any],
    *,
    progress: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, float]]:
    """:func:`compute_metrics` for related tables: datetimes parsed in every set (csv gives
    strings), the relational family on the table sets, every other family on the entity
    view, where params' column names are read. ``evaluate`` and ``sdops tune`` share it."""
    import warnings

    from sdops_dvc.metadata import parse_datetimes
    from sdops_dvc.metrics.relational import RelationalInputs
    from sdops_dvc.relational import Relationship, entity_table, evaluation_view, view_metadata

    sets = {
        what: {
            n: parse_datetimes(df, {"tables": {n: metadata["tables"][n]}})
            for n, df in tables.items()
        }
        for what, tables in (("train", train), ("holdout", holdout), ("synthetic", synthetic))
    }
    rels = Relationship.all_of(metadata)
    entity = entity_table(list(params.source.tables), rels, params.split.entity)
    views = {what: evaluation_view(t, rels, entity) for what, t in sets.items()}
    require_columns(views["train"], params.named_columns(), f"the view of {entity}")
    inputs = RelationalInputs(sets["train"], sets["holdout"], sets["synthetic"], metadata, entity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute_metrics(
            views["train"],
            views["holdout"],
            views["synthetic"],
            view_metadata(metadata, rels, entity),
            params,
            progress=progress,
            relational=inputs,
        )
