"""Subgroup fidelity and utility: every declared group, worst first.

For each group of each declared column: column shapes of the group's real vs synthetic
rows, TSTR of the release's utility model on the group's holdout rows, and the group's
share of synthetic vs real rows. Gaps are measured against the overall figure; groups
smaller than ``min_size`` are reported but not gated. The TSTR gap is measured beyond the
same gap of a model trained on real rows, so a group that is simply harder to predict is
not blamed on the synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.metrics.learning import UtilityResult


@dataclass
class GroupResult:
    column: str
    group: str
    real_rows: int
    synthetic_rows: int
    holdout_rows: int
    real_share: float
    synthetic_share: float
    column_shapes: float | None = None
    column_shapes_real: float | None = None  # the group's train rows vs its holdout rows
    tstr: float | None = None
    trtr: float | None = None
    tstr_gap_se: float | None = None  # bootstrap standard error of TRTR_g - TSTR_g
    gated: bool = True
    notes: list[str] = field(default_factory=list)

    def gaps(
        self,
        overall_shapes: float | None,
        overall_tstr: float | None,
        overall_trtr: float | None,
        overall_shapes_real: float | None = None,
    ) -> dict[str, float | None]:
        """Gaps against the overall figures. The TSTR gap is the group's shortfall beyond
        what a model trained on real rows shows for the same group (some groups are
        harder to predict in the real data too): (TSTR - TSTR_g) - (TRTR - TRTR_g). The
        Column Shapes gap likewise, beyond the shortfall two real samples of the group show
        (a small group's shapes are noisy): (CS - CS_g) - max(0, CS_real - CS_real_g)."""
        cs = None
        if overall_shapes is not None and self.column_shapes is not None:
            cs = overall_shapes - self.column_shapes
            if overall_shapes_real is not None and self.column_shapes_real is not None:
                cs -= max(0.0, overall_shapes_real - self.column_shapes_real)
        ts = None
        if (
            overall_tstr is not None
            and self.tstr is not None
            and overall_trtr is not None
            and self.trtr is not None
        ):
            ts = (overall_tstr - self.tstr) - (overall_trtr - self.trtr)
        return {
            "column_shapes_gap": cs,
            "tstr_gap": ts,
            "representation_gap": abs(self.synthetic_share - self.real_share),
        }

    def tstr_gap_p_value(self, gap: float | None) -> float | None:
        """One-sided: how often the group's holdout rows, resampled, show such a TSTR gap
        when there is none (normal approximation with the bootstrap standard error)."""
        from scipy.stats import norm

        if gap is None or self.tstr_gap_se is None:
            return None
        if self.tstr_gap_se == 0:
            return 0.0 if gap > 0 else 1.0
        return float(norm.sf(gap / self.tstr_gap_se))

    def representation_p_value(self, n_real: int, n_synthetic: int) -> float | None:
        """Two-sided two-proportion z-test of the group's share in the synthetic vs the real
        (train) rows: how often a sample of real rows of that size shows such a gap."""
        import math

        from scipy.stats import norm

        if not n_real or not n_synthetic:
            return None
        pooled = (self.real_rows + self.synthetic_rows) / (n_real + n_synthetic)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n_real + 1 / n_synthetic))
        gap = abs(self.synthetic_share - self.real_share)
        if se == 0:
            return 1.0 if gap == 0 else 0.0
        return float(2 * norm.sf(gap / se))


