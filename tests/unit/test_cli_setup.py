"""cli/setup.py in-process: ``sdops init`` parses its flags, renders what init did (its JSON
result under --json), and turns bad input into one readable error with its exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ConfigError, DataError, WouldOverwrite
from sdops_dvc.cli import setup as cli_setup
from tests.unit.conftest import Ran

DATA = Path(__file__).resolve().parent.parent / "data"


def test_init_reports_what_it_wrote_and_what_is_left_to_review(
    tmp_path: Path, run_cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ran = run_cli("init", "--no-measure", "--source", str(DATA / "credit_card.csv"), "--name", "cc",
                  "--target", "card", "--owner", "o@example.com", "--json")  # fmt: skip
    assert ran.code == 0, ran.err
    doc = ran.json()
    assert {"params.yaml", "dvc.yaml", "metadata.json"} <= set(doc["created"])
    assert doc["source"] == "data/source/credit_card.csv" and len(doc["source_md5"]) == 32
    assert (
        "--owner" not in doc["policy_placeholders"]
        and "--intended-use" in doc["policy_placeholders"]
    )
    assert any(a.startswith("generator.family: cart") for a in doc["actions"])
    assert cli_setup.NEXT_STEPS.strip() in ran.err  # the human lines go to stderr under --json
    again = run_cli(
        "init", "--no-measure", "--source", str(DATA / "credit_card.csv"), "--name", "cc"
    )
    assert (
        again.code == WouldOverwrite.exit_code
        and "refusing to overwrite" in again.err
        and "--force" in again.err
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--source", "nope.csv", "--name", "x"], DataError.exit_code, "does not exist"),
        (["--source", str(DATA / "credit_card.csv"), "--name", "bad name"], ConfigError.exit_code,
         "not a valid"),
        (["--source", str(DATA / "credit_card.csv"), "--name", "x", "--family", "gan"],
         ConfigError.exit_code, "unknown"),
        (["--source", str(DATA / "credit_card.csv"), "--name", "x", "--target", "crad"],
         DataError.exit_code, "did you mean 'card'"),
        (["--name", "x"], 2, "--source"),
    ],
)  # fmt: skip
def test_bad_input_is_one_readable_error_and_nothing_is_written(
    tmp_path: Path,
    run_cli: Callable[..., Ran],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    ran = run_cli("init", *args)
    assert ran.code == code and says in ran.err
    assert "Traceback" not in ran.err and list(tmp_path.iterdir()) == []
