"""The metric table drives params, the gate, the manifest summary, the reports and the
threshold directions (pure logic: no git, no process)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sdops_dvc.domain.config import GatesCfg, PolicyCfg
from sdops_dvc.domain.metric_table import (
    BY_KEY,
    METRICS,
    THRESHOLDS,
    Goal,
    Metric,
    gates_block,
    movement,
    nest,
    summary_keys,
    threshold_of,
)
from sdops_dvc.review import threshold_change
from sdops_dvc.stages.gate import decide

LIMITS = [m for m in METRICS if m.threshold is not None and m.threshold.rule == "limit"]


def _metrics(**values: Any) -> dict[str, Any]:
    """metrics.json with every declared key None but those given (dotted keys)."""
    flat: dict[str, Any] = {m.key: None for m in METRICS}
    flat.update(values)
    return nest(flat)


def test_every_threshold_is_a_params_key_at_the_table_default() -> None:
    gates = GatesCfg()
    for m in METRICS:
        if m.threshold is not None:
            section = getattr(
                gates, "schema_" if m.threshold.gate == "schema" else m.threshold.gate
            )
            assert section.value(m.threshold) == m.threshold.default, m.key
            assert section.gate == m.threshold.gate
    # a section answers for its own gate's thresholds only, and only tested gates have alpha
    with pytest.raises(KeyError, match=r"gates\.quality has no threshold"):
        gates.quality.value(threshold_of("privacy.dcr_share"))
    assert gates.privacy.significance == 0.01
    with pytest.raises(KeyError, match="tests nothing"):
        _ = gates.quality.significance
    # and the params sections hold no threshold the table does not declare
    dumped = gates.model_dump(mode="json", by_alias=True)
    declared = {key.removeprefix("gates.") for key in THRESHOLDS}
    for gate, fields in dumped.items():
        extra = {f"{gate}.{k}" for k in fields if k not in ("enabled", "alpha")} - declared
        assert not extra, extra


def test_gates_block_is_valid_params_at_the_defaults() -> None:
    import yaml

    data = yaml.safe_load(gates_block())["gates"]
    assert GatesCfg.model_validate(data) == GatesCfg()


def test_nest_refuses_a_metric_the_table_does_not_declare_or_one_never_computed() -> None:
    samples = {"float": 0.5, "int": 1, "bool": True, "str": "y", "list": [], "dict": {}}
    flat = {m.key: samples[m.kind] for m in METRICS}
    assert list(nest(flat)) == [
        "rows",
        "schema",
        "quality",
        "utility",
        "privacy",
        "subgroup",
        "fairness",
        "relational",
        "conditions",
    ]
    with pytest.raises(AssertionError, match=re.escape("not in the metric table: ['quality.new']")):
        nest({**flat, "quality.new": 0.5})
    with pytest.raises(AssertionError, match=re.escape("declared kind: ['schema.passed=0.5']")):
        nest({**flat, "schema.passed": 0.5})
    with pytest.raises(AssertionError, match="declared kind"):
        nest({**flat, "quality.column_shapes": True})  # a boolean is no number
    del flat["privacy.mia_auc"]
    with pytest.raises(
        AssertionError, match=re.escape("declared but not computed: ['privacy.mia_auc']")
    ):
        nest(flat)


def _gate_fails(m: Metric, value: float, limit: float) -> bool:
    assert m.threshold is not None
    values: dict[str, Any] = {m.key: value}
    if m.applies_if is not None:  # set the key the check needs: a target, a group count
        values[m.applies_if[0]] = "y" if BY_KEY[m.applies_if[0]].kind == "str" else 2
    gates = GatesCfg.model_validate({m.threshold.gate: {m.threshold.name: limit}})
    result = decide(_metrics(**values), gates, PolicyCfg())
    return any(f"({m.key})" in f for f in result.gates[m.threshold.gate].failures)


@pytest.mark.parametrize("m", LIMITS, ids=[m.key for m in LIMITS])
def test_the_gate_and_the_review_agree_on_each_thresholds_direction(m: Metric) -> None:
    """A tightened threshold (as review names it) fails a value the old one passed."""
    assert m.threshold is not None
    key = m.threshold.key
    assert not _gate_fails(m, 0.5, 0.5)  # on the threshold passes, either way
    stricter = 0.4 if m.goal is Goal.MINIMIZE else 0.6
    looser = 0.6 if m.goal is Goal.MINIMIZE else 0.4
    assert threshold_change(key, 0.5, stricter) == "tightened"
    assert threshold_change(key, 0.5, looser) == "loosened"
    assert _gate_fails(m, 0.5, stricter) and not _gate_fails(m, 0.5, looser)


def test_a_limit_metric_not_computed_fails_when_required_and_is_noted_otherwise() -> None:
    gates = GatesCfg()
    result = decide(_metrics(**{"utility.target": "y", "subgroup.groups_reported": 2}), gates, None)
    quality = result.gates["quality"]
    assert (
        "quality: detection AUC (quality.detection_auc) could not be computed" in quality.failures
    )
    subgroup = result.gates["subgroup"]
    assert not subgroup.failures and any("could not be computed" in n for n in subgroup.notes)


def test_summary_report_and_diff_follow_the_table() -> None:
    from sdops_dvc.report import metric_rows
    from sdops_dvc.stages.manifest import _summary

    metrics = _metrics(**{"quality.column_shapes": 0.91, "privacy.dcr_share": 0.5})
    summary = _summary(metrics)
    assert list(summary) == summary_keys() and summary["quality.column_shapes"] == 0.91
    thresholds = GatesCfg().model_dump(mode="json", by_alias=True)
    rows = metric_rows(metrics, thresholds)
    # a single table's report leaves out the related-tables metrics, and an unconditioned
    # one the rebalanced-output metrics; each shows its own when it applies
    optional = ("relational", "conditions")
    assert len(rows) == sum(m.shown and m.family not in optional for m in METRICS)
    related = _metrics(**{"relational.tables": 4, "relational.orphan_excess": 0.0})
    related_rows = metric_rows(related, thresholds)
    assert len(related_rows) == sum(m.shown and m.family != "conditions" for m in METRICS)
    assert len(related_rows) > len(rows)
    rebalanced = _metrics(**{"conditions.groups": 2, "conditions.worst_group_dcr_share": 0.5})
    rebalanced_rows = metric_rows(rebalanced, thresholds)
    assert len(rebalanced_rows) == sum(m.shown and m.family != "relational" for m in METRICS)
    assert ("Worst rebalanced group's DCR share", "0.5000", "<= 0.55") in rebalanced_rows
    assert (
        "Worst relationship's orphan share beyond the real one",
        "0.0000",
        "<= 0.01",
    ) in related_rows
    assert ("Column shapes", "0.9100", ">= 0.8") in rows
    assert ("DCR share (closer to train)", "0.5000", "<= 0.55") in rows
    assert movement("quality.detection_auc", 0.9, 0.8) == "better"
    assert movement("quality.column_shapes", 0.9, 0.8) == "worse"
    assert movement("rows.train", 10, 20) is None  # reported, not judged
    assert BY_KEY["privacy.mia_auc"].section == "privacy"


def test_every_own_rule_is_written_and_every_rule_has_its_metric() -> None:
    from sdops_dvc.stages.gate import EXPLAIN, RULES

    own = {m.key for m in METRICS if m.threshold is not None and m.threshold.rule == "own"}
    assert set(RULES) == own
    assert all(BY_KEY[k].threshold and BY_KEY[k].threshold.rule == "limit" for k in EXPLAIN)


def test_every_metric_names_a_registered_family() -> None:
    from sdops_dvc.metrics.families import FAMILIES

    assert {m.family for m in METRICS} == set(FAMILIES)
