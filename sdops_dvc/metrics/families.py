"""The metric families ``evaluate`` runs, each behind one Protocol.

A family reads an :class:`Evaluation` (the real splits, the synthetic table, the settings,
and intermediate results computed once on first use and shared: privacy samples, the
utility models, Column Shapes) and returns a :class:`FamilyOutput`: flat metric values
keyed as the metric table declares them, details, subsample records and plot data.
``evaluate`` runs :data:`FAMILIES` in order and assembles metrics.json with
``metric_table.nest``, which refuses a value the table does not declare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from sdops_dvc.domain.config import EvaluationCfg, Params
from sdops_dvc.domain.metadata import (
    CATEGORICAL_SDTYPES,
    NUMERIC_SDTYPES,
    column_sdtypes,
    parse_datetimes,
)

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.metrics.learning import UtilityResult
    from sdops_dvc.metrics.privacy import DcrResult
    from sdops_dvc.metrics.relational import RelationalInputs

DRIVERS_ABOVE_AUC = 0.75  # a detection AUC above this names the columns it leans on


def r(x: float | None, nd: int = 12) -> float | None:
    """A metric as written: rounded, NaN as None."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd)


@dataclass
class FamilyOutput:
    metrics: dict[str, Any]  # flat keys of the metric table: "quality.column_shapes"
    details: dict[str, Any] = field(default_factory=dict)  # merged into details.json
    samples: dict[str, Any] = field(default_factory=dict)  # details.json "samples"
    plots: dict[str, Any] = field(default_factory=dict)


class MetricFamily(Protocol):
    def __call__(self, ev: Evaluation) -> FamilyOutput: ...


