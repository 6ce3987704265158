"""Rebalanced generation (generator.conditions): real pipelines, real SDV, real DVC.

The released rows are drawn group by group to the declared targets; the gates judge the
unconditioned sample from the same fit, which is byte for byte the output without
conditions; the rebalanced rows are judged per group for privacy (planted copies of one
group's train rows fail, unseen real rows pass) and reported as the data view."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.base.fsutil import md5_file, write_json_atomic
from sdops_dvc.base.templates import demo_table
from sdops_dvc.domain.config import Params, parse_params
from sdops_dvc.domain.metadata import detect
from sdops_dvc.stages.evaluate import run_evaluate
from sdops_dvc.stages.gate import run_gate
from sdops_dvc.synthesizers.conditions import plan_of
from tests.conftest import dvc, git, sdops_in, set_params
from tests.flows.stages.test_gates import PARAMS as GATE_PARAMS

ETHNICITY: dict[str, Any] = {
    "rationale": "equal ethnic groups for a fairness audit",
    "groups": [
        {"values": {"ethnicity": "cauc"}, "rows": 1000},
        {"values": {"ethnicity": "afam"}, "rows": 250},
        {"values": {"ethnicity": "other"}, "rows": 80},
    ],
}
PARAMS: dict[str, Any] = {
    "dataset": {"name": "health", "target": "insurance"},
    "source": {"path": "unused.csv", "snapshot_id": "planted", "md5": "0" * 32},
    "generator": {"conditions": ETHNICITY},
    "evaluation": {
        "privacy": {"quasi_identifiers": ["age", "gender", "region", "ethnicity"]},
        "subgroups": {"columns": ["gender"]},
        "fairness": {"columns": ["gender"]},
    },
    "policy": GATE_PARAMS["policy"],
}


def _params(**generator: Any) -> Params:
    raw = copy.deepcopy(PARAMS)
    raw["generator"].update(generator)
    return parse_params(raw, Path("params.yaml"))


# --- what params.yaml may declare -------------------------------------------------------


@pytest.mark.parametrize(
    ("generator", "message"),
    [
        ({"family": "mst"}, "family mst cannot condition generation"),
        (
            {"family": "hma"},
            "family hma cannot condition generation (generator.conditions): it generates related",
        ),
        (
            {"conditions": {**ETHNICITY, "rationale": " "}},
            "rationale: say why the output is rebalanced",
        ),
        (
            {
                "conditions": {
                    "rationale": "r",
                    "groups": [
                        {"values": {"gender": "female"}, "share": 0.5},
                        {"values": {"gender": "male"}, "share": 0.4},
                    ],
                }
            },
            "the shares sum to 0.9",
        ),
        (
            {
                "conditions": {
                    "rationale": "r",
                    "groups": [
                        {"values": {"gender": "female"}, "share": 0.5},
                        {"values": {"gender": "male"}, "rows": 10},
                    ],
                }
            },
            "not a mix",
        ),
        (
            {
                "conditions": {
                    "rationale": "r",
                    "groups": [
                        {"values": {"gender": "female"}, "share": 0.5},
                        {"values": {"region": "south"}, "share": 0.5},
                    ],
                }
            },
            "every group names the same columns",
        ),
        ({"num_rows": 500}, "the groups' rows sum to 1330, generator.num_rows is 500"),
    ],
)
def test_params_refuse_what_cannot_be_generated(generator: dict[str, Any], message: str) -> None:
    if generator.get("family") == "mst":
        generator["privacy"] = {"epsilon": 1.0, "delta": 1e-6}
    with pytest.raises(ConfigError) as err:
        _params(**generator)
    assert message in str(err.value.message) + str(err.value.hint or "")


def test_shares_become_rows_by_largest_remainder() -> None:
    cond = _params(
        conditions={
            "rationale": "r",
            "groups": [
                {"values": {"ethnicity": "cauc"}, "share": 1 / 3},
                {"values": {"ethnicity": "afam"}, "share": 1 / 3},
                {"values": {"ethnicity": "other"}, "share": 1 / 3},
            ],
        }
    ).generator.conditions
    assert cond is not None
    assert cond.counts(100) == [34, 33, 33]
    assert cond.counts(7041) == [2347, 2347, 2347]


def test_groups_are_checked_against_the_train_split() -> None:
    real = pd.read_csv(demo_table())
    sdtypes = {c: "categorical" for c in real.columns if real[c].dtype == object}
    sdtypes["age"] = "numerical"
    plans = plan_of(_params(), real, sdtypes)
    assert [(p.label, p.rows) for p in plans] == [
        ("ethnicity=cauc", 1000),
        ("ethnicity=afam", 250),
        ("ethnicity=other", 80),
    ]
    assert plans[2].train_rows == int((real["ethnicity"] == "other").sum())

    def refused(conditions: dict[str, Any], frame: pd.DataFrame = real) -> str:
        with pytest.raises(ConfigError) as err:
            plan_of(_params(conditions=conditions), frame, sdtypes)
        return err.value.message

    two = {"rationale": "r", "groups": ETHNICITY["groups"][:2]}
    assert "not declared: ethnicity=other" in refused(two)
    absent = {"rationale": "r", "groups": [{"values": {"ethnicity": "martian"}, "rows": 5}]}
    assert "holds no ethnicity=martian" in refused(absent)
    numeric = {"rationale": "r", "groups": [{"values": {"age": 30}, "rows": 5}]}
    assert "not categorical" in refused(numeric)
    # a handful of people oversampled: refused below report.min_bin_count, allowed at 0 rows
    few = pd.concat(
        [real[real["ethnicity"] != "other"], real[real["ethnicity"] == "other"].head(3)]
    )
    message = refused(ETHNICITY, few)
    assert "ethnicity=other holds 3 train record(s)" in message
    dropped = copy.deepcopy(ETHNICITY)
    dropped["groups"][2]["rows"] = 0
    assert [p.rows for p in plan_of(_params(conditions=dropped), few, sdtypes)] == [1000, 250, 0]


# --- the per-group privacy gate: unseen real rows pass, planted copies fail ---------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    real = pd.read_csv(demo_table())
    perm = np.random.default_rng(1).permutation(len(real))
    train, holdout, unseen = (
        real.iloc[perm[a:b]].reset_index(drop=True)
        for a, b in ((0, 4400), (4400, 6600), (6600, len(real)))
    )
    root = tmp_path_factory.mktemp("rebalanced")
    write_json_atomic(root / "metadata.json", detect(real, "health"))
    train.to_parquet(root / "train.parquet")
    holdout.to_parquet(root / "holdout.parquet")
    unseen.to_csv(root / "model_sample.csv", index=False)
    return {"root": root, "train": train, "unseen": unseen}


def _rebalanced(source: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The declared rows of each group, drawn without replacement from ``source``."""
    parts = [
        source[source["ethnicity"] == g["values"]["ethnicity"]].sample(
            n=g["rows"], random_state=seed
        )
        for g in ETHNICITY["groups"]
    ]
    return pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _gate_rebalanced(world: dict[str, Any], name: str, released: pd.DataFrame) -> Any:
    root: Path = world["root"]
    params = _params()
    released.to_csv(root / f"{name}.csv", index=False)
    res = run_evaluate(
        params,
        root,
        root / "train.parquet",
        root / "holdout.parquet",
        root / f"{name}.csv",
        root / name,
        model_sample=root / "model_sample.csv",
    )
    return run_gate(res.metrics_path, params, root / name / "gate.json"), res


