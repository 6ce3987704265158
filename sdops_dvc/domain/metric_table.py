"""The metric table: every number ``evaluate`` writes to metrics.json, declared once.

Each entry names its key in metrics.json, a label, its goal and bounds (SDMetrics' metric
contract: ``goal``, ``min_value``, ``max_value``), the family that computes it, and, when a
gate judges it, its threshold: the key under ``gates:`` in params.yaml, its default and
how the gate applies it. Everything else is derived from this table:

- ``evaluate`` writes metrics.json in this order and refuses a key that is not declared
  here (or a declared key a family forgot);
- ``params.yaml``'s threshold keys, their defaults and validation (``config``), and the
  ``gates:`` block ``sdops init`` writes;
- the gate: a ``limit`` threshold is applied as it is (``value <= max`` for a metric to
  minimize, ``value >= min`` for one to maximize); an ``own`` threshold by the gate's rule
  for that metric, which adds a significance test or a per-column or per-group reading;
- the manifest's metrics summary, the reports' key-metric table, ``sdops diff``'s better or
  worse, and whether a changed threshold loosened or tightened (``review``).

Adding a metric with a plain threshold is one entry here, and the family that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

Kind = Literal["float", "int", "bool", "str", "list", "dict"]


class Goal(StrEnum):
    """SDMetrics' goals: which way is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"
    IGNORE = "ignore"  # reported, neither better nor worse when it moves


@dataclass(frozen=True)
class Threshold:
    gate: str  # the section under gates: (schema, quality, privacy, subgroup)
    name: str  # its key there: max_* for a metric to minimize, min_* for one to maximize
    default: float
    doc: str  # the comment `sdops init` writes beside it
    rule: Literal["limit", "own"] = "limit"  # own: the gate's rule for this metric applies it
    required: bool = True  # limit: a value that could not be computed fails (else a note)
    of_metric: bool = True  # False: it bounds a quantity the gate derives from the metric

    @property
    def key(self) -> str:
        return f"gates.{self.gate}.{self.name}"


@dataclass(frozen=True)
class Metric:
    key: str  # dotted path in metrics.json: section.name
    label: str  # as a reason names it ("column shapes 0.7100 is below the minimum 0.8")
    family: str  # the evaluation family that computes it (evaluate.FAMILIES)
    goal: Goal = Goal.IGNORE
    bounds: tuple[float, float] | None = (0.0, 1.0)  # min_value, max_value; None: unbounded
    kind: Kind = "float"
    threshold: Threshold | None = None
    summary: bool = False  # carried in the release manifest's metrics summary
    # the gate applies the threshold only when this metrics key is set, else it notes this
    # (an empty note: it does not apply to this kind of project, and that goes unsaid)
    applies_if: tuple[str, str] | None = None

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def shown(self) -> bool:
        """In the reports' key-metric table: every gated or summarised metric."""
        return self.threshold is not None or self.summary


_NO_TARGET = (
    "utility.target",
    "quality: no dataset.target declared, so utility (TSTR/TRTR) is not gated",
)
_NO_GROUPS = (
    "subgroup.groups_reported",
    "subgroup: no subgroup columns declared (evaluation.subgroups.columns)",
)
_NO_FAIRNESS = (
    "fairness.comparisons",
    "fairness: no protected column measured (evaluation.fairness.columns)",
)
_UNCONDITIONED = ("conditions.groups", "")  # no generator.conditions: nothing to note
_SINGLE = ("relational.tables", "")  # a single table: nothing to note
# which way is better: lower (gated by a max_ threshold) or higher (by a min_ threshold)
_LOW, _HIGH, _COUNT = Goal.MINIMIZE, Goal.MAXIMIZE, None

