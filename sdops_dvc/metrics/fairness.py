"""Disparate impact: does a model trained on the release treat groups less fairly than the
same model trained on real data?

On the untouched holdout, the release's utility model trained on synthetic rows (TSTR) and
the same model trained on real rows (TRTR) predict the same rows. Per protected column (and
their intersection, when asked):

- binary classification: the demographic-parity difference (the range over groups of the
  share predicted positive) and the equalized-odds difference (the larger of the ranges of
  the true-positive and false-positive rates), as fairlearn defines them
  (``demographic_parity_difference``, ``equalized_odds_difference``);
- regression: the per-group error gap, the range over groups of the mean absolute error,
  divided by the real-trained model's overall mean absolute error (unit-free).

The *increase* is the synthetic-trained model's figure minus the real-trained one's. Its
standard error comes from a paired bootstrap over holdout rows (both models' predictions
resampled together, so what the rows share cancels); the one-sided p-value is the normal
approximation, as the subgroup gate's. Groups with fewer than ``min_size`` holdout rows are
reported, not part of the gated range; the gate corrects alpha for the number of
comparisons it makes (Bonferroni), and fails a comparison only when its increase is above
the threshold *and* significant.

What the p-value covers: which holdout rows were scored. It does not cover the noise of
fitting a model on one sample rather than another (models trained on other real rows of
health_insurance showed demographic-parity increases up to 0.043, some "significant" at
the Bonferroni level); the threshold absorbs that, as it does for the subgroup gate's TSTR
gap. Measured in tests/unit/test_fairness.py: on 8 draws of unseen real rows the gate's
rule never fired (32 comparisons); a planted dependence of the target on gender fails it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.metrics.learning import UtilityResult

Array = Any
BINARY = ("demographic_parity", "equalized_odds")
REGRESSION = ("error_gap",)


@dataclass(frozen=True)
class GroupRates:
    """One group's figures under each model (``syn``: trained on the release; ``real``)."""

    group: str
    holdout_rows: int
    gated: bool
    syn: dict[str, float | None]
    real: dict[str, float | None]

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "holdout_rows": self.holdout_rows,
            "gated": self.gated,
            "synthetic_model": self.syn,
            "real_model": self.real,
        }


@dataclass(frozen=True)
class Comparison:
    """One fairness measure of one protected column: both models' figures and the increase."""

    column: str
    measure: str  # demographic_parity | equalized_odds | error_gap
    synthetic_model: float | None
    real_model: float | None
    increase: float | None
    se: float | None  # bootstrap standard error of the increase
    p_value: float | None  # one-sided: the increase is above zero

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "measure": self.measure,
            "synthetic_model": self.synthetic_model,
            "real_model": self.real_model,
            "increase": self.increase,
            "se": self.se,
            "p_value": self.p_value,
        }


