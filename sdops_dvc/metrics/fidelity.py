"""Column Shapes, defined exactly as SDMetrics defines it.

KSComplement (numbers, datetimes): 1 - two-sample KS statistic after dropping nulls and
rounding to 14 decimals. TVComplement (categories, ordinals, booleans): 1 - total variation distance
of the value frequencies, with SDMetrics' 1e-6 regularisation for unseen values.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdops_dvc.metadata import CATEGORICAL_SDTYPES, NUMERIC_SDTYPES

if TYPE_CHECKING:
    import pandas as pd

MAX_DECIMALS = sys.float_info.dig - 1


def ks_complement(real: pd.Series, synthetic: pd.Series) -> float:
    import pandas as pd
    from scipy.stats import ks_2samp

    r = pd.Series(real).dropna()
    s = pd.Series(synthetic).dropna()
    if pd.api.types.is_datetime64_any_dtype(r):
        r = pd.to_numeric(r)
        s = pd.to_numeric(pd.to_datetime(s))
    if len(r) == 0 or len(s) == 0:
        return math.nan
    r = r.astype(float).round(MAX_DECIMALS)
    s = s.astype(float).round(MAX_DECIMALS)
    stat = ks_2samp(r, s).statistic
    return float(1.0 - stat)


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    import pandas as pd

    r = Counter(pd.Series(real).dropna())
    s = Counter(pd.Series(synthetic).dropna())
    if not r or not s:
        return math.nan
    for value in s:
        if value not in r:
            r[value] += 1e-6  # type: ignore[assignment]  # SDMetrics' regularisation
    s_total = sum(s.values())
    r_total = sum(r.values())
    tv = 0.0
    for value in r:
        tv += abs(s[value] / s_total - r[value] / r_total)
    return 1.0 - 0.5 * tv


def column_shape(real: pd.Series, synthetic: pd.Series, sdtype: str) -> float | None:
    if sdtype in NUMERIC_SDTYPES:
        return ks_complement(real, synthetic)
    if sdtype in CATEGORICAL_SDTYPES:
        return tv_complement(real, synthetic)
    return None  # ids, PII and free text are not scored, as in SDMetrics


def column_shapes(
    real: pd.DataFrame, synthetic: pd.DataFrame, sdtypes: dict[str, str]
) -> tuple[float, dict[str, float]]:
    """Mean score and per-column scores over the columns both tables share."""
    scores: dict[str, float] = {}
    for col, sdtype in sdtypes.items():
        if col not in real.columns or col not in synthetic.columns:
            continue
        if sdtype not in NUMERIC_SDTYPES and sdtype not in CATEGORICAL_SDTYPES:
            continue
        score = column_shape(real[col], synthetic[col], sdtype)
        if score is not None and not math.isnan(score):
            scores[col] = score
    mean = sum(scores.values()) / len(scores) if scores else math.nan
    return mean, scores


# --- Column Pair Trends -----------------------------------------------------------------
# As SDMetrics' ColumnPairTrends property: continuous pairs use CorrelationSimilarity
# (Pearson), other pairs ContingencySimilarity, continuous columns of a mixed pair are
# discretised into 10 equal-width bins of *their own* table's values (np.histogram_bin_edges,
# np.digitize), as SDMetrics does. The QualityReport counts a pair only when the real
# |correlation| > 0.5 or Cramer's V > 0.3.

REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
_SHAPE = {
    "numerical": "continuous",
    "datetime": "continuous",
    "categorical": "discrete",
    "ordinal": "discrete",
    "boolean": "discrete",
}


@dataclass(frozen=True)
class PairScore:
    columns: tuple[str, str]
    metric: str
    score: float  # unthresholded score (nan if incomputable)
    counted: bool  # meets the QualityReport's real-data threshold


def _numeric(col: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col):
        nan = col.isna()
        out = pd.to_numeric(col).astype(float)
        out[nan] = math.nan
        return out
    return col


def _discretize(col: pd.Series) -> Any:
    import numpy as np

    edges = np.histogram_bin_edges(col.dropna())
    return np.digitize(col, bins=edges)


def correlation_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float]:
    """(score, real correlation) as SDMetrics' CorrelationSimilarity with Pearson."""
    from scipy.stats import pearsonr

    if (real.nunique() == 1).any() or (synthetic.nunique() == 1).any():
        return math.nan, math.nan  # SDMetrics raises ConstantInputError -> NaN
    r = real.dropna()
    s = synthetic.dropna()
    c1, c2 = r.columns[:2]
    corr_real = float(pearsonr(r[c1], r[c2])[0])
    corr_syn = float(pearsonr(s[c1], s[c2])[0])
    if math.isnan(corr_real) or math.isnan(corr_syn):
        return math.nan, corr_real
    return 1.0 - abs(corr_real - corr_syn) / 2.0, corr_real


