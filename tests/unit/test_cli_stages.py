"""cli/stages.py in-process: ``sdops gate --check`` enforces a recorded verdict (exit 1 with
every reason when blocked) and refuses a file that is no gate verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sdops_dvc.base.errors import DataError, GateFailed
from sdops_dvc.cli import stages as cli_stages
from tests.unit.conftest import Ran


def test_gate_check_enforces_the_recorded_verdict(
    tmp_path: Path, run_cli: Callable[..., Ran]
) -> None:
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"approved": True, "failures": []}))
    ok = run_cli("gate", "--check", str(gate), "--json")
    assert ok.code == 0 and ok.json() == {"gate": str(gate), "approved": True, "failures": []}
    gate.write_text(json.dumps({"approved": False, "failures": ["privacy: DCR 0.6", "quality: x"]}))
    blocked = run_cli("gate", "--check", str(gate))
    assert blocked.code == GateFailed.exit_code
    assert "  - privacy: DCR 0.6" in blocked.err and "  - quality: x" in blocked.err
    assert cli_stages.gate.name == "gate"


def test_gate_check_refuses_what_is_not_a_verdict(
    tmp_path: Path, run_cli: Callable[..., Ran]
) -> None:
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"approved": True, "failures": ["but blocked"]}))
    ran = run_cli("gate", "--check", str(gate))
    assert ran.code == DataError.exit_code and "inconsistent" in ran.err
    gate.write_text("[]")
    assert run_cli("gate", "--check", str(gate)).code == DataError.exit_code
