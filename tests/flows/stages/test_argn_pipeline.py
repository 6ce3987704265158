"""`init --family tabular_argn` -> `dvc repro` on real git and DVC, with TabularARGN fitted in
its own runtime (the real one: a virtualenv with mostlyai-engine, which CI builds before the
tests with `sdops runtime install tabular_argn`, and which is otherwise built here on first
use). A small model and few epochs keep it short; the promises are the family's: its
versions, column order and encodings in the manifest, the train split's columns and types
in the sample, and the same bytes from new processes, on one core as on two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sdops_dvc.base.fsutil import md5_file
from sdops_dvc.domain.manifest import read as read_manifest
from tests.conftest import TEST_CHARTER, dvc, git, lock_md5, sdops, sdops_in, set_params

SYN = "data/synthetic/synthetic.csv"


def test_argn_pipeline_end_to_end(repo: Path, small_source: Path) -> None:
    init = sdops_in(
        "init", "--source", str(small_source), "--name", "credit", "--target", "card",
        "--family", "tabular_argn", cwd=repo, check=True,
    )  # fmt: skip
    assert "sdops runtime install tabular_argn" in init.stdout + init.stderr
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["generator"]["family"] == "tabular_argn"
    set_params(
        repo,
        {
            **TEST_CHARTER,
            "generator.parameters": {"model": "MOSTLY_AI/Small", "max_epochs": 3},
            # a reviewer's edit: active (35 values) generated on its pooled support
            "generator.discrete": ["active"],
        },
    )
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "pipeline", cwd=repo)
    dvc("repro", cwd=repo)

    train = pd.read_parquet(repo / "data/split/train.parquet")
    syn = pd.read_csv(repo / SYN)
    assert list(syn.columns) == list(train.columns) and len(syn) == len(train)
    for col in train.columns:
        if np.issubdtype(train[col].dtype, np.number):
            assert np.issubdtype(syn[col].dtype, np.number), col
        else:  # categories the train split holds (rare ones are sampled, not a placeholder)
            assert set(syn[col].dropna()) <= set(train[col].dropna()), col

    manifest = json.loads((repo / "release/manifest.json").read_text())
    gen = manifest["generator"]
    assert gen["family"] == "tabular_argn" and gen["sdv_class"] == "TabularARGN"
    assert gen["parameters"]["model"] == "MOSTLY_AI/Small"
    assert gen["parameters"]["max_epochs"] == 3 and gen["parameters"]["value_protection"]
    rt = gen["runtime"]
    assert rt["name"] == "tabular_argn" and rt["packages"]["mostlyai-engine"] == "2.7.3"
    assert rt["column_order"] == list(train.columns)
    assert rt["encodings"]["income"] == "TABULAR_NUMERIC_DIGIT"  # dollars and cents
    assert rt["encodings"]["card"] == "TABULAR_CATEGORICAL"
    assert rt["encodings"]["active"] == "TABULAR_NUMERIC_DISCRETE"
    assert gen["columns"]["active"]["handling"] == "discrete"
    assert manifest["privacy"]["mechanism"] == "none"
    model, problems = read_manifest(manifest)
    assert problems == [] and model is not None
    assert model.generator.library == "mostlyai-engine 2.7.3"  # the datasheet's, not SDV's
    assert sdops("manifest", "--check", "release/manifest.json", cwd=repo).returncode == 0
    gate = json.loads((repo / "reports/gate.json").read_text())
    assert isinstance(gate["approved"], bool)  # a verdict was reached, either way

    first = lock_md5(repo, "generate", SYN)
    manifest_md5 = md5_file(repo / "release/manifest.json")
    dvc("repro", "-f", cwd=repo)  # every stage again, in new processes
    assert lock_md5(repo, "generate", SYN) == first
    assert md5_file(repo / "release/manifest.json") == manifest_md5

    # on a single core: the torch thread count is fixed, so the core count changes nothing
    one = "data/synthetic/one-core.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "sdops_dvc", "generate", "--params", "params.yaml", "--out", one],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )
    assert proc.returncode == 0, proc.stderr
    assert md5_file(repo / one) == first
    assert "epoch 1:" in proc.stderr  # the fit's progress, epoch by epoch, once each
    assert "{'epoch'" not in proc.stderr


def test_a_column_order_naming_a_missing_column_writes_nothing(
    repo: Path, small_source: Path
) -> None:
    sdops_in(
        "init", "--source", str(small_source), "--name", "credit", "--target", "card",
        "--family", "tabular_argn", cwd=repo, check=True,
    )  # fmt: skip
    set_params(repo, {"generator.parameters": {"column_order": ["card", "nosuch"]}})
    dvc("repro", "split", cwd=repo)
    proc = sdops("generate", "--params", "params.yaml", "--out", SYN, cwd=repo)
    assert proc.returncode == 3, proc.stderr
    assert "column_order must name every column of the table once" in proc.stderr
    assert "not in the table: nosuch" in proc.stderr
    assert not (repo / SYN).exists()


def test_init_puts_few_valued_integers_on_their_support_for_argn(tmp_path: Path) -> None:
    """As for cart: a count such as reports (14 values, rare ones held by one record) is
    generated on its pooled support, not learnt as categories of its own."""
    from tests.conftest import CREDIT

    found = {}
    for family in ("cart", "tabular_argn", "gaussian_copula"):
        root = tmp_path / family
        root.mkdir()
        git("init", "-q", cwd=root)
        sdops_in(
            "init", "--source", str(CREDIT), "--name", "credit", "--family", family,
            cwd=root, check=True,
        )  # fmt: skip
        found[family] = yaml.safe_load((root / "params.yaml").read_text())["generator"]["discrete"]
    assert "reports" in found["tabular_argn"] and found["tabular_argn"] == found["cart"]
    assert "reports" not in found["gaussian_copula"]  # SDV rounds integers itself
