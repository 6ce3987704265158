"""`sdops demo` builds a throwaway repository and runs the whole flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, sdops


@pytest.mark.slow
def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    proc = sdops("demo", str(target), cwd=tmp_path, check=True)
    assert f"demo repository: {target}" in proc.stdout
    assert "gate: approved" in proc.stdout
    for rel in ("data/synthetic/synthetic.csv", "reports/metrics.json", "release/manifest.json"):
        assert str(target / rel) in proc.stdout
        assert (target / rel).exists()
    manifest = json.loads((target / "release/manifest.json").read_text())
    assert manifest["source"]["rows"] == 8802
    assert manifest["policy"]["access_classification"] == "internal"
    assert git("log", "--oneline", cwd=target).stdout.count("\n") == 1
    proc = sdops("manifest", "--check", "release/manifest.json", cwd=target)
    assert proc.returncode == 0


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    proc = sdops("demo", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 7 and "not empty" in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
