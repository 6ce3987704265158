"""Drift between a release's source snapshot and fresh real data, per column: population
stability index, Kolmogorov-Smirnov statistic and total variation distance; categories
the fresh data brings or has lost."""

from __future__ import annotations

import math
from typing import Any

EPS = 1e-4
# the sdtypes drift is measured for; any other (ids, PII, text) is left out
DRIFT_SDTYPES = ("numerical", "datetime", "categorical", "boolean", "ordinal")


def psi(expected: Any, actual: Any) -> float:
    """Population stability index over the given bin shares."""
    import numpy as np

    e = np.clip(np.asarray(expected, dtype=float), EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), EPS, None)
    return float(((a - e) * np.log(a / e)).sum())


def numeric_drift(base: Any, fresh: Any) -> dict[str, float]:
    import numpy as np
    from scipy.stats import ks_2samp

    b, f = base.dropna().astype(float), fresh.dropna().astype(float)
    if len(b) == 0 or len(f) == 0:
        return {"psi": math.nan, "ks": math.nan, "tv": math.nan}
    edges = np.unique(np.quantile(b, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    bs = np.histogram(b, edges)[0] / len(b)
    fs = np.histogram(f, edges)[0] / len(f)
    return {
        "psi": psi(bs, fs),
        "ks": float(ks_2samp(b, f).statistic),
        "tv": float(0.5 * np.abs(bs - fs).sum()),
    }


def categorical_drift(base: Any, fresh: Any) -> dict[str, Any]:
    b = base.astype("string").fillna("<null>").value_counts(normalize=True)
    f = fresh.astype("string").fillna("<null>").value_counts(normalize=True)
    cats = sorted(set(b.index) | set(f.index))
    bs = [float(b.get(c, 0.0)) for c in cats]
    fs = [float(f.get(c, 0.0)) for c in cats]
    return {
        "psi": psi(bs, fs),
        "ks": None,
        "tv": 0.5 * sum(abs(x - y) for x, y in zip(bs, fs, strict=True)),
        "new_categories": sorted(set(f.index) - set(b.index)),
        "vanished_categories": sorted(set(b.index) - set(f.index)),
    }


def column_drift(base: Any, fresh: Any, sdtypes: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per column both tables hold (numbers rounded to 6 places; NaN kept)."""
    import pandas as pd

    drift: dict[str, dict[str, Any]] = {}
    for c in base.columns:
        if c not in fresh.columns or sdtypes.get(c, "numerical") not in DRIFT_SDTYPES:
            continue
        numeric = (
            sdtypes.get(c) == "numerical"
            and pd.api.types.is_numeric_dtype(base[c])
            and pd.api.types.is_numeric_dtype(fresh[c])
        )
        d: dict[str, Any] = (
            dict(numeric_drift(base[c], fresh[c]))
            if numeric
            else categorical_drift(base[c], fresh[c])
        )
        drift[c] = {
            k: (round(v, 6) if isinstance(v, float) and not math.isnan(v) else v)
            for k, v in d.items()
        }
    return drift
