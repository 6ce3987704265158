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

from sdops_dvc.base.errors import DataError
from sdops_dvc.base.fsutil import write_json_atomic
from sdops_dvc.domain.config import GatesCfg, GateSection, Params, PolicyCfg
from sdops_dvc.domain.metric_table import Goal, Metric, gated_by, get


@dataclass(frozen=True)
class GateCheck:
    name: str
    enabled: bool
    passed: bool
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GateResult:
    approved: bool
    failures: list[str]
    gates: dict[str, GateCheck]
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


class _Checks:
    """Collects failures and notes for one gate."""

    def __init__(self, gate: str, metrics: dict[str, Any]) -> None:
        self.gate, self.metrics = gate, metrics
        self.failures: list[str] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def limit(self, m: Metric, limit: float, *, key: str | None = None, label: str = "") -> bool:
        """The metric (or ``key``, read the same way) against its threshold, in the
        direction of its goal; False when it failed."""
        key, label = key or m.key, label or m.label
        required = m.threshold.required if m.threshold else True
        value = get(self.metrics, key)
        if value is None:
            msg = f"{self.gate}: {label} ({key}) could not be computed"
            (self.failures if required else self.notes).append(msg)
            return not required
        at_least = m.goal is Goal.MAXIMIZE
        if (float(value) >= limit) if at_least else (float(value) <= limit):
            return True
        word = "below the minimum" if at_least else "above the maximum"
        self.failures.append(f"{self.gate}: {label} {float(value):.4f} is {word} {limit} ({key})")
        return False

    def outcome(self, enabled: bool) -> GateCheck:
        if not enabled:
            return GateCheck(self.gate, False, True, [], ["disabled in params.yaml"])
        return GateCheck(self.gate, True, not self.failures, self.failures, self.notes)


# How a gate applies an ``own`` threshold (metric_table.Threshold.rule): each rule adds a
# significance test, or a per-column reading, to the plain comparison.
Rule = Callable[[_Checks, Metric, GateSection, dict[str, Any]], None]

_SHARE_WHAT = {
    "out_of_range_share": "outside the {range}",
    "unknown_category_share": "in categories the real data lacks",
}


def _limit_of(m: Metric, cfg: GateSection) -> float:
    assert m.threshold is not None
    return cfg.value(m.threshold)