def contingency_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float]:
    """(score, real Cramer's V) as SDMetrics' ContingencySimilarity."""
    from scipy.stats.contingency import association

    cols = list(real.columns[:2])
    real_counts = real.groupby(cols, dropna=False).size()
    table = real_counts.unstack(fill_value=0)
    if table.to_numpy().sum() == 0 or min(table.shape) < 2:
        assoc = math.nan
    else:
        assoc = float(association(table.values, method="cramer"))
    c_real = real_counts / len(real)
    c_syn = synthetic.groupby(cols, dropna=False).size() / len(synthetic)
    index = c_real.index.union(c_syn.index, sort=False).drop_duplicates()
    diff = (
        (c_real.reindex(index, fill_value=0) - c_syn.reindex(index, fill_value=0)).abs().fillna(0)
    )
    return float(1.0 - (diff / 2).sum()), assoc


def column_pair_trends(
    real: pd.DataFrame, synthetic: pd.DataFrame, sdtypes: dict[str, str]
) -> tuple[float | None, float | None, list[PairScore]]:
    """(QualityReport score, all-pairs score, per-pair details).

    The first is None when no pair meets the real-data thresholds (SDMetrics gives NaN).
    """
    import itertools

    import pandas as pd

    cols = [
        c
        for c, t in sdtypes.items()
        if t in _SHAPE and c in real.columns and c in synthetic.columns
    ]
    r_proc = real[cols].copy()
    s_proc = synthetic[cols].copy()
    r_disc: dict[str, Any] = {}
    s_disc: dict[str, Any] = {}
    for c in cols:
        if _SHAPE[sdtypes[c]] == "continuous":
            r_proc[c] = _numeric(r_proc[c])
            s_proc[c] = _numeric(s_proc[c])
            r_disc[c] = pd.Series(_discretize(r_proc[c]), index=r_proc.index, name=c)
            s_disc[c] = pd.Series(_discretize(s_proc[c]), index=s_proc.index, name=c)
    pairs: list[PairScore] = []
    for c1, c2 in itertools.combinations(cols, 2):
        k1, k2 = _SHAPE[sdtypes[c1]], _SHAPE[sdtypes[c2]]
        if k1 == "continuous" and k2 == "continuous":
            score, real_corr = correlation_similarity(r_proc[[c1, c2]], s_proc[[c1, c2]])
            counted = not math.isnan(real_corr) and abs(real_corr) > REAL_CORRELATION_THRESHOLD
            counted = counted and not math.isnan(score)
            pairs.append(PairScore((c1, c2), "CorrelationSimilarity", score, counted))
            continue
        if k1 != k2:
            a_r = r_disc[c1] if k1 == "continuous" else r_proc[c1]
            a_s = s_disc[c1] if k1 == "continuous" else s_proc[c1]
            b_r = r_disc[c2] if k2 == "continuous" else r_proc[c2]
            b_s = s_disc[c2] if k2 == "continuous" else s_proc[c2]
            pr = pd.concat([a_r, b_r], axis=1)
            ps = pd.concat([a_s, b_s], axis=1)
        else:
            pr, ps = r_proc[[c1, c2]], s_proc[[c1, c2]]
        score, assoc = contingency_similarity(pr, ps)
        counted = not math.isnan(assoc) and assoc > REAL_ASSOCIATION_THRESHOLD
        pairs.append(PairScore((c1, c2), "ContingencySimilarity", score, counted))
    counted_scores = [p.score for p in pairs if p.counted and not math.isnan(p.score)]
    all_scores = [p.score for p in pairs if not math.isnan(p.score)]
    report = sum(counted_scores) / len(counted_scores) if counted_scores else None
    every = sum(all_scores) / len(all_scores) if all_scores else None
    return report, every, pairs