METRICS: tuple[Metric, ...] = (
    # rows
    Metric("rows.train", "train rows", "schema", bounds=_COUNT, kind="int"),
    Metric("rows.holdout", "holdout rows", "schema", bounds=_COUNT, kind="int"),
    Metric("rows.synthetic", "synthetic rows", "schema", bounds=_COUNT, kind="int"),
    # schema
    Metric("schema.passed", "schema checks passed", "schema", bounds=None, kind="bool"),
    Metric("schema.checks", "schema checks", "schema", bounds=None, kind="dict"),
    Metric("schema.violations", "schema violations", "schema", _LOW, _COUNT, kind="int"),
    Metric(
        "schema.worst_out_of_range_share",
        "worst column's share outside the real range",
        "schema",
        _LOW,
        threshold=Threshold(
            "schema",
            "max_out_of_range_share",
            0.01,
            "per column: synthetic numbers outside the real [min, max]",
            rule="own",
        ),
    ),
    Metric(
        "schema.worst_unknown_category_share",
        "worst column's share in unknown categories",
        "schema",
        _LOW,
        threshold=Threshold(
            "schema",
            "max_unknown_category_share",
            0.01,
            "per column: synthetic categories the real data lacks",
            rule="own",
        ),
    ),
    Metric("schema.rows_synthetic", "synthetic rows checked", "schema", bounds=_COUNT, kind="int"),
    Metric("schema.failures", "schema failures", "schema", bounds=None, kind="list"),
    # quality
    Metric(
        "quality.column_shapes",
        "column shapes",
        "quality",
        _HIGH,
        threshold=Threshold(
            "quality", "min_column_shapes", 0.80, "SDMetrics Column Shapes (mean over columns)"
        ),
        summary=True,
    ),
    Metric(
        "quality.column_shapes_min",
        "worst column's shape",
        "quality",
        _HIGH,
        threshold=Threshold(
            "quality",
            "min_column_shape_per_column",
            0.60,
            "... and every column's own score",
            rule="own",
            required=False,
        ),
    ),
    Metric(
        "quality.column_pair_trends",
        "column pair trends",
        "quality",
        _HIGH,
        threshold=Threshold(
            "quality", "min_column_pair_trends", 0.70, "SDMetrics Column Pair Trends", rule="own"
        ),
        summary=True,
    ),
    Metric(
        "quality.column_pair_trends_all_pairs", "column pair trends (all pairs)", "quality", _HIGH
    ),
    Metric(
        "quality.column_pairs_counted", "column pairs counted", "quality", bounds=_COUNT, kind="int"
    ),
    Metric(
        "quality.detection_auc",
        "detection AUC",
        "quality",
        _LOW,
        (0.5, 1.0),
        threshold=Threshold(
            "quality",
            "max_detection_auc",
            0.90,
            "real-vs-synthetic classifier; 0.5 = indistinguishable",
        ),
        summary=True,
    ),
    # utility
    Metric("utility.target", "target column", "utility", bounds=None, kind="str"),
    Metric("utility.task", "utility task", "utility", bounds=None, kind="str"),
    Metric("utility.metric", "utility score", "utility", bounds=None, kind="str"),
    Metric("utility.tstr", "TSTR", "utility", _HIGH, summary=True),
    Metric("utility.trtr", "TRTR", "utility", _HIGH, summary=True),
    Metric(
        "utility.ratio",
        "utility ratio TSTR/TRTR",
        "utility",
        _HIGH,
        None,
        threshold=Threshold(
            "quality",
            "min_utility_ratio",
            0.80,
            "TSTR / TRTR on the holdout (needs dataset.target)",
        ),
        summary=True,
        applies_if=_NO_TARGET,
    ),
    # privacy
    Metric(
        "privacy.exact_match_train",
        "exact copies of train rows",
        "privacy",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_exact_match_excess",
            0.01,
            "copies of train rows minus copies of holdout rows",
            rule="own",
            of_metric=False,
        ),
        summary=True,
    ),
    Metric("privacy.exact_match_p_value", "exact copies: p-value", "privacy"),
    Metric(
        "privacy.exact_match_holdout",
        "exact copies of holdout rows",
        "privacy",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_real_match_excess",
            0.01,
            "copies of holdout rows minus holdout rows' own duplicates in train (real rows "
            "passed off as synthetic)",
            rule="own",
            of_metric=False,
        ),
        summary=True,
    ),
    Metric(
        "privacy.exact_match_real_baseline",
        "holdout rows that duplicate a train row",
        "privacy",
        summary=True,
    ),
    Metric("privacy.exact_match_holdout_p_value", "copies of holdout rows: p-value", "privacy"),
    Metric("privacy.exact_match_train_full", "exact copies of any train row", "privacy", _LOW),
    Metric(
        "privacy.rare_match_train",
        "rows reproducing a rare train quasi-identifier combination",
        "privacy",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_rare_match_excess",
            0.04,
            "rows whose QI combination <= k train records hold, minus the same for holdout",
            rule="own",
            of_metric=False,
        ),
        summary=True,
    ),
    Metric(
        "privacy.rare_match_holdout",
        "rows reproducing a rare holdout quasi-identifier combination",
        "privacy",
        summary=True,
    ),
    Metric("privacy.rare_match_p_value", "rare combinations: p-value", "privacy"),
    Metric(
        "privacy.dcr_share",
        "DCR share (closer to train)",
        "privacy",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_dcr_share",
            0.55,
            "synthetic rows closer to train than to holdout",
            rule="own",
        ),
        summary=True,
    ),
    Metric("privacy.dcr_p_value", "DCR share: p-value", "privacy"),
    Metric("privacy.nndr_median", "median NNDR", "privacy", _HIGH),
    Metric(
        "privacy.mia_auc",
        "membership-inference AUC",
        "privacy",
        _LOW,
        threshold=Threshold("privacy", "max_mia_auc", 0.60, "membership-inference attack AUC"),
        summary=True,
    ),
    Metric(
        "privacy.mia_tpr_at_1pct_fpr",
        "membership-inference TPR at 1% FPR",
        "privacy",
        _LOW,
        threshold=Threshold(
            "privacy", "max_mia_tpr_at_1pct_fpr", 0.05, "... its true positives at 1% false"
        ),
        summary=True,
    ),
    Metric(
        "privacy.singling_out_risk",
        "singling-out risk",
        "anonymity",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_singling_out_risk",
            0.10,
            "anonymeter-style, against holdout",
            rule="own",
        ),
        summary=True,
    ),
    Metric("privacy.singling_out_p_value", "singling out: p-value", "anonymity"),
    Metric(
        "privacy.linkability_risk",
        "linkability risk",
        "anonymity",
        _LOW,
        threshold=Threshold(
            "privacy", "max_linkability_risk", 0.10, "anonymeter-style, against holdout", rule="own"
        ),
        summary=True,
    ),
    Metric("privacy.linkability_p_value", "linkability: p-value", "anonymity"),
    Metric(
        "privacy.outside_linkage_risk",
        "outside-linkage risk",
        "anonymity",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_outside_linkage_risk",
            0.10,
            "an outside table of the public columns linked to the rest, against holdout",
            rule="own",
        ),
        summary=True,
        applies_if=(
            "privacy.public_columns",
            "privacy: no public columns declared (evaluation.privacy.public_columns): "
            "outside linkage not measured",
        ),
    ),
    Metric("privacy.outside_linkage_p_value", "outside linkage: p-value", "anonymity"),
    Metric("privacy.public_columns", "public columns", "anonymity", bounds=_COUNT, kind="int"),
    Metric(
        "privacy.inference_risk",
        "inference risk",
        "anonymity",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_inference_risk",
            0.10,
            "worst sensitive column, against holdout",
            rule="own",
            required=False,
        ),
        summary=True,
    ),
    Metric("privacy.inference_p_value", "inference: p-value", "anonymity"),
    # subgroup
    Metric("subgroup.worst_group_gap", "worst subgroup gap", "subgroups", _LOW, summary=True),
    Metric(
        "subgroup.worst_column_shapes_gap",
        "worst group's column-shapes gap",
        "subgroups",
        _LOW,
        threshold=Threshold(
            "subgroup",
            "max_column_shapes_gap",
            0.10,
            "overall Column Shapes minus the group's, beyond real noise",
            required=False,
        ),
        applies_if=_NO_GROUPS,
    ),
    Metric(
        "subgroup.worst_tstr_gap",
        "worst group's TSTR gap",
        "subgroups",
        _LOW,
        threshold=Threshold(
            "subgroup",
            "max_tstr_gap",
            0.10,
            "group's TSTR shortfall beyond its TRTR shortfall",
            required=False,
        ),
        applies_if=_NO_GROUPS,
    ),
    Metric(
        "subgroup.worst_representation_gap",
        "worst group's representation gap",
        "subgroups",
        _LOW,
        threshold=Threshold(
            "subgroup",
            "max_representation_gap",
            0.05,
            "|group share in synthetic - in real|",
            required=False,
        ),
        applies_if=_NO_GROUPS,
    ),
    Metric("subgroup.groups_gated", "groups gated", "subgroups", bounds=_COUNT, kind="int"),
    Metric("subgroup.groups_reported", "groups reported", "subgroups", bounds=_COUNT, kind="int"),
    # fairness: a model trained on the release against one trained on real rows
    Metric(
        "fairness.worst_demographic_parity_increase",
        "worst demographic-parity increase",
        "fairness",
        _LOW,
        bounds=(-1.0, 1.0),
        threshold=Threshold(
            "fairness",
            "max_demographic_parity_increase",
            0.05,
            "per protected column: model on synthetic minus on real (binary target)",
            rule="own",
        ),
        summary=True,
        applies_if=_NO_FAIRNESS,
    ),
    Metric(
        "fairness.worst_equalized_odds_increase",
        "worst equalized-odds increase",
        "fairness",
        _LOW,
        bounds=(-1.0, 1.0),
        threshold=Threshold(
            "fairness",
            "max_equalized_odds_increase",
            0.05,
            "per protected column: model on synthetic minus on real (binary target)",
            rule="own",
        ),
        summary=True,
        applies_if=_NO_FAIRNESS,
    ),
    Metric(
        "fairness.worst_error_gap_increase",
        "worst group error-gap increase",
        "fairness",
        _LOW,
        bounds=None,
        threshold=Threshold(
            "fairness",
            "max_error_gap_increase",
            0.10,
            "per protected column: range of group MAE / overall MAE, synthetic minus real",
            rule="own",
        ),
        summary=True,
        applies_if=_NO_FAIRNESS,
    ),
    Metric(
        "fairness.comparisons", "fairness comparisons gated", "fairness", bounds=_COUNT, kind="int"
    ),
    # related tables (source.tables): keys, integrity, cardinality, the multi-table report
    Metric("relational.tables", "related tables", "relational", bounds=_COUNT, kind="int"),
    Metric("relational.relationships", "relationships", "relational", bounds=_COUNT, kind="int"),
    Metric(
        "relational.duplicate_key_share",
        "worst table's share of duplicate primary keys",
        "relational",
        _LOW,
        threshold=Threshold(
            "schema",
            "max_duplicate_key_share",
            0.0,
            "related tables: synthetic rows repeating (or lacking) a primary key",
        ),
        applies_if=_SINGLE,
    ),
    Metric(
        "relational.orphan_excess",
        "worst relationship's orphan share beyond the real one",
        "relational",
        _LOW,
        (-1.0, 1.0),
        threshold=Threshold(
            "schema",
            "max_orphan_excess",
            0.01,
            "per relationship: synthetic keys naming no parent beyond the real share",
            rule="own",
        ),
        summary=True,
        applies_if=_SINGLE,
    ),
    Metric(
        "relational.cardinality_bounds",
        "worst relationship's parents within the real children range",
        "relational",
        _HIGH,
        threshold=Threshold(
            "schema",
            "min_cardinality_bounds",
            0.90,
            "synthetic parents whose number of children lies in the real [min, max]",
        ),
        applies_if=_SINGLE,
    ),
    Metric(
        "relational.column_shapes",
        "column shapes (every table)",
        "relational",
        _HIGH,
        summary=True,
    ),
    Metric(
        "relational.column_pair_trends",
        "column pair trends (within tables)",
        "relational",
        _HIGH,
        summary=True,
    ),
    Metric(
        "relational.cardinality",
        "cardinality shape",
        "relational",
        _HIGH,
        threshold=Threshold(
            "quality",
            "min_cardinality",
            0.70,
            "SDMetrics Cardinality: children-per-parent distributions (related tables)",
        ),
        summary=True,
        applies_if=_SINGLE,
    ),
    Metric(
        "relational.intertable_trends",
        "inter-table trends",
        "relational",
        _HIGH,
        threshold=Threshold(
            "quality",
            "min_intertable_trends",
            0.60,
            "SDMetrics Intertable Trends: parent-child column pairs (related tables)",
        ),
        summary=True,
        applies_if=_SINGLE,
    ),
    Metric(
        "relational.quality_score",
        "multi-table quality score",
        "relational",
        _HIGH,
        summary=True,
    ),
    Metric(
        "relational.table_copy_excess",
        "worst split table's copies of train rows beyond holdout rows",
        "relational",
        _LOW,
        (-1.0, 1.0),
        threshold=Threshold(
            "privacy",
            "max_table_copy_excess",
            0.01,
            "per table at or below the entity: copies of train rows minus of holdout rows",
            rule="own",
        ),
        summary=True,
        applies_if=_SINGLE,
    ),
    # rebalanced generation (generator.conditions): the released rows, the data view
    Metric("conditions.groups", "rebalanced groups", "conditions", bounds=_COUNT, kind="int"),
    Metric(
        "conditions.target_gap",
        "largest gap between a group's rows and its target (share of rows)",
        "conditions",
        _LOW,
        summary=True,
    ),
    Metric("conditions.column_shapes", "column shapes of the rebalanced rows", "conditions"),
    Metric(
        "conditions.utility_ratio",
        "utility ratio of the rebalanced rows",
        "conditions",
        _HIGH,
        bounds=None,
        summary=True,
    ),
    Metric(
        "conditions.worst_demographic_parity_increase",
        "rebalanced rows: worst demographic-parity increase",
        "conditions",
        _LOW,
        bounds=(-1.0, 1.0),
        summary=True,
    ),
    Metric(
        "conditions.worst_equalized_odds_increase",
        "rebalanced rows: worst equalized-odds increase",
        "conditions",
        _LOW,
        bounds=(-1.0, 1.0),
        summary=True,
    ),
    Metric(
        "conditions.worst_group_copy_excess",
        "worst rebalanced group's copies of train rows beyond holdout rows",
        "conditions",
        _LOW,
        (-1.0, 1.0),
        threshold=Threshold(
            "privacy",
            "max_group_exact_match_excess",
            0.01,
            "per group of rebalanced output (generator.conditions): copies of train rows "
            "minus of holdout rows",
            rule="own",
        ),
        summary=True,
        applies_if=_UNCONDITIONED,
    ),
    Metric(
        "conditions.worst_group_dcr_share",
        "worst rebalanced group's DCR share",
        "conditions",
        _LOW,
        threshold=Threshold(
            "privacy",
            "max_group_dcr_share",
            0.55,
            "per group of rebalanced output: its rows closer to the group's train rows than "
            "to its holdout rows",
            rule="own",
        ),
        summary=True,
        applies_if=_UNCONDITIONED,
    ),
    Metric(
        "conditions.groups_gated",
        "rebalanced groups gated",
        "conditions",
        bounds=_COUNT,
        kind="int",
    ),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