def _schema_share(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Per column, and only beyond what real rows show (Bonferroni over the columns)."""
    key, limit = m.name.removeprefix("worst_"), _limit_of(m, cfg)
    what, alpha = _SHARE_WHAT[key], cfg.significance
    worst = get(c.metrics, m.key)
    if worst is None or worst <= limit:
        return
    p_key = key.replace("_share", "_p_value")
    columns = (get(details, "schema.columns") or {}).items()
    tested = [(col, spec) for col, spec in columns if key in spec]
    if not tested:  # no details: the share alone decides
        c.failures.append(
            f"schema: a column has {worst:.2%} of synthetic values "
            + what.format(range="real range")
            + f", above the tolerated {limit:.2%} (gates.schema.max_{key})"
        )
        return
    level = alpha / len(tested)
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


def _column_shape_each(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Every column's own shape, named; the worst column's when there are no details."""
    limit = _limit_of(m, cfg)
    low = {
        col: v
        for col, v in (details.get("column_shapes") or {}).items()
        if v is not None and v < limit
    }
    for col, v in sorted(low.items(), key=lambda kv: kv[1]):
        c.failures.append(
            f"quality: column {col!r} has column shape {v:.4f}, below the per-column minimum "
            f"{limit} ({m.key})"
        )
    if not low:
        c.limit(m, limit)


def _pair_trends(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """SDMetrics counts only pairs real data correlates; with none, the mean of all pairs."""
    limit = _limit_of(m, cfg)
    if get(c.metrics, m.key) is not None:
        c.limit(m, limit)
        return
    c.notes.append(
        "quality: no column pair meets SDMetrics' real-data thresholds (|correlation| > 0.5, "
        "Cramer's V > 0.3); gated on the mean over all pairs instead"
    )
    c.limit(m, limit, key=f"{m.key}_all_pairs", label=f"{m.label} (all pairs)")


def _excess(
    c: _Checks,
    m: Metric,
    cfg: GateSection,
    control: str,
    p_key: str,
    missing: str,
    say: Callable[[float, float, float, Any], str],
) -> None:
    """``m``'s rate beyond the ``control`` rate: fails above the threshold when also
    significant (the one-sided ``p_key`` below alpha; none recorded counts as significant).
    ``say(rate, control, limit, p)`` words the failure."""
    rate, base, p = get(c.metrics, m.key), get(c.metrics, control), get(c.metrics, p_key)
    if rate is None or base is None:
        c.failures.append(missing)
    else:
        _judge_excess(c, m, cfg, rate - base, p, lambda limit: say(rate, base, limit, p))


def _judge_excess(
    c: _Checks, m: Metric, cfg: GateSection, excess: float, p: Any, say: Callable[[float], str]
) -> None:
    """An excess above ``m``'s threshold fails when also significant (one-sided ``p`` below
    alpha; none recorded counts as significant). ``say(limit)`` words the failure."""
    limit, alpha = _limit_of(m, cfg), cfg.significance
    if excess > limit and (p is None or p < alpha):
        c.failures.append(say(limit))


def _exact_copies(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Copies of train rows beyond copies of holdout rows, and significant (McNemar)."""

    def say(em_t: float, em_h: float, limit: float, p: Any) -> str:
        return (
            f"privacy: {em_t:.2%} of synthetic rows copy a train row vs {em_h:.2%} a holdout row "
            f"(excess {em_t - em_h:.4f} above the maximum {limit}, "
            f"one-sided McNemar p = {p:.2g})"
        )

    missing = "privacy: exact-copy rates could not be computed"
    _excess(c, m, cfg, "privacy.exact_match_holdout", "privacy.exact_match_p_value", missing, say)


def _real_copies(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Copies of holdout rows beyond what real rows duplicate one another (real rows passed
    off as synthetic: the generator never saw the holdout), and significant (Fisher)."""

    def say(em_h: float, base: float, limit: float, pval: Any) -> str:
        return (
            f"privacy: {em_h:.2%} of synthetic rows are exact copies of holdout rows, which "
            f"the generator never saw, while only {base:.2%} of holdout rows duplicate a train "
            f"row (excess {em_h - base:.4f} above the maximum {limit}, one-sided Fisher "
            f"p = {pval:.2g}): the table holds real rows passed off as synthetic"
        )

    missing = "privacy: copies of real rows could not be computed"
    control, p_key = "privacy.exact_match_real_baseline", "privacy.exact_match_holdout_p_value"
    _excess(c, m, cfg, control, p_key, missing, say)


def _rare_matches(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Rare train QI combinations reproduced beyond rare holdout ones, and significant
    (McNemar). Counts only: the combinations are never named."""
    k = ((details.get("privacy") or {}).get("rare_combinations") or {}).get("k", 1)

    def say(tr: float, ho: float, limit: float, p: Any) -> str:
        return (
            f"privacy: {tr:.2%} of synthetic rows reproduce a quasi-identifier combination that "
            f"at most {k} train record(s) hold, vs {ho:.2%} one that at most {k} holdout "
            f"record(s) hold (excess {tr - ho:.4f} above the maximum {limit}, one-sided "
            f"McNemar p = {p if p is not None else 0:.2g}): rare real people are reproduced"
        )

    missing = "privacy: rare quasi-identifier combinations could not be counted"
    _excess(c, m, cfg, "privacy.rare_match_holdout", "privacy.rare_match_p_value", missing, say)


def _dcr_share(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Above the share and significant (one-sided, train and holdout references exchanged:
    metrics.privacy.exchange_p_value)."""
    limit, alpha = _limit_of(m, cfg), cfg.significance
    share, pval = get(c.metrics, m.key), get(c.metrics, "privacy.dcr_p_value")
    if share is None:
        c.failures.append("privacy: DCR share could not be computed")
    elif share > limit and (pval is None or pval < alpha):
        c.failures.append(
            f"privacy: DCR share {share:.4f} is above the maximum {limit}: synthetic rows "
            f"sit closer to training rows than to unseen rows (one-sided p = {pval:.2g}, train and holdout exchanged)"
        )


def _attack(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """An attack's risk above the threshold, and more successful on train rows than on
    holdout rows beyond what sampling the attacks shows (one-sided test at alpha)."""
    limit, alpha = _limit_of(m, cfg), cfg.significance
    pv = get(c.metrics, m.key.replace("_risk", "_p_value"))
    risk = get(c.metrics, m.key)
    if pv is not None and risk is not None and risk > limit and pv >= alpha:
        c.notes.append(
            f"privacy: {m.label} {risk:.4f} is above {limit} but attacks succeed on train rows "
            f"no more than on holdout rows beyond chance (p = {pv:.2g} >= alpha {alpha})"
        )
        return
    c.limit(m, limit)


def _per_item(
    c: _Checks,
    m: Metric,
    cfg: GateSection,
    items: dict[str, dict[str, Any]],
    *,
    excess: tuple[str, str],
    p_value: str,
    say: Callable[[str, dict[str, Any], float, float], str],
) -> None:
    """Each relationship or table of the relational details: its excess (the first field
    minus the second) above the threshold and significant at alpha (Bonferroni over the
    items) fails, named."""
    limit, alpha = _limit_of(m, cfg), cfg.significance
    if get(c.metrics, m.key) is None or not items:
        c.failures.append(f"{c.gate}: {m.label} ({m.key}) could not be computed")
        return
    for name, item in items.items():
        a, b, p = item.get(excess[0]), item.get(excess[1]), item.get(p_value)
        if a is None or b is None or p is None:
            continue
        if a - b > limit and p < alpha / len(items):
            c.failures.append(say(name, item, a - b, p) + f" above the maximum {limit}")


def _relational(details: dict[str, Any], section: str) -> dict[str, Any]:
    """A section of details.json's relational block (per relationship, table or worst)."""
    found: dict[str, Any] = (details.get("relational") or {}).get(section) or {}
    return found


def _orphan_excess(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Synthetic orphans beyond the real tables' own share, per relationship, significant."""
    _per_item(
        c,
        m,
        cfg,
        _relational(details, "relationships"),
        excess=("orphan_share_synthetic", "orphan_share_real"),
        p_value="orphan_p_value",
        say=lambda name, r, v, p: (
            f"schema: {name}: {r['orphan_share_synthetic']:.2%} of synthetic keys name no "
            f"parent vs {r['orphan_share_real']:.2%} in the real tables (excess {v:.4f}, "
            f"one-sided binomial p = {p:.2g})"
        ),
    )


def _table_copies(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Copies of a split table's train rows beyond its holdout rows, significant (McNemar);
    tables kept whole are reference data, not the unit's rows."""
    tables = _relational(details, "tables")
    _per_item(
        c,
        m,
        cfg,
        {n: t for n, t in tables.items() if not t.get("kept_whole")},
        excess=("copies_train", "copies_holdout"),
        p_value="copies_p_value",
        say=lambda name, t, v, p: (
            f"privacy: {name}: {t['copies_train']:.2%} of synthetic rows copy a train row vs "
            f"{t['copies_holdout']:.2%} a holdout row (excess {v:.4f}, McNemar p = {p:.2g})"
        ),
    )


def _rebalanced(details: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The gated groups of rebalanced output (details.json's conditions block), by label."""
    rows = (details.get("conditions") or {}).get("privacy") or []
    return {row["group"]: row for row in rows if row.get("gated")}


def _group_copies(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Per group of rebalanced output: copies of the group's train rows beyond its holdout
    rows (McNemar, Bonferroni over the groups); and the released rows as a whole: copies of
    holdout rows beyond what holdout rows duplicate train rows (Fisher: real rows passed off
    as synthetic, the whole-table test on the rows that are released)."""
    groups = _rebalanced(details)
    if not groups:
        c.note(
            "privacy: no rebalanced group holds evaluation.subgroups.min_size holdout records: "
            "privacy per group reported, not gated"
        )
        return
    _per_item(
        c,
        m,
        cfg,
        groups,
        excess=("copies_train", "copies_holdout"),
        p_value="copies_p_value",
        say=lambda name, g, v, p: (
            f"privacy: rebalanced group {name}: {g['copies_train']:.2%} of its rows copy a "
            f"train row of the group vs {g['copies_holdout']:.2%} a holdout row (excess "
            f"{v:.4f}, McNemar p = {p:.2g}): oversampling it exposes its real records"
        ),
    )
    real = (details.get("conditions") or {}).get("released_copies") or {}
    ho, base, p = real.get("copies_holdout"), real.get("real_baseline"), real.get("p_value")
    if ho is not None and base is not None and p is not None:
        _judge_excess(
            c,
            m,
            cfg,
            ho - base,
            p,
            lambda limit: (
                f"privacy: rebalanced output: {ho:.2%} of its rows copy a holdout row, which "
                f"the generator never saw, while {base:.2%} of holdout rows duplicate a train "
                f"row (excess {ho - base:.4f} above the maximum {limit}, one-sided Fisher "
                f"p = {p:.2g}): real rows passed off as synthetic"
            ),
        )


def _group_dcr(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Per group of rebalanced output: its DCR share above the maximum, significant
    (references exchanged, Bonferroni over the groups)."""
    limit, alpha = _limit_of(m, cfg), cfg.significance
    groups = _rebalanced(details)
    if get(c.metrics, m.key) is None and groups:
        c.failures.append(f"{c.gate}: {m.label} ({m.key}) could not be computed")
    for name, g in groups.items():
        share, p = g.get("dcr_share"), g.get("dcr_p_value")
        if share is not None and p is not None and share > limit and p < alpha / len(groups):
            c.failures.append(
                f"privacy: rebalanced group {name}: DCR share {share:.4f} is above the maximum "
                f"{limit}: its rows sit closer to the group's train rows than to its unseen "
                f"rows (one-sided p = {p:.2g}, train and holdout exchanged)"
            )


def _fairness(c: _Checks, m: Metric, cfg: GateSection, details: dict[str, Any]) -> None:
    """Each protected column's increase above the threshold fails when also significant at
    alpha over the number of comparisons made (Bonferroni); otherwise it is a note."""
    limit, alpha = _limit_of(m, cfg), cfg.significance
    block = details.get("fairness") or {}
    measure = m.name.removeprefix("worst_").removesuffix("_increase")
    rows = block.get("comparisons") or []
    tested = [row for row in rows if row.get("p_value") is not None]
    if not rows:  # no details: judge the worst figure as it stands
        c.limit(m, limit)
        return
    level = alpha / max(1, len(tested))
    for row in rows:
        inc = row.get("increase")
        if row.get("measure") != measure or inc is None or inc <= limit:
            continue
        found = (
            f"fairness: {row['column']}: {m.label.removeprefix('worst ')} {inc:.4f} above the "
            f"maximum {limit} (model trained on synthetic {row['synthetic_model']:.4f}, on "
            f"real {row['real_model']:.4f})"
        )
        p = row.get("p_value")
        if p is not None and p >= level:
            c.notes.append(f"{found}, within chance (p = {p:.2g} >= {level:.2g})")
        else:
            c.failures.append(f"{found}; one-sided bootstrap p = {p if p is not None else 0:.2g}")


RULES: dict[str, Rule] = {
    "schema.worst_out_of_range_share": _schema_share,
    "schema.worst_unknown_category_share": _schema_share,
    "quality.column_shapes_min": _column_shape_each,
    "quality.column_pair_trends": _pair_trends,
    "privacy.exact_match_train": _exact_copies,
    "privacy.exact_match_holdout": _real_copies,
    "privacy.dcr_share": _dcr_share,
    "privacy.rare_match_train": _rare_matches,
    "privacy.singling_out_risk": _attack,
    "privacy.linkability_risk": _attack,
    "privacy.outside_linkage_risk": _attack,
    "privacy.inference_risk": _attack,
    "fairness.worst_demographic_parity_increase": _fairness,
    "fairness.worst_equalized_odds_increase": _fairness,
    "fairness.worst_error_gap_increase": _fairness,
    "conditions.worst_group_copy_excess": _group_copies,
    "conditions.worst_group_dcr_share": _group_dcr,
    "relational.orphan_excess": _orphan_excess,
    "relational.table_copy_excess": _table_copies,
}


def _explain_detection(c: _Checks, details: dict[str, Any]) -> None:
    """A blocked detection names the columns the detector leans on."""
    drivers = details.get("detection_drivers") or []
    if drivers:
        named = ", ".join(f"{d['column']} (AUC -{d['auc_drop']:.2f})" for d in drivers[:3])
        c.failures[-1] += f"; the detector leans most on {named}"
        c.notes.append(f"quality: {drivers[0]['column']}: {drivers[0]['hint']}")


def _naming_worst(key: str) -> Callable[[_Checks, dict[str, Any]], None]:
    """A failed relational check names the relationship or table that decided it."""

    def explain(c: _Checks, details: dict[str, Any]) -> None:
        worst = _relational(details, "worst").get(key)
        if worst:
            c.failures[-1] += f"; worst: {worst}"

    return explain


# what a failed ``limit`` check adds to its reason
EXPLAIN: dict[str, Callable[[_Checks, dict[str, Any]], None]] = {
    "quality.detection_auc": _explain_detection,
    **{
        f"relational.{k}": _naming_worst(k)
        for k in (
            "duplicate_key_share",
            "cardinality_bounds",
            "cardinality",
            "intertable_trends",
        )
    },
}


def _judge(
    gate: str,
    cfg: GateSection,
    metrics: dict[str, Any],
    details: dict[str, Any],
    family: str | None = None,
) -> _Checks:
    """Every metric the table puts under ``gate`` (of one evaluation ``family``, when
    given), in table order, each by its rule."""
    c = _Checks(gate, metrics)
    for m in gated_by(gate):
        if family is not None and m.family != family:
            continue
        assert m.threshold is not None
        if m.applies_if is not None and not get(metrics, m.applies_if[0]):
            if m.applies_if[1]:
                c.note(m.applies_if[1])
        elif m.threshold.rule == "own":
            RULES[m.key](c, m, cfg, details)
        elif not c.limit(m, _limit_of(m, cfg)) and m.key in EXPLAIN:
            EXPLAIN[m.key](c, details)
    return c


def _schema(gates: GatesCfg, metrics: dict[str, Any], details: dict[str, Any]) -> GateCheck:
    c = _judge("schema", gates.schema_, metrics, details)
    found = [f"schema: {f}" for f in get(metrics, "schema.failures") or []]
    if get(metrics, "schema.passed") is None:
        found.append("schema: metrics.json has no schema results (re-run `sdops evaluate`)")
    c.failures[:0] = found
    return c.outcome(gates.schema_.enabled)


def _privacy(
    gates: GatesCfg,
    metrics: dict[str, Any],
    details: dict[str, Any],
    budget: dict[str, Any] | None,
) -> GateCheck:
    c = _judge("privacy", gates.privacy, metrics, details)
    if get(metrics, "privacy.inference_risk") is None:
        c.notes.append(
            "privacy: no sensitive column or target declared: inference risk not measured"
        )
    privacy = c.outcome(gates.privacy.enabled)
    if budget is None:
        return privacy
    # the budget check is part of the privacy gate and cannot be switched off with it
    notes = [*privacy.notes, *budget.get("notes", [])]
    problems = list(budget.get("problems", []))
    fails = [*privacy.failures, *problems] if gates.privacy.enabled else problems
    return GateCheck("privacy", True, not fails, fails, notes)


def _subgroup(gates: GatesCfg, metrics: dict[str, Any], details: dict[str, Any]) -> GateCheck:
    c = _judge("subgroup", gates.subgroup, metrics, details)
    if details.get("subgroups"):
        # per group, with the representation gap tested for significance
        c.failures = subgroup_failures_detail(details, gates)
    return c.outcome(gates.subgroup.enabled)


def _fair(gates: GatesCfg, metrics: dict[str, Any], details: dict[str, Any]) -> GateCheck:
    c = _judge("fairness", gates.fairness, metrics, details)
    declared = (details.get("fairness") or {}).get("notes") or []
    c.notes += [n for n in declared if n not in c.notes]
    return c.outcome(gates.fairness.enabled)


def _policy(gates: GatesCfg, metrics: dict[str, Any], policy: PolicyCfg | None) -> GateCheck:
    from sdops_dvc.metrics.policy import policy_failures

    c = _Checks("policy", metrics)
    if policy is None:
        c.failures.append("policy: no params.yaml given, so no policy is stated")
    else:
        c.failures += [f"policy: {f}" for f in policy_failures(policy)]
    return c.outcome(gates.policy.enabled)


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
    details = details or {}
    quality = _judge("quality", gates.quality, metrics, details)
    out = {
        "schema": _schema(gates, metrics, details),
        "quality": quality.outcome(gates.quality.enabled),
        "privacy": _privacy(gates, metrics, details, budget),
        "subgroup": _subgroup(gates, metrics, details),
        "fairness": _fair(gates, metrics, details),
        "policy": _policy(gates, metrics, policy),
    }
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
    cs_max, tstr_max, rep_max = s.max_column_shapes_gap, s.max_tstr_gap, s.max_representation_gap
    lines = []
    n_gated = max(1, sum(1 for row in details.get("subgroups", []) if row.get("gated")))
    for row in details.get("subgroups", []):
        if not row.get("gated"):
            continue
        name = f"{row['column']}={row['group']}"
        if (row.get("column_shapes_gap") or 0) > cs_max:
            lines.append(
                f"subgroup: {name}: column shapes {row['column_shapes']:.4f}, gap {row['column_shapes_gap']:.4f} > {cs_max}"
            )
        p_tstr = row.get("tstr_gap_p_value")
        if (row.get("tstr_gap") or 0) > tstr_max and (p_tstr is None or p_tstr < s.alpha / n_gated):
            lines.append(
                f"subgroup: {name}: TSTR {row['tstr']:.4f}, gap {row['tstr_gap']:.4f} > {tstr_max}"
            )
        p_rep = row.get("representation_p_value")
        if (row.get("representation_gap") or 0) > rep_max and (
            p_rep is None or p_rep < s.alpha / n_gated
        ):
            lines.append(
                f"subgroup: {name}: {row['synthetic_share']:.2%} of synthetic rows vs {row['real_share']:.2%} "
                f"of real rows (gap {row['representation_gap']:.4f} > {rep_max}, "
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
