"""`sdops tune` on real git, DVC and fits: candidates judged on a validation part of the
train split (the holdout never read), a planted leaky candidate never chosen, the winner
written into params.yaml with the number tried and carried into the manifest; refusals
that write nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.domain.config import parse_params
from sdops_dvc.domain.tableset import TableSet
from sdops_dvc.tune import Candidate, check_candidates, library_winner, validation_split
from tests.conftest import dvc, git, sdops

HOLDOUT = "data/split/holdout.parquet"

# a leaf of one record copies training rows whole: the leak the search must never pick
LEAKY = {"family": "cart", "parameters": {"min_samples_leaf": 1}}
HONEST = [
    {"family": "cart", "parameters": {"min_samples_leaf": 20}},
    {"family": "gaussian_copula", "parameters": {}},
]


def _params(root: Path) -> object:
    return parse_params(yaml.safe_load((root / "params.yaml").read_text()), root / "params.yaml")


def test_validation_split_is_seeded_disjoint_and_sized(credit_df: pd.DataFrame) -> None:
    one = TableSet({"credit": credit_df}, (), "credit")  # a single table: a set of one
    fit, val = (part.rows for part in validation_split(one, 42))
    assert len(fit) + len(val) == len(credit_df) and len(val) == round(0.2 * len(credit_df))
    both = pd.concat([fit, val]).sort_values(list(credit_df.columns)).reset_index(drop=True)
    assert both.equals(credit_df.sort_values(list(credit_df.columns)).reset_index(drop=True))
    again = validation_split(one, 42)[0].rows
    assert again.equals(fit) and not validation_split(one, 43)[0].rows.equals(fit)


def test_refuses_dp_families_unknown_ones_bad_values_and_objectives(
    pipeline: Path,
) -> None:
    params = _params(pipeline)
    with pytest.raises(ConfigError) as err:
        check_candidates(
            params,  # type: ignore[arg-type]
            [
                Candidate("mst", {}),
                Candidate("nope", {}),
                Candidate("cart", {"min_samples_leaf": 0}),
                Candidate("cart", {}),
            ],
            "quality.detection_auc",
        )
    text = str(err.value)
    assert "candidate 1: mst is differentially private" in text
    assert "candidate 2: unknown family 'nope'" in text
    assert "candidate 3" in text and "min_samples_leaf" in text
    assert "candidate 4" not in text
    with pytest.raises(ConfigError, match="not a metric with a direction"):
        check_candidates(params, [Candidate("cart", {})], "rows.train")  # type: ignore[arg-type]


@pytest.mark.slow
def test_tune_never_reads_the_holdout_and_never_picks_the_leak(
    pipeline: Path, tmp_path: Path
) -> None:
    root = pipeline
    dvc("repro", "split", cwd=root)
    cands = tmp_path / "candidates.yaml"
    cands.write_text(yaml.safe_dump([LEAKY, *HONEST]))
    # the search must not need the holdout at all: it is gone while tune runs
    kept = tmp_path / "holdout.parquet"
    shutil.move(root / HOLDOUT, kept)
    before = (root / "params.yaml").read_text()
    # one validation split: on this 320-row train the attack metrics of a 64-row validation
    # part are too noisy for an honest candidate to pass five in a row (the default's
    # behaviour is tested on full tables, tests/flows/test_init_measure.py)
    proc = sdops("tune", "--candidates", str(cands), "--no-repro", "--json",
                 "--validation-splits", "1", cwd=root, check=True)  # fmt: skip
    doc = json.loads(proc.stdout)
    assert doc["candidates_tried"] == 3 and len(doc["trials"]) == 3
    assert doc["validation_splits"] == 1
    leak = doc["trials"][0]
    assert leak["name"] == "cart(min_samples_leaf=1)"
    assert leak["approved_on_validation"] is False
    assert any("privacy" in f for f in leak["failures"])
    assert doc["winner"] is not None and doc["winner"] != leak["name"]
    # the leaderboard was shown live, one line per candidate
    assert proc.stderr.count("/3 ") == 3

    params = yaml.safe_load((root / "params.yaml").read_text())
    winner = next(t for t in doc["trials"] if t["name"] == doc["winner"])
    assert params["generator"]["family"] == winner["candidate"]["family"]
    assert params["generator"]["tuning"]["candidates_tried"] == 3
    assert params["generator"]["tuning"]["selected"] == doc["winner"]
    # every other value of params.yaml is as it was, and its comments are kept
    old = yaml.safe_load(before)
    for key in ("family", "parameters", "discrete", "tuning"):
        old["generator"].pop(key), params["generator"].pop(key, None)
    assert params == old
    assert "# null: as many rows as the train split" in (root / "params.yaml").read_text()
    library = yaml.safe_load((root / "tune/library.yaml").read_text())
    assert [t["name"] for t in library["trials"]] == [t["name"] for t in doc["trials"]]
    assert library_winner(root / "tune/library.yaml").name == doc["winner"]

    # the release gate then judges the winner once, on the holdout
    shutil.move(kept, root / HOLDOUT)
    dvc("repro", cwd=root)
    manifest = json.loads((root / "release/manifest.json").read_text())
    assert manifest["generator"]["tuning"]["candidates_tried"] == 3
    assert sdops("manifest", "--check", "release/manifest.json", cwd=root).returncode == 0


def test_no_approved_candidate_changes_nothing(pipeline: Path, tmp_path: Path) -> None:
    root = pipeline
    dvc("repro", "split", cwd=root)
    cands = tmp_path / "candidates.yaml"
    cands.write_text(yaml.safe_dump([LEAKY]))
    before = (root / "params.yaml").read_bytes()
    proc = sdops("tune", "--candidates", str(cands), "--no-repro", cwd=root)
    assert proc.returncode == 1
    assert "none of the 1 candidate(s) was approved on validation" in proc.stderr
    assert (root / "params.yaml").read_bytes() == before
    assert (root / "tune/library.yaml").exists()  # the reasons, for review


def test_a_dp_candidate_is_refused_before_any_fit(pipeline: Path, tmp_path: Path) -> None:
    root = pipeline
    cands = tmp_path / "candidates.yaml"
    cands.write_text(yaml.safe_dump([{"family": "aim", "parameters": {}}, *HONEST]))
    before = (root / "params.yaml").read_bytes()
    proc = sdops("tune", "--candidates", str(cands), cwd=root)
    assert proc.returncode == 3 and "aim is differentially private" in proc.stderr
    assert (root / "params.yaml").read_bytes() == before
    assert not (root / "tune").exists()
    assert git("status", "--porcelain", cwd=root).stdout.strip() == ""


def test_init_from_a_reviewed_library(tmp_path: Path, small_source: Path) -> None:
    lib = tmp_path / "library.yaml"
    lib.write_text(
        yaml.safe_dump(
            {
                "winner": "cart(min_samples_leaf=50)",
                "trials": [
                    {"name": "gaussian_copula", "candidate": {"family": "gaussian_copula"}},
                    {
                        "name": "cart(min_samples_leaf=50)",
                        "candidate": {"family": "cart", "parameters": {"min_samples_leaf": 50}},
                    },
                ],
            }
        )
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    sdops("init", "--source", str(small_source), "--name", "c", "--from-library", str(lib),
          cwd=repo, check=True)  # fmt: skip
    gen = yaml.safe_load((repo / "params.yaml").read_text())["generator"]
    assert gen["family"] == "cart" and gen["parameters"] == {"min_samples_leaf": 50}
    proc = sdops("init", "--source", str(small_source), "--name", "c", "--force",
                 "--family", "ctgan", "--from-library", str(lib), cwd=repo)  # fmt: skip
    assert proc.returncode == 3 and "disagree" in proc.stderr
