"""`init --family cart` -> `dvc repro` on real git and DVC: discrete columns written by init,
generated on their pooled support, the leaf size chosen on the train split and recorded,
and a forced re-run byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sdops_dvc.base.fsutil import md5_file
from sdops_dvc.synthesizers.columns import plan_discrete
from tests.conftest import TEST_CHARTER, dvc, git, lock_md5, sdops, sdops_in, set_params

SYN = "data/synthetic/synthetic.csv"


def _init(repo: Path, source: Path, family: str) -> None:
    sdops_in(
        "init", "--source", str(source), "--name", "credit", "--target", "card",
        "--family", family, cwd=repo, check=True,
    )  # fmt: skip


def test_cart_pipeline_end_to_end(repo: Path, small_source: Path) -> None:
    _init(repo, small_source, "cart")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["generator"]["family"] == "cart"
    assert "income" not in params["generator"]["discrete"]
    set_params(
        repo,
        {
            **TEST_CHARTER,
            # a reviewer's edit: active (35 values, continuous by default) generated on its
            # own values, its rare ones pooled
            "generator.discrete": ["active"],
        },
    )
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "pipeline", cwd=repo)
    dvc("repro", cwd=repo)

    manifest = json.loads((repo / "release/manifest.json").read_text())
    gen = manifest["generator"]
    assert gen["family"] == "cart" and gen["sdv_class"] == "CartSynthesizer"
    assert gen["parameters"] == {"min_samples_leaf": "auto"}
    active = gen["columns"]["active"]
    train = pd.read_parquet(repo / "data/split/train.parquet")
    counts = train["active"].value_counts()
    assert active["handling"] == "discrete"
    assert active["support_values"] == len(counts)
    assert active["pooled_values"] == int((counts < 10).sum()) > 0
    syn = pd.read_csv(repo / SYN)
    # every value released stands for at least min_bin_count (10) train records
    (plan,) = plan_discrete(train, ["active"], 10)
    stands_for = train["active"].map(plan.mapping).value_counts()
    assert set(syn["active"]) <= set(stands_for.index)
    assert stands_for.min() >= 10
    assert len(set(syn["active"])) < len(counts)  # the rare tail was pooled
    assert np.issubdtype(syn["active"].dtype, np.number)
    # the leaf size was chosen on the train split and recorded in the fit file
    with np.load(repo / "model/dp_fit.npz") as z:
        header = json.loads(str(z["header"]))
    selection = header["selection"]
    assert (
        selection["trials"]
        and selection["min_samples_leaf"] == (selection["trials"][-1]["min_samples_leaf"])
    )
    assert sdops("manifest", "--check", "release/manifest.json", cwd=repo).returncode == 0

    first = lock_md5(repo, "generate", SYN)
    manifest_md5 = md5_file(repo / "release/manifest.json")
    dvc("repro", "-f", cwd=repo)  # every stage again, in new processes
    assert lock_md5(repo, "generate", SYN) == first
    assert md5_file(repo / "release/manifest.json") == manifest_md5


def test_discrete_must_name_numerical_columns(repo: Path, small_source: Path) -> None:
    _init(repo, small_source, "gaussian_copula")
    set_params(repo, {"generator.discrete": ["owner"]})
    dvc("repro", "split", cwd=repo)
    proc = sdops("generate", "--params", "params.yaml", "--out", SYN, cwd=repo)
    assert proc.returncode != 0
    assert "generator.discrete" in proc.stderr and "owner (categorical)" in proc.stderr
    assert not (repo / SYN).exists()


def test_init_models_float32_short_decimals_on_their_own_values(tmp_path: Path) -> None:
    """A held-back table's trap: 50-odd grades stored as float32 (0.20000000298023224). As
    free continuous values any classifier tells them apart; init makes them discrete for
    every SDV family, and the generator writes only values real rows hold."""
    rng = np.random.default_rng(0)
    grade = np.float32(rng.integers(0, 50, 1500) / 10).astype(float)  # 0.0 .. 4.9
    df = pd.DataFrame({"grade": grade, "y": rng.normal(size=1500).round(3)})
    assert "0.20000000298023224" in df.to_csv(index=False)
    src = tmp_path / "grades.csv"
    df.to_csv(src, index=False)
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    sdops_in(
        "init", "--source", str(src), "--name", "g", "--family", "gaussian_copula",
        cwd=repo, check=True,
    )  # fmt: skip
    gen = yaml.safe_load((repo / "params.yaml").read_text())["generator"]
    assert gen["discrete"] == ["grade"] and gen["decimals"] == {}
    dvc("repro", "split", cwd=repo)
    proc = sdops("generate", "--params", "params.yaml", "--out", SYN, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    syn = pd.read_csv(repo / SYN)
    real = pd.read_csv(src)["grade"]  # as the pipeline reads the source
    assert set(syn["grade"]) <= set(real)  # the real float32 renderings, nothing between
