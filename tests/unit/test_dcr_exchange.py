"""The DCR share's p-value holds for the references drawn (privacy.exchange_p_value).

Real rows the generator never saw are exchangeable with its train and holdout rows, so
their p-values must be uniform, and copies of train rows must get a tiny one. (A binomial
test over the queries ignores which references happened to be drawn: a GaussianCopula
sample of credit_card at share 0.55 got binomial p = 0.0004 and exchange p = 0.07.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdops_dvc.domain.metadata import column_sdtypes, detect, model_discrete
from sdops_dvc.metrics import privacy
from sdops_dvc.metrics.distance import encode_shared, nearest, value_range
from tests.conftest import CREDIT


def _splits(real: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    perm = np.random.default_rng(seed).permutation(len(real))
    n_ref, n_q = len(real) // 5, len(real) // 2
    return (
        real.iloc[perm[:n_ref]],
        real.iloc[perm[n_ref : 2 * n_ref]],
        real.iloc[perm[2 * n_ref : 2 * n_ref + n_q]],
    )


def test_unseen_real_rows_get_uniform_p_values() -> None:
    real = pd.read_csv(CREDIT)
    meta = detect(real, "credit")
    model_discrete(real, meta)
    sdtypes = column_sdtypes(meta)
    p_values = []
    for seed in range(60):
        train, holdout, unseen = _splits(real, seed)
        p_values.append(privacy.dcr_share(unseen, train, holdout, sdtypes, seed=seed).p_value)
    found = np.array(p_values)
    # uniform: about a tenth below 0.1 (60 draws: at most 12 allows for chance, p < 0.01)
    assert (found < 0.1).sum() <= 12, sorted(found)[:15]
    assert (found < 0.01).sum() <= 3
    assert 0.3 < float(np.median(found)) < 0.7


def test_copies_of_train_rows_get_a_tiny_p_value_and_the_share_is_unchanged() -> None:
    real = pd.read_csv(CREDIT)
    meta = detect(real, "credit")
    model_discrete(real, meta)
    sdtypes = column_sdtypes(meta)
    train, holdout, _ = _splits(real, 0)
    copies = train.sample(frac=1.0, random_state=0)
    res = privacy.dcr_share(copies, train, holdout, sdtypes)
    assert res.share == 1.0 and res.p_value < 1e-12
    # the share is SDMetrics' closer_to_training, computed from two searches as before
    q, tr, ho = encode_shared([copies, train, holdout], sdtypes)
    scale = value_range(tr, ho)
    d_tr, _ = nearest(q, tr, scale=scale)
    d_ho, _ = nearest(q, ho, scale=scale)
    assert res.share == float((d_tr < d_ho).mean())
    # the same seed gives the same p-value; another seed only another draw of permutations
    again = privacy.dcr_share(copies, train, holdout, sdtypes)
    assert again.p_value == res.p_value


def test_ties_count_for_the_holdout_under_every_exchange() -> None:
    """Queries equal to a row present in both references are never closer to train, so a
    table of such rows has share 0 and p 1, whatever the exchange."""
    frame = pd.DataFrame({"a": ["x", "y"] * 20, "b": [1.0, 2.0] * 20})
    sdtypes = {"a": "categorical", "b": "numerical"}
    res = privacy.dcr_share(frame, frame.iloc[:20], frame.iloc[20:], sdtypes)
    assert res.share == 0.0 and res.p_value == 1.0


def test_rare_combinations_exchange_too_uniform_on_unseen_rows_tiny_on_unique_copies() -> None:
    """The rare-combination check's p-value exchanges the train and holdout samples as the
    DCR share's does: which combinations are rare depends on the records drawn."""
    from sdops_dvc.base.templates import demo_table

    real = pd.read_csv(demo_table())
    qi = ["age", "gender", "region", "ethnicity", "married", "education", "family"]
    bins = {"age": 5.0}
    p_values = []
    for seed in range(30):
        train, holdout, unseen = _splits(real, seed)
        res = privacy.rare_matches(unseen, train, holdout, qi, bins, 1, seed=seed)
        p_values.append(res.p_value)
    found = np.array(p_values)
    assert (found < 0.01).sum() <= 2 and (found < 0.1).sum() <= 7, sorted(found)[:10]
    # train rows whose combination no other train row holds, copied: tiny p, large excess
    train, holdout, unseen = _splits(real, 0)
    keys = privacy.generalised(train, qi, bins).astype(str).agg("|".join, axis=1)
    unique = train[keys.map(keys.value_counts()).to_numpy() == 1]
    planted = pd.concat([unseen.iloc[len(unique) :], unique], ignore_index=True)
    res = privacy.rare_matches(planted, train, holdout, qi, bins, 1)
    assert res.train - res.holdout > 0.04 and res.p_value < 1e-6
