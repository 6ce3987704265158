"""Related tables on disk (issue 15): the source directory and its pins, and the sets of
table files the stages read and write (one file per table, named after it).

A relational source is a directory DVC tracks as one output (its ``.dvc`` pointer hashes
every file). params.yaml pins each table's md5 under ``source.tables`` and the digest of
those pins in ``source.md5``, so a changed table is named and the source as a whole has one
pin that lineage, the budget scope and the manifest use as before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.errors import DataError, SnapshotMismatch
from sdops_dvc.fsutil import md5_file, write_many_atomic
from sdops_dvc.tables import read_table, write_table_to

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.config import Params
    from sdops_dvc.layout import Layout


def pins_digest(pins: dict[str, str]) -> str:
    """One md5 for a set of table pins (name and md5 of each, in name order)."""
    text = "".join(f"{name} {md5}\n" for name, md5 in sorted(pins.items()))
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def source_files(params: Params, layout: Layout) -> dict[str, Path]:
    """Each source table's file."""
    base = layout.path(params.source.path)
    return {name: base / t.file for name, t in params.source.tables.items()}


def verify_table_pins(params: Params, layout: Layout) -> dict[str, str]:
    """Each table's md5, refusing a missing table or one that differs from its pin (every
    table named), and a ``source.md5`` that is not the digest of the tables' pins."""
    base = layout.path(params.source.path)
    if not base.is_dir():
        raise DataError(
            f"source directory {base} does not exist",
            hint="run `dvc pull` (or `dvc update` for an import), or fix source.path",
        )
    actual: dict[str, str] = {}
    missing, unpinned, changed = [], [], []
    for name, path in source_files(params, layout).items():
        if not path.is_file():
            missing.append(f"{name} ({path.name})")
            continue
        actual[name] = md5_file(path)
        pinned = params.source.tables[name].md5
        if pinned is None:
            unpinned.append(name)
        elif pinned != actual[name]:
            changed.append(f"{name} (md5 {actual[name]}, pinned {pinned})")
    if missing:
        raise DataError(
            f"source tables missing from {base}: {', '.join(missing)}",
            hint="run `dvc pull`, or fix source.tables in params.yaml",
        )
    if unpinned:
        raise SnapshotMismatch(
            f"source tables not pinned (no md5 under source.tables): {', '.join(unpinned)}",
            hint="review the source, then run `sdops snapshot --id SNAPSHOT_ID` to pin it",
        )
    if changed:
        raise SnapshotMismatch(
            f"source tables changed since they were pinned: {'; '.join(changed)}",
            hint="if the change is intended, run `sdops snapshot --id NEW_SNAPSHOT_ID` and "
            "commit params.yaml so the new snapshot is reviewed",
        )
    digest = pins_digest(actual)
    if params.source.md5 != digest:
        raise SnapshotMismatch(
            f"source.md5 {params.source.md5} is not the digest of the table pins ({digest}): "
            "params.yaml was edited by hand",
            hint="run `sdops snapshot` to pin the tables and their digest together",
        )
    return actual


def read_tables(paths: dict[str, Path], what: str) -> dict[str, pd.DataFrame]:
    """Every table of a set, each refused with its name when unreadable or empty."""
    return {name: read_table(path, what=f"{what} table {name!r}") for name, path in paths.items()}


def write_tables(frames: dict[Path, pd.DataFrame]) -> None:
    """All tables or none, each to its path (format by suffix): written to temporary files
    first, then all moved in."""

    def writer(df: pd.DataFrame, suffix: str) -> Any:
        return lambda p: write_table_to(df, p, suffix)

    write_many_atomic([(path, writer(df, path.suffix.lower())) for path, df in frames.items()])
