"""The package's entry points in-process: ``python -m sdops_dvc`` is the ``sdops`` command,
and the registry and stage packages import nothing heavy (SDV, torch, sklearn load only
when a command generates or evaluates)."""

from __future__ import annotations

import runpy
import subprocess
import sys

import pytest

import sdops_dvc
import sdops_dvc.registry
import sdops_dvc.stages


def test_python_dash_m_is_the_sdops_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["sdops", "--version"])
    runpy.run_module("sdops_dvc", run_name="__main__")  # --version returns: exit status 0
    assert capsys.readouterr().out == f"sdops, version {sdops_dvc.__version__}\n"
    monkeypatch.setattr(sys, "argv", ["sdops", "no-such-command"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("sdops_dvc", run_name="__main__")
    assert exc.value.code == 2 and "No such command" in capsys.readouterr().err


def test_the_registry_and_stage_packages_import_nothing_heavy() -> None:
    assert sdops_dvc.registry.__doc__ and sdops_dvc.stages.__doc__
    code = (
        "import sys, sdops_dvc.registry.releases, sdops_dvc.registry.reader, "
        "sdops_dvc.stages.gate, sdops_dvc.stages.split, sdops_dvc.cli.main, sdops_dvc.cli.runtime, "
        "sdops_dvc.pipeline, "
        "sdops_dvc.synthesizers.runtime\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sdv', 'torch', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
