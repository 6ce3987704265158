"""output.py in-process: under --json a command's result and its errors are one JSON
document on stdout, and the human lines move to stderr."""

from __future__ import annotations

import json
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from sdops_dvc.base.output import (
    JSON_OPTION,
    alert,
    error_document,
    info,
    json_mode,
    result,
    set_json_mode,
    warn,
)


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    set_json_mode(False)
    yield
    set_json_mode(False)


@click.command()
@JSON_OPTION
def _cmd(as_json: bool) -> None:
    info("a human line")
    warn("careful")
    alert("BLOCKED", "two reasons")
    result({"ok": True, "as_json": as_json})


def test_without_json_every_line_is_human_and_no_document_is_printed() -> None:
    out = CliRunner().invoke(_cmd, [])
    assert out.exit_code == 0
    assert out.stdout == "a human line\n"
    assert "warning: careful" in out.stderr and "BLOCKED two reasons" in out.stderr


def test_with_json_stdout_is_one_document_and_human_lines_go_to_stderr() -> None:
    out = CliRunner().invoke(_cmd, ["--json"])
    assert out.exit_code == 0 and json_mode()
    assert json.loads(out.stdout) == {"ok": True, "as_json": True}
    assert "a human line" in out.stderr and "warning: careful" in out.stderr


def test_an_error_is_a_json_document_only_under_json(capsys: pytest.CaptureFixture[str]) -> None:
    error_document("DataError", "bad", "fix it", 4)
    assert capsys.readouterr().out == ""
    set_json_mode(True)
    error_document("DataError", "bad", "fix it", 4)
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "error": {"type": "DataError", "message": "bad", "hint": "fix it", "exit_code": 4}
    }
