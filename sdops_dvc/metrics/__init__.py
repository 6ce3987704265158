"""Metric families. Each metric declares its goal and bounds (SDMetrics' contract),
so gates compare like with like."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Goal = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class MetricSpec:
    key: str  # dotted key in metrics.json
    goal: Goal
    lower: float
    upper: float
    description: str


SPECS: dict[str, MetricSpec] = {
    s.key: s
    for s in [
        MetricSpec(
            "quality.column_shapes",
            "maximize",
            0.0,
            1.0,
            "mean KSComplement / TVComplement over columns (SDMetrics Column Shapes)",
        ),
    ]
}
