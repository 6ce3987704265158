"""``generate``: fit the configured synthesizer on the train split and sample.

The family's adapter (:mod:`sdops_dvc.synthesizers.adapters`) does the fitting, and for a
differentially private family the measurement and its budget check."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.base.fsutil import md5_file
from sdops_dvc.domain.config import Params
from sdops_dvc.domain.layout import Layout
from sdops_dvc.domain.metadata import column_sdtypes
from sdops_dvc.domain.tableio import require_columns
from sdops_dvc.domain.tableset import TableSet, read_set, set_metadata, write_tables
from sdops_dvc.synthesizers.adapters import BudgetCheck, Generated, generator_for
from sdops_dvc.synthesizers.columns import (
    DiscreteColumn,
    apply_discrete,
    plan_discrete,
    restore_dtypes,
)
from sdops_dvc.synthesizers.conditions import plan_of

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
__all__ = ["BudgetCheck", "GenerateResult", "generate_set", "run_generate"]


@dataclass(frozen=True)
class GenerateResult:
    output: Path
    rows: int
    sdv_class: str
    parameters: dict[str, Any]
    model_sample: Path | None = None  # the unconditioned sample the gates judge


def run_generate(
    params: Params,
    layout: Layout,
    train_path: Path,
    out: Path,
    *,
    budget_check: BudgetCheck | None,
    progress: bool = False,
    fit_path: Path | None = None,
    model_sample: Path | None = None,
) -> GenerateResult:
    """Fit on the train set and sample it (:func:`generate_set`), every table written or
    none. ``train_path`` and ``out`` are files for a single table (a set of one), directories
    for related tables (``Layout.table_files``). ``model_sample``: where the unconditioned
    sample from the same fit goes, which evaluate's quality and privacy gates judge (with
    generator.conditions the released rows are drawn group by group; without, it is the
    released table again, byte for byte). ``budget_check(metadata)``: the problems a new DP
    measurement would cause against the privacy budget of every release so far (the
    registry knows them: the caller passes its check in); a DP measurement is drawn only
    when it finds none. None: no budget to respect (non-DP callers)."""
    if params.generator.conditions is not None and model_sample is None:
        raise ConfigError(
            "generator.conditions: the gates judge an unconditioned sample from the same fit, "
            "and this pipeline's generate stage does not write one",
            hint="in dvc.yaml, add `--model-sample model/sample.${output.format}` to the "
            "generate command and to its outs, and the same option to evaluate's command and "
            "deps (as `sdops init` writes them)",
        )
    meta = set_metadata(params, layout)
    files = layout.table_files(train_path, meta.names, "parquet")
    train = read_set(meta, files, "train split")
    require_columns(train.view(), params.named_columns(), "the train split")
    generated = generate_set(
        params,
        train,
        md5_file(files[train.entity]),
        meta.metadata,
        fit_path or layout.fit_file(meta.names),
        budget_check=budget_check,
        progress=progress,
    )
    outs = layout.table_files(out, meta.names, params.output.format)
    writes = {outs[n]: df for n, df in generated.tables_of(train).items()}
    if model_sample is not None:
        writes[model_sample] = generated.model_sample
    write_tables(writes)
    return GenerateResult(
        out,
        len(generated.data),
        generated.sdv_class,
        generated.parameters,
        model_sample,
    )


def generate_set(
    params: Params,
    train: TableSet,
    train_md5: str,
    metadata: dict[str, Any],
    fit_path: Path | None,
    *,
    budget_check: BudgetCheck | None,
    progress: bool = False,
) -> Generated:
    """A table set through its family's adapter (:func:`generator_for`: one Generator
    Protocol for every family; a single-table family is given a set of one, cart the entity
    table with the public tables passed through, hma the whole set), with the column
    handling around it: the entity's train rows put on generator.discrete's pooled support,
    the family told which columns those are, the sampled columns back in the train split's
    dtypes, and generator.conditions' groups checked against the train split. The generate
    stage and ``sdops tune`` both generate through here.

    ``fit_path``: the family's fit file (a DP measurement persists there); None for a
    pipeline that keeps none (related tables), when a temporary file takes it."""
    rows, entity = train.rows, train.entity
    sdtypes = column_sdtypes(metadata, entity)
    plan = discrete_plan(params, rows, sdtypes)
    groups = plan_of(params, rows, sdtypes)
    fit_set = train.replace({**train.tables, entity: apply_discrete(rows, plan)})
    with tempfile.TemporaryDirectory(prefix="sdops-fit-") as tmp:
        generated = generator_for(params.generator.family).generate(
            fit_set,
            train_md5,
            metadata,
            params.generator,
            fit_path or Path(tmp) / "fit.npz",
            budget_check=budget_check,
            progress=progress,
            discrete=tuple(c.name for c in plan),
            groups=tuple(groups),
        )
    base = generated.unconditioned
    return replace(
        generated,
        data=restore_dtypes(generated.data, rows, plan),
        unconditioned=None if base is None else restore_dtypes(base, rows, plan),
    )


def discrete_plan(
    params: Params, train: pd.DataFrame, sdtypes: dict[str, str]
) -> list[DiscreteColumn]:
    """generator.discrete as the train split dictates it (pools of at least
    report.min_bin_count records); a column that is not numerical is refused."""
    wrong = [c for c in params.generator.discrete if sdtypes.get(c) != "numerical"]
    if wrong:
        raise ConfigError(
            "generator.discrete names column(s) that are not numerical in the metadata: "
            + ", ".join(f"{c} ({sdtypes.get(c, 'missing')})" for c in wrong),
            hint="list only numerical columns there (categories are generated as categories)",
        )
    return plan_discrete(train, list(params.generator.discrete), params.report.min_bin_count)
