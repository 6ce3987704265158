"""``gate``: decide from metrics.json and the thresholds fixed in params.yaml."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdops_dvc.config import GatesCfg, Params
from sdops_dvc.errors import DataError
from sdops_dvc.fsutil import write_json_atomic

GATE_NAMES = ("schema", "quality")


@dataclass(frozen=True)
class GateOutcome:
    name: str
    enabled: bool
    passed: bool
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GateResult:
    approved: bool
    failures: list[str]
    gates: dict[str, GateOutcome]
    thresholds: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "failures": self.failures,
            "gates": {
                name: {"enabled": g.enabled, "passed": g.passed, "failures": g.failures}
                for name, g in self.gates.items()
            },
            "thresholds": self.thresholds,
        }


def load_metrics(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise DataError(f"metrics file {path} does not exist", hint="run `sdops evaluate` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"metrics file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"metrics file {path} must hold a JSON object")
    return data


def _get(metrics: dict[str, Any], dotted: str) -> Any:
    cur: Any = metrics
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def decide(metrics: dict[str, Any], gates: GatesCfg) -> GateResult:
    outcomes: dict[str, GateOutcome] = {}

    # schema
    if gates.schema_.enabled:
        fails = [f"schema: {f}" for f in _get(metrics, "schema.failures") or []]
        if _get(metrics, "schema.passed") is None:
            fails.append("schema: metrics.json has no schema results (re-run `sdops evaluate`)")
        outcomes["schema"] = GateOutcome("schema", True, not fails, fails)
    else:
        outcomes["schema"] = GateOutcome("schema", False, True)

    # quality
    q = gates.quality
    if q.enabled:
        fails = []
        shapes = _get(metrics, "quality.column_shapes")
        if shapes is None:
            fails.append("quality: column shapes could not be computed")
        elif shapes < q.min_column_shapes:
            fails.append(
                f"quality: column shapes {shapes:.4f} is below the minimum {q.min_column_shapes}"
            )
        outcomes["quality"] = GateOutcome("quality", True, not fails, fails)
    else:
        outcomes["quality"] = GateOutcome("quality", False, True)

    failures = [f for g in outcomes.values() for f in g.failures]
    thresholds = gates.model_dump(mode="json", by_alias=True)
    return GateResult(not failures, failures, outcomes, thresholds)


def run_gate(metrics_path: Path, params: Params, out: Path) -> GateResult:
    metrics = load_metrics(metrics_path)
    result = decide(metrics, params.gates)
    write_json_atomic(out, result.as_json())
    return result
