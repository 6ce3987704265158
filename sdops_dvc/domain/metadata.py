"""SDV metadata: detect it once at ``init`` for human review, then validate it on load.

Reading and checking ``metadata.json`` uses plain JSON so that the ``split`` stage can
refuse a mismatched metadata file without importing SDV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.relationships import Relationship

NUMERIC_SDTYPES = ("numerical", "datetime")
CATEGORICAL_SDTYPES = ("categorical", "boolean", "ordinal")


def read_metadata(path: Path, *, tables: int | None = 1) -> dict[str, Any]:
    """The metadata as a dict, with exactly one table (``tables=None``: related tables, at
    least two, each with columns)."""
    if not path.exists():
        raise ConfigError(
            f"metadata file {path} does not exist",
            hint="run `sdops init` (it detects metadata) or fix source.metadata in params.yaml",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"metadata file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"metadata file {path} must hold a JSON object")
    described = data.get("tables")
    if tables == 1 and (not isinstance(described, dict) or len(described) != 1):
        raise ConfigError(
            f"metadata file {path} must describe exactly one table under 'tables'",
            hint="params.yaml names one source table; re-detect with `sdops init --force`",
        )
    if tables is None and (not isinstance(described, dict) or len(described) < 2):
        raise ConfigError(
            f"metadata file {path} must describe the related tables under 'tables'",
            hint="re-detect it with `sdops init --force --source DIR`",
        )
    if not isinstance(described, dict):
        raise ConfigError(f"metadata file {path} has no 'tables' mapping")
    for name, table in described.items():
        if not isinstance(table, dict) or not isinstance(table.get("columns"), dict):
            raise ConfigError(f"metadata file {path}: table {name!r} has no 'columns' mapping")
    if tables is None and not isinstance(data.get("relationships", []), list):
        raise ConfigError(f"metadata file {path}: 'relationships' must be a list")
    result: dict[str, Any] = data
    return result


def table_name(meta: dict[str, Any]) -> str:
    return str(next(iter(meta["tables"])))


def column_sdtypes(meta: dict[str, Any], table: str | None = None) -> dict[str, str]:
    """Column -> sdtype of ``table`` (default: the first, the single-table case)."""
    tables = meta["tables"]
    cols = (tables[table] if table is not None else next(iter(tables.values())))["columns"]
    return {str(k): str(v.get("sdtype", "unknown")) for k, v in cols.items()}


def table_metadata(meta: dict[str, Any], name: str) -> dict[str, Any]:
    """One table's metadata: its own entry (name the tables as a release does first:
    :func:`named_as`), or the metadata as it is when it describes no such table."""
    tables = meta.get("tables") or {}
    if name in tables:
        return {"tables": {name: tables[name]}}
    return meta


def named_as(meta: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The metadata with its tables under the names a release gives them: a single table
    takes the release's one name (the dataset's), related tables keep their own."""
    tables = meta.get("tables") or {}
    if len(names) == 1 and len(tables) == 1 and names[0] not in tables:
        return {**meta, "tables": {names[0]: next(iter(tables.values()))}}
    return meta


def parse_datetimes(df: Any, metadata: dict[str, Any]) -> Any:
    """Datetime columns as datetimes (csv gives strings), using the metadata's format;
    unparseable values become NaT. The frame itself is not changed."""
    import pandas as pd

    cols = next(iter(metadata["tables"].values()))["columns"]
    out = df
    for name, spec in cols.items():
        if spec.get("sdtype") != "datetime" or name not in df.columns:
            continue
        if pd.api.types.is_datetime64_any_dtype(df[name]):
            continue
        if out is df:
            out = df.copy()
        fmt = spec.get("datetime_format")
        out[name] = (
            pd.to_datetime(df[name], format=fmt, errors="coerce")
            if fmt
            else pd.to_datetime(df[name], errors="coerce")
        )
    return out


def primary_key(meta: dict[str, Any]) -> str | None:
    pk = next(iter(meta["tables"].values())).get("primary_key")
    return str(pk) if pk else None


def check_against_table(
    meta: dict[str, Any], df: pd.DataFrame, path: Path, table: str | None = None
) -> None:
    have = [str(c) for c in df.columns]
    described = list(column_sdtypes(meta, table))
    missing = [c for c in have if c not in described]
    extra = [c for c in described if c not in have]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"table columns not described: {', '.join(missing)}")
        if extra:
            parts.append(f"described columns not in the table: {', '.join(extra)}")
        what = "the table" if table is None else f"table {table!r}"
        raise ConfigError(
            f"metadata file {path} does not match {what} ({'; '.join(parts)})",
            hint="edit metadata.json, or re-detect it with `sdops init --force`",
        )


def check_against_tables(meta: dict[str, Any], tables: dict[str, pd.DataFrame], path: Path) -> None:
    """Multi-table metadata describes exactly these tables, each column of each, and its
    relationships name tables and columns that exist."""
    described = list(meta.get("tables") or {})
    if sorted(described) != sorted(tables):
        raise ConfigError(
            f"metadata file {path} describes tables {', '.join(described) or '(none)'}, but the "
            f"source has {', '.join(tables)}",
            hint="edit metadata.json, or re-detect it with `sdops init --force`",
        )
    for name, df in tables.items():
        check_against_table(meta, df, path, name)
    from sdops_dvc.domain.relationships import Relationship

    bad = [
        r.label
        for r in Relationship.all_of(meta)
        if r.parent_key not in tables.get(r.parent, {})
        or r.child_key not in tables.get(r.child, {})
    ]
    if bad:
        raise ConfigError(
            f"metadata file {path} has relationships naming missing columns: {', '.join(bad)}",
            hint="fix its relationships, or re-run `sdops init --force --relationship ...`",
        )