def test_unseen_real_rows_rebalanced_pass_per_group_privacy(world: dict[str, Any]) -> None:
    result, res = _gate_rebalanced(world, "unseen", _rebalanced(world["unseen"]))
    assert result.gates["privacy"].passed, result.failures
    assert res.metrics["conditions"]["groups_gated"] == 3
    assert res.metrics["conditions"]["target_gap"] == 0.0
    assert res.metrics["conditions"]["worst_group_dcr_share"] < 0.55
    # the model view is the unconditioned sample: its metrics do not see the rebalancing
    assert res.metrics["rows"]["synthetic"] == len(world["unseen"])
    targets = res.details["conditions"]["targets"]
    assert [(t["group"], t["rows"], t["target_rows"]) for t in targets] == [
        ("ethnicity=cauc", 1000, 1000),
        ("ethnicity=afam", 250, 250),
        ("ethnicity=other", 80, 80),
    ]


def test_copies_of_one_groups_train_rows_fail_per_group_privacy(world: dict[str, Any]) -> None:
    honest = _rebalanced(world["unseen"])
    afam = world["train"][world["train"]["ethnicity"] == "afam"].sample(n=250, random_state=0)
    leaky = pd.concat([honest[honest["ethnicity"] != "afam"], afam], ignore_index=True)
    result, res = _gate_rebalanced(world, "leaky", leaky)
    assert not result.approved
    named = [f for f in result.gates["privacy"].failures if "rebalanced group" in f]
    assert named and all("ethnicity=afam" in f for f in named), result.failures
    assert any("DCR share" in f for f in named) and any("copy a train row" in f for f in named)
    # the whole-table privacy checks judge the model sample, which holds no copies: only the
    # per-group check sees the leak
    assert all("rebalanced group" in f for f in result.gates["privacy"].failures)
    # the report names the group and its figures, never a row
    report = (Path(res.metrics_path).parent / "details.json").read_text()
    assert "ethnicity=afam" in report