def subgroups(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    sdtypes: dict[str, str],
    *,
    min_size: int,
    util: UtilityResult | None,
    target: str | None,
    seed: int = 0,
) -> list[GroupResult]:
    from sdops_dvc.metrics.fidelity import column_shapes
    from sdops_dvc.metrics.learning import score_model

    results: list[GroupResult] = []
    for col in columns:
        if col not in synthetic.columns:  # the schema gate reports the missing column
            continue
        key_tr = train[col].astype("string").fillna("<null>")
        key_sy = synthetic[col].astype("string").fillna("<null>")
        key_ho = holdout[col].astype("string").fillna("<null>")
        others = {c: t for c, t in sdtypes.items() if c != col}  # the group column is constant
        for g in sorted(set(key_tr) | set(key_ho)):
            tr_g = train[key_tr == g]
            sy_g = synthetic[key_sy == g]
            ho_g = holdout[key_ho == g]
            res = GroupResult(
                col,
                str(g),
                len(tr_g),
                len(sy_g),
                len(ho_g),
                len(tr_g) / len(train),
                len(sy_g) / len(synthetic) if len(synthetic) else 0.0,
            )
            if len(tr_g) < min_size or len(ho_g) < min_size:
                res.gated = False
                res.notes.append(f"fewer than {min_size} real rows: reported, not gated")
            if len(sy_g) >= 2 and len(tr_g) >= 2:
                shapes, _ = column_shapes(tr_g, sy_g, others)
                res.column_shapes = shapes if shapes == shapes else None
                if len(ho_g) >= 2:
                    real, _ = column_shapes(tr_g, ho_g, others)
                    res.column_shapes_real = real if real == real else None
            elif len(sy_g) < 2:
                res.notes.append("the synthetic data has (almost) no rows of this group")
                res.column_shapes = 0.0
            if util is not None and target is not None and len(ho_g):
                rows = util.x_holdout.index.intersection(ho_g.index)
                x_g, y_g = util.x_holdout.loc[rows], util.y_holdout.loc[rows]
                res.tstr = score_model(util.model_tstr, util.task, x_g, y_g)
                res.trtr = score_model(util.model_trtr, util.task, x_g, y_g)
                if res.tstr is not None and res.trtr is not None:
                    res.tstr_gap_se = _bootstrap_se(util, x_g, y_g, seed)
                if res.tstr is None:
                    res.notes.append("TSTR undefined in this group (one class only)")
            results.append(res)
    return results


BOOTSTRAP = 100


def _bootstrap_se(util: UtilityResult, x: pd.DataFrame, y: pd.Series, seed: int) -> float | None:
    """Standard error of TRTR_g - TSTR_g over bootstrap resamples of the group's holdout rows
    (the models are fixed; only which rows are scored varies). R^2, or the binary AUC by
    ranks; several classes are not resampled (None)."""
    import numpy as np
    from scipy.stats import rankdata

    if util.task == "regression":
        truth = y.to_numpy(dtype=float)
        preds = [m.predict(x) for m in (util.model_tstr, util.model_trtr)]

        def score(pred: Any, pos: Any) -> float | None:
            t = truth[pos]
            ss = float(((t - t.mean()) ** 2).sum())
            return None if ss == 0 else 1.0 - float(((t - pred[pos]) ** 2).sum()) / ss

    else:
        labels = y.astype(str).to_numpy()
        present = sorted(set(labels))
        if len(present) != 2:
            return None
        positive = labels == present[1]
        preds = []
        for m in (util.model_tstr, util.model_trtr):
            classes = [str(c) for c in m.classes_]
            proba = m.predict_proba(x)
            preds.append(
                proba[:, classes.index(present[1])] if present[1] in classes else np.zeros(len(y))
            )

        def score(pred: Any, pos: Any) -> float | None:
            yy = positive[pos]
            n1 = int(yy.sum())
            n0 = len(yy) - n1
            if n1 == 0 or n0 == 0:
                return None
            ranks = rankdata(pred[pos])
            return float((ranks[yy].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))

    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(BOOTSTRAP):
        pos = rng.integers(0, len(y), len(y))
        sa, sb = score(preds[0], pos), score(preds[1], pos)
        if sa is not None and sb is not None:
            diffs.append(sb - sa)
    return float(np.std(diffs, ddof=1)) if len(diffs) >= BOOTSTRAP // 5 else None
