"""metrics/subgroup.py in-process: per-group representation, Column Shapes and TSTR, gated
only with enough real rows; gaps measured beyond what real rows show; their tests' p-values
behave at the edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.metrics.learning import utility
from sdops_dvc.metrics.subgroup import GroupResult, subgroups


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "rare"], n, p=[0.6, 0.38, 0.02])
    x = rng.normal(0, 1, n)
    y = (x + rng.normal(0, 0.5, n) > 0).astype(int)
    return pd.DataFrame({"group": group, "x": x, "y": y})


def test_groups_are_gated_with_enough_rows_and_a_missing_group_is_named() -> None:
    train, holdout = _table(2000, 1), _table(1000, 2)
    synthetic = _table(2000, 3)
    synthetic = synthetic[synthetic["group"] != "b"].reset_index(drop=True)  # b never generated
    sdtypes = {"group": "categorical", "x": "numerical", "y": "categorical"}
    util = utility(train, holdout, synthetic, "y", "classification", seed=0, max_rows=10_000)
    res = {r.group: r for r in subgroups(
        train, holdout, synthetic, ["group"], sdtypes, min_size=50, util=util, target="y"
    )}  # fmt: skip
    assert sorted(res) == ["a", "b", "rare"]
    assert res["a"].gated and not res["rare"].gated
    assert "fewer than 50 real rows" in res["rare"].notes[0]
    assert res["b"].synthetic_rows == 0 and res["b"].column_shapes == 0.0
    assert any("no rows of this group" in n for n in res["b"].notes)
    a = res["a"]
    assert a.real_share == pytest.approx((train["group"] == "a").mean())
    assert a.tstr is not None and a.trtr is not None and a.tstr_gap_se is not None
    # the group's representation gap is a real gap here: b's share went from 0.38 to 0
    p_b = res["b"].representation_p_value(len(train), len(synthetic))
    assert p_b is not None and p_b < 1e-6
    p_a = a.representation_p_value(len(train), len(synthetic))
    assert p_a is not None and p_a < 1e-6  # a took b's share: 0.6 -> about 0.97


def test_gaps_discount_what_real_rows_show_for_the_same_group() -> None:
    g = GroupResult("c", "g", 100, 100, 100, 0.1, 0.1, column_shapes=0.80,
                    column_shapes_real=0.85, tstr=0.70, trtr=0.75)  # fmt: skip
    gaps = g.gaps(0.90, 0.80, 0.85, overall_shapes_real=0.95)
    # shapes: (0.90 - 0.80) - (0.95 - 0.85) = 0; TSTR: (0.80 - 0.70) - (0.85 - 0.75) = 0
    assert gaps["column_shapes_gap"] == pytest.approx(0.0)
    assert gaps["tstr_gap"] == pytest.approx(0.0)
    assert g.gaps(None, None, None)["tstr_gap"] is None


def test_p_values_at_the_edges() -> None:
    g = GroupResult("c", "g", 10, 10, 10, 0.5, 0.5, tstr_gap_se=0.0)
    assert g.tstr_gap_p_value(0.1) == 0.0 and g.tstr_gap_p_value(0.0) == 1.0
    assert g.tstr_gap_p_value(None) is None
    g.tstr_gap_se = 0.05
    assert g.tstr_gap_p_value(0.1) == pytest.approx(0.02275, abs=1e-4)  # two s.e.
    assert g.representation_p_value(0, 10) is None
    assert g.representation_p_value(20, 20) == pytest.approx(1.0)
