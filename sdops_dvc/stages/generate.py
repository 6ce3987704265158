"""``generate``: fit the configured synthesizer on the train split and sample."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdops_dvc.config import Params
from sdops_dvc.layout import Layout
from sdops_dvc.metadata import check_against_table, read_metadata
from sdops_dvc.tables import read_table, require_columns, write_table


@dataclass(frozen=True)
class GenerateResult:
    output: Path
    rows: int
    sdv_class: str
    parameters: dict[str, Any]


def run_generate(
    params: Params, layout: Layout, train_path: Path, out: Path, *, progress: bool = False
) -> GenerateResult:
    from sdops_dvc.synthesizers.sdv_adapter import synthesize

    train = read_table(train_path, what="train split")
    require_columns(train, params.named_columns(), "the train split")
    meta_path = layout.path(params.source.metadata)
    metadata = read_metadata(meta_path)
    check_against_table(metadata, train, meta_path)
    num_rows = params.generator.num_rows or len(train)
    result = synthesize(train, metadata, params.generator, num_rows, progress=progress)
    write_table(result.data, out)
    return GenerateResult(out, len(result.data), result.sdv_class, result.parameters)
