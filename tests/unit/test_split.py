"""stages/split.py in-process, on a project `sdops init` set up: the split is the seeded
rule (same seed, same rows; the holdout never overlaps train), the source is checked
against its pin first, and a column params.yaml names must exist."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdops_dvc.base.errors import DataError, SnapshotMismatch
from sdops_dvc.domain.config import load_params
from sdops_dvc.domain.layout import Layout
from sdops_dvc.stages.split import run_split
from tests.conftest import make_pipeline, set_params


@pytest.fixture
def project(repo: Path, small_source: Path) -> Path:
    return make_pipeline(repo, small_source)


def test_the_split_is_seeded_disjoint_and_covers_the_source(project: Path, tmp_path: Path) -> None:
    params = load_params(project / "params.yaml")
    layout = Layout.for_params(project / "params.yaml", params)
    a = run_split(params, layout, tmp_path / "a_train.parquet", tmp_path / "a_holdout.parquet")
    run_split(params, layout, tmp_path / "b_train.parquet", tmp_path / "b_holdout.parquet")
    assert (tmp_path / "a_train.parquet").read_bytes() == (
        tmp_path / "b_train.parquet"
    ).read_bytes()
    train = pd.read_parquet(tmp_path / "a_train.parquet")
    holdout = pd.read_parquet(tmp_path / "a_holdout.parquet")
    source = pd.read_csv(project / params.source.path)
    assert len(train) == round(params.split.ratio * len(source)) and len(train) + len(
        holdout
    ) == len(source)
    both = pd.concat([train, holdout]).sort_values(list(source.columns)).reset_index(drop=True)
    assert both.equals(source.sort_values(list(source.columns)).reset_index(drop=True))
    assert a.train == tmp_path / "a_train.parquet"
    set_params(project, {"split.seed": params.split.seed + 1})
    other = load_params(project / "params.yaml")
    run_split(other, layout, tmp_path / "c_train.parquet", tmp_path / "c_holdout.parquet")
    assert (tmp_path / "c_train.parquet").read_bytes() != (
        tmp_path / "a_train.parquet"
    ).read_bytes()


def test_a_changed_source_or_a_missing_column_is_refused(project: Path, tmp_path: Path) -> None:
    params = load_params(project / "params.yaml")
    layout = Layout.for_params(project / "params.yaml", params)
    set_params(project, {"dataset.target": "crad"})
    with pytest.raises(DataError, match="did you mean 'card'"):
        run_split(
            load_params(project / "params.yaml"),
            layout,
            tmp_path / "t.parquet",
            tmp_path / "h.parquet",
        )
    source = project / params.source.path
    source.write_text(source.read_text() + source.read_text().splitlines()[1] + "\n")
    with pytest.raises(SnapshotMismatch, match="changed"):
        run_split(params, layout, tmp_path / "t.parquet", tmp_path / "h.parquet")
    assert not (tmp_path / "t.parquet").exists()
