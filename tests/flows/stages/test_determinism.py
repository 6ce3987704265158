"""Same train split, params and seed => byte-identical synthetic output, for every family,
across separate processes; another seed => different output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sdops_dvc.base.fsutil import write_json_atomic
from sdops_dvc.domain.metadata import detect
from tests.conftest import CREDIT, sdops

NEURAL = {"epochs": 2, "batch_size": 100}
FAMILIES = {
    "gaussian_copula": {},
    "ctgan": NEURAL,
    "tvae": NEURAL,
    "copula_gan": NEURAL,
}


def _workdir(tmp_path: Path, family: str, seed: int, fmt: str) -> Path:
    root = tmp_path / f"{family}-{seed}"
    root.mkdir()
    df = pd.read_csv(CREDIT).head(300)
    (root / "data/split").mkdir(parents=True)
    df.to_parquet(root / "data/split/train.parquet", index=False)
    write_json_atomic(root / "metadata.json", detect(df, "credit"))
    params = {
        "dataset": {"name": "credit", "target": "card"},
        "source": {"path": "unused.csv", "snapshot_id": "t", "md5": "0" * 32},
        "generator": {
            "family": family,
            "seed": seed,
            "num_rows": 200,
            "parameters": FAMILIES[family],
        },
        "output": {"format": fmt},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def _generate(root: Path, fmt: str) -> str:
    out = f"out.{fmt}"
    sdops("generate", "--out", out, cwd=root, check=True)
    return hashlib.md5((root / out).read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_byte_identical_across_processes(family: str, tmp_path: Path) -> None:
    fmt = "parquet" if family == "tvae" else "csv"
    a = _generate(_workdir(tmp_path, family, 7, fmt), fmt)
    b = _generate(_rerun(tmp_path, family, fmt), fmt)
    assert a == b
    c = _generate(_workdir(tmp_path, family, 8, fmt), fmt)
    assert c != a


def _rerun(tmp_path: Path, family: str, fmt: str) -> Path:
    """A fresh directory with the same inputs: a second, independent process and workspace."""
    src = tmp_path / f"{family}-7"
    dst = tmp_path / f"{family}-7-again"
    dst.mkdir()
    for rel in ("params.yaml", "metadata.json", "data/split/train.parquet"):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).write_bytes((src / rel).read_bytes())
    return dst
