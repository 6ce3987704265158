"""pipeline.py in-process: the stages as a project runs them. params.yaml is found when it
is not named, generate writes the layout's synthetic file from the train split, and the
gate decides from a metrics file with or without a project."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sdops_dvc.metric_table import METRICS, nest
from sdops_dvc.pipeline import discover_params, gate, generate, open_project
from sdops_dvc.stages.split import run_split


def test_params_are_found_only_where_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert discover_params(None) is None
    assert discover_params(Path("other.yaml")) == Path("other.yaml")
    (tmp_path / "params.yaml").write_text("{}\n")
    assert discover_params(None) == Path("params.yaml")


def test_generate_writes_the_layouts_synthetic_file_from_the_train_split(project: Path) -> None:
    params, layout = open_project(project / "params.yaml")
    run_split(params, layout, layout.train(), layout.holdout())
    res, same = generate(project / "params.yaml", None, None, None, progress=False)
    out = layout.synthetic_out(params.output.format)
    assert same == layout and res.output == out and out.is_file()
    assert res.rows == len(pd.read_parquet(layout.train()))


def test_the_gate_decides_without_a_project_and_blocks_what_was_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    metrics = tmp_path / "reports" / "metrics.json"
    metrics.parent.mkdir()
    metrics.write_text(json.dumps(nest({m.key: None for m in METRICS})))
    res, written = gate(metrics, None, None)
    assert written == metrics.parent / "gate.json" and written.is_file()
    assert not res.approved and res.failures
    assert json.loads(written.read_text())["approved"] is False
