"""Which way a threshold moved, by the direction its gate checks (pure logic, no git)."""

from __future__ import annotations

import pytest

from sdops_dvc.registry.inspect import params_changes
from sdops_dvc.review import loosened, threshold_change


@pytest.mark.parametrize(
    ("key", "old", "new", "expected"),
    [
        ("gates.privacy.max_dcr_share", 0.55, 0.70, "loosened"),
        ("gates.privacy.max_dcr_share", 0.55, 0.50, "tightened"),
        ("gates.quality.min_column_shapes", 0.8, 0.7, "loosened"),
        ("gates.quality.min_column_shapes", 0.8, 0.9, "tightened"),
        ("gates.privacy.alpha", 0.05, 0.01, "loosened"),  # harder to fail
        ("gates.privacy.alpha", 0.01, 0.05, "tightened"),
        ("gates.subgroup.enabled", True, False, "loosened"),  # a gate switched off
        ("gates.subgroup.enabled", False, True, "tightened"),
        ("gates.privacy.max_dcr_share", 0.55, 0.55, None),
        ("generator.seed", 7, 12, None),  # not a threshold
        ("gates.schema.note", "a", "b", None),
    ],
)
def test_threshold_direction(key: str, old: object, new: object, expected: str | None) -> None:
    assert threshold_change(key, old, new) == expected
    short = key.removeprefix("gates.")
    assert loosened(short, old, new) == (expected == "loosened" and key.startswith("gates."))


def test_params_changes_put_thresholds_first() -> None:
    old = {"generator": {"seed": 7}, "gates": {"privacy": {"max_dcr_share": 0.55}}, "x": 1}
    new = {"generator": {"seed": 12}, "gates": {"privacy": {"max_dcr_share": 0.7}}, "x": 1}
    changes = params_changes(old, new)
    assert [c.key for c in changes] == ["gates.privacy.max_dcr_share", "generator.seed"]
    assert [c.change for c in changes] == ["loosened", "changed"]
    assert [(c.a, c.b, c.marked) for c in changes] == [(0.55, 0.7, True), (7, 12, False)]
    assert params_changes(old, old) == []
