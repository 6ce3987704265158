"""metrics/drift.py in-process: PSI, KS and TV per column, and the categories fresh data
brings or has lost."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.metrics.drift import categorical_drift, column_drift, numeric_drift, psi


def test_psi_is_zero_for_equal_shares_symmetric_and_grows_with_the_shift() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    small, large = psi([0.5, 0.5], [0.4, 0.6]), psi([0.5, 0.5], [0.1, 0.9])
    assert 0 < small < large
    assert psi([0.4, 0.6], [0.5, 0.5]) == pytest.approx(small)
    assert math.isfinite(psi([1.0, 0.0], [0.0, 1.0]))  # an empty bin is clipped, not infinite


def test_numeric_drift_sees_a_shift_and_not_a_resample() -> None:
    rng = np.random.default_rng(0)
    base = pd.Series(rng.normal(0, 1, 4000))
    same = pd.Series(rng.normal(0, 1, 4000))
    moved = pd.Series(rng.normal(1.5, 1, 4000))
    quiet, loud = numeric_drift(base, same), numeric_drift(base, moved)
    assert quiet["psi"] < 0.05 and quiet["ks"] < 0.05 and quiet["tv"] < 0.05
    assert loud["psi"] > 1.0 and loud["ks"] > 0.5 and loud["tv"] > 0.4
    empty = numeric_drift(base, pd.Series([np.nan, np.nan]))
    assert all(math.isnan(v) for v in empty.values())


def test_categorical_drift_names_new_and_vanished_categories() -> None:
    base = pd.Series(["a"] * 50 + ["b"] * 50)
    fresh = pd.Series(["a"] * 50 + ["c"] * 40 + [None] * 10)
    d = categorical_drift(base, fresh)
    assert d["new_categories"] == ["<null>", "c"] and d["vanished_categories"] == ["b"]
    assert d["tv"] == pytest.approx(0.5) and d["ks"] is None and d["psi"] > 1


def test_column_drift_reads_shared_columns_of_drift_sdtypes_only() -> None:
    base = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "c": list("aabb")})
    fresh = pd.DataFrame({"id": [5, 6, 7, 8], "x": [1.0, 2.0, 3.0, 4.0], "g": list("abab")})
    sdtypes = {"id": "id", "x": "numerical", "c": "categorical", "g": "categorical"}
    drift = column_drift(base, fresh, sdtypes)
    assert list(drift) == ["x"]  # ids are left out; c and g are on one side only
    assert drift["x"] == {"psi": 0.0, "ks": 0.0, "tv": 0.0}
