"""Table sets: what every stage reads and writes. A single table is a set of one whose entity
(the privacy unit) is the row; related tables (issue 15) are a set with relationships and
an entity table. :meth:`sdops_dvc.domain.layout.Layout.table_files` maps a set of one to the
single-table paths and a larger set to one file per table, named after it; the metadata
(one table or several) says which a project has.

A relational source is a directory DVC tracks as one output (its ``.dvc`` pointer hashes
every file). params.yaml pins each table's md5 under ``source.tables`` and the digest of
those pins in ``source.md5``, so a changed table is named and the source as a whole has one
pin that lineage, the budget scope and the manifest use as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, DataError, SnapshotMismatch
from sdops_dvc.base.fsutil import md5_file, write_many_atomic
from sdops_dvc.domain.metadata import check_against_tables, read_metadata
from sdops_dvc.domain.relationships import Relationship, entity_table, evaluation_view
from sdops_dvc.domain.tableio import read_table, require_columns, write_table_to

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.config import Params
    from sdops_dvc.domain.layout import Layout


@dataclass(frozen=True)
class TableSet:
    """Tables by name, how they relate, and the table whose rows are the people the release
    protects. A single table is a set of one: no relationships, its own rows the entity."""

    tables: dict[str, pd.DataFrame]
    relationships: tuple[Relationship, ...]
    entity: str

    @property
    def names(self) -> list[str]:
        return list(self.tables)

    @property
    def rows(self) -> pd.DataFrame:
        """The entity table's rows."""
        return self.tables[self.entity]

    def view(self) -> pd.DataFrame:
        """The one table the row-level measures read (the table itself for a set of one):
        :func:`sdops_dvc.domain.relationships.evaluation_view`."""
        return evaluation_view(self.tables, list(self.relationships), self.entity)

    def replace(self, tables: dict[str, pd.DataFrame]) -> TableSet:
        """The same relationships and entity over other tables of the same names."""
        return TableSet(tables, self.relationships, self.entity)


@dataclass(frozen=True)
class SetMetadata:
    """The project's metadata (SDV's multi-table form, one table or several), where it lives,
    the tables it names in the project's order, and its relationships and entity."""

    metadata: dict[str, Any]
    path: Path
    names: list[str]
    relationships: tuple[Relationship, ...]
    entity: str

    def table_set(self, tables: dict[str, pd.DataFrame]) -> TableSet:
        """``tables`` (this metadata's tables, checked against it) as a set."""
        check_against_tables(self.metadata, tables, self.path)
        return TableSet(tables, self.relationships, self.entity)


def set_metadata(params: Params, layout: Layout) -> SetMetadata:
    """The metadata reader: exactly one table for a single-table project, at least two with
    their relationships for related tables (``source.tables``); the entity is
    ``split.entity`` or the single root (the one table of a set of one)."""
    path = layout.path(params.source.metadata)
    related = params.source.multi_table
    metadata = read_metadata(path, tables=None if related else 1)
    names = list(params.source.tables) if related else list(metadata["tables"])
    rels = Relationship.all_of(metadata)
    return SetMetadata(
        metadata, path, names, tuple(rels), entity_table(names, rels, params.split.entity)
    )


def read_set(meta: SetMetadata, files: dict[str, Path], what: str) -> TableSet:
    """Every table of a set from its file (``Layout.table_files``), checked against the
    metadata."""
    return meta.table_set(read_tables(files, what))


def source_set_files(params: Params, layout: Layout, meta: SetMetadata) -> dict[str, Path]:
    """Each source table's file: source.path for a single table; for related tables the
    files ``source.tables`` names in the source directory."""
    if params.source.multi_table:
        return source_files(params, layout)
    return {meta.names[0]: layout.path(params.source.path)}


