"""``generate``: fit the configured synthesizer on the train split and sample.

The family's adapter (:mod:`sdops_dvc.synthesizers.adapters`) does the fitting, and for a
differentially private family the measurement and its budget check."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.config import Params
from sdops_dvc.errors import ConfigError
from sdops_dvc.fsutil import md5_file
from sdops_dvc.layout import Layout
from sdops_dvc.metadata import column_sdtypes
from sdops_dvc.synthesizers import FAMILIES
from sdops_dvc.synthesizers.adapters import BudgetCheck, Generated, generator_for
from sdops_dvc.synthesizers.columns import (
    DiscreteColumn,
    apply_discrete,
    plan_discrete,
    restore_dtypes,
)
from sdops_dvc.synthesizers.conditions import plan_of
from sdops_dvc.tables import require_columns
from sdops_dvc.tableset import TableSet, read_set, set_metadata, write_tables

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
__all__ = ["BudgetCheck", "GenerateResult", "GeneratedSet", "generate_set", "run_generate"]


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
    writes = {outs[n]: generated.tables[n] for n in meta.names}
    if model_sample is not None:
        writes[model_sample] = generated.model_sample
    write_tables(writes)
    return GenerateResult(
        out,
        len(generated.tables[train.entity]),
        generated.sdv_class,
        generated.parameters,
        model_sample,
    )


@dataclass(frozen=True)
class GeneratedSet:
    """A synthetic table set and how it was made."""

    tables: dict[str, pd.DataFrame]
    entity: str
    sdv_class: str
    parameters: dict[str, Any]
    # rebalanced generation: the entity's unconditioned rows from the same fit (the model,
    # which the gates judge); ``tables[entity]`` are then the rows drawn group by group
    unconditioned: pd.DataFrame | None = None

    @property
    def model_sample(self) -> pd.DataFrame:
        return self.tables[self.entity] if self.unconditioned is None else self.unconditioned


def generate_set(
    params: Params,
    train: TableSet,
    train_md5: str,
    metadata: dict[str, Any],
    fit_path: Path | None,
    *,
    budget_check: BudgetCheck | None,
    progress: bool = False,
) -> GeneratedSet:
    """One way to generate a table set, decided by the family:
    - a family that models related tables together (hma) fits and samples the whole set;
    - every other family generates the entity table (:func:`generate_table`, with the
      column handling around the family), its foreign keys as categories drawn from the
      keys real rows hold (orphans included, at their own rate), and passes every other
      table through as ``train`` has it, which params must declare public
      (generator.public_tables). A single table is a set of one: its own rows.

    ``fit_path``: the family's fit file (a DP measurement persists there); None for a
    pipeline that keeps none (related tables), when a temporary file takes it."""
    if FAMILIES[params.generator.family].multi_table:
        return _generate_hma(params, train, metadata)
    g = params.generator
    rels = list(train.relationships)
    entity = train.entity
    from sdops_dvc.relational import tables_below

    below = tables_below(entity, rels)
    private = [t for t in train.names if t != entity and t not in g.public_tables]
    if below or private:
        raise ConfigError(
            f"family {g.family} generates the entity table {entity!r} only"
            + (f"; {', '.join(below)} sit below it" if below else "")
            + (f"; {', '.join(private)} are not declared public" if private else ""),
            hint="list reference tables under generator.public_tables (they are released as "
            "they are), or use family hma",
        )
    rows = train.rows
    # the key into the smallest parent first: drawn with the train split's own counts, so
    # each parent's number of children stays inside the real range (cardinality bounds)
    keys = sorted((len(train.tables[r.parent]), r.child_key) for r in rels if r.child == entity)
    first = [keys[0][1]] if keys else []
    fit_rows = rows[first + [c for c in rows.columns if c not in first]]
    with tempfile.TemporaryDirectory(prefix="sdops-fit-") as tmp:
        generated = generate_table(
            params,
            fit_rows,
            train_md5,
            _entity_metadata(metadata, entity, rels),
            fit_path or Path(tmp) / "fit.npz",
            budget_check=budget_check,
            progress=progress,
        )
    out = {t: train.tables[t] for t in train.names if t != entity}
    out[entity] = generated.data[list(rows.columns)]
    base = generated.unconditioned
    return GeneratedSet(
        {n: out[n] for n in train.names},
        entity,
        generated.sdv_class,
        generated.parameters,
        None if base is None else base[list(rows.columns)],
    )


def generate_table(
    params: Params,
    train: pd.DataFrame,
    train_md5: str,
    metadata: dict[str, Any],
    fit_path: Path,
    *,
    budget_check: BudgetCheck | None,
    progress: bool = False,
) -> Generated:
    """One table through the family's adapter, with the column handling around it: the
    train rows put on generator.discrete's pooled support, the family told which columns
    those are, the sampled columns back in the train split's dtypes, and generator.conditions'
    groups checked against the train split. The generate stage, cart's entity table and
    ``sdops tune`` all generate through here."""
    plan = discrete_plan(params, train, metadata)
    groups = plan_of(params, train, column_sdtypes(metadata))
    generated = generator_for(params.generator.family).generate(
        apply_discrete(train, plan),
        train_md5,
        metadata,
        params.generator,
        fit_path,
        budget_check=budget_check,
        progress=progress,
        discrete=tuple(c.name for c in plan),
        groups=tuple(groups),
    )
    base = generated.unconditioned
    return replace(
        generated,
        data=restore_dtypes(generated.data, train, plan),
        unconditioned=None if base is None else restore_dtypes(base, train, plan),
    )


def _entity_metadata(metadata: dict[str, Any], entity: str, rels: list[Any]) -> dict[str, Any]:
    """The entity table as single-table metadata: its foreign keys are categories (the keys
    of public tables), its own primary key is refused (rows below it would need new keys).
    A set of one's metadata is that already."""
    import copy

    if not rels:
        return metadata
    table = copy.deepcopy(metadata["tables"][entity])
    if table.get("primary_key"):
        raise ConfigError(
            f"the entity table {entity!r} has a primary key ({table['primary_key']}); cart "
            "cannot mint keys for it",
            hint="use family hma",
        )
    for r in rels:
        if r.child == entity:
            table["columns"][r.child_key] = {"sdtype": "categorical"}
    return {"tables": {entity: table}}


