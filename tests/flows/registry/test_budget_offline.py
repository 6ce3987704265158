"""``sdops budget`` reads origin's ledger first; ``--offline`` keeps to the local view
(in-process CLI on a real pipeline repository whose origin cannot be reached)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sdops_dvc.cli import main as cli_main
from tests.conftest import git


def _budget(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    cli_main.main(["budget", "--json", *argv])  # returns on success; exits on an error
    out, _ = capsys.readouterr()
    return json.loads(out)  # type: ignore[no-any-return]


def test_offline_does_not_reach_origin(
    pipeline_outputs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    shutil.copytree(pipeline_outputs, work, symlinks=True)
    git("remote", "add", "origin", str(tmp_path / "gone.git"), cwd=work)  # never created
    monkeypatch.chdir(work)
    online = _budget([], capsys)
    assert len(online["warnings"]) == 1
    assert online["warnings"][0].startswith("could not fetch from origin (")
    offline = _budget(["--offline"], capsys)
    assert offline["warnings"] == []
    # the same local ledger either way
    assert offline["entries"] == online["entries"] and offline["scope"] == online["scope"]
