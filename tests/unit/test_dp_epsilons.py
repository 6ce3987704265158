"""DP measurements complete at the README's own settings (issue 11.11).

OpenDP 0.16's MST split rho among its steps in floating point and, at epsilon 1.0 on the
HealthInsurance columns, asked one ulp more than its budget ("insufficient budget for query:
0.0011468723344361092 > 0.0011468723344361088") after minutes of work. A real OpenDP run."""

from __future__ import annotations

import pandas as pd
import pytest

from sdops_dvc.base.templates import demo_table
from sdops_dvc.domain.config import GeneratorCfg
from sdops_dvc.domain.metadata import detect


def test_mst_at_the_readme_epsilon_completes_and_records_what_it_spent() -> None:
    from sdops_dvc.synthesizers import dp_adapter as dpa

    df = pd.read_csv(demo_table())
    metadata = detect(df, "t")  # all 11 columns, as in the crash
    train = df.head(1000)
    cfg = GeneratorCfg.model_validate(
        {
            "family": "mst",
            "privacy": {
                "epsilon": 1.0,
                "delta": 1.0e-6,
                "bounds": {"age": [18, 90], "family": [1, 15]},
                "categories": {"gender": ["female", "male"]},
            },
        }
    )
    header, arrays = dpa.measure(train, metadata, cfg, "test")
    spend = header["spend"]
    assert spend["epsilon"] <= 1.0 and spend["epsilon"] == pytest.approx(1.0, abs=1e-6)
    # the recorded rho is the one OpenDP was given: its conversion is the recorded epsilon
    from sdops_dvc.domain.budget import zcdp_epsilon

    assert zcdp_epsilon(spend["rho"], spend["delta"] - spend["delta0"]) == pytest.approx(
        spend["epsilon"], rel=1e-12
    )
    assert arrays and header["measurement_id"]


@pytest.mark.parametrize("family", ["mst", "aim"])
def test_dp_families_take_an_ordinal_column_in_its_declared_order(family: str) -> None:
    """`init --family mst` on a table with an ordinal column used to stop at generate
    ("sdtype 'ordinal' is not supported by the DP families"). An ordinal column is coded
    with its public, declared categories in their order (or discovered privately)."""
    from sdops_dvc.synthesizers import dp_adapter as dpa

    df = pd.read_csv(demo_table())[["education", "gender", "insurance", "age"]].head(800)
    metadata = detect(df, "t")
    metadata["tables"]["t"]["columns"]["education"] = {"sdtype": "ordinal"}
    order = ["none", "ged", "highschool", "bachelor", "master", "phd", "other"]
    assert set(df["education"]) <= set(order)
    cfg = GeneratorCfg.model_validate(
        {
            "family": family,
            "privacy": {
                "epsilon": 3.0,
                "delta": 1.0e-6,
                "bounds": {"age": [18, 90]},
                "categories": {"education": order, "gender": ["female", "male"]},
            },
        }
    )
    assert cfg.privacy is not None
    codes = {c.name: c for c in dpa.plan_columns(df, metadata, cfg.privacy)}
    assert codes["education"].kind == "categorical" and codes["education"].values == order
    header, arrays = dpa.measure(df, metadata, cfg, "test")
    out = dpa.sample(header, arrays, 300, 7, list(df.columns), dict(df.dtypes))
    assert len(out) == 300 and set(out["education"].dropna()) <= set(order)
    assert header["spend"]["epsilon"] <= 3.0
