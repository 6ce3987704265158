"""Table sets in-process (issue 23): a single table is a set of one, mapped by the layout to
the single-table paths, split by the same rule, read as the same metadata; related tables
are a set with relationships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.base.errors import DataError, SnapshotMismatch
from sdops_dvc.base.fsutil import md5_file
from sdops_dvc.domain.config import Params, parse_params
from sdops_dvc.domain.layout import HOLDOUT, TRAIN, TRAIN_DIR, Layout
from sdops_dvc.domain.metadata import named_as
from sdops_dvc.domain.relationships import Relationship, split_by_entity
from sdops_dvc.domain.tableset import (
    TableSet,
    find_source,
    is_related,
    pins_digest,
    set_metadata,
    source_pins,
    source_set,
)

PEOPLE = pd.DataFrame({"pid": [1, 2, 3, 4], "age": [30, 40, 50, 60]})
VISITS = pd.DataFrame({"pid": [1, 1, 2, 3, 4, 4], "cost": [5.0, 6.0, 7.0, 8.0, 9.0, 1.0]})


def _single(root: Path) -> Params:
    PEOPLE.to_csv(root / "people.csv", index=False)
    meta = {
        "tables": {"people": {"columns": {"pid": {"sdtype": "id"}, "age": {"sdtype": "numerical"}}}}
    }
    (root / "metadata.json").write_text(json.dumps(meta))
    md5 = md5_file(root / "people.csv")
    raw = {
        "dataset": {"name": "people"},
        "source": {"path": "people.csv", "snapshot_id": "x", "md5": md5},
    }
    return parse_params(raw, root / "params.yaml")


def _related(root: Path) -> Params:
    (root / "src").mkdir()
    PEOPLE.to_csv(root / "src/people.csv", index=False)
    VISITS.to_csv(root / "src/visits.csv", index=False)
    meta = {
        "tables": {
            "people": {
                "primary_key": "pid",
                "columns": {"pid": {"sdtype": "id"}, "age": {"sdtype": "numerical"}},
            },
            "visits": {"columns": {"pid": {"sdtype": "id"}, "cost": {"sdtype": "numerical"}}},
        },
        "relationships": [
            {
                "parent_table_name": "people",
                "parent_primary_key": "pid",
                "child_table_name": "visits",
                "child_foreign_key": "pid",
            }
        ],
    }
    (root / "metadata.json").write_text(json.dumps(meta))
    pins = {t: md5_file(root / f"src/{t}.csv") for t in ("people", "visits")}
    raw = {
        "dataset": {"name": "clinic"},
        "source": {
            "path": "src",
            "snapshot_id": "x",
            "md5": pins_digest(pins),
            "tables": {t: {"file": f"{t}.csv", "md5": pins[t]} for t in pins},
        },
        "generator": {"family": "hma"},
    }
    return parse_params(raw, root / "params.yaml")


def test_a_set_of_one_maps_to_the_single_table_paths(tmp_path: Path) -> None:
    params = _single(tmp_path)
    layout = Layout.for_params(tmp_path / "params.yaml", params)
    assert layout.train() == tmp_path / TRAIN and layout.holdout() == tmp_path / HOLDOUT
    assert layout.table_files(layout.train(), ["people"], "parquet") == {"people": tmp_path / TRAIN}
    related = Layout.for_params(tmp_path / "params.yaml", _related_params(tmp_path))
    assert related.train() == tmp_path / TRAIN_DIR
    assert related.table_files(related.train(), ["a", "b"], "parquet") == {
        "a": tmp_path / TRAIN_DIR / "a.parquet",
        "b": tmp_path / TRAIN_DIR / "b.parquet",
    }


def _related_params(tmp_path: Path) -> Params:
    sub = tmp_path / "rel"
    sub.mkdir()
    return _related(sub)


def test_the_metadata_reader_gives_one_table_its_own_entity(tmp_path: Path) -> None:
    params = _single(tmp_path)
    layout = Layout.for_params(tmp_path / "params.yaml", params)
    meta = set_metadata(params, layout)
    assert meta.names == ["people"] and meta.entity == "people" and meta.relationships == ()
    source = source_set(params, layout, meta)
    pd.testing.assert_frame_equal(source.rows, PEOPLE)
    pd.testing.assert_frame_equal(source.view(), PEOPLE)  # a set of one's view: the table


def test_related_tables_are_a_set_with_an_entity(tmp_path: Path) -> None:
    params = _related(tmp_path)
    layout = Layout.for_params(tmp_path / "params.yaml", params)
    meta = set_metadata(params, layout)
    assert meta.names == ["people", "visits"] and meta.entity == "people"
    source = source_set(params, layout, meta)
    view = source.view()
    assert len(view) == len(PEOPLE) and view["visits[pid].rows"].tolist() == [2, 1, 1, 2]


def test_a_changed_table_is_refused_by_its_pin(tmp_path: Path) -> None:
    params = _single(tmp_path)
    layout = Layout.for_params(tmp_path / "params.yaml", params)
    meta = set_metadata(params, layout)
    PEOPLE.assign(age=[1, 2, 3, 4]).to_csv(tmp_path / "people.csv", index=False)
    with pytest.raises(SnapshotMismatch, match="changed"):
        source_set(params, layout, meta)
    values, md5 = source_pins(params, layout)
    assert values == {("source", "md5"): md5} and md5 == md5_file(tmp_path / "people.csv")


def test_related_pins_are_each_table_and_their_digest(tmp_path: Path) -> None:
    params = _related(tmp_path)
    layout = Layout.for_params(tmp_path / "params.yaml", params)
    values, digest = source_pins(params, layout)
    pins = {t: md5_file(tmp_path / f"src/{t}.csv") for t in ("people", "visits")}
    assert digest == pins_digest(pins) and values[("source", "md5")] == digest
    assert values[("source", "tables", "visits", "md5")] == pins["visits"]


@pytest.mark.parametrize("n", [7, 10, 1319])
def test_a_set_of_one_splits_as_the_single_table_split_did(n: int) -> None:
    """The seeded permutation, the first round(ratio * n) rows to train, in source order:
    the rule single-table pipelines have always used, so their dvc.lock stays the same."""
    df = pd.DataFrame({"x": np.arange(n) * 3, "y": [f"v{i % 4}" for i in range(n)]})
    split = split_by_entity({"t": df}, [], "t", 0.8, 42)
    perm = np.random.default_rng(42).permutation(n)
    n_train = round(0.8 * n)
    pd.testing.assert_frame_equal(
        split.train["t"], df.iloc[np.sort(perm[:n_train])].reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        split.holdout["t"], df.iloc[np.sort(perm[n_train:])].reset_index(drop=True)
    )


def test_a_single_release_table_takes_the_release_name() -> None:
    meta = {"tables": {"table": {"columns": {"a": {"sdtype": "numerical"}}}}}
    assert list(named_as(meta, ["credit"])["tables"]) == ["credit"]
    two: dict[str, Any] = {"tables": {"a": {"columns": {}}, "b": {"columns": {}}}}
    assert named_as(two, ["a", "b"]) is two
    ts = TableSet({"t": PEOPLE}, (), "t")
    assert ts.replace({"t": VISITS}).rows is VISITS and ts.names == ["t"]


def test_related_synthetic_tables_lacking_a_key_are_refused_by_name(tmp_path: Path) -> None:
    """Evaluate joins related synthetic tables by their keys: a table without its foreign
    key is a clear error naming it (a single synthetic table is read as it is, and a
    missing column is the schema gate's finding)."""
    from sdops_dvc.base.errors import ConfigError
    from sdops_dvc.stages.evaluate import _project_sets

    params = _related(tmp_path)
    layout = Layout.for_params(tmp_path / "params.yaml", params)
    for side in ("train", "holdout"):
        (tmp_path / side).mkdir()
        PEOPLE.to_parquet(tmp_path / side / "people.parquet", index=False)
        VISITS.to_parquet(tmp_path / side / "visits.parquet", index=False)
    (tmp_path / "syn").mkdir()
    PEOPLE.to_csv(tmp_path / "syn/people.csv", index=False)
    VISITS.drop(columns=["pid"]).to_csv(tmp_path / "syn/visits.csv", index=False)
    paths = {"train": tmp_path / "train", "holdout": tmp_path / "holdout"}
    with pytest.raises(ConfigError, match="visits"):
        _project_sets(params, layout, {**paths, "synthetic": tmp_path / "syn"})
    VISITS.to_csv(tmp_path / "syn/visits.csv", index=False)
    sets, _ = _project_sets(params, layout, {**paths, "synthetic": tmp_path / "syn"})
    assert sets["synthetic"].names == ["people", "visits"] and sets["synthetic"].entity == "people"


# --- what `sdops init` was given: one reader for one table and for related tables ---------

DATA = Path(__file__).resolve().parents[1] / "data"


def test_init_reads_one_table_file_as_a_set_of_one_named_by_the_release(tmp_path: Path) -> None:
    src = DATA / "credit_card.csv"
    found = find_source([src], "cc", relationships=[], entity=None, target="card")
    assert not found.related and found.entity == "cc" and found.split_entity is None
    assert found.files == {"cc": src} and list(found.metadata["tables"]) == ["cc"]
    assert Relationship.all_of(found.metadata) == []  # a set of one: its view is the table
    assert TableSet(found.tables, (), found.entity).view().equals(found.tables["cc"])
    pins = {"cc": md5_file(src)}
    assert found.pinned_md5(pins) == pins["cc"] and found.params_blocks({}) == {}
    assert found.column_label("cc", "age") == "age"
    # outside the project: copied to data/source/ under its own name; inside: kept
    dest, files = Layout(tmp_path).source_place(found.given, found.files, "cc")
    assert dest == tmp_path / "data/source/credit_card.csv" and files == {"cc": dest}
    assert Layout(DATA).source_place(found.given, found.files, "cc")[0] == src
    assert "--model-sample" in Layout(tmp_path).pipeline(["cc"])


def test_init_reads_a_directory_as_related_tables_with_their_pins(tmp_path: Path) -> None:
    found = find_source(
        [DATA / "nycflights13"], "fl", relationships=[], entity="flights", target="arr_delay"
    )
    assert found.related and found.entity == "flights" == found.split_entity
    assert sorted(found.files) == ["airlines", "airports", "flights", "planes"]
    assert {(r.child, r.parent) for r in Relationship.all_of(found.metadata)} >= {
        ("flights", "airlines")
    }
    pins = {t: md5_file(p) for t, p in found.files.items()}
    assert found.pinned_md5(pins) == pins_digest(pins) != pins["flights"]
    blocks = found.params_blocks({t: (p.name, pins[t]) for t, p in found.files.items()})
    assert (
        f"    planes:\n      file: planes.csv\n      md5: {pins['planes']}\n"
        in (blocks["source_tables"])
    )
    assert blocks["split_entity"].startswith("  entity: flights ")
    assert found.column_label("flights", "tailnum") == "flights.tailnum"
    dest, files = Layout(tmp_path, related=True).source_place(found.given, found.files, "fl")
    assert dest == tmp_path / "data/source/fl" and files["planes"] == dest / "planes.csv"
    pipeline = Layout(tmp_path, related=True).pipeline(list(found.files))
    assert "data/split/holdout/planes.parquet" in pipeline and "--model-sample" not in pipeline


def test_init_refuses_a_target_the_entity_table_lacks_naming_the_flag() -> None:
    with pytest.raises(DataError) as err:
        find_source([DATA / "nycflights13"], "fl", relationships=[], entity="flights",
                    target="carier")  # fmt: skip
    assert "--target" in err.value.message and "did you mean 'carrier'" in err.value.message
    assert "command line" in err.value.message and "params.yaml" not in err.value.message


def test_a_directory_of_one_table_file_is_refused_as_related_tables(tmp_path: Path) -> None:
    (tmp_path / "only.csv").write_text("a,b\n1,2\n3,4\n")
    assert is_related([tmp_path], [], None)
    with pytest.raises(DataError, match="at least two tables"):
        find_source([tmp_path], "x", relationships=[], entity=None, target=None)