@dataclass
class FairnessResult:
    task: str
    positive: str | None
    comparisons: list[Comparison] = field(default_factory=list)
    groups: dict[str, list[GroupRates]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def worst(self, measure: str) -> Comparison | None:
        found = [c for c in self.comparisons if c.measure == measure and c.increase is not None]
        return max(found, key=lambda c: c.increase or 0.0) if found else None


def _keys(
    holdout: pd.DataFrame, rows: Any, columns: list[str], intersections: bool
) -> dict[str, Any]:
    """Each protected column's group of every scored row (and the columns' intersection)."""
    keys = {c: holdout.loc[rows, c].astype("string").fillna("<null>") for c in columns}
    if intersections and len(columns) > 1:
        joined = keys[columns[0]]
        for c in columns[1:]:
            joined = joined + " | " + keys[c]
        keys[" x ".join(columns)] = joined
    return keys


def _rates(codes: Array, n_groups: int, pred: Array, y: Array | None, weights: Array) -> Array:
    """Per group, rows weighted by ``weights`` (a bootstrap resample's multiplicities): the
    positive-prediction rate, TPR and FPR of 0/1 predictions ``pred`` against 0/1 truth
    ``y``; for regression (``y`` None, ``pred`` the absolute errors) the mean absolute error."""
    import numpy as np

    def mean(mask_w: Array, values: Array) -> Array:
        num = np.bincount(codes, weights=mask_w * values, minlength=n_groups)
        den = np.bincount(codes, weights=mask_w, minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    if y is None:
        return mean(weights, pred)[None, :]
    return np.vstack([mean(weights, pred), mean(weights * y, pred), mean(weights * (1 - y), pred)])


def _spread(values: Array) -> float | None:
    import numpy as np

    v = values[~np.isnan(values)]
    return float(v.max() - v.min()) if len(v) >= 2 else None


def _measures(rates: Array, gated: Array, task: str, scale: float) -> dict[str, float | None]:
    """The measures over the gated groups from a rates array (see :func:`_rates`)."""
    if task == "regression":
        gap = _spread(rates[0][gated])
        return {"error_gap": None if gap is None or scale <= 0 else gap / scale}
    tpr, fpr = _spread(rates[1][gated]), _spread(rates[2][gated])
    eo = None if tpr is None or fpr is None else max(tpr, fpr)
    return {"demographic_parity": _spread(rates[0][gated]), "equalized_odds": eo}


@dataclass(frozen=True)
class _Scored:
    codes: dict[str, tuple[Array, list[str]]]  # column -> (group code per row, group names)
    syn: Array  # binary: 0/1 predicted positive; regression: absolute errors
    real: Array
    y: Array | None  # binary: 0/1 truth; regression: None

    @property
    def task(self) -> str:
        return "regression" if self.y is None else "binary"

    def rates(self, codes: Array, n_groups: int, weights: Array) -> tuple[Array, Array]:
        """:func:`_rates` under the model trained on synthetic rows and the one on real."""
        return (
            _rates(codes, n_groups, self.syn, self.y, weights),
            _rates(codes, n_groups, self.real, self.y, weights),
        )


def _score(util: UtilityResult, keys: dict[str, Any], positive: str | None) -> _Scored:
    import numpy as np
    import pandas as pd

    x, y = util.x_holdout, util.y_holdout
    codes = {}
    for col, k in keys.items():
        c, names = pd.factorize(k, sort=True)
        codes[col] = (c.astype(np.int64), [str(n) for n in names])
    if util.task == "regression":
        truth = y.to_numpy(dtype=float)
        err_s = np.abs(truth - util.model_tstr.predict(x))
        err_r = np.abs(truth - util.model_trtr.predict(x))
        return _Scored(codes, err_s, err_r, None)
    labels = y.astype(str).to_numpy()

    def predicted(model: Any) -> Array:
        return (model.predict(x).astype(str) == positive).astype(float)

    truth = (labels == positive).astype(float)
    return _Scored(codes, predicted(util.model_tstr), predicted(util.model_trtr), truth)


def _positive(util: UtilityResult, declared: str | None) -> tuple[str | None, str | None]:
    """The positive label, or why fairness is not measured."""
    present = sorted(set(util.y_holdout.astype(str)))
    if len(present) != 2:
        return None, (
            f"fairness: the target has {len(present)} classes in the holdout; demographic "
            "parity and equalized odds are measured for two classes only"
        )
    if declared is not None and declared not in present:
        return None, f"fairness: positive_label {declared!r} is not a class of the target"
    return declared or present[1], None


def fairness(
    util: UtilityResult | None,
    holdout: pd.DataFrame,
    columns: list[str],
    *,
    min_size: int,
    intersections: bool,
    positive_label: str | None,
    bootstrap: int,
    seed: int,
) -> FairnessResult:
    """Both models' fairness per protected column on the holdout, and the increase."""
    import numpy as np

    task = util.task if util is not None else "none"
    res = FairnessResult(task, None)
    if util is None or util.model_tstr is None or util.model_trtr is None:
        res.notes.append("fairness: no utility models (no target, or one class only): not measured")
        return res
    cols = [c for c in columns if c in holdout.columns]
    positive = None
    if util.task != "regression":
        positive, why = _positive(util, positive_label)
        if why:
            res.notes.append(why)
            return res
    res.positive = positive
    rows = util.x_holdout.index
    s = _score(util, _keys(holdout, rows, cols, intersections), positive)
    ones = np.ones(len(rows))
    for col, (codes, names) in s.codes.items():
        sizes = np.bincount(codes, minlength=len(names))
        gated = sizes >= min_size
        rates = s.rates(codes, len(names), ones)
        res.groups[col] = [
            GroupRates(
                names[g],
                int(sizes[g]),
                bool(gated[g]),
                _named(rates[0][:, g], s.task),
                _named(rates[1][:, g], s.task),
            )
            for g in range(len(names))
        ]
        if gated.sum() < 2:
            res.notes.append(
                f"fairness: {col}: fewer than two groups with {min_size} holdout rows; "
                "reported, not gated"
            )
            continue
        res.comparisons += _compare(col, s, codes, len(names), gated, bootstrap, seed)
    return res


def _named(col: Array, task: str) -> dict[str, float | None]:
    import math

    names = (
        ("mean_absolute_error",)
        if task == "regression"
        else ("selection_rate", "true_positive_rate", "false_positive_rate")
    )
    return {
        k: (None if math.isnan(v) else round(float(v), 12)) for k, v in zip(names, col, strict=True)
    }


def _compare(
    col: str, s: _Scored, codes: Array, n_groups: int, gated: Array, bootstrap: int, seed: int
) -> list[Comparison]:
    """Each measure's increase on the holdout, its paired-bootstrap SE and p-value (the
    same ``bootstrap`` resamples of the holdout rows for every column: seeded)."""
    import numpy as np
    from scipy.stats import norm

    def measures(w: Array) -> tuple[dict[str, float | None], dict[str, float | None]]:
        ra, rb = s.rates(codes, n_groups, w)
        # regression: group MAE ranges over the real-trained model's overall MAE
        scale = float((w * s.real).sum() / w.sum()) if s.y is None else 1.0
        return _measures(ra, gated, s.task, scale), _measures(rb, gated, s.task, scale)

    n = len(codes)
    syn, real = measures(np.ones(n))
    rng = np.random.default_rng(seed)
    boots = [
        measures(np.bincount(rng.integers(0, n, n), minlength=n).astype(float))
        for _ in range(bootstrap)
    ]
    out = []
    for measure in syn:
        a, b = syn[measure], real[measure]
        inc = None if a is None or b is None else a - b
        diffs = [
            x[measure] - y[measure]  # type: ignore[operator]
            for x, y in boots
            if x[measure] is not None and y[measure] is not None
        ]
        se = float(np.std(diffs, ddof=1)) if len(diffs) >= 2 else None
        p = None
        if inc is not None and se is not None:
            p = (0.0 if inc > 0 else 1.0) if se == 0 else float(norm.sf(inc / se))
        out.append(Comparison(col, measure, a, b, inc, se, p))
    return out
