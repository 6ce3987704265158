"""pipeline.py in-process: the stages as a project runs them. params.yaml is found when it
is not named, generate writes the layout's synthetic file from the train split, and the
gate decides from a metrics file with or without a project; the five stages in a row
leave a manifest that reads back and pins what they wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sdops_dvc.domain import layout as L
from sdops_dvc.domain.manifest import Manifest, validate
from sdops_dvc.domain.metric_table import METRICS, nest
from sdops_dvc.pipeline import (
    discover_params,
    evaluate,
    gate,
    generate,
    manifest,
    open_project,
    split,
)


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
    cut, _ = split(project / "params.yaml", None, None)
    assert cut.n_train + cut.n_holdout == cut.n_source and layout.train().is_file()
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


def test_the_five_stages_in_a_row_leave_a_manifest_that_pins_their_files(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)  # evaluate and gate find ./params.yaml themselves
    params_path = project / "params.yaml"
    params, layout = open_project(params_path)
    split(params_path, None, None)
    generate(params_path, None, None, None, progress=False)
    synthetic = layout.synthetic_out(params.output.format)
    ev = evaluate(None, synthetic, layout.path(L.REPORTS))
    assert ev.metrics_path == layout.path(L.METRICS) and ev.metrics_path.is_file()
    verdict, gate_path = gate(None, None, None)
    assert gate_path == Path(L.GATE)
    doc, written = manifest(params_path, None)
    assert written == layout.path(L.MANIFEST) and validate(doc) == []
    m = Manifest.parse(json.loads(written.read_text()))
    assert m.approved == verdict.approved and m.doc == doc
    assert m.synthetic.path == layout.rel(synthetic) and m.train.path == layout.rel(layout.train())
