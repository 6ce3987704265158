"""``generate``: fit the configured synthesizer on the train split and sample.

The family's adapter (:mod:`sdops_dvc.synthesizers.adapters`) does the fitting, and for a
differentially private family the measurement and its budget check."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.config import Params
from sdops_dvc.errors import ConfigError
from sdops_dvc.fsutil import md5_file
from sdops_dvc.layout import DP_FIT, Layout
from sdops_dvc.metadata import check_against_table, column_sdtypes, read_metadata
from sdops_dvc.synthesizers import FAMILIES
from sdops_dvc.synthesizers.adapters import BudgetCheck, Generated, generator_for
from sdops_dvc.synthesizers.columns import (
    DiscreteColumn,
    apply_discrete,
    plan_discrete,
    restore_dtypes,
)
from sdops_dvc.synthesizers.conditions import plan_of
from sdops_dvc.tables import read_table, require_columns, write_table

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
__all__ = ["BudgetCheck", "GenerateResult", "run_generate"]


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
    """Fit and sample. ``model_sample``: where the unconditioned sample from the same fit
    goes, which evaluate's quality and privacy gates judge (with generator.conditions the
    released rows are drawn group by group; without, it is the released table again, byte
    for byte). ``budget_check(metadata)``: the problems a new DP measurement would
    cause against the privacy budget of every release so far (the registry knows them: the
    caller passes its check in); a DP measurement is drawn only when it finds none. None:
    no budget to respect (non-DP callers). Related tables: ``train_path`` and ``out`` are
    directories (:func:`run_generate_tables`)."""
    if params.source.multi_table:
        return run_generate_tables(params, layout, train_path, out)
    if params.generator.conditions is not None and model_sample is None:
        raise ConfigError(
            "generator.conditions: the gates judge an unconditioned sample from the same fit, "
            "and this pipeline's generate stage does not write one",
            hint="in dvc.yaml, add `--model-sample model/sample.${output.format}` to the "
            "generate command and to its outs, and the same option to evaluate's command and "
            "deps (as `sdops init` writes them)",
        )
    train = read_table(train_path, what="train split")
    require_columns(train, params.named_columns(), "the train split")
    meta_path = layout.path(params.source.metadata)
    metadata = read_metadata(meta_path)
    check_against_table(metadata, train, meta_path)
    generated = generate_table(
        params,
        train,
        md5_file(train_path),
        metadata,
        fit_path or layout.path(DP_FIT),
        budget_check=budget_check,
        progress=progress,
    )
    write_table(generated.data, out)
    if model_sample is not None:
        write_table(generated.model_sample, model_sample)
    return GenerateResult(
        out, len(generated.data), generated.sdv_class, generated.parameters, model_sample
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


def _generate_entity(
    params: Params,
    layout: Layout,
    train: dict[str, pd.DataFrame],
    metadata: dict[str, Any],
    rels: list[Any],
    entity: str,
    out_dir: Path,
) -> GenerateResult:
    """Related tables with a family that generates the entity table only (cart), written
    one file per table (:func:`generate_entity_tables`)."""
    from sdops_dvc.tableset import write_tables

    names = list(params.source.tables)
    out, generated = generate_entity_tables(params, train, metadata, rels, entity)
    files = layout.table_files(out_dir, names, params.output.format)
    write_tables({files[n]: out[n] for n in names})
    return GenerateResult(out_dir, len(out[entity]), generated.sdv_class, generated.parameters)


def generate_entity_tables(
    params: Params,
    train: dict[str, pd.DataFrame],
    metadata: dict[str, Any],
    rels: list[Any],
    entity: str,
) -> tuple[dict[str, pd.DataFrame], Generated]:
    """The entity's rows generated as one table, its foreign keys as categories drawn from
    the keys real rows hold (orphans included, at their own rate), and every other table,
    which params must declare public (generator.public_tables), as ``train`` has it (tables
    above the entity are kept whole there). Returns the tables and the family's result."""
    import tempfile

    g = params.generator
    names = list(train)
    from sdops_dvc.relational import tables_below

    below = tables_below(entity, rels)
    private = [t for t in names if t != entity and t not in g.public_tables]
    if below or private:
        raise ConfigError(
            f"family {g.family} generates the entity table {entity!r} only"
            + (f"; {', '.join(below)} sit below it" if below else "")
            + (f"; {', '.join(private)} are not declared public" if private else ""),
            hint="list reference tables under generator.public_tables (they are released as "
            "they are), or use family hma",
        )
    rows = train[entity]
    # the key into the smallest parent first: drawn with the train split's own counts, so
    # each parent's number of children stays inside the real range (cardinality bounds)
    keys = sorted((len(train[r.parent]), r.child_key) for r in rels if r.child == entity)
    first = [keys[0][1]] if keys else []
    fit_rows = rows[first + [c for c in rows.columns if c not in first]]
    with tempfile.TemporaryDirectory(prefix="sdops-fit-") as tmp:
        generated = generate_table(
            params,
            fit_rows,
            "entity",
            _entity_metadata(metadata, entity, rels),
            Path(tmp) / "fit.npz",
            budget_check=None,
        )
    out = {t: train[t] for t in names if t != entity}
    out[entity] = generated.data[list(rows.columns)]
    return out, generated


def _entity_metadata(metadata: dict[str, Any], entity: str, rels: list[Any]) -> dict[str, Any]:
    """The entity table as single-table metadata: its foreign keys are categories (the keys
    of public tables), its own primary key is refused (rows below it would need new keys)."""
    import copy

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


def run_generate_tables(
    params: Params, layout: Layout, train_dir: Path, out_dir: Path
) -> GenerateResult:
    """Related tables with HMA (:mod:`sdops_dvc.synthesizers.multi_table`): fit on the train
    tables, orphan foreign keys made null for the fit (HMA refuses them; the manifest counts
    them), sample every table, and write one file per table, all or none."""
    from sdops_dvc.metadata import check_against_tables
    from sdops_dvc.relational import Relationship, entity_table, null_orphan_keys
    from sdops_dvc.synthesizers.multi_table import generate_tables
    from sdops_dvc.tableset import read_tables, write_tables

    names = list(params.source.tables)
    train = read_tables(layout.table_files(train_dir, names, "parquet"), "train split")
    meta_path = layout.path(params.source.metadata)
    metadata = read_metadata(meta_path, tables=None)
    check_against_tables(metadata, train, meta_path)
    rels = Relationship.all_of(metadata)
    entity = entity_table(names, rels, params.split.entity)
    if FAMILIES[params.generator.family].entity_only:
        return _generate_entity(params, layout, train, metadata, rels, entity, out_dir)
    fit_on, nulled = null_orphan_keys(train, rels)
    for label, n in nulled.items():
        if n:
            log.info("%s: %d orphan key(s) made null for the fit", label, n)
    g = params.generator
    scale = g.num_rows / len(train[entity]) if g.num_rows else 1.0
    sampled = generate_tables(
        fit_on, metadata, g.seed, scale=scale, threads=g.torch_threads, parameters=g.parameters
    )
    files = layout.table_files(out_dir, names, params.output.format)
    write_tables({files[n]: sampled[n][list(train[n].columns)] for n in names})
    return GenerateResult(
        out_dir, len(sampled[entity]), FAMILIES[g.family].sdv_class, dict(g.parameters)
    )
