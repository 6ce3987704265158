"""monitor.py and report/monitor.py in-process: drift and schema findings graded against the
monitor thresholds, the verdict and its advice, and the record rendered as markdown and a
self-contained page with no rows of real data."""

from __future__ import annotations

import pandas as pd

from sdops_dvc.domain.config import MonitorCfg
from sdops_dvc.monitor import (
    Finding,
    MonitorResult,
    _drift_findings,
    _schema_findings,
    _verdict,
)
from sdops_dvc.report.monitor import html, markdown

CFG = MonitorCfg()


def test_drift_is_graded_warning_then_action_at_the_thresholds() -> None:
    drift = {
        "age": {"psi": 0.05, "ks": 0.15, "tv": 0.3},  # quiet, warning, action
        "region": {"psi": 0.0, "tv": 0.0, "new_categories": ["mars"], "vanished_categories": []},
    }
    found = _drift_findings(drift, CFG)
    levels = {(f.level, f.what.split()[2]) for f in found if f.what.startswith("drift: age")}
    assert levels == {("warning", "KS"), ("action", "TV")}
    assert any(f.level == "warning" and "mars" in f.what for f in found)
    assert all("PSI" not in f.what for f in found)


def test_a_column_added_removed_or_retyped_is_an_action() -> None:
    base = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [1.0, 2.0]})
    fresh = pd.DataFrame({"a": ["1", "2"], "b": ["x", "y"], "d": [0, 1]})
    found = _schema_findings(base, fresh, where=" in t")
    assert [f.level for f in found] == ["action", "action"]
    assert "added ['d'], removed ['c']" in found[0].what and "in t" in found[0].what
    assert "['a']" in found[1].what
    assert _schema_findings(base, base.copy()) == []


def test_the_verdict_says_retrain_on_drift_and_revoke_on_decay() -> None:
    assert _verdict([], "t@v1.0.0") == ("healthy", "healthy: keep the release")
    status, advice = _verdict([Finding("warning", "drift: x PSI 0.2 > 0.1")], "t@v1.0.0")
    assert status == "warning" and advice.startswith("retrain")
    status, advice = _verdict([Finding("action", "utility: TSTR 0.5")], "t@v1.0.0")
    assert status == "action" and "sdops revoke t@v1.0.0 --kind utility" in advice
    assert MonitorResult("t@v1.0.0", status).exit_code == 2


def _record() -> dict[str, object]:
    return {
        "release": "t@v1.0.0",
        "status": "warning",
        "recommendation": "retrain: the source moved",
        "findings": [{"level": "warning", "what": "drift: age KS 0.150 > 0.1"}],
        "checked_at": "2026-12-04T00:00:00Z",
        "fresh": {"path": "fresh.csv", "rows": 120},
        "baseline_rows": 100,
        "drift": {"age": {"psi": 0.05, "ks": 0.15, "tv": 0.02}, "<b>": {"psi": None}},
        "utility": {"source_tstr": 0.8, "fresh_tstr": 0.75, "decay": 0.05, "recorded_tstr": 0.79},
        "subgroups": [
            {"column": "sex", "group": "f", "gated": True, "decay": 0.06},
            {"column": "sex", "group": "m", "gated": False, "decay": 0.5},
        ],
    }


def test_the_reports_say_the_status_and_escape_what_they_show() -> None:
    page = html(_record(), CFG)
    assert "WARNING" in page and "drift: age KS 0.150 &gt; 0.1" in page
    assert "&lt;b&gt;" in page and "<b>" not in page.replace("<b class", "")
    assert "sex=f" in page and "sex=m" not in page  # only gated groups are drawn
    assert "0.1500" in page  # the drift table's KS
    md = markdown(_record())
    assert "t@v1.0.0" in md and "WARNING" in md.upper() and "drift: age KS" in md
