"""The utility models (metrics/learning.py) on synthetic tables a generator can really emit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdops_dvc.metrics.learning import utility


def test_a_feature_the_synthetic_table_left_empty_scores_instead_of_crashing() -> None:
    """A datetime column in another format than the metadata's reads as all missing (seen
    with a neural family's output): sklearn's binning raised "window shape cannot be larger
    than input array shape" and evaluate exited 70. The utility is now scored, and equals
    the one without that feature."""
    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        x = rng.normal(size=n)
        return pd.DataFrame(
            {"x": x, "z": rng.normal(size=n), "when": rng.normal(size=n), "y": 2 * x}
        )

    train, holdout, synthetic = table(400), table(200), table(400)
    empty = synthetic.assign(when=np.nan)
    got = utility(train, holdout, empty, "y", "regression", seed=0, max_rows=10_000)
    assert got.ratio is not None and 0.5 < got.ratio <= 1.5
    without = utility(
        train.drop(columns="when"),
        holdout.drop(columns="when"),
        synthetic.drop(columns="when"),
        "y",
        "regression",
        seed=0,
        max_rows=10_000,
    )
    assert got.tstr == without.tstr
