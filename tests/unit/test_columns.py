"""Discrete numeric columns: detected at init, generated on their own values in order, and
no value held by fewer than ``min_count`` records copied out as a value of its own."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.synthesizers.columns import (
    apply_discrete,
    columns_record,
    detect_discrete,
    plan_discrete,
    pools,
    restore_dtypes,
)


@pytest.mark.parametrize(
    ("counts", "groups"),
    [
        ([500, 2, 400], [[0], [1, 2]]),  # a rare value joins the next one
        ([3, 500], [[0, 1]]),
        ([500, 3], [[0, 1]]),  # a short last group joins the one before
        ([2, 3, 4], [[0, 1, 2]]),  # the whole column below min_count: one pool
        ([10, 10, 10], [[0], [1], [2]]),  # exactly min_count stays alone
        ([4, 4, 4, 30, 1, 1], [[0, 1, 2], [3, 4, 5]]),
    ],
)
def test_pools_hold_min_count_records_each(counts: list[int], groups: list[list[int]]) -> None:
    got = pools([float(i) for i in range(len(counts))], counts, 10)
    assert got == groups
    if sum(counts) >= 10:
        assert all(sum(counts[i] for i in g) >= 10 for g in got)


def test_detects_counts_and_levels_not_continuous_columns(credit_df: pd.DataFrame) -> None:
    sdtypes = {c: "numerical" for c in credit_df.select_dtypes("number").columns}
    found = detect_discrete(credit_df, sdtypes)
    assert "reports" in found and "dependents" in found  # integer counts: 13 and 7 values
    assert "active" not in found  # an integer with 35 values stays continuous
    assert "income" not in found and "share" not in found and "months" not in found  # 100s
    # the SDV families learn integer rounding themselves: non-integers only
    assert detect_discrete(credit_df, sdtypes, integers=False) == []
    grid = credit_df.assign(score=(credit_df["age"] // 10) / 2 + 0.25)  # 0.25-steps, 8 values
    assert detect_discrete(grid, {**sdtypes, "score": "numerical"}, integers=False) == ["score"]
    # a category is not a numeric column, whatever its values
    assert "card" not in detect_discrete(credit_df, {**sdtypes, "card": "categorical"})


def test_rare_values_are_pooled_and_order_kept(credit_df: pd.DataFrame) -> None:
    train = credit_df.sample(frac=0.8, random_state=1)
    plan = plan_discrete(train, ["reports"], 10)
    (col,) = plan
    counts = train["reports"].value_counts()
    rare = int((counts < 10).sum())
    assert rare > 0 and col.pooled_values == rare
    mapped = apply_discrete(train, plan)["reports"]
    # every value the generator may write is held by at least min_count train records
    assert mapped.value_counts().min() >= 10
    assert set(mapped.unique()) == set(col.order) <= set(counts.index)
    # the mapping keeps the order: a larger real value never maps below a smaller one
    keys = sorted(col.mapping)
    assert all(col.mapping[a] <= col.mapping[b] for a, b in itertools.pairwise(keys))
    # common values are kept as they are
    assert all(col.mapping[float(v)] == float(v) for v in counts[counts >= 10].index)


def test_manifest_record_holds_counts_never_values(credit_df: pd.DataFrame) -> None:
    plan = plan_discrete(credit_df, ["reports", "active"], 10)
    record = columns_record(plan, {"income": 2})
    assert record["reports"]["handling"] == "discrete"
    assert record["reports"]["support_values"] == credit_df["reports"].nunique()
    assert record["income"] == {"handling": "continuous", "float32_decimals": 2}
    flat = repr(record)
    top = float(credit_df["active"].max())  # a value one record holds
    assert f"{top}" not in flat and f"{int(top)}," not in flat


def test_integers_stay_integers_and_nulls_survive() -> None:
    train = pd.DataFrame({"n": np.array([1, 2, 2, 3] * 10, dtype="int64"), "x": [1.5] * 40})
    plan = plan_discrete(train, ["n"], 5)
    prepared = apply_discrete(train, plan)
    assert prepared["n"].dtype == np.dtype("int64")
    sampled = prepared.astype({"n": float})
    assert restore_dtypes(sampled, train, plan)["n"].dtype == np.dtype("int64")
    with_nulls = pd.DataFrame({"n": [1.0, None, 2.0, 2.0] * 10})
    plan2 = plan_discrete(with_nulls, ["n"], 5)
    out = apply_discrete(with_nulls, plan2)
    assert out["n"].isna().sum() == 10 and plan2[0].nulls
