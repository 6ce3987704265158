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

from sdops_dvc.domain.metadata import CATEGORICAL_SDTYPES, NUMERIC_SDTYPES

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


def column_pair_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    sdtypes: dict[str, str],
    pairs: set[tuple[str, str]] | None = None,
) -> tuple[float | None, float | None, list[PairScore]]:
    """(QualityReport score, all-pairs score, per-pair details); ``pairs``: only these
    column pairs (either order), as SDMetrics' ``column_pairs``, else every pair.

    The first is None when no pair meets the real-data thresholds (SDMetrics gives NaN).

    Each table is encoded once: continuous pairs take every Pearson correlation in one
    matrix product (pairwise-complete when there are nulls), other pairs count their joint
    frequencies with one ``bincount`` of integer codes (nulls a code of their own, as
    SDMetrics' ``groupby(dropna=False)``), so cost is rows x pairs in compiled loops.
    """
    import itertools

    cols = [
        c
        for c, t in sdtypes.items()
        if t in _SHAPE and c in real.columns and c in synthetic.columns
    ]
    cont = [c for c in cols if _SHAPE[sdtypes[c]] == "continuous"]
    corr_r, const_r = _correlations(real, cont)
    corr_s, const_s = _correlations(synthetic, cont)
    codes = _PairCodes(real, synthetic, cols, set(cont))  # continuous ones discretised
    wanted = None if pairs is None else {frozenset(p) for p in pairs}
    scored: list[PairScore] = []
    for c1, c2 in itertools.combinations(cols, 2):
        if wanted is not None and frozenset((c1, c2)) not in wanted:
            continue
        if c1 in corr_r and c2 in corr_r:
            scored.append(
                _correlation_pair(
                    (c1, c2),
                    corr_r[c1][c2],
                    corr_s[c1][c2],
                    const_r[c1] or const_r[c2] or const_s[c1] or const_s[c2],
                )
            )
            continue
        score, assoc = codes.contingency(c1, c2)
        counted = not math.isnan(assoc) and assoc > REAL_ASSOCIATION_THRESHOLD
        scored.append(PairScore((c1, c2), "ContingencySimilarity", score, counted))
    counted_scores = [p.score for p in scored if p.counted and not math.isnan(p.score)]
    all_scores = [p.score for p in scored if not math.isnan(p.score)]
    report = sum(counted_scores) / len(counted_scores) if counted_scores else None
    every = sum(all_scores) / len(all_scores) if all_scores else None
    return report, every, scored


def _correlation_pair(
    columns: tuple[str, str], corr_real: float, corr_syn: float, constant: bool
) -> PairScore:
    """SDMetrics' CorrelationSimilarity (Pearson) from the two correlations; a column that is
    constant in either table makes it NaN (SDMetrics raises ConstantInputError)."""
    if constant or math.isnan(corr_real) or math.isnan(corr_syn):
        return PairScore(columns, "CorrelationSimilarity", math.nan, False)
    score = 1.0 - abs(corr_real - corr_syn) / 2.0
    counted = abs(corr_real) > REAL_CORRELATION_THRESHOLD
    return PairScore(columns, "CorrelationSimilarity", score, counted)


def _correlations(
    df: pd.DataFrame, cols: list[str]
) -> tuple[dict[str, dict[str, float]], dict[str, bool]]:
    """Pearson correlation of every pair of ``cols`` over the rows where both are present
    (scipy's ``pearsonr`` on the pair's non-null rows), and whether each column is constant."""
    import numpy as np
    import pandas as pd

    if not cols:
        return {}, {}
    x = np.column_stack([_numeric(df[c]).to_numpy(dtype=float) for c in cols])
    constant = {c: bool(pd.Series(x[:, i]).nunique() == 1) for i, c in enumerate(cols)}
    if np.isnan(x).any():  # pairwise-complete rows differ per pair: pandas' nancorr
        corr = pd.DataFrame(x).corr(method="pearson").to_numpy()
    else:
        centred = x - x.mean(axis=0)
        norms = np.sqrt((centred * centred).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = centred / norms
            corr = np.clip(unit.T @ unit, -1.0, 1.0)
    table = {c: {d: float(corr[i, j]) for j, d in enumerate(cols)} for i, c in enumerate(cols)}
    return table, constant


class _PairCodes:
    """Integer codes of every column in real and synthetic rows, shared between the two
    tables (nulls a code of their own); continuous columns also discretised into SDMetrics'
    10 equal-width bins of each table's own values."""

    def __init__(
        self, real: pd.DataFrame, synthetic: pd.DataFrame, cols: list[str], continuous: set[str]
    ) -> None:
        self.n_real, self.n_syn = len(real), len(synthetic)
        self.codes: dict[str, tuple[Any, Any, int]] = {}
        for c in cols:
            if c in continuous:  # used only in mixed pairs, discretised as SDMetrics does
                r = _discretize(_numeric(real[c]))
                s = _discretize(_numeric(synthetic[c]))
                self.codes[c] = self._factorize(r, s)
            else:
                self.codes[c] = self._factorize(real[c], synthetic[c])

    @staticmethod
    def _factorize(r: Any, s: Any) -> tuple[Any, Any, int]:
        import numpy as np
        import pandas as pd

        joined = pd.concat([pd.Series(r), pd.Series(s)], ignore_index=True)
        codes, uniques = pd.factorize(joined, use_na_sentinel=False)
        codes = np.asarray(codes, dtype=np.int64)
        return codes[: len(r)], codes[len(r) :], len(uniques)

    def contingency(self, c1: str, c2: str) -> tuple[float, float]:
        """(score, real Cramer's V) as SDMetrics' ContingencySimilarity: half the summed
        absolute difference of the joint frequencies, and Cramer's V of the real table."""
        import numpy as np

        a_r, a_s, k1 = self.codes[c1]
        b_r, b_s, k2 = self.codes[c2]
        real = np.bincount(a_r * k2 + b_r, minlength=k1 * k2).reshape(k1, k2)
        syn = np.bincount(a_s * k2 + b_s, minlength=k1 * k2).reshape(k1, k2)
        observed = real[real.sum(axis=1) > 0][:, real.sum(axis=0) > 0]
        assoc = _cramers_v(observed) if min(observed.shape) >= 2 else math.nan
        diff = np.abs(real / max(1, self.n_real) - syn / max(1, self.n_syn))
        return float(1.0 - (diff / 2).sum()), assoc


def _cramers_v(observed: Any) -> float:
    """Cramer's V of a contingency table without empty rows or columns (scipy's
    ``association(method="cramer")``: chi-squared without continuity correction)."""
    import numpy as np

    n = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / n / (min(observed.shape) - 1))
