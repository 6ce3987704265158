"""The top-level handler: every error is one readable message with a documented exit code
(in-process: ``sdops_dvc.cli.main.main`` called directly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdops_dvc.cli import main as cli_main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli_main.main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Fault injection, the one way to reach the handler for bugs: ``sdops snapshot``'s core
    function raises what no sdops code raises on purpose (in a directory with a params.yaml,
    so that nothing before it stops the command)."""
    import sdops_dvc.setup.project as project

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("an internal key")

    monkeypatch.setattr(project, "snapshot", broken, raising=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("{}\n")
    monkeypatch.delenv("SDOPS_DEBUG", raising=False)
    return monkeypatch


def test_an_unexpected_error_is_exit_70_without_a_traceback(
    crashing: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["snapshot", "--id", "x"], capsys)
    assert code == 70 and out == ""  # human lines go to stderr
    assert "unexpected KeyError: 'an internal key'" in err
    assert "rerun with SDOPS_DEBUG=1" in err and "Traceback" not in err


def test_sdops_debug_shows_the_traceback(
    crashing: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    crashing.setenv("SDOPS_DEBUG", "1")
    code, _, err = _run(["snapshot", "--id", "x"], capsys)
    assert code == 70
    assert "Traceback (most recent call last)" in err and "def broken" not in err
    assert "in broken" in err  # the frame that raised is named


def test_json_mode_reports_the_bug_as_a_document(
    crashing: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["snapshot", "--id", "x", "--json"], capsys)
    doc = json.loads(out)
    assert code == 70 and doc["error"]["exit_code"] == 70
    assert doc["error"]["type"] == "KeyError"