def discrete_plan(
    params: Params, train: pd.DataFrame, metadata: dict[str, Any]
) -> list[DiscreteColumn]:
    """generator.discrete as the train split dictates it (pools of at least
    report.min_bin_count records); a column that is not numerical is refused."""
    sdtypes = column_sdtypes(metadata)
    wrong = [c for c in params.generator.discrete if sdtypes.get(c) != "numerical"]
    if wrong:
        raise ConfigError(
            "generator.discrete names column(s) that are not numerical in the metadata: "
            + ", ".join(f"{c} ({sdtypes.get(c, 'missing')})" for c in wrong),
            hint="list only numerical columns there (categories are generated as categories)",
        )
    return plan_discrete(train, list(params.generator.discrete), params.report.min_bin_count)


def _generate_hma(params: Params, train: TableSet, metadata: dict[str, Any]) -> GeneratedSet:
    """Related tables with HMA (:mod:`sdops_dvc.synthesizers.multi_table`): fit on the train
    tables, orphan foreign keys made null for the fit (HMA refuses them; the manifest counts
    them), and sample every table."""
    from sdops_dvc.relational import null_orphan_keys
    from sdops_dvc.synthesizers.multi_table import generate_tables

    fit_on, nulled = null_orphan_keys(train.tables, list(train.relationships))
    for label, n in nulled.items():
        if n:
            log.info("%s: %d orphan key(s) made null for the fit", label, n)
    g = params.generator
    scale = g.num_rows / len(train.rows) if g.num_rows else 1.0
    sampled = generate_tables(
        fit_on, metadata, g.seed, scale=scale, threads=g.torch_threads, parameters=g.parameters
    )
    return GeneratedSet(
        {n: sampled[n][list(train.tables[n].columns)] for n in train.names},
        train.entity,
        FAMILIES[g.family].sdv_class,
        dict(g.parameters),
    )
