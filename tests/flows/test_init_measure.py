"""`sdops init` without --family chooses the generator by measurement: tune's ladder in its
order, each candidate judged on five seeded validation parts of the train split (the holdout
never read), stopping at the first candidate approved on all of them, written into params.yaml with the search's record and every
trial in tune/library.yaml. Real tables, real fits, real git and DVC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sdops_dvc
from sdops_dvc.domain.relationships import split_by_entity
from sdops_dvc.tune import INIT_RULE, VALIDATION_SPLITS
from tests.conftest import CREDIT, dvc, git, sdops_in

HEALTH = Path(sdops_dvc.__file__).parent / "data" / "health_insurance.csv"
CHARTER = ["--intended-use", "tests", "--audience", "tests", "--classification", "internal",
           "--retention-days", "30", "--owner", "tests@example.com"]  # fmt: skip


def _init(root: Path, source: Path, target: str, *extra: str) -> dict[str, object]:
    root.mkdir(parents=True)
    git("init", "-q", cwd=root)
    sdops_in("init", "--source", str(source), "--name", "t", "--target", target, *CHARTER,
             *extra, cwd=root, check=True)  # fmt: skip
    return dict(yaml.safe_load((root / "params.yaml").read_text())["generator"])


def _library(root: Path) -> dict[str, object]:
    return dict(yaml.safe_load((root / "tune/library.yaml").read_text()))


def _holdout_positions(df: pd.DataFrame) -> np.ndarray:
    """The rows the split stage sends to the holdout (its rule at init's defaults)."""
    numbered = df.assign(_row=np.arange(len(df)))
    parts = split_by_entity({"t": numbered}, [], "t", 0.8, 42)
    return parts.holdout["t"]["_row"].to_numpy()


def _check_record(gen: dict[str, object], library: dict[str, object]) -> None:
    """params.yaml names the library's first approved trial, every trial before it blocked
    with its reasons, none after it, and the number tried."""
    trials = library["trials"]
    assert isinstance(trials, list) and trials
    approved = [i for i, t in enumerate(trials) if t["approved_on_validation"]]
    assert approved == [len(trials) - 1]  # the search stopped at the first approved one
    assert all(t["failures"] or t.get("error") for t in trials[:-1])
    splits = library["validation_splits"]
    assert splits == VALIDATION_SPLITS == 5
    # a blocked candidate is judged until the split that blocks it, and that split is named
    for t in trials[:-1]:
        n = t["validation_splits_judged"]
        assert 1 <= n <= splits and all(
            f.startswith(f"validation split {n}/5: ") for f in t["failures"]
        )
    winner = trials[-1]
    assert winner["validation_splits_judged"] == splits and winner["failures"] == []
    assert library["winner"] == winner["name"]
    assert gen["family"] == winner["candidate"]["family"]
    assert gen["parameters"] == winner["candidate"]["parameters"]
    tuning = gen["tuning"]
    assert isinstance(tuning, dict)
    assert tuning["candidates_tried"] == len(trials) == library["candidates_tried"]
    assert tuning["selected"] == winner["name"] and tuning["rule"] == INIT_RULE


def test_the_choice_is_made_on_the_train_split_alone(tmp_path: Path) -> None:
    real = pd.read_csv(HEALTH).head(3000)
    # the same table with its holdout rows changed: the age column shuffled among them
    held = _holdout_positions(real)
    other = real.copy()
    ages = other["age"].to_numpy().copy()
    ages[held] = np.random.default_rng(0).permutation(ages[held])
    assert not np.array_equal(ages, real["age"].to_numpy())
    other["age"] = ages
    runs = {}
    for name, df in (("real", real), ("other", other)):
        src = tmp_path / name / "health.csv"
        src.parent.mkdir()
        df.to_csv(src, index=False)
        root = tmp_path / name / "repo"
        runs[name] = (_init(root, src, "insurance"), _library(root))
        _check_record(*runs[name])
        assert "each of 5 validation parts" in str(runs[name][0]["tuning"])
        assert "holdout never read" in str(runs[name][0]["tuning"])
    # what validation measured cannot depend on the holdout: the same trials, metrics and verdicts
    (gen, lib), (gen2, lib2) = runs["real"], runs["other"]
    assert gen == gen2
    strip = [{k: v for k, v in t.items() if k != "seconds"} for t in lib["trials"]]  # type: ignore[attr-defined]
    assert strip == [{k: v for k, v in t.items() if k != "seconds"} for t in lib2["trials"]]  # type: ignore[attr-defined]


def test_no_measure_and_an_explicit_family_skip_the_search(tmp_path: Path) -> None:
    src = tmp_path / "health.csv"
    pd.read_csv(HEALTH).head(1000).to_csv(src, index=False)
    gen = _init(tmp_path / "a", src, "insurance", "--no-measure")
    assert gen["family"] == "cart" and gen["tuning"] is None
    assert not (tmp_path / "a" / "tune").exists()
    gen = _init(tmp_path / "b", src, "insurance", "--family", "gaussian_copula")
    assert gen["family"] == "gaussian_copula" and gen["tuning"] is None
    assert not (tmp_path / "b" / "tune").exists()


@pytest.mark.slow
def test_credit_card_gets_an_approved_candidate_at_init_defaults(tmp_path: Path) -> None:
    """Sequential CART sits closer to credit_card's train rows than to unseen ones at every
    leaf size (README, "Generators"); the measured default moves down the ladder, and the
    release gate approves what it chose, once, on the holdout."""
    root = tmp_path / "repo"
    gen = _init(root, CREDIT, "card")
    library = _library(root)
    _check_record(gen, library)
    assert library["trials"][0]["name"] == "cart(min_samples_leaf=auto)"  # type: ignore[index]
    git("add", "-A", cwd=root)
    git("commit", "-qm", "init", cwd=root)
    dvc("repro", cwd=root)
    gate = json.loads((root / "reports/gate.json").read_text())
    assert gate["approved"] is True, gate["failures"]
    manifest = json.loads((root / "release/manifest.json").read_text())
    assert manifest["generator"]["tuning"]["rule"] == INIT_RULE
    assert manifest["generator"]["family"] == gen["family"]


def test_a_table_too_small_to_measure_is_still_set_up(tmp_path: Path) -> None:
    """Three rows: the train split has two, too few to divide again for validation. init
    keeps the pipeline it wrote (cart, unmeasured) and says why; nothing half-written."""
    src = tmp_path / "tiny.csv"
    pd.read_csv(HEALTH).head(3).to_csv(src, index=False)
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", cwd=root)
    proc = sdops_in("init", "--source", str(src), "--name", "t", *CHARTER, cwd=root, check=True)
    said = proc.stdout + proc.stderr
    assert "unmeasured: the measurement could not run" in said
    assert "too small to divide again for validation" in said
    gen = yaml.safe_load((root / "params.yaml").read_text())["generator"]
    assert gen["family"] == "cart" and gen["tuning"] is None
    assert not (root / "tune").exists()
    assert (root / "dvc.yaml").exists() and (root / "metadata.json").exists()
