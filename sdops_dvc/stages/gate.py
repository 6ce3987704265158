"""``gate``: decide from metrics.json and the thresholds fixed in params.yaml.

Writes ``gate.json`` ({"approved", "failures", "gates": {name: {"passed", "failures"}}}),
plus ``report.html`` and ``report.md`` beside it. Every failure is a readable reason that
names the metric, its value and the threshold.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdops_dvc.config import GatesCfg, Params, PolicyCfg
from sdops_dvc.errors import DataError
from sdops_dvc.fsutil import write_json_atomic


@dataclass(frozen=True)
class GateOutcome:
    name: str
    enabled: bool
    passed: bool
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GateResult:
    approved: bool
    failures: list[str]
    gates: dict[str, GateOutcome]
    thresholds: dict[str, Any]
    review_notes: list[str] = field(default_factory=list)
    budget: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "failures": self.failures,
            "gates": {
                name: {
                    "enabled": g.enabled,
                    "passed": g.passed,
                    "failures": g.failures,
                    "notes": g.notes,
                }
                for name, g in self.gates.items()
            },
            "thresholds": self.thresholds,
            "review_notes": self.review_notes,
            "budget": self.budget,
        }

    def verdict(self) -> dict[str, Any]:
        """The outcome as numbers, for ``dvc metrics show`` and ``dvc exp show``: approved
        (1/0), the failure count and each gate's pass (1/0, or null when disabled)."""
        return {
            "gate": {
                "approved": int(self.approved),
                "failures": len(self.failures),
                **{name: (int(g.passed) if g.enabled else None) for name, g in self.gates.items()},
            }
        }