class Evaluation:
    """What every family reads, and what several of them share (computed once)."""

    def __init__(
        self,
        train: pd.DataFrame,
        holdout: pd.DataFrame,
        synthetic: pd.DataFrame,
        metadata: dict[str, Any],
        params: Params | None,
        target: str | None,
        relational: RelationalInputs | None = None,
        *,
        released: pd.DataFrame | None = None,
    ) -> None:

        self.relational = relational  # related tables; the frames above are their entity view
        # rows rebalanced by generator.conditions; ``synthetic`` is then the unconditioned
        # sample from the same fit (the model), which every gate but the per-group one judges
        self.released = parse_datetimes(released, metadata) if released is not None else None
        self.params = params
        self.cfg = params.evaluation if params is not None else EvaluationCfg()
        self.task = params.dataset.task if params is not None else "auto"
        self.target = params.dataset.target if params is not None else target
        self.seed = self.cfg.seed
        self.metadata = metadata
        self.sdtypes = column_sdtypes(metadata)
        self.train, self.holdout, self.synthetic = (
            parse_datetimes(f, metadata) for f in (train, holdout, synthetic)
        )
        # ids, PII and free text are faked or not modelled by SDV: like SDMetrics, measure the
        # modelable columns only (a copied row with a new fake id is still a copy)
        self.columns = [
            c
            for c in self.train.columns
            if c in self.synthetic.columns
            and self.sdtypes.get(c) in (*NUMERIC_SDTYPES, *CATEGORICAL_SDTYPES)
        ]

    @cached_property
    def shapes(self) -> tuple[float, dict[str, float]]:
        """SDMetrics Column Shapes: the mean and each column's score."""
        from sdops_dvc.metrics.fidelity import column_shapes

        cols = self.columns
        return column_shapes(self.train[cols], self.synthetic[cols], self.sdtypes)

    @cached_property
    def real_shapes(self) -> float | None:
        """Column Shapes between two real samples (train and holdout): the noise a group's
        score carries."""
        from sdops_dvc.metrics.fidelity import column_shapes

        cols = self.columns
        score, _ = column_shapes(self.train[cols], self.holdout[cols], self.sdtypes)
        return score if score == score else None

    @cached_property
    def utility(self) -> UtilityResult | None:
        """TSTR and TRTR on the holdout, when a target is declared and present."""
        from sdops_dvc.metrics import learning

        t = self.target
        if t is None or t not in self.train.columns or t not in self.synthetic.columns:
            return None
        return learning.utility(
            self.train,
            self.holdout,
            self.synthetic,
            t,
            self.task,
            seed=self.seed,
            max_rows=self.cfg.max_model_rows,
        )

    @cached_property
    def privacy_samples(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        """Equal-size train and holdout references, the synthetic query rows, and how they
        were drawn."""
        from sdops_dvc.metrics import privacy

        cols = self.columns
        tr_s, ho_s, real_info = privacy.equal_size_samples(
            self.train[cols], self.holdout[cols], self.seed, self.cfg.max_nn_reference
        )
        syn_q, q_info = privacy.query_sample(
            self.synthetic[cols], self.cfg.max_nn_queries, self.seed
        )
        return tr_s, ho_s, syn_q, {"privacy_real": real_info, "privacy_queries": q_info}

    @cached_property
    def dcr(self) -> DcrResult:
        from sdops_dvc.metrics import privacy

        tr_s, ho_s, syn_q, _ = self.privacy_samples
        return privacy.dcr_share(syn_q, tr_s, ho_s, self.sdtypes, seed=self.seed)


def schema(ev: Evaluation) -> FamilyOutput:
    """Types, keys, ranges and categories, row count and constraints."""
    import pandas as pd

    from sdops_dvc.metrics.schema import check_schema

    p = ev.params
    expected = (p.generator.num_rows or len(ev.train)) if p is not None else None
    dp = p.generator.privacy if p is not None else None
    if dp is not None and p is not None and p.generator.num_rows is None:
        expected = None  # a DP model's row count is its noisy total, not the train size
    if ev.relational is not None:  # each table against its own real rows
        from sdops_dvc.metrics.relational import schema_of_tables

        report = schema_of_tables(ev.relational)
    else:
        report = check_schema(
            pd.concat([ev.train, ev.holdout], ignore_index=True),
            ev.synthetic,
            ev.metadata,
            expected,
            list(p.generator.constraints) if p is not None else [],
            declared_bounds=dict(dp.bounds) if dp else None,
            declared_categories=dict(dp.categories) if dp else None,
        )
    rows = {"train": len(ev.train), "holdout": len(ev.holdout), "synthetic": len(ev.synthetic)}
    values = {k: r(v) if isinstance(v, float) else v for k, v in report.as_metrics().items()}
    return FamilyOutput(
        metrics={
            **{f"rows.{k}": v for k, v in rows.items()},
            **{f"schema.{k}": v for k, v in values.items()},
            "schema.failures": report.failures,
        },
        details={
            "schema": {
                "columns": {
                    col: {k: r(v) if isinstance(v, float) else v for k, v in spec.items()}
                    for col, spec in sorted(report.columns.items())
                }
            }
        },
    )


def quality(ev: Evaluation) -> FamilyOutput:
    """Column Shapes, Column Pair Trends, and a detector telling real from synthetic."""
    from sdops_dvc.metrics import learning
    from sdops_dvc.metrics.fidelity import column_pair_trends

    cols, seed, cfg = ev.columns, ev.seed, ev.cfg
    shapes, by_col = ev.shapes
    cpt, cpt_all, pairs = column_pair_trends(ev.train[cols], ev.synthetic[cols], ev.sdtypes)
    det = learning.detection_auc(
        ev.train[cols],
        ev.synthetic[cols],
        seed=seed,
        max_rows=cfg.max_model_rows,
        folds=cfg.detection_folds,
    )
    details: dict[str, Any] = {
        "column_shapes": {k: r(v) for k, v in sorted(by_col.items())},
        "column_pairs": [
            {
                "columns": list(p.columns),
                "metric": p.metric,
                "score": r(p.score),
                "counted": p.counted,
            }
            for p in pairs
        ],
    }
    if det.auc > DRIVERS_ABOVE_AUC:  # name what gives the synthetic rows away
        drivers = learning.detection_drivers(
            ev.train[cols], ev.synthetic[cols], seed=seed, max_rows=cfg.max_model_rows
        )
        details["detection_drivers"] = [
            {"column": col, "auc_drop": r(drop, 4), "hint": driver_hint(ev.train[col], ev.sdtypes)}
            for col, drop in drivers
        ]
    return FamilyOutput(
        metrics={
            "quality.column_shapes": r(shapes),
            "quality.column_shapes_min": r(min(by_col.values())) if by_col else None,
            "quality.column_pair_trends": r(cpt),
            "quality.column_pair_trends_all_pairs": r(cpt_all),
            "quality.column_pairs_counted": sum(p.counted for p in pairs),
            "quality.detection_auc": r(det.auc),
        },
        details=details,
        samples={
            "detection": {"rows_per_side": det.rows_per_side, "folds": det.folds, "seed": seed}
        },
    )


def driver_hint(col: Any, sdtypes: dict[str, str]) -> str:
    """The change most likely to make a column stop giving the synthetic rows away."""
    sd = sdtypes.get(str(col.name))
    distinct = int(col.nunique(dropna=True))
    if sd == "numerical" and distinct <= 50:
        return (
            f"it takes only {distinct} distinct values: make it categorical in metadata.json "
            "so the generator reproduces them instead of filling the gaps between them"
        )
    if sd == "numerical":
        return (
            "its distribution is not reproduced: try another generator family or its "
            "parameters (generator.family, generator.parameters), or generator.decimals "
            "when its values are float32-stored decimals"
        )
    return "its categories or their mix are not reproduced: try another generator family"


def utility(ev: Evaluation) -> FamilyOutput:
    """Train on synthetic, test on the real holdout (TSTR), against train on real (TRTR)."""
    u = ev.utility
    return FamilyOutput(
        metrics={
            "utility.target": ev.target,
            "utility.task": u.task if u else None,
            "utility.metric": u.metric if u else None,
            "utility.tstr": r(u.tstr) if u else None,
            "utility.trtr": r(u.trtr) if u else None,
            "utility.ratio": r(u.ratio) if u else None,
        },
        samples={"utility": {**u.rows, "seed": ev.seed}} if u else {},
    )


def privacy(ev: Evaluation) -> FamilyOutput:
    """Exact copies, distance to closest record, membership inference."""
    import numpy as np

    from sdops_dvc.metrics import privacy as priv

    tr_s, ho_s, syn_q, sample_info = ev.privacy_samples
    copies = priv.exact_copies(ev.synthetic, tr_s, ho_s, ev.columns)
    qi, _, _ = privacy_columns(ev.cfg, ev.columns, ev.target)
    pc = ev.cfg.privacy
    rare = priv.rare_matches(
        ev.synthetic, tr_s, ho_s, qi, dict(pc.qi_bins), pc.rare_k, seed=ev.seed
    )
    em_full = priv.exact_match_rate(ev.synthetic, ev.train, ev.columns)
    d = ev.dcr
    mia = priv.membership_inference(syn_q, tr_s, ho_s, ev.sdtypes, ev.seed, ev.cfg.max_nn_queries)
    return FamilyOutput(
        metrics={
            "privacy.exact_match_train": r(copies.train),
            "privacy.exact_match_holdout": r(copies.holdout),
            "privacy.exact_match_p_value": r(copies.p_value),
            "privacy.exact_match_real_baseline": r(copies.real_baseline),
            "privacy.exact_match_holdout_p_value": r(copies.holdout_p_value),
            "privacy.exact_match_train_full": r(em_full),
            "privacy.rare_match_train": r(rare.train),
            "privacy.rare_match_holdout": r(rare.holdout),
            "privacy.rare_match_p_value": r(rare.p_value),
            "privacy.dcr_share": r(d.share),
            "privacy.dcr_p_value": r(d.p_value),
            "privacy.nndr_median": r(float(np.median(d.nndr))) if len(d.nndr) else None,
            "privacy.mia_auc": r(mia.auc),
            "privacy.mia_tpr_at_1pct_fpr": r(mia.tpr_at_1pct_fpr),
        },
        details={
            "privacy": {
                "rare_combinations": rare.as_json(),
                "mia": {
                    "members": mia.members,
                    "non_members": mia.non_members,
                    "reference": mia.reference,
                    "seed": ev.seed,
                },
                "dcr": {
                    "train_quantiles": _quantiles(d.dcr_train),
                    "holdout_quantiles": _quantiles(d.dcr_holdout),
                },
            }
        },
        samples=sample_info,
    )


def _quantiles(values: Any) -> dict[str, float | None]:
    import numpy as np

    if len(values) == 0:
        return {}
    qs = np.quantile(values, [0.01, 0.05, 0.5])
    return {"p01": r(qs[0]), "p05": r(qs[1]), "p50": r(qs[2])}


def privacy_columns(
    cfg: EvaluationCfg, columns: list[str], target: str | None
) -> tuple[list[str], list[str], tuple[list[str], list[str]]]:
    """Quasi-identifiers, sensitive columns and the two linkability halves, among the
    columns the synthetic table has (a missing one is the schema gate's finding)."""
    sensitive = [c for c in cfg.privacy.sensitive if c in columns] or (
        [target] if target in columns else []
    )
    qi = [c for c in cfg.privacy.quasi_identifiers if c in columns] or [
        c for c in columns if c not in sensitive
    ]
    aux_cfg = cfg.privacy.linkability_aux
    if aux_cfg and all(any(c in columns for c in part) for part in aux_cfg):
        aux = ([c for c in aux_cfg[0] if c in columns], [c for c in aux_cfg[1] if c in columns])
    else:
        half = max(1, len(qi) // 2)
        aux = (qi[:half], qi[half:] or qi[:half])
    return qi, sensitive, aux


def anonymity(ev: Evaluation) -> FamilyOutput:
    """Anonymeter-style attacks (singling out, linkability, inference), each against the
    holdout as control."""
    from sdops_dvc.metrics import anonymity as anon

    tr_s, ho_s, syn_q, _ = ev.privacy_samples
    qi, sensitive, aux = privacy_columns(ev.cfg, ev.columns, ev.target)
    n_att, seed = ev.cfg.privacy.n_attacks, ev.seed
    so = anon.singling_out(
        tr_s,
        syn_q,
        ho_s,
        n_attacks=n_att,
        seed=seed,
        max_column_sets=ev.cfg.privacy.max_column_sets,
    )
    lk = anon.linkability(tr_s, syn_q, ho_s, aux, n_attacks=n_att, seed=seed)
    inf = _inference_attacks(ev, qi, sensitive)
    worst = max(inf, key=lambda x: x.value) if inf else None
    public = [c for c in ev.cfg.privacy.public_columns if c in ev.columns]
    rest = [c for c in ev.columns if c not in public]
    outside = (
        anon.linkability(tr_s, syn_q, ho_s, (public, rest), n_attacks=n_att, seed=seed)
        if public and rest
        else None
    )
    return FamilyOutput(
        metrics={
            "privacy.singling_out_risk": r(so.value),
            "privacy.singling_out_p_value": r(so.p_value),
            "privacy.linkability_risk": r(lk.value),
            "privacy.linkability_p_value": r(lk.p_value),
            "privacy.inference_risk": r(worst.value) if worst else None,
            "privacy.inference_p_value": r(worst.p_value) if worst else None,
            "privacy.outside_linkage_risk": r(outside.value) if outside else None,
            "privacy.outside_linkage_p_value": r(outside.p_value) if outside else None,
            "privacy.public_columns": len(public) if outside else 0,
        },
        details={
            "privacy": {
                "quasi_identifiers": qi,
                "sensitive": sensitive,
                "singling_out": so.as_json(),
                "linkability": lk.as_json(),
                "outside_linkage": outside.as_json() if outside else None,
                "inference": [x.as_json() for x in inf],
            }
        },
    )


def _inference_attacks(ev: Evaluation, qi: list[str], sensitive: list[str]) -> list[Any]:
    """One inference attack per sensitive column, from the other quasi-identifiers."""
    from sdops_dvc.metrics import anonymity as anon
    from sdops_dvc.metrics.learning import infer_task

    tr_s, ho_s, syn_q, _ = ev.privacy_samples
    return [
        anon.inference(
            tr_s,
            syn_q,
            ho_s,
            [c for c in qi if c != secret],
            secret,
            regression=infer_task(ev.train[secret], "auto") == "regression",
            n_attacks=ev.cfg.privacy.n_attacks,
            seed=ev.seed,
        )
        for secret in sensitive
        if [c for c in qi if c != secret]
    ]


def subgroups(ev: Evaluation) -> FamilyOutput:
    """Per declared group: representation, Column Shapes and TSTR gaps, with their tests."""
    from sdops_dvc.metrics import subgroup

    groups = subgroup.subgroups(
        ev.train,
        ev.holdout,
        ev.synthetic,
        list(ev.cfg.subgroups.columns),
        ev.sdtypes,
        min_size=ev.cfg.subgroups.min_size,
        util=ev.utility,
        target=ev.target,
        seed=ev.seed,
    )
    rows = sorted((_group_row(ev, g) for g in groups), key=_largest_gap)
    gated = [row for row in rows if row["gated"]]

    def worst(key: str) -> float | None:
        vals = [row[key] for row in gated if row[key] is not None]
        return r(max(vals)) if vals else None

    cs_gap, ts_gap = worst("column_shapes_gap"), worst("tstr_gap")
    either = [v for v in (cs_gap, ts_gap) if v is not None]
    return FamilyOutput(
        metrics={
            "subgroup.worst_group_gap": r(max(either)) if either else None,
            "subgroup.worst_column_shapes_gap": cs_gap,
            "subgroup.worst_tstr_gap": ts_gap,
            "subgroup.worst_representation_gap": worst("representation_gap"),
            "subgroup.groups_gated": len(gated),
            "subgroup.groups_reported": len(rows),
        },
        details={"subgroups": rows},
        plots={
            "subgroups": [
                {
                    "group": f"{row['column']}={row['group']}",
                    "real_share": row["real_share"],
                    "synthetic_share": row["synthetic_share"],
                    "column_shapes": row["column_shapes"],
                    "tstr": row["tstr"],
                }
                for row in rows
            ]
        },
    )


def _largest_gap(row: dict[str, Any]) -> float:
    gaps = ("column_shapes_gap", "tstr_gap", "representation_gap")
    return -max(row[k] or 0 for k in gaps)


def _group_row(ev: Evaluation, g: Any) -> dict[str, Any]:
    shapes = ev.shapes[0]
    u = ev.utility
    gaps = g.gaps(
        shapes if shapes == shapes else None,
        u.tstr if u else None,
        u.trtr if u else None,
        ev.real_shapes,
    )
    return {
        "column": g.column,
        "group": g.group,
        "gated": g.gated,
        "real_rows": g.real_rows,
        "synthetic_rows": g.synthetic_rows,
        "holdout_rows": g.holdout_rows,
        "real_share": r(g.real_share),
        "synthetic_share": r(g.synthetic_share),
        "column_shapes": r(g.column_shapes),
        "column_shapes_real": r(g.column_shapes_real),
        "tstr": r(g.tstr),
        "trtr": r(g.trtr),
        **{k: r(v) for k, v in gaps.items()},
        "representation_p_value": r(g.representation_p_value(len(ev.train), len(ev.synthetic))),
        "tstr_gap_p_value": r(g.tstr_gap_p_value(gaps["tstr_gap"])),
        "notes": g.notes,
    }


_RELATIONAL_KEYS = (
    "relational.tables",
    "relational.relationships",
    "relational.duplicate_key_share",
    "relational.orphan_excess",
    "relational.cardinality_bounds",
    "relational.column_shapes",
    "relational.column_pair_trends",
    "relational.cardinality",
    "relational.intertable_trends",
    "relational.quality_score",
    "relational.table_copy_excess",
)


def relational(ev: Evaluation) -> FamilyOutput:
    """Related tables: keys, integrity against the real tables' own, cardinality, the
    multi-table QualityReport and copies per table (None for a single table)."""
    if ev.relational is None:
        return FamilyOutput({k: None for k in _RELATIONAL_KEYS})
    from sdops_dvc.metrics.relational import relational_metrics

    flat, details = relational_metrics(ev.relational, ev.seed, ev.cfg.max_nn_reference)
    return FamilyOutput(flat, {"relational": details})


def fairness(ev: Evaluation) -> FamilyOutput:
    """Per protected column: the utility model trained on synthetic rows against the one
    trained on real rows, on the holdout (metrics/fairness.py)."""
    from sdops_dvc.metrics import fairness as fair

    cfg = ev.cfg.fairness
    if not cfg.columns:
        none = ("demographic_parity", "equalized_odds", "error_gap")
        return FamilyOutput(
            metrics={f"fairness.worst_{m}_increase": None for m in none}
            | {"fairness.comparisons": 0}
        )
    res = fair.fairness(
        ev.utility,
        ev.holdout,
        list(cfg.columns),
        min_size=cfg.min_size,
        intersections=cfg.intersections,
        positive_label=cfg.positive_label,
        bootstrap=cfg.bootstrap,
        seed=ev.seed,
    )

    def worst(measure: str) -> float | None:
        found = res.worst(measure)
        return r(found.increase) if found is not None else None

    return FamilyOutput(
        metrics={
            "fairness.worst_demographic_parity_increase": worst("demographic_parity"),
            "fairness.worst_equalized_odds_increase": worst("equalized_odds"),
            "fairness.worst_error_gap_increase": worst("error_gap"),
            "fairness.comparisons": sum(1 for c in res.comparisons if c.p_value is not None),
        },
        details={
            "fairness": {
                "task": res.task,
                "positive_label": res.positive,
                "min_size": cfg.min_size,
                "bootstrap": cfg.bootstrap,
                "comparisons": [c.as_json() for c in res.comparisons],
                "groups": {col: [g.as_json() for g in gs] for col, gs in res.groups.items()},
                "notes": res.notes,
            }
        },
    )


_CONDITION_KEYS = (
    "conditions.target_gap",
    "conditions.column_shapes",
    "conditions.utility_ratio",
    "conditions.worst_demographic_parity_increase",
    "conditions.worst_equalized_odds_increase",
    "conditions.worst_group_copy_excess",
    "conditions.worst_group_dcr_share",
)


def conditions(ev: Evaluation) -> FamilyOutput:
    """Rebalanced generation, the data view: the released rows against the declared
    targets, their Column Shapes and utility, fairness of a model trained on them, and
    privacy per group (metrics/conditions.py). The model view is every other family, on the
    unconditioned sample."""
    from sdops_dvc.metrics.conditions import group_privacy
    from sdops_dvc.synthesizers.conditions import achieved, plan_of

    p = ev.params
    if ev.released is None or p is None or p.generator.conditions is None:
        counts = {"conditions.groups": 0, "conditions.groups_gated": 0}
        return FamilyOutput({k: None for k in _CONDITION_KEYS} | counts)
    plans = plan_of(p, ev.train, ev.sdtypes, check_counts=False)
    data = Evaluation(ev.train, ev.holdout, ev.released, ev.metadata, p, ev.target)
    targets = achieved(ev.released, plans)
    n = max(1, len(ev.released))
    groups = group_privacy(
        ev.released,
        ev.train,
        ev.holdout,
        plans,
        ev.columns,
        ev.sdtypes,
        min_size=ev.cfg.subgroups.min_size,
        seed=ev.seed,
        max_queries=ev.cfg.max_nn_queries,
        max_reference=ev.cfg.max_nn_reference,
    )
    gated = [g for g in groups if g.gated]
    fair = fairness(data)
    u = data.utility

    def worst(values: list[float | None]) -> float | None:
        found = [v for v in values if v is not None]
        return r(max(found)) if found else None

    return FamilyOutput(
        metrics={
            "conditions.groups": len(plans),
            "conditions.target_gap": r(max(abs(t["rows"] - t["target_rows"]) / n for t in targets)),
            "conditions.column_shapes": r(data.shapes[0]),
            "conditions.utility_ratio": r(u.ratio) if u else None,
            "conditions.worst_demographic_parity_increase": fair.metrics[
                "fairness.worst_demographic_parity_increase"
            ],
            "conditions.worst_equalized_odds_increase": fair.metrics[
                "fairness.worst_equalized_odds_increase"
            ],
            "conditions.worst_group_copy_excess": worst(
                [(g.copies_train or 0.0) - (g.copies_holdout or 0.0) for g in gated]
            ),
            "conditions.worst_group_dcr_share": worst([g.dcr_share for g in gated]),
            "conditions.groups_gated": len(gated),
        },
        details={"conditions": _conditions_details(ev, data, plans, targets, groups, fair)},
    )


def _conditions_details(
    ev: Evaluation,
    data: Evaluation,
    plans: list[Any],
    targets: list[dict[str, Any]],
    groups: list[Any],
    fair: FamilyOutput,
) -> dict[str, Any]:
    """The released rows against each group's target (real counts withheld below
    report.min_bin_count), privacy per group, copies of unseen rows, fairness and utility."""
    from sdops_dvc.metrics.privacy import exact_copies as privacy_copies

    assert ev.released is not None and ev.params is not None
    assert ev.params.generator.conditions is not None
    floor = ev.params.report.min_bin_count
    tr_s, ho_s, _, _ = ev.privacy_samples
    real = privacy_copies(ev.released, tr_s, ho_s, ev.columns)
    u = data.utility  # the released rows' (``data``: the evaluation of the released rows)
    return {
        "rationale": ev.params.generator.conditions.rationale,
        "targets": [
            {**t, "share": r(t["share"]), "train_rows": _floored(pl.train_rows, floor)}
            for t, pl in zip(targets, plans, strict=True)
        ],
        "rows": len(ev.released),
        "min_size": ev.cfg.subgroups.min_size,
        "privacy": [_group_json(g, floor) for g in groups],
        "released_copies": {
            "copies_holdout": r(real.holdout),
            "real_baseline": r(real.real_baseline),
            "p_value": r(real.holdout_p_value),
        },
        "fairness": (fair.details.get("fairness") or {}).get("comparisons", []),
        "utility": ({"tstr": r(u.tstr), "trtr": r(u.trtr), "metric": u.metric} if u else None),
    }


def _floored(count: int, floor: int) -> int | None:
    """A count of real records as written: withheld (None) below report.min_bin_count."""
    return count if count >= floor else None


def _group_json(g: Any, floor: int) -> dict[str, Any]:
    row = {k: r(v) if isinstance(v, float) else v for k, v in g.as_json().items()}
    row["train_rows"] = _floored(g.train_rows, floor)
    row["holdout_rows"] = _floored(g.holdout_rows, floor)
    return row


FAMILIES: dict[str, MetricFamily] = {
    "schema": schema,
    "quality": quality,
    "utility": utility,
    "privacy": privacy,
    "anonymity": anonymity,
    "subgroups": subgroups,
    "fairness": fairness,
    "relational": relational,
    "conditions": conditions,
}