# --- the pipeline: dvc repro, byte for byte, the manifest and the report -----------------


OWNER: dict[str, Any] = {
    "rationale": "card owners and non-owners in equal numbers for a model audit",
    "groups": [
        {"values": {"owner": "yes"}, "share": 0.5},
        {"values": {"owner": "no"}, "share": 0.5},
    ],
}


def test_a_rebalanced_release_regenerates_byte_for_byte(pipeline: Path) -> None:
    set_params(pipeline, {"generator.conditions": OWNER})
    git("commit", "-qam", "rebalance owners", cwd=pipeline)
    dvc("repro", cwd=pipeline)
    out = pipeline / "data" / "synthetic" / "synthetic.csv"
    sample = pipeline / "model" / "sample.csv"
    released = pd.read_csv(out)
    assert released["owner"].value_counts().to_dict() == {"yes": 160, "no": 160}
    train = pd.read_parquet(pipeline / "data" / "split" / "train.parquet")
    assert released["owner"].value_counts()["yes"] != (train["owner"] == "yes").sum()
    # shuffled: the groups do not come in blocks
    assert released["owner"].head(40).nunique() == 2
    first = {p: md5_file(p) for p in (out, sample)}

    manifest = json.loads((pipeline / "release" / "manifest.json").read_text())
    cond = manifest["conditions"]
    assert cond["rationale"] == OWNER["rationale"] and cond["columns"] == ["owner"]
    assert [(g["group"], g["rows"]) for g in cond["groups"]] == [
        ("owner=yes", 160),
        ("owner=no", 160),
    ]
    assert cond["model_sample"]["md5"] == first[sample]
    assert sdops_in("manifest", "--check", "release/manifest.json", cwd=pipeline).returncode == 0
    report = (pipeline / "reports" / "report.md").read_text()
    assert "Rebalanced output (the data view)" in report and "owner=yes" in report
    assert "Worst rebalanced group's DCR share" in report

    # the model sample is byte for byte the output without conditions
    set_params(pipeline, {"generator.conditions": None})
    plain = pipeline / "plain.csv"
    sdops_in("generate", "--params", "params.yaml", "--out", str(plain), cwd=pipeline, check=True)
    assert md5_file(plain) == first[sample] != first[out]

    # and dvc repro -f, in new processes, makes the same bytes again
    git("checkout", "--", "params.yaml", cwd=pipeline)
    dvc("repro", "-f", cwd=pipeline)
    assert {p: md5_file(p) for p in (out, sample)} == first


# --- every family that conditions, in process ---------------------------------------------

