"""``split``: verify the source pins, then a seeded train/holdout split by entity."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sdops_dvc.domain.config import Params
from sdops_dvc.domain.layout import Layout
from sdops_dvc.domain.relationships import split_by_entity
from sdops_dvc.domain.tableio import require_columns
from sdops_dvc.domain.tableset import set_metadata, source_set, write_tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitResult:
    train: Path
    holdout: Path
    n_source: int
    n_train: int
    n_holdout: int
    # rows per table on each side (the counts above are the entity table's)
    tables: dict[str, tuple[int, int, int]]  # name -> (source, train, holdout)


def run_split(params: Params, layout: Layout, train_out: Path, holdout_out: Path) -> SplitResult:
    """Every source table checked against its pin and the metadata, then split by entity
    (:func:`sdops_dvc.domain.relationships.split_by_entity`: a seeded permutation of the entity's
    rows, the first ``round(ratio * n)`` to train, rows below following their entity). A
    single table is a set of one, its rows the entities; ``train_out`` and ``holdout_out``
    are then files, for related tables directories (``Layout.table_files``)."""

    meta = set_metadata(params, layout)
    source = source_set(params, layout, meta)
    require_columns(source.view(), params.named_columns(), "the source")
    split = split_by_entity(
        source.tables,
        list(source.relationships),
        source.entity,
        params.split.ratio,
        params.split.seed,
    )
    names = source.names
    train_files = layout.table_files(train_out, names, "parquet")
    holdout_files = layout.table_files(holdout_out, names, "parquet")
    write_tables(
        {
            **{train_files[n]: split.train[n] for n in names},
            **{holdout_files[n]: split.holdout[n] for n in names},
        }
    )
    counts = {n: (len(source.tables[n]), len(split.train[n]), len(split.holdout[n])) for n in names}
    return SplitResult(
        train_out,
        holdout_out,
        len(source.rows),
        split.entities_train,
        split.entities_holdout,
        counts,
    )