def load_json(path: Path, what: str) -> dict[str, Any]:
    if not path.exists():
        raise DataError(f"{what} {path} does not exist", hint="run `sdops evaluate` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{what} {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"{what} {path} must hold a JSON object")
    return data


def load_metrics(path: Path) -> dict[str, Any]:
    return load_json(path, "metrics file")


def get(metrics: dict[str, Any], dotted: str) -> Any:
    cur: Any = metrics
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


class _Checks:
    """Collects failures and notes for one gate."""

    def __init__(self, gate: str, metrics: dict[str, Any]) -> None:
        self.gate, self.metrics = gate, metrics
        self.failures: list[str] = []
        self.notes: list[str] = []

    def at_most(self, key: str, limit: float, label: str, *, required: bool = True) -> None:
        self._cmp(key, limit, label, lambda v: v <= limit, "above the maximum", required)

    def at_least(self, key: str, limit: float, label: str, *, required: bool = True) -> None:
        self._cmp(key, limit, label, lambda v: v >= limit, "below the minimum", required)

    def _cmp(
        self,
        key: str,
        limit: float,
        label: str,
        ok: Callable[[float], bool],
        word: str,
        required: bool,
    ) -> None:
        value = get(self.metrics, key)
        if value is None:
            msg = f"{self.gate}: {label} ({key}) could not be computed"
            (self.failures if required else self.notes).append(msg)
        elif not ok(float(value)):
            self.failures.append(
                f"{self.gate}: {label} {float(value):.4f} is {word} {limit} ({key})"
            )

    def outcome(self, enabled: bool) -> GateOutcome:
        if not enabled:
            return GateOutcome(self.gate, False, True, [], ["disabled in params.yaml"])
        return GateOutcome(self.gate, True, not self.failures, self.failures, self.notes)


def decide(
    metrics: dict[str, Any],
    gates: GatesCfg,
    policy: PolicyCfg | None,
    details: dict[str, Any] | None = None,
    review_notes: list[str] | None = None,
    budget: dict[str, Any] | None = None,
) -> GateResult:
    """Apply the thresholds. ``details`` (details.json) lets a failing subgroup gate name
    its groups; ``review_notes`` are carried into the result for reviewers."""
    from sdops_dvc.metrics.policy import policy_failures

    out: dict[str, GateOutcome] = {}

    c = _Checks("schema", metrics)
    c.failures += [f"schema: {f}" for f in get(metrics, "schema.failures") or []]
    if get(metrics, "schema.passed") is None:
        c.failures.append("schema: metrics.json has no schema results (re-run `sdops evaluate`)")
    sg = gates.schema_
    columns = (get(details or {}, "schema.columns") or {}).items()
    for key, limit, what in (
        ("out_of_range_share", sg.max_out_of_range_share, "outside the {range}"),
        (
            "unknown_category_share",
            sg.max_unknown_category_share,
            "in categories the real data lacks",
        ),
    ):
        worst = get(metrics, f"schema.worst_{key}")
        if worst is None or worst <= limit:
            continue
        p_key = key.replace("_share", "_p_value")
        tested = [(col, spec) for col, spec in columns if key in spec]
        if not tested:  # no details: the share alone decides
            c.failures.append(
                f"schema: a column has {worst:.2%} of synthetic values "
                + what.format(range="real range")
                + f", above the tolerated {limit:.2%} (gates.schema.max_{key})"
            )
            continue
        level = sg.alpha / len(tested)  # Bonferroni over the columns tested
        for col, spec in tested:
            share, p_value = spec.get(key) or 0.0, spec.get(p_key)
            if share <= limit:
                continue
            found = f"schema: column {col!r}: {share:.2%} of synthetic values " + what.format(
                range=spec.get("range", "real range")
            )
            if p_value is not None and p_value >= level:
                c.notes.append(f"{found}, within what real rows show (p = {p_value:.2g})")
                continue
            extra = (
                f" (synthetic values: {', '.join(map(str, spec['unknown_examples']))})"
                if spec.get("unknown_examples")
                else ""
            )
            c.failures.append(
                f"{found}, above the tolerated {limit:.2%} (gates.schema.max_{key}; "
                f"p = {p_value if p_value is not None else 0:.2g}){extra}"
            )
    out["schema"] = c.outcome(gates.schema_.enabled)

    q = gates.quality
    c = _Checks("quality", metrics)
    c.at_least("quality.column_shapes", q.min_column_shapes, "column shapes")
    low = {
        col: v
        for col, v in ((details or {}).get("column_shapes") or {}).items()
        if v is not None and v < q.min_column_shape_per_column
    }
    for col, v in sorted(low.items(), key=lambda kv: kv[1]):
        c.failures.append(
            f"quality: column {col!r} has column shape {v:.4f}, below the per-column minimum "
            f"{q.min_column_shape_per_column} (quality.column_shapes_min)"
        )
    if not low:
        c.at_least(
            "quality.column_shapes_min",
            q.min_column_shape_per_column,
            "worst column's shape",
            required=False,
        )
    if get(metrics, "quality.column_pair_trends") is not None:
        c.at_least("quality.column_pair_trends", q.min_column_pair_trends, "column pair trends")
    else:
        c.notes.append(
            "quality: no column pair meets SDMetrics' real-data thresholds (|correlation| > 0.5, "
            "Cramer's V > 0.3); gated on the mean over all pairs instead"
        )
        c.at_least(
            "quality.column_pair_trends_all_pairs",
            q.min_column_pair_trends,
            "column pair trends (all pairs)",
        )
    n_before = len(c.failures)
    c.at_most("quality.detection_auc", q.max_detection_auc, "detection AUC")
    drivers = (details or {}).get("detection_drivers") or []
    if len(c.failures) > n_before and drivers:
        named = ", ".join(f"{d['column']} (AUC -{d['auc_drop']:.2f})" for d in drivers[:3])
        c.failures[-1] += f"; the detector leans most on {named}"
        c.notes.append(f"quality: {drivers[0]['column']}: {drivers[0]['hint']}")
    if get(metrics, "utility.target") is None:
        c.notes.append("quality: no dataset.target declared, so utility (TSTR/TRTR) is not gated")
    else:
        c.at_least("utility.ratio", q.min_utility_ratio, "utility ratio TSTR/TRTR")
    out["quality"] = c.outcome(q.enabled)

    p = gates.privacy
    c = _Checks("privacy", metrics)
    em_t, em_h = (
        get(metrics, "privacy.exact_match_train"),
        get(metrics, "privacy.exact_match_holdout"),
    )
    em_p = get(metrics, "privacy.exact_match_p_value")
    if em_t is None or em_h is None:
        c.failures.append("privacy: exact-copy rates could not be computed")
    elif em_t - em_h > p.max_exact_match_excess and (em_p is None or em_p < p.alpha):
        c.failures.append(
            f"privacy: {em_t:.2%} of synthetic rows copy a train row vs {em_h:.2%} a holdout row "
            f"(excess {em_t - em_h:.4f} above the maximum {p.max_exact_match_excess}, "
            f"one-sided McNemar p = {em_p:.2g})"
        )
    share, pval = get(metrics, "privacy.dcr_share"), get(metrics, "privacy.dcr_p_value")
    if share is None:
        c.failures.append("privacy: DCR share could not be computed")
    elif share > p.max_dcr_share and (pval is None or pval < p.alpha):
        c.failures.append(
            f"privacy: DCR share {share:.4f} is above the maximum {p.max_dcr_share}: synthetic rows "
            f"sit closer to training rows than to unseen rows (one-sided binomial p = {pval:.2g})"
        )
    c.at_most("privacy.mia_auc", p.max_mia_auc, "membership-inference AUC")
    c.at_most(
        "privacy.mia_tpr_at_1pct_fpr",
        p.max_mia_tpr_at_1pct_fpr,
        "membership-inference TPR at 1% FPR",
    )
    # attack risks: above the threshold and more successful on train than on holdout rows
    # beyond what sampling the attacks shows (one-sided test at alpha)
    for key, limit, label, required in (
        ("singling_out", p.max_singling_out_risk, "singling-out risk", True),
        ("linkability", p.max_linkability_risk, "linkability risk", True),
        ("inference", p.max_inference_risk, "inference risk", False),
    ):
        pv = get(metrics, f"privacy.{key}_p_value")
        risk = get(metrics, f"privacy.{key}_risk")
        if pv is not None and risk is not None and risk > limit and pv >= p.alpha:
            c.notes.append(
                f"privacy: {label} {risk:.4f} is above {limit} but attacks succeed on train rows "
                f"no more than on holdout rows beyond chance (p = {pv:.2g} >= alpha {p.alpha})"
            )
            continue
        c.at_most(f"privacy.{key}_risk", limit, label, required=required)
    if get(metrics, "privacy.inference_risk") is None:
        c.notes.append(
            "privacy: no sensitive column or target declared: inference risk not measured"
        )
    privacy = c.outcome(p.enabled)
    if budget is not None:
        # the budget check is part of the privacy gate and cannot be switched off with it
        notes = [*privacy.notes, *budget.get("notes", [])]
        fails = (
            [*privacy.failures, *budget.get("problems", [])]
            if p.enabled
            else list(budget.get("problems", []))
        )
        privacy = GateOutcome("privacy", True, not fails, fails, notes)
    out["privacy"] = privacy

    s = gates.subgroup
    c = _Checks("subgroup", metrics)
    if not get(metrics, "subgroup.groups_reported"):
        c.notes.append("subgroup: no subgroup columns declared (evaluation.subgroups.columns)")
    else:
        c.at_most(
            "subgroup.worst_column_shapes_gap",
            s.max_column_shapes_gap,
            "worst group's column-shapes gap",
            required=False,
        )
        c.at_most(
            "subgroup.worst_tstr_gap", s.max_tstr_gap, "worst group's TSTR gap", required=False
        )
        c.at_most(
            "subgroup.worst_representation_gap",
            s.max_representation_gap,
            "worst group's representation gap",
            required=False,
        )
    if details and details.get("subgroups"):
        # per group, with the representation gap tested for significance
        c.failures = subgroup_failures_detail(details, gates)
    out["subgroup"] = c.outcome(s.enabled)

    c = _Checks("policy", metrics)
    if policy is None:
        c.failures.append("policy: no params.yaml given, so no policy is stated")
    else:
        c.failures += [f"policy: {f}" for f in policy_failures(policy)]
    out["policy"] = c.outcome(gates.policy.enabled)

    failures = [f for g in out.values() for f in g.failures]
    thresholds = gates.model_dump(mode="json", by_alias=True)
    return GateResult(not failures, failures, out, thresholds, list(review_notes or []), budget)


def check_gate_file(path: Path) -> tuple[bool, list[str]]:
    """(approved, failures) as a gate.json records them; DataError when it is not one."""
    data = load_json(path, "gate file")
    approved, failures = data.get("approved"), data.get("failures")
    if not isinstance(approved, bool) or not isinstance(failures, list):
        raise DataError(
            f"{path} is not a gate.json (it needs 'approved' and 'failures')",
            hint="give the gate.json that `sdops gate` wrote (default reports/gate.json)",
        )
    if approved == bool(failures):
        raise DataError(
            f"{path} is inconsistent: approved is {approved} with {len(failures)} failures",
            hint="re-run `dvc repro gate`; do not edit gate.json by hand",
        )
    return approved, [str(f) for f in failures]


def subgroup_failures_detail(details: dict[str, Any], gates: GatesCfg) -> list[str]:
    """Name the groups behind a failing subgroup gate."""
    s = gates.subgroup
    lines = []
    n_gated = max(1, sum(1 for row in details.get("subgroups", []) if row.get("gated")))
    for row in details.get("subgroups", []):
        if not row.get("gated"):
            continue
        name = f"{row['column']}={row['group']}"
        if (row.get("column_shapes_gap") or 0) > s.max_column_shapes_gap:
            lines.append(
                f"subgroup: {name}: column shapes {row['column_shapes']:.4f}, gap {row['column_shapes_gap']:.4f} > {s.max_column_shapes_gap}"
            )
        p_tstr = row.get("tstr_gap_p_value")
        if (row.get("tstr_gap") or 0) > s.max_tstr_gap and (
            p_tstr is None or p_tstr < s.alpha / n_gated
        ):
            lines.append(
                f"subgroup: {name}: TSTR {row['tstr']:.4f}, gap {row['tstr_gap']:.4f} > {s.max_tstr_gap}"
            )
        p_rep = row.get("representation_p_value")
        if (row.get("representation_gap") or 0) > s.max_representation_gap and (
            p_rep is None or p_rep < s.alpha / n_gated
        ):
            lines.append(
                f"subgroup: {name}: {row['synthetic_share']:.2%} of synthetic rows vs {row['real_share']:.2%} "
                f"of real rows (gap {row['representation_gap']:.4f} > {s.max_representation_gap}, "
                f"two-proportion p = {p_rep if p_rep is not None else 0:.2g})"
            )
    return lines


def run_gate(
    metrics_path: Path,
    params: Params | None,
    out: Path,
    *,
    root: Path | None = None,
    budget: dict[str, Any] | None = None,
) -> GateResult:
    """Decide and write ``out`` (gate.json), verdict.json beside it and the reports. A
    blocked verdict is a result, not an error: the caller decides whether it fails (``sdops
    gate --check``, ``sdops release``). ``budget``: the privacy-budget block (this run's spend
    against the releases so far), which the caller reads from the release registry."""
    from sdops_dvc.config import GatesCfg
    from sdops_dvc.report import render_reports
    from sdops_dvc.review import review_notes

    metrics = load_metrics(metrics_path)
    details_path = metrics_path.parent / "details.json"
    details = load_json(details_path, "details file") if details_path.exists() else {}
    gates = params.gates if params is not None else GatesCfg()
    notes = review_notes(root, params) if (root is not None and params is not None) else []
    result = decide(
        metrics, gates, params.policy if params is not None else None, details, notes, budget
    )
    write_json_atomic(out, result.as_json())
    write_json_atomic(out.parent / "verdict.json", result.verdict())
    render_reports(out.parent, metrics, details, result.as_json(), params)
    return result
