"""metrics/conditions.py in-process: rebalanced rows judged group by group. A group whose
rows copy its train records fails both tests, a group drawn independently of them passes,
and a group with too few holdout records is reported, not gated."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdops_dvc.metrics.conditions import group_privacy
from sdops_dvc.synthesizers.conditions import GroupPlan

SDTYPES = {"g": "categorical", "x": "numerical", "y": "numerical"}


def _rows(n: int, group: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"g": group, "x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n)})


def test_a_group_that_copies_its_train_records_fails_and_an_honest_one_passes() -> None:
    train = pd.concat([_rows(300, "a", 1), _rows(300, "b", 2), _rows(10, "c", 3)])
    holdout = pd.concat([_rows(300, "a", 4), _rows(300, "b", 5), _rows(5, "c", 6)])
    leaky = train[train["g"] == "a"].sample(300, replace=True, random_state=0)
    honest = _rows(300, "b", 7)
    released = pd.concat([leaky, honest, _rows(30, "c", 8)], ignore_index=True)
    plans = [GroupPlan(f"g={v}", {"g": v}, 300, 300) for v in ("a", "b", "c")]
    found = {
        p.group: p
        for p in group_privacy(released, train, holdout, plans, ["g", "x", "y"], SDTYPES,
                               min_size=20, seed=0, max_queries=1000, max_reference=1000)
    }  # fmt: skip
    a, b, c = found["g=a"], found["g=b"], found["g=c"]
    assert a.gated and a.copies_train is not None and a.copies_train > 0.5
    assert a.copies_p_value is not None and a.copies_p_value < 1e-6
    assert a.dcr_share is not None and a.dcr_share > 0.9 and (a.dcr_p_value or 1) < 1e-6
    assert b.gated and b.copies_train == 0.0 and (b.dcr_p_value or 0) > 0.01
    assert not c.gated and c.dcr_share is None and c.holdout_rows == 5
    assert c.as_json()["group"] == "g=c" and c.as_json()["rows"] == 30