THRESHOLDS: dict[str, Metric] = {m.threshold.key: m for m in METRICS if m.threshold}
GATES = (
    "schema",
    "quality",
    "privacy",
    "subgroup",
    "fairness",
    "policy",
)  # in the order they decide


def threshold_of(key: str) -> Threshold:
    """The threshold that bounds the metric ``key`` (KeyError: the table gives it none)."""
    threshold = BY_KEY[key].threshold
    if threshold is None:
        raise KeyError(f"the metric table gives {key} no threshold")
    return threshold


def thresholds_of(gate: str) -> list[Threshold]:
    """The thresholds of one gate section, in table order."""
    return [m.threshold for m in gated_by(gate) if m.threshold is not None]


def gated_by(gate: str) -> list[Metric]:
    """The metrics one gate judges, in table order."""
    return [m for m in METRICS if m.threshold is not None and m.threshold.gate == gate]


ALPHA_AFTER = {  # gates whose findings fail only when significant: where alpha is listed
    "schema": "max_unknown_category_share",
    "privacy": "max_dcr_share",
    "subgroup": "max_representation_gap",
    "fairness": "max_error_gap_increase",
}
ALPHA_DOC = "a finding fails only when also significant at alpha (Bonferroni)"


def gates_block() -> str:
    """The ``gates:`` section ``sdops init`` writes: every threshold with its default."""
    lines = ["gates:"]
    for gate in GATES:
        on = "    enabled: true" + (
            "  # requires every policy field below" if gate == "policy" else ""
        )
        lines += [f"  {gate}:", on]
        for t in thresholds_of(gate):
            lines.append(f"    {t.name}: {t.default:.2f}  # {t.doc}")
            if ALPHA_AFTER.get(gate) == t.name:
                lines.append(f"    alpha: 0.01  # {ALPHA_DOC}")
    return "\n".join(lines) + "\n"