SHARES: dict[str, Any] = {
    "rationale": "r",
    "groups": [
        {"values": {"ethnicity": "cauc"}, "share": 0.5},
        {"values": {"ethnicity": "afam"}, "share": 0.3},
        {"values": {"ethnicity": "other"}, "share": 0.2},
    ],
}


def _generate(tmp_path: Path, conditions: dict[str, Any] | None, **generator: Any) -> Any:
    from sdops_dvc.domain.tableset import TableSet
    from sdops_dvc.stages.generate import generate_set

    real = pd.read_csv(demo_table()).sample(n=1500, random_state=0).reset_index(drop=True)
    params = _params(**generator, conditions=conditions)
    metadata = detect(real, "health")
    one = TableSet({"health": real}, (), "health")  # a single table: a set of one
    return generate_set(params, one, "md5", metadata, tmp_path / "fit.npz", budget_check=None)


@pytest.mark.parametrize(
    ("family", "parameters"),
    [("cart", {}), ("ctgan", {"epochs": 2})],
)
def test_each_conditioning_family_meets_the_targets_from_the_same_fit(
    family: str, parameters: dict[str, Any], tmp_path: Path
) -> None:
    def run(conditions: dict[str, Any] | None) -> Any:
        return _generate(tmp_path, conditions, family=family, parameters=parameters)

    made = run(SHARES)
    counts = made.data["ethnicity"].value_counts().to_dict()
    assert counts == {"cauc": 750, "afam": 450, "other": 300}
    assert made.unconditioned is not None and len(made.unconditioned) == 1500
    plain = run(None)
    assert plain.unconditioned is None
    pd.testing.assert_frame_equal(made.unconditioned, plain.data)
    again = run(SHARES)
    pd.testing.assert_frame_equal(again.data, made.data)


def test_a_model_that_never_makes_a_group_is_refused_by_name(tmp_path: Path) -> None:
    """TVAE on 1,500 rows collapses ethnicity to its commonest value (its unconditioned
    sample holds no other): rejection finds none of the minorities, and says so."""
    from sdops_dvc.base.errors import DataError

    plain = _generate(tmp_path, None, family="tvae", parameters={"epochs": 40})
    assert set(plain.data["ethnicity"]) == {"cauc"}
    with pytest.raises(DataError) as err:
        _generate(tmp_path, SHARES, family="tvae", parameters={"epochs": 40})
    assert "ethnicity=afam: 0 of 450; ethnicity=other: 0 of 300" in err.value.message
    assert "gaussian_copula" in (err.value.hint or "")


def test_related_tables_refuse_conditions_whatever_the_family() -> None:
    """cart generates the entity table of related tables, and could draw it group by group;
    but related tables are gated on what they release, so params refuse it by name."""
    raw = copy.deepcopy(PARAMS)
    raw["source"] = {
        "path": "tables",
        "snapshot_id": "planted",
        "tables": {"flights": {"file": "flights.csv"}, "airlines": {"file": "airlines.csv"}},
    }
    raw["generator"].update(family="cart", public_tables=["airlines"])
    with pytest.raises(ConfigError) as err:
        parse_params(raw, Path("params.yaml"))
    assert "generator.conditions applies to single tables only" in err.value.message


def test_holdout_rows_passed_off_in_one_group_fail_the_released_rows_check(
    world: dict[str, Any],
) -> None:
    root: Path = world["root"]
    honest = _rebalanced(world["unseen"])
    holdout = pd.read_parquet(root / "holdout.parquet")
    afam = holdout[holdout["ethnicity"] == "afam"]
    forged = pd.concat([honest[honest["ethnicity"] != "afam"], afam], ignore_index=True)
    result, _ = _gate_rebalanced(world, "forged", forged)
    found = result.gates["privacy"].failures
    # judged on the released rows as a whole (per group, a low-entropy table's duplicates
    # made unseen rows fail); the whole-table check on the model sample sees nothing
    assert [f for f in found if f.startswith("privacy: rebalanced output: ")], found
    assert all("real rows passed off" in f for f in found), found
