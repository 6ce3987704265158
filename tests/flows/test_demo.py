"""`sdops demo` builds a throwaway repository and runs the whole flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, sdops


@pytest.mark.slow
def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    """Issue 13.7: progress as it goes, every path (reports included), a commit per step, a
    release to a bare origin and a DVC remote, then list, show and get as a consumer."""
    import hashlib

    target = tmp_path / "demo"
    proc = sdops("demo", str(target), cwd=tmp_path, check=True)
    steps = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert steps[0].startswith("[1/7] init") and steps[-1].startswith("[7/7] a consumer: get")
    assert f"demo directory: {target}" in proc.stdout
    assert "gate: approved" in proc.stdout
    repo = target / "repo"
    for rel in (
        "data/synthetic/synthetic.csv",
        "reports/metrics.json",
        "reports/report.html",
        "reports/report.md",
        "release/manifest.json",
    ):
        assert str(repo / rel) in proc.stdout
        assert (repo / rel).exists()
    manifest = json.loads((repo / "release/manifest.json").read_text())
    assert manifest["source"]["rows"] == 8802
    assert manifest["policy"]["access_classification"] == "internal"
    log = git("log", "--format=%s", cwd=repo).stdout.splitlines()
    assert len(log) == 4 and log[-1].startswith("sdops init") and log[0] == "Approve the release"
    assert git("status", "--porcelain", cwd=repo).stdout == ""  # every step committed
    assert "released: health-insurance@v1.0.0" in proc.stdout
    assert "as the consumer lists it: health-insurance@v1.0.0 [current]" in proc.stdout
    assert "as the consumer shows it: gaussian_copula" in proc.stdout
    assert "health-insurance@v1.0.0" in git("tag", cwd=target / "origin.git").stdout
    tag = git("cat-file", "tag", "health-insurance@v1.0.0", cwd=target / "origin.git").stdout
    assert "-----BEGIN SSH SIGNATURE-----" in tag  # signed by the demo author's key
    record = json.loads(tag.split("\n\n", 1)[1].split("\n\n", 1)[1].split("-----BEGIN", 1)[0])
    assert record["approvals"][0]["method"] == "ssh-signature (trust on first use)"
    listed = json.loads(sdops("list", "--json", cwd=repo, check=True).stdout)
    assert listed[0]["verified"] is True and listed[0]["status"] == "current"
    got = target / "consumer" / "synthetic.csv"
    assert hashlib.md5(got.read_bytes()).hexdigest() == manifest["outputs"]["synthetic"]["md5"]
    # real rows went to the private remote only
    split_md5 = manifest["split"]["train"]["md5"]
    stored = target / "{}" / "files" / "md5" / split_md5[:2] / split_md5[2:]
    assert Path(str(stored).format("private-store")).exists()
    assert not Path(str(stored).format("release-store")).exists()
    proc = sdops("manifest", "--check", "release/manifest.json", cwd=repo)
    assert proc.returncode == 0


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    proc = sdops("demo", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 7 and "not empty" in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
