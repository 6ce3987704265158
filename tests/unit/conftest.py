"""In-process helpers for the unit tests: the ``sdops`` entry point called as a function."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sdops_dvc.cli import main as cli_main
from tests.conftest import make_pipeline


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """``sdops ARGS`` in this process (cwd as the test set it): its exit code (0 when the
    command returned), stdout and stderr."""

    def run(*argv: str) -> Ran:
        code = 0
        try:
            cli_main.main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


@pytest.fixture
def project(repo: Path, small_source: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository where `sdops init` ran and was committed (the CreditCard slice), as the
    working directory."""
    make_pipeline(repo, small_source)
    monkeypatch.chdir(repo)
    return repo