def summary_keys() -> list[str]:
    return [m.key for m in METRICS if m.summary]


def get(metrics: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted key of nested metrics, or None."""
    cur: Any = metrics
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """metrics.json from the families' flat values: every declared key, in table order.
    A key the table does not declare, or a declared key no family gave, is a bug."""
    unknown = sorted(set(flat) - set(BY_KEY))
    missing = [m.key for m in METRICS if m.key not in flat]
    if unknown or missing:
        raise AssertionError(
            f"metrics not in the metric table: {unknown}; declared but not computed: {missing}"
        )
    wrong = [f"{m.key}={flat[m.key]!r}" for m in METRICS if not _of_kind(flat[m.key], m.kind)]
    if wrong:
        raise AssertionError(f"metrics not of their declared kind: {wrong}")
    out: dict[str, dict[str, Any]] = {}
    for m in METRICS:
        out.setdefault(m.section, {})[m.name] = flat[m.key]
    return out


_KINDS: dict[str, tuple[type, ...]] = {
    "float": (float, int),
    "int": (int,),
    "bool": (bool,),
    "str": (str,),
    "list": (list,),
    "dict": (dict,),
}


def _of_kind(value: Any, kind: Kind) -> bool:
    """A value as metrics.json may hold it: None (not computed) or of the declared kind (a
    boolean is no number)."""
    if value is None:
        return True
    if isinstance(value, bool) and kind != "bool":
        return False
    return isinstance(value, _KINDS[kind])


def movement(key: str, old: Any, new: Any) -> str | None:
    """``better`` or ``worse`` for a metric that moved, by its goal; None otherwise."""
    m = BY_KEY.get(key)
    if m is None or m.goal is Goal.IGNORE:
        return None
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)) or old == new:
        return None
    up_is_better = m.goal is Goal.MAXIMIZE
    return "better" if (new > old) == up_is_better else "worse"
