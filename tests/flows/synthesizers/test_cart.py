"""Sequential CART synthesis (family ``cart``) on real rows: reproducible bytes across
processes, leaves of at least min_samples_leaf records, the table's own categories and
ranges, deterministic relations kept, and a leaf size chosen on the train split alone."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.synthesizers.cart import LEAF_LADDER, MAX_COPY_EXCESS, choose_leaf, fit_cart

HEALTH = Path(__file__).resolve().parents[3] / "sdops_dvc" / "data" / "health_insurance.csv"

NUMERIC = {"reports", "age", "income", "share", "expenditure", "months", "active"}


def _digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()


def test_same_seed_same_bytes_in_another_process(credit_df: pd.DataFrame, tmp_path: Path) -> None:
    here = fit_cart(credit_df, NUMERIC, {"reports"}, min_samples_leaf=20, seed=7).sample(500, 7)
    src = tmp_path / "credit.csv"
    credit_df.to_csv(src, index=False)
    code = (
        "import sys, hashlib, pandas as pd\n"
        "from sdops_dvc.synthesizers.cart import fit_cart\n"
        f"df = pd.read_csv({str(src)!r})\n"
        f"m = fit_cart(df, set({sorted(NUMERIC)!r}), {{'reports'}}, "
        "min_samples_leaf=20, seed=7)\n"
        "print(hashlib.sha256(m.sample(500, 7).to_csv(index=False).encode()).hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"},
    )
    assert out.stdout.strip() == _digest(here)
    other = fit_cart(credit_df, NUMERIC, {"reports"}, min_samples_leaf=20, seed=8).sample(500, 8)
    assert _digest(other) != _digest(here)


def test_every_leaf_holds_min_samples_leaf_records(credit_df: pd.DataFrame) -> None:
    model = fit_cart(credit_df, NUMERIC, set(), min_samples_leaf=30, seed=1)
    for tree, donors in zip(model.trees[1:], model.donors[1:], strict=True):
        t = tree.tree_
        leaves = t.children_left == -1
        assert t.n_node_samples[leaves].min() >= 30
        assert donors.sizes.min() >= 30


def test_output_keeps_the_tables_types_categories_and_ranges(credit_df: pd.DataFrame) -> None:
    out = fit_cart(credit_df, NUMERIC, {"reports", "active"}, min_samples_leaf=20, seed=3)
    syn = out.sample(2000, 3)
    assert list(syn.columns) == list(credit_df.columns)
    assert dict(syn.dtypes) == dict(credit_df.dtypes)
    for col in ("card", "owner", "selfemp"):
        assert set(syn[col]) <= set(credit_df[col])
    for col in NUMERIC:
        assert syn[col].min() >= credit_df[col].min() and syn[col].max() <= credit_df[col].max()
    # discrete columns hold only real values; continuous ones are smoothed, not copied
    assert set(syn["reports"]) <= set(credit_df["reports"])
    assert syn["income"].isin(credit_df["income"]).mean() < 0.5


def test_a_deterministic_relation_comes_out_as_the_data_has_it() -> None:
    rng = np.random.default_rng(0)
    hhmm = rng.choice(np.arange(500, 2300, 5), size=3000)
    df = pd.DataFrame({"sched": hhmm, "hour": hhmm // 100, "delay": rng.normal(size=3000)})
    syn = fit_cart(df, {"sched", "hour", "delay"}, {"hour"}, min_samples_leaf=20, seed=0)
    rows = syn.sample(3000, 0)
    # hour is drawn from the leaf of sched: a copula would spread it across neighbours
    assert (rows["hour"] == rows["sched"] // 100).mean() > 0.9


def test_leaf_size_is_chosen_on_the_train_split_alone() -> None:
    """health_insurance's rows repeat often (8% of unseen rows have a twin in train): small
    leaves copy training rows beyond that, so the choice climbs the ladder."""
    df = pd.read_csv(HEALTH)
    train = df.sample(frac=0.8, random_state=42).reset_index(drop=True)
    leaf, trials = choose_leaf(train, {"age"}, {"age", "family"}, seed=7)
    tried = [t.leaf for t in trials]
    assert tried == list(LEAF_LADDER[: len(tried)])  # ascending, from the smallest
    assert all(not t.passed for t in trials[:-1])  # stops at the first that passes
    # ... or, when none passes, takes the largest the table allows
    assert leaf == trials[-1].leaf and (trials[-1].passed or leaf == LEAF_LADDER[-1])
    assert trials[0].copy_excess > MAX_COPY_EXCESS and leaf > LEAF_LADDER[0]
    again = choose_leaf(train, {"age"}, {"age", "family"}, seed=7)
    assert again[0] == leaf and [t.as_json() for t in again[1]] == [t.as_json() for t in trials]


def test_identifier_columns_are_refused(credit_df: pd.DataFrame, tmp_path: Path) -> None:
    from sdops_dvc.domain.config import GeneratorCfg
    from sdops_dvc.domain.tableset import TableSet
    from sdops_dvc.synthesizers.adapters import generator_for

    df = credit_df.head(200).assign(person=[f"p{i}" for i in range(200)])
    cols = {c: {"sdtype": "numerical" if c in NUMERIC else "categorical"} for c in df.columns}
    cols["person"] = {"sdtype": "id"}
    meta = {"tables": {"t": {"columns": cols}}}
    with pytest.raises(ConfigError, match="person"):
        generator_for("cart").generate(
            TableSet({"t": df}, (), "t"),
            "0" * 32,
            meta,
            GeneratorCfg(family="cart"),
            tmp_path / "fit.npz",
            budget_check=None,
            progress=False,
        )
    assert not (tmp_path / "fit.npz").exists()  # refused before anything is written
