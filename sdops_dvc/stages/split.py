"""``split``: verify the source pin, then a seeded train/holdout split."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sdops_dvc.config import Params
from sdops_dvc.errors import DataError, SnapshotMismatch
from sdops_dvc.fsutil import md5_file, write_many_atomic
from sdops_dvc.layout import Layout
from sdops_dvc.metadata import check_against_table, read_metadata
from sdops_dvc.tables import read_table, require_columns, write_table_to

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitResult:
    train: Path
    holdout: Path
    n_source: int
    n_train: int
    n_holdout: int
    # related tables: rows per table on each side (the counts above are the entity table's)
    tables: dict[str, tuple[int, int, int]] | None = None  # name -> (source, train, holdout)


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


def run_split(params: Params, layout: Layout, train_out: Path, holdout_out: Path) -> SplitResult:
    """The seeded train/holdout split; for related tables, ``train_out`` and ``holdout_out``
    are directories and the split is by entity (:func:`run_split_tables`)."""
    if params.source.multi_table:
        return run_split_tables(params, layout, train_out, holdout_out)
    import numpy as np

    source = layout.path(params.source.path)
    verify_pin(source, params.source.md5)
    df = read_table(source, what="source")
    require_columns(df, params.named_columns(), "the source")
    meta_path = layout.path(params.source.metadata)
    check_against_table(read_metadata(meta_path), df, meta_path)

    n = len(df)
    n_train = round(params.split.ratio * n)
    if n_train < 1 or n - n_train < 1:
        raise DataError(
            f"source has {n} rows: split.ratio {params.split.ratio} leaves an empty "
            f"{'train' if n_train < 1 else 'holdout'} set",
            hint="use a larger table or a ratio that leaves rows on both sides",
        )
    rng = np.random.default_rng(params.split.seed)
    perm = rng.permutation(n)
    train_idx = np.sort(perm[:n_train])
    hold_idx = np.sort(perm[n_train:])
    train = df.iloc[train_idx].reset_index(drop=True)
    holdout = df.iloc[hold_idx].reset_index(drop=True)
    write_many_atomic(
        [
            (train_out, lambda p: write_table_to(train, p, train_out.suffix.lower())),
            (holdout_out, lambda p: write_table_to(holdout, p, holdout_out.suffix.lower())),
        ]
    )
    return SplitResult(train_out, holdout_out, n, len(train), len(holdout))


def run_split_tables(
    params: Params, layout: Layout, train_dir: Path, holdout_dir: Path
) -> SplitResult:
    """Related tables split by entity (:func:`sdops_dvc.relational.split_by_entity`): every
    pin checked, the metadata checked against every table, one parquet file per table on
    each side."""
    from sdops_dvc.metadata import check_against_tables
    from sdops_dvc.relational import Relationship, entity_table, split_by_entity
    from sdops_dvc.tableset import read_tables, source_files, verify_table_pins, write_tables

    verify_table_pins(params, layout)
    tables = read_tables(source_files(params, layout), "source")
    meta_path = layout.path(params.source.metadata)
    metadata = read_metadata(meta_path, tables=None)
    check_against_tables(metadata, tables, meta_path)
    rels = Relationship.all_of(metadata)
    entity = entity_table(list(tables), rels, params.split.entity)
    split = split_by_entity(tables, rels, entity, params.split.ratio, params.split.seed)
    names = list(tables)
    write_tables(
        {
            **{train_dir / f"{n}.parquet": split.train[n] for n in names},
            **{holdout_dir / f"{n}.parquet": split.holdout[n] for n in names},
        }
    )
    counts = {n: (len(tables[n]), len(split.train[n]), len(split.holdout[n])) for n in names}
    return SplitResult(
        train_dir,
        holdout_dir,
        len(tables[entity]),
        split.entities_train,
        split.entities_holdout,
        counts,
    )
