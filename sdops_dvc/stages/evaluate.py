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

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.base.fsutil import csv_cell, write_json_atomic, write_text_atomic
from sdops_dvc.base.parallel import bounded, set_wait_policy
from sdops_dvc.domain.config import EvaluationCfg, Params
from sdops_dvc.domain.layout import Layout
from sdops_dvc.domain.metadata import detect, parse_datetimes
from sdops_dvc.domain.metric_table import BY_KEY, nest
from sdops_dvc.domain.relationships import view_metadata
from sdops_dvc.domain.tableio import read_table, require_columns
from sdops_dvc.domain.tableset import TableSet, read_set, read_tables, set_metadata

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
    ``evaluation.threads`` (:mod:`sdops_dvc.base.parallel`)."""

    signature = inspect.signature(func)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> _T:

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
    """Read the train, holdout and synthetic table sets (files for a single table, a set of
    one; directories for related tables: ``Layout.table_files``) and compute every metric
    (:func:`compute_set_metrics`). Without params (stand-alone, on any generator's output)
    the three files are a set of one whose metadata is detected from the train rows.
    ``model_sample``: the unconditioned sample from the same fit, on which the gates'
    metrics are computed; with generator.conditions, ``synthetic_path`` (the released,
    rebalanced rows) is then reported on its own (the ``conditions`` family)."""
    conditioned = params is not None and params.generator.conditions is not None
    if conditioned and model_sample is None:
        raise ConfigError(
            "generator.conditions: the gates judge the unconditioned sample, and evaluate "
            "was not given it",
            hint="add `--model-sample model/sample.${output.format}` to evaluate's command "
            "and deps (as `sdops init` writes them)",
        )
    paths = {"train": train_path, "holdout": holdout_path, "synthetic": synthetic_path}
    if params is None:
        sets, metadata = _standalone_sets(paths, target)
    else:
        sets, metadata = _project_sets(params, Layout(root), paths)
    released = None
    if conditioned and model_sample is not None:
        # the gates judge the model; the released rows are reported on their own. Without
        # conditions the gates judge the released table itself (the model sample is the
        # same bytes, and a released file swapped after generate must not hide behind it)
        released = sets["synthetic"]
        model = read_table(model_sample, what="model sample")
        sets["synthetic"] = released.replace({**released.tables, released.entity: model})
    metrics, details, plots, seconds = compute_set_metrics(
        params,
        sets["train"],
        sets["holdout"],
        sets["synthetic"],
        metadata,
        target=target,
        progress=progress,
        released=released,
    )
    return _write_outputs(out_dir, metrics, details, plots, seconds)


def _project_sets(
    params: Params, layout: Layout, paths: dict[str, Path]
) -> tuple[dict[str, TableSet], dict[str, Any]]:
    """The pipeline's sets: the real ones checked against the metadata. A single synthetic
    table is read as it is (a column it lacks or adds is the schema gate's finding, not an
    error); related synthetic tables are checked too, as their keys join them."""
    meta = set_metadata(params, layout)
    suffix = {"train": "parquet", "holdout": "parquet", "synthetic": params.output.format}
    files = {what: layout.table_files(p, meta.names, suffix[what]) for what, p in paths.items()}
    sets = {what: read_set(meta, files[what], f"{what} table") for what in ("train", "holdout")}
    synthetic = read_tables(files["synthetic"], "synthetic table")
    sets["synthetic"] = (
        meta.table_set(synthetic)
        if meta.relationships
        else TableSet(synthetic, meta.relationships, meta.entity)
    )
    return sets, meta.metadata


def _standalone_sets(
    paths: dict[str, Path], target: str | None
) -> tuple[dict[str, TableSet], dict[str, Any]]:
    """Three table files as sets of one, the metadata detected from the train rows."""

    frames = {what: read_table(p, what=f"{what} table") for what, p in paths.items()}
    if target is not None:
        require_columns(frames["train"], {"--target": [target]}, "the train table")
    sets = {what: TableSet({"table": df}, (), "table") for what, df in frames.items()}
    return sets, detect(frames["train"], "table")


def compute_set_metrics(
    params: Params | None,
    train: TableSet,
    holdout: TableSet,
    synthetic: TableSet,
    metadata: dict[str, Any],
    *,
    target: str | None = None,
    progress: bool = False,
    released: TableSet | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, float]]:
    """:func:`compute_metrics` on table sets: datetimes parsed in every table (csv gives
    strings); every family on the sets' views (:meth:`TableSet.view`: the table itself for a
    set of one; for related tables each entity with the aggregates of its rows below and
    its parents' columns), where params' column names (target, quasi-identifiers,
    subgroups) are read; the relational family on the sets themselves (it measures nothing
    where there are no relationships). ``evaluate`` and ``sdops tune`` share it."""
    import warnings

    from sdops_dvc.metrics.relational import RelationalInputs

    def parsed(ts: TableSet) -> TableSet:
        one = metadata["tables"]
        return ts.replace(
            {n: parse_datetimes(df, {"tables": {n: one[n]}}) for n, df in ts.tables.items()}
        )

    train, holdout, synthetic = parsed(train), parsed(holdout), parsed(synthetic)
    view = train.view()
    if params is not None:
        require_columns(view, params.named_columns(), f"the train rows of {train.entity}")
    inputs = RelationalInputs.of(train, holdout, synthetic, metadata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute_metrics(
            view,
            holdout.view(),
            synthetic.view(),
            view_metadata(metadata, list(train.relationships), train.entity),
            params,
            target=target,
            progress=progress,
            relational=inputs,
            released=None if released is None else parsed(released).view(),
        )
