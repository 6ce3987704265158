"""The crash harness (issue 25): `sdops release` killed with SIGKILL at each step leaves no
partial release and no spend without a release, and a re-run repairs and says so. The kill
comes from the fault hook in sdops_dvc/registry/releases.py (SDOPS_FAULT), at the points a
lost machine or `kill -9` could stop it: after every check, after the tag object is made,
after the atomic push of tag and ledger, after the local ledger ref is set."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from sdops_dvc.registry.releases import FAULT_POINTS
from tests.conftest import approve_release, git, remote_tags, run, sdops, tags


def _ledger_on_origin(origin: Path) -> dict[str, str]:
    out = git("ls-remote", str(origin), "refs/sdops/budget/*", cwd=origin).stdout
    return {ref: sha for sha, ref in (line.split("\t") for line in out.splitlines())}


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_release_killed_at_any_step_leaves_all_or_nothing(
    world: dict[str, Path], point: str
) -> None:
    work, origin = world["work"], world["origin"]
    approve_release(work)
    env = {**os.environ, "SDOPS_FAULT": point}
    killed = run([sys.executable, "-m", "sdops_dvc", "release", "--no-regenerate"], work, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    published = point in ("pushed", "ledger-ref")
    # origin has the tag and its ledger entry together, or neither
    assert ("credit@v1.0.0" in remote_tags(origin)) is published
    assert bool(_ledger_on_origin(origin)) is published
    assert tags(work) == []  # no local tag before origin accepted it, and none after a kill
    again = sdops("release", "--no-regenerate", cwd=work)
    if published:
        assert again.returncode == 9, again.stdout
        assert "repaired: fetched credit@v1.0.0 from origin" in again.stderr
        assert "HEAD is already released as credit@v1.0.0" in again.stderr
    else:
        assert again.returncode == 0, again.stderr
        assert "released credit@v1.0.0" in again.stdout
    assert tags(work) == ["credit@v1.0.0"] and remote_tags(origin) == ["credit@v1.0.0"]
    # one release, one ledger entry: no spend without a release, none counted twice
    [(ref, sha)] = _ledger_on_origin(origin).items()
    ledger = json.loads(git("show", f"{sha}:ledger.json", cwd=work).stdout)
    assert [r["tag"] for r in ledger["releases"]] == ["credit@v1.0.0"]
    assert git("rev-parse", ref, cwd=work).stdout.strip() == sha
