"""``evaluate``: compute metrics of a synthetic table against the real splits.

Writes ``metrics.json`` (DVC metrics). Works inside the pipeline (``--params``) and
stand-alone on data made by any generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdops_dvc.config import Params
from sdops_dvc.fsutil import write_json_atomic
from sdops_dvc.metadata import check_against_table, column_sdtypes, read_metadata
from sdops_dvc.tables import read_table


@dataclass(frozen=True)
class EvaluateResult:
    metrics_path: Path
    metrics: dict[str, Any]


def _metadata_for(params: Params | None, root: Path, train: Any) -> dict[str, Any]:
    if params is not None:
        path = root / params.source.metadata
        meta = read_metadata(path)
        check_against_table(meta, train, path)
        return meta
    from sdops_dvc.metadata import detect

    return detect(train, "table")


def compute_metrics(
    train: Any,
    holdout: Any,
    synthetic: Any,
    metadata: dict[str, Any],
    params: Params | None,
) -> dict[str, Any]:
    from sdops_dvc.metrics.fidelity import column_shapes
    from sdops_dvc.metrics.schema import check_schema

    expected = None
    constraints: list[Any] = []
    if params is not None:
        expected = params.generator.num_rows or len(train)
        constraints = list(params.generator.constraints)
    import pandas as pd

    # Domains and ranges come from all real rows: metadata is detected on the whole source.
    real = pd.concat([train, holdout], ignore_index=True)
    schema = check_schema(real, synthetic, metadata, expected, constraints)
    shared = [c for c in train.columns if c in synthetic.columns]
    shapes, by_col = column_shapes(train[shared], synthetic[shared], column_sdtypes(metadata))
    return {
        "rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
        "schema": {**schema.as_metrics(), "failures": schema.failures},
        "quality": {
            "column_shapes": round(shapes, 12) if shapes == shapes else None,
            "column_shapes_by_column": {k: round(v, 12) for k, v in sorted(by_col.items())},
        },
    }


def run_evaluate(
    params: Params | None,
    root: Path,
    train_path: Path,
    holdout_path: Path,
    synthetic_path: Path,
    out_dir: Path,
) -> EvaluateResult:
    train = read_table(train_path, what="train table")
    holdout = read_table(holdout_path, what="holdout table")
    synthetic = read_table(synthetic_path, what="synthetic table")
    metadata = _metadata_for(params, root, train)
    metrics = compute_metrics(train, holdout, synthetic, metadata, params)
    path = out_dir / "metrics.json"
    write_json_atomic(path, metrics)
    return EvaluateResult(path, metrics)