def detect(df: pd.DataFrame, name: str) -> dict[str, Any]:
    """Detect SDV metadata for one table (imports SDV)."""
    import warnings

    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = Metadata.detect_from_dataframes({name: df})
    data: dict[str, Any] = meta.to_dict()
    return strip_record_values(data)


# SDV 2.0 records each column's real minimum and maximum and every category seen: values
# that can belong to one record (the oldest person, a category held once). metadata.json is
# committed, so they are dropped; SDV learns ranges from the train split at fit time.
RECORD_VALUE_KEYS = ("range_min", "range_max", "range_values")


def strip_record_values(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata without per-record values (see :data:`RECORD_VALUE_KEYS`)."""
    for table in (meta.get("tables") or {}).values():
        for spec in (table.get("columns") or {}).values():
            for key in RECORD_VALUE_KEYS:
                spec.pop(key, None)
    return meta


DISCRETE_OTHER = 10  # non-integer numeric columns with at most this many values are categories
MAX_DECIMALS = 4


def model_discrete(df: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    """Non-integer numeric columns that take few distinct values (half-point scores, rates
    on a grid) become categorical in ``meta``: modelled as continuous, a generator fills the
    gaps between the values and a classifier separates real from synthetic at once. Integer
    columns stay numerical: SDV learns their rounding, and a category would lose their order
    (on health_insurance, `family` as a category cost GaussianCopula's TSTR/TRTR its 0.80).
    Returns their names."""
    import pandas as pd

    cols = next(iter(meta["tables"].values()))["columns"]
    changed = []
    for name, spec in cols.items():
        if spec.get("sdtype") != "numerical" or name not in df.columns:
            continue
        s = pd.to_numeric(df[name], errors="coerce").dropna()
        if s.empty:
            continue
        if bool((s == s.round()).all()):
            continue  # SDV learns integer rounding itself, and keeps the order categories lose
        if s.nunique() <= DISCRETE_OTHER and len(s) >= 5 * s.nunique():
            cols[name] = {"sdtype": "categorical"}
            changed.append(str(name))
    return changed


def float32_decimals(df: pd.DataFrame, meta: dict[str, Any]) -> dict[str, int]:
    """Numeric columns stored as float32 images of decimals (39.150001525878906 for 39.15):
    the decimals of each, so the generator writes the same representation (a generator that
    learns rounding from float64 digits sees none, and its values give it away)."""
    import numpy as np
    import pandas as pd

    cols = next(iter(meta["tables"].values()))["columns"]
    out: dict[str, int] = {}
    for name, spec in cols.items():
        if spec.get("sdtype") != "numerical" or name not in df.columns:
            continue
        s = pd.to_numeric(df[name], errors="coerce").dropna()
        if s.empty or not pd.api.types.is_float_dtype(s):
            continue
        v = s.to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            as32 = v.astype(np.float32)
        if not np.array_equal(as32.astype(float), v):
            continue  # not float32 values
        for k in range(MAX_DECIMALS + 1):
            r = np.round(v, k)
            if np.array_equal(r.astype(np.float32), as32):
                if not np.array_equal(r, v):  # exact decimals are learnt by SDV itself
                    out[str(name)] = k
                break
    return out


def pii_columns(meta: dict[str, Any]) -> list[str]:
    """Columns SDV would replace with fake values (PII sdtypes) or treat as ids."""
    cols = next(iter(meta["tables"].values()))["columns"]
    out = []
    for name, spec in cols.items():
        sd = spec.get("sdtype")
        if spec.get("pii") or sd == "id" or sd not in (*NUMERIC_SDTYPES, *CATEGORICAL_SDTYPES):
            out.append(str(name))
    return out


def detect_tables(
    tables: dict[str, pd.DataFrame], declared: list[Relationship] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """SDV multi-table metadata for related tables, and notes for the person who reviews
    it: each table's columns as SDV detects them; a primary key where a column can be one
    (:func:`sdops_dvc.domain.relationships.key_columns`); the relationships proposed from the values
    (:func:`sdops_dvc.domain.relationships.proposed_relationships`), where a declared relationship
    replaces any proposal for the same child column. Keys become sdtype ``id``. Declared
    relationships that do not fit the tables raise ConfigError, every problem listed."""
    from sdops_dvc.domain.relationships import check_declared, key_columns, proposed_relationships

    declared = declared or []
    problems = check_declared(tables, declared)
    if problems:
        raise ConfigError(
            "--relationship does not fit the tables:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="name an existing PARENT.KEY (unique, no nulls) and CHILD.COLUMN",
        )
    keys = key_columns(tables)
    keys.update({r.parent: r.parent_key for r in declared})
    taken = {(r.child, r.child_key) for r in declared}
    notes = []
    relationships = list(declared)
    for rel, share in proposed_relationships(tables, keys):
        if (rel.child, rel.child_key) in taken:
            continue
        relationships.append(rel)
        notes.append(f"proposed {rel.label}: {share:.1%} of its values are keys there (review)")
    meta: dict[str, Any] = {"tables": {}, "relationships": [r.as_json() for r in relationships]}
    for name, df in tables.items():
        table = detect(df, name)["tables"][name]
        table.pop("primary_key", None)
        if name in keys:
            table["primary_key"] = keys[name]
        meta["tables"][name] = table
    for rel in relationships:
        for table_name, column in ((rel.parent, rel.parent_key), (rel.child, rel.child_key)):
            meta["tables"][table_name]["columns"][column] = {"sdtype": "id"}
    for name in tables:
        if name not in keys and not any(r.parent == name for r in relationships):
            notes.append(f"{name}: no primary key (nothing refers to it)")
    return meta, notes