def source_pins(params: Params, layout: Layout) -> tuple[dict[tuple[str, ...], str], str]:
    """The params.yaml keys that pin the source as it is now, and its one md5 (a single
    table's own; for related tables the digest of every table's, each pinned under
    source.tables). Every table is read first, and a single table must hold the columns
    params names."""
    if params.source.multi_table:
        files = source_files(params, layout)
        read_tables(files, "source")
        pins = {name: md5_file(path) for name, path in files.items()}
        digest = pins_digest(pins)
        values: dict[tuple[str, ...], str] = {("source", "md5"): digest}
        values.update({("source", "tables", n, "md5"): md5 for n, md5 in pins.items()})
        return values, digest
    source = layout.path(params.source.path)
    require_columns(read_table(source, what="source"), params.named_columns(), "the source")
    md5 = md5_file(source)
    return {("source", "md5"): md5}, md5


def verify_source(params: Params, layout: Layout) -> None:
    """Every source table against its pin in params.yaml (SnapshotMismatch names the table
    that changed)."""
    if params.source.multi_table:
        verify_table_pins(params, layout)
    else:
        verify_pin(layout.path(params.source.path), params.source.md5)


def source_set(params: Params, layout: Layout, meta: SetMetadata) -> TableSet:
    """The source tables, each verified against its pin in params.yaml first."""
    verify_source(params, layout)
    return read_set(meta, source_set_files(params, layout, meta), "source")


@dataclass(frozen=True)
class FoundSource:
    """What ``sdops init`` was given, read: each table's file and rows, the metadata detected
    for them (with notes for its reviewer), and the entity. ``related`` is the one answer
    to "one table or several" that init acts on (through its methods and the layout)."""

    given: tuple[Path, ...]  # the --source paths, absolute
    files: dict[str, Path]
    tables: dict[str, pd.DataFrame]
    metadata: dict[str, Any]
    notes: list[str]
    entity: str
    related: bool

    @property
    def split_entity(self) -> str | None:
        """What params.yaml's ``split.entity`` holds: the entity table of related tables; a
        set of one has none (its rows are the people)."""
        return self.entity if self.related else None

    def column_label(self, table: str, column: str) -> str:
        """How a note names a column: by itself in a set of one, ``table.column`` otherwise."""
        return f"{table}.{column}" if self.related else column

    def pii_columns(self) -> list[str]:
        """The columns the metadata marks as ids or PII, each named by :meth:`column_label`."""
        from sdops_dvc.domain.metadata import pii_columns

        return [
            self.column_label(t, c)
            for t in self.tables
            for c in pii_columns({"tables": {t: self.metadata["tables"][t]}})
        ]

    def pinned_md5(self, pins: dict[str, str]) -> str:
        """``source.md5``: a single table's own md5; the digest of related tables' pins."""
        return pins_digest(pins) if self.related else next(iter(pins.values()))

    def params_blocks(self, pins_by_file: dict[str, tuple[str, str]]) -> dict[str, str]:
        """params.yaml's lines for related tables (``source.tables`` pins: table -> (file,
        md5), and ``split.entity``); a set of one has none."""
        if not self.related:
            return {}
        lines = "".join(
            f"    {t}:\n      file: {f}\n      md5: {md5}\n" for t, (f, md5) in pins_by_file.items()
        )
        return {
            "source_tables": "  tables:                         # one file per table in "
            "source.path; pins change only with `sdops snapshot`\n" + lines,
            "split_entity": f"  entity: {self.entity}                  # the privacy unit: its "
            "rows (people) go to train or holdout whole, with every row below them\n",
        }


def find_source(
    sources: list[Path],
    name: str,
    *,
    relationships: list[str],
    entity: str | None,
    target: str | None,
) -> FoundSource:
    """The metadata reader at ``sdops init``: one table file (a set of one named ``name``),
    or related tables (a directory of table files, several files, or a relationship or
    entity declared), each read and refused by name when unreadable or empty; SDV metadata
    detected for them (imports SDV); ``--target`` checked in the entity table."""
    from sdops_dvc.domain.metadata import detect, detect_tables

    given = tuple(existing_source(s) for s in sources)
    related = is_related(list(given), relationships, entity)
    files = table_files_given(list(given)) if related else {name: given[0]}
    tables = read_tables(files, "source")
    if related:
        declared = [Relationship.parse(r) for r in relationships]
        metadata, notes = detect_tables(tables, declared)
        unit = entity_table(list(tables), Relationship.all_of(metadata), entity)
    else:
        metadata, notes, unit = detect(tables[name], name), [], name
    if target is not None:
        where = f"the entity table {unit!r}" if related else "the source"
        require_columns(tables[unit], {"--target": [target]}, where, named_in="the command line")
    return FoundSource(given, files, tables, metadata, notes, unit, related)


