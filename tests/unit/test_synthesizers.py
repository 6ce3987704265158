"""The static parameter tables (used to validate params.yaml without importing SDV)
match the installed SDV's real signatures."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from sdops_dvc.domain.families import CONSTRAINTS, FAMILIES


@pytest.mark.parametrize(
    "family", [f for f, s in FAMILIES.items() if not s.dp and f != "cart" and s.runtime is None]
)
def test_family_parameters_match_sdv(family: str) -> None:
    from sdv import multi_table, single_table

    spec = FAMILIES[family]
    cls = getattr(multi_table if spec.multi_table else single_table, spec.sdv_class)
    real = set(inspect.signature(cls.__init__).parameters) - {"self", "metadata"}
    assert set(spec.parameters) == real


@pytest.mark.parametrize("family", [f for f, s in FAMILIES.items() if s.dp])
def test_dp_family_parameters_match_opendp(family: str) -> None:
    import dataclasses

    from opendp.extras import mbi

    spec = FAMILIES[family]
    cls = getattr(mbi, spec.sdv_class)
    real = {f.name for f in dataclasses.fields(cls)} - {"estimator"}
    assert set(spec.parameters) == real


@pytest.mark.parametrize("kind", list(CONSTRAINTS))
def test_constraint_arguments_match_sdv(kind: str) -> None:
    from sdv import cag

    sig = inspect.signature(getattr(cag, kind).__init__)
    params = {n: p for n, p in sig.parameters.items() if n not in ("self", "table_name")}
    assert set(CONSTRAINTS[kind]) == set(params)
    for name, required in CONSTRAINTS[kind].items():
        assert required == (params[name].default is inspect.Parameter.empty), name


def test_a_violated_constraint_names_columns_and_counts_never_rows(credit_df: pd.DataFrame) -> None:
    """Issue 11.9: SDV's message lists the offending rows; ours gives columns and counts."""
    from sdops_dvc.base.errors import DataError
    from sdops_dvc.domain.config import GeneratorCfg
    from sdops_dvc.domain.metadata import detect
    from sdops_dvc.synthesizers.sdv_adapter import synthesize

    train = credit_df.head(300)
    cfg = GeneratorCfg.model_validate(
        {
            "constraints": [
                {
                    "type": "Inequality",
                    "args": {"low_column_name": "income", "high_column_name": "share"},
                }
            ]
        }
    )
    broken = int((train["income"] > train["share"]).sum())
    assert broken > 0
    with pytest.raises(DataError) as info:
        synthesize(train, detect(train, "t"), cfg, 10)
    message = str(info.value)
    assert f"Inequality on income, share: {broken} of 300 rows break it" in message
    for value in train.loc[train["income"] > train["share"], "income"].astype(str).head(20):
        assert value not in message


def test_the_fit_file_keeps_an_empty_record_and_leaves_out_an_absent_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """cart at a fixed leaf size records an empty selection (the fit file's bytes, which
    dvc.lock pins, are as they were); a family that records nothing adds no key."""
    from sdops_dvc.synthesizers.adapters import write_no_fit
    from sdops_dvc.synthesizers.dp_adapter import load_fit

    write_no_fit(tmp_path / "cart.npz", "cart", selection={})
    assert load_fit(tmp_path / "cart.npz")[0]["selection"] == {}
    write_no_fit(tmp_path / "copula.npz", "gaussian_copula", selection=None)
    assert "selection" not in load_fit(tmp_path / "copula.npz")[0]
