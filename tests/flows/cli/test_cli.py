"""The CLI starts fast (no SDV/torch/sklearn) and every command explains itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sdops_dvc.cli.main import COMMANDS
from tests.conftest import sdops

HEAVY = ("sdv", "torch", "sklearn", "scipy", "ctgan", "rdt", "sdmetrics")

PROBE = """
import sys
from sdops_dvc.cli.main import main
try:
    main({argv!r})
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print("HEAVY:" + ",".join(heavy))
print("CODE:" + str(code))
"""


def _probe(argv: list[str], cwd: Path) -> tuple[list[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.splitlines()
    heavy_line = next(line for line in lines if line.startswith("HEAVY:"))
    code_line = next(line for line in lines if line.startswith("CODE:"))
    heavy = [m for m in heavy_line.removeprefix("HEAVY:").split(",") if m]
    return heavy, code_line.removeprefix("CODE:")


@pytest.mark.parametrize("argv", [["--help"], *[[name, "--help"] for name in COMMANDS]])
def test_help_does_not_import_heavy_libraries(argv: list[str], tmp_path: Path) -> None:
    heavy, code = _probe(argv, tmp_path)
    assert code in ("0", "None")
    assert heavy == [], f"`sdops {' '.join(argv)}` imported {heavy}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help_with_an_example(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sdops_dvc", name, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "Example" in proc.stdout
    assert f"sdops {name}" in proc.stdout


def test_manifest_check_and_gate_stay_light(pipeline_outputs: Path) -> None:
    """Commands that neither generate nor evaluate must not import heavy libraries."""
    root = pipeline_outputs
    heavy, code = _probe(["manifest", "--check", "release/manifest.json"], root)
    assert code in ("0", "None") and heavy == []
    heavy, code = _probe(["gate", "reports/metrics.json", "--out", "gate-copy.json"], root)
    assert code in ("0", "None") and heavy == []
    heavy, code = _probe(["snapshot"], root)
    assert code in ("0", "None") and heavy == []


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sdops_dvc", "relase"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "No such command" in proc.stderr


@pytest.mark.parametrize("kind", ["binary", "directory", "deep"])
def test_manifest_check_of_a_non_manifest_is_exit_8(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    if kind == "binary":
        target.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    elif kind == "directory":
        target.mkdir()
    else:
        target.write_text("[" * 100_000)
    proc = sdops("manifest", "--check", str(target), cwd=tmp_path)
    assert proc.returncode == 8, proc.stderr
    assert "Traceback" not in proc.stderr and "error: manifest" in proc.stderr


def test_binary_consumers_file_is_exit_3(tmp_path: Path) -> None:
    (tmp_path / "consumers.yaml").write_bytes(b"\x00\xff\x00 not yaml")
    proc = sdops("consumers", "credit", cwd=tmp_path)
    assert proc.returncode == 3 and "binary file" in proc.stderr


def test_mistyped_commands_and_options_get_a_suggestion() -> None:
    """In process (click's CliRunner): a typo is a usage error (exit 2) naming the command
    or option meant; a word like no command gets no guess."""
    from click.testing import CliRunner

    from sdops_dvc.cli.main import cli

    runner = CliRunner()
    typo = runner.invoke(cli, ["relase"])
    assert (
        typo.exit_code == 2 and "No such command 'relase'. Did you mean 'release'?" in typo.output
    )
    option = runner.invoke(cli, ["list", "--jsn"])
    assert option.exit_code == 2 and "Did you mean '--json'?" in option.output
    nothing = runner.invoke(cli, ["zzz"])
    assert nothing.exit_code == 2 and "Did you mean" not in nothing.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_takes_json(name: str) -> None:
    from click.testing import CliRunner

    from sdops_dvc.cli.main import cli

    out = CliRunner().invoke(cli, [name, "--help"])
    assert out.exit_code == 0 and "--json" in out.output


def test_json_is_one_document_on_stdout_success_or_error(
    pipeline_outputs: Path, tmp_path: Path
) -> None:
    """On a real pipeline repository: each command's stdout under --json parses as JSON,
    human lines go to stderr, and a refusal is an error document with its exit code."""
    import json
    import shutil

    root = tmp_path / "p"
    shutil.copytree(pipeline_outputs, root, symlinks=True)
    runs = {
        ("snapshot",): 0,
        ("gate", "--check"): 0,
        ("manifest", "--check", "release/manifest.json"): 0,
        ("gate", "reports/metrics.json", "--out", "gate-copy.json"): 0,
        ("list",): 0,
        ("budget", "--offline"): 0,
        ("show", "credit@v9.9.9"): 10,
        ("get", "credit"): 10,
        ("release", "--bump", "sideways"): 2,
    }
    docs = {}
    for argv, code in runs.items():
        proc = sdops(*argv, "--json", cwd=root)
        assert proc.returncode == code, (argv, proc.stderr)
        docs[argv] = json.loads(proc.stdout)
    assert docs[("gate", "--check")]["approved"] is True
    assert docs[("snapshot",)]["changed"] is False
    assert docs[("gate", "reports/metrics.json", "--out", "gate-copy.json")]["gates"]
    assert docs[("show", "credit@v9.9.9")]["error"]["exit_code"] == 10
    assert docs[("release", "--bump", "sideways")]["error"]["type"] == "UsageError"
    proc = sdops("gate", "--check", "--json", cwd=root)
    assert "approved" in proc.stderr  # the human line, kept off stdout


def test_json_mode_lasts_one_invocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In one process (an embedding tool, CliRunner): --json on one command does not send
    the next command's human lines to stderr."""
    import json

    from click.testing import CliRunner

    from sdops_dvc.cli.main import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "consumers.yaml").write_text(
        "consumers:\n  - {name: nb, contact: ds@example.com, dataset: claims, version: current}\n"
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["consumers", "claims", "--json"])
    assert first.exit_code == 0 and json.loads(first.stdout)[0]["name"] == "nb"
    second = runner.invoke(cli, ["consumers", "claims"])
    assert second.exit_code == 0 and second.stdout.startswith("nb ")