def is_related(sources: list[Path], relationships: list[str], entity: str | None) -> bool:
    """Whether ``sdops init``'s sources are related tables: a directory of table files,
    several files, or a relationship or entity declared (else one table file)."""
    many = len(sources) > 1 or existing_source(sources[0]).is_dir()
    return many or bool(relationships) or entity is not None


def existing_source(source: Path) -> Path:
    """The source as an absolute path; DataError when it is not there (saying how to get it
    when DVC tracks it)."""
    source = source if source.is_absolute() else (Path.cwd() / source)
    pointer = source.with_name(source.name + ".dvc")
    if not source.exists():
        if pointer.exists():
            raise DataError(
                f"source {source} is tracked by DVC but not in the work tree",
                hint=f"run `dvc pull {pointer.name}` (or `dvc update` for an import) first",
            )
        raise DataError(f"source {source} does not exist", hint="check the --source path")
    return source


def table_files_given(sources: list[Path]) -> dict[str, Path]:
    """Related tables' files: every table file of a directory, or each file given; names are
    the file stems and must be distinct release-safe names."""
    from sdops_dvc.domain.config import NAME_RE
    from sdops_dvc.domain.tableio import READERS

    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in READERS)
            if not found:
                raise DataError(
                    f"source directory {src} holds no table files",
                    hint=f"put the tables there as {', '.join(READERS)} files",
                )
            files += found
        else:
            files.append(src)
    names: dict[str, Path] = {}
    for f in files:
        if f.stem in names:
            raise ConfigError(
                f"two source tables are named {f.stem!r} ({names[f.stem]} and {f})",
                hint="a table is named by its file: rename one",
            )
        if not NAME_RE.match(f.stem):
            raise ConfigError(
                f"source table {f.name}: {f.stem!r} is not a valid table name",
                hint="name table files with letters, digits, '-' or '_'",
            )
        names[f.stem] = f
    if len(names) < 2:
        raise DataError(
            "related tables need at least two tables; one table is a single-table project",
            hint="give a directory of tables or repeat --source",
        )
    return names


def verify_pin(source: Path, pinned_md5: str | None) -> str:
    """The source's md5, refusing when it differs from the pin in params.yaml."""
    if not source.exists():
        raise DataError(
            f"source {source} does not exist",
            hint="run `dvc pull` (or `dvc update` for an import), or fix source.path",
        )
    if not source.is_file():
        raise DataError(
            f"source {source} is not a file (a directory?)",
            hint="point source.path at the table file, or restore it with `dvc checkout`",
        )
    actual = md5_file(source)
    if pinned_md5 is None:
        raise SnapshotMismatch(
            f"source {source} is not pinned (source.md5 is empty in params.yaml)",
            hint="review the source, then run `sdops snapshot --id SNAPSHOT_ID` to pin it",
        )
    if actual != pinned_md5:
        raise SnapshotMismatch(
            f"source {source} changed: its md5 is {actual}, params.yaml pins {pinned_md5}",
            hint="if the change is intended, run `sdops snapshot --id NEW_SNAPSHOT_ID` and "
            "commit params.yaml so the new snapshot is reviewed",
        )
    return actual


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
    """Every table of a set, each refused with its name (a set of one: as the single table it
    is) when unreadable or empty."""
    return {
        name: read_table(path, what=what if len(paths) == 1 else f"{what} table {name!r}")
        for name, path in paths.items()
    }


def write_tables(frames: dict[Path, pd.DataFrame]) -> None:
    """All tables or none, each to its path (format by suffix): written to temporary files
    first, then all moved in."""

    def writer(df: pd.DataFrame, suffix: str) -> Any:
        return lambda p: write_table_to(df, p, suffix)

    write_many_atomic([(path, writer(df, path.suffix.lower())) for path, df in frames.items()])
