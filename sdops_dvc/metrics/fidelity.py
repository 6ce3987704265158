"""Column Shapes, defined exactly as SDMetrics defines it.

KSComplement (numbers, datetimes): 1 - two-sample KS statistic after dropping nulls and
rounding to 14 decimals. TVComplement (categories, booleans): 1 - total variation distance
of the value frequencies, with SDMetrics' 1e-6 regularisation for unseen values.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from typing import TYPE_CHECKING

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
    if sdtype in ("categorical", "boolean"):
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
