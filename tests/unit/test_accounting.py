"""zCDP accounting: our pure-Python conversion equals OpenDP's, composition adds natively,
and the DP settings in params.yaml are validated with readable messages."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.domain.budget import Spend, Standing, compose, zcdp_epsilon, zcdp_rho_for
from sdops_dvc.domain.config import parse_params


def opendp_epsilon(rho: float, delta: float) -> float:
    """An independent conversion: OpenDP's own zCDP -> (epsilon, delta) on a Gaussian."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    m = dp.m.make_gaussian(
        dp.atom_domain(T=float, nan=False),
        dp.absolute_distance(T=float),
        scale=(1 / (2 * rho)) ** 0.5,
    )
    return float(dp.c.make_zCDP_to_approxDP(m).map(1.0).epsilon(delta))


@pytest.mark.parametrize("rho", [0.001, 0.05, 0.5, 2.0, 10.0])
@pytest.mark.parametrize("delta", [1e-9, 1e-6, 1e-3])
def test_conversion_equals_opendp(rho: float, delta: float) -> None:
    assert zcdp_epsilon(rho, delta) == pytest.approx(opendp_epsilon(rho, delta), rel=1e-9)
    # and it is tighter than the classic bound rho + 2 sqrt(rho log(1/delta))
    assert zcdp_epsilon(rho, delta) < rho + 2 * math.sqrt(rho * math.log(1 / delta))


def test_rho_for_epsilon_inverts_the_conversion() -> None:
    rho = zcdp_rho_for(1.0, 1e-6)
    assert zcdp_epsilon(rho, 1e-6) == pytest.approx(1.0, rel=1e-9)
    assert zcdp_epsilon(rho * 1.001, 1e-6) > 1.0


def test_composition_adds_rho_and_converts_once() -> None:
    spends = [Spend(0.05, 5e-7), Spend(0.02, 0.0), Spend(0.1, 5e-7)]
    total = compose(spends)
    assert total.rho == pytest.approx(0.17) and total.delta0 == pytest.approx(1e-6)
    st = Standing(total, cap_epsilon=5.0, cap_delta=1e-5)
    expected = opendp_epsilon(0.17, 1e-5 - 1e-6)
    assert st.epsilon == pytest.approx(expected, rel=1e-9)
    # converting once is tighter than adding per-release epsilons
    assert st.epsilon < sum(zcdp_epsilon(s.rho, 1e-5 - 1e-6) for s in spends)
    assert st.within and st.remaining_epsilon == pytest.approx(5.0 - expected, rel=1e-9)
    assert zcdp_epsilon(total.rho + st.remaining_rho, 1e-5 - 1e-6) == pytest.approx(5.0, rel=1e-6)
    over = Standing(total, cap_epsilon=expected * 0.9, cap_delta=1e-5)
    assert not over.within and over.remaining_epsilon == 0.0
    spent_delta = Standing(Spend(0.01, 1e-5), cap_epsilon=5.0, cap_delta=1e-5)
    assert spent_delta.epsilon == math.inf and not spent_delta.within


BASE = {"dataset": {"name": "d"}, "source": {"path": "s.csv", "snapshot_id": "x"}}


def _parse(generator: dict[str, object], **extra: object) -> object:
    return parse_params({**BASE, "generator": generator, **extra}, Path("params.yaml"))


def test_dp_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"is differentially private: set generator\.privacy"):
        _parse({"family": "mst"})
    with pytest.raises(ConfigError, match="exactly one of epsilon"):
        _parse({"family": "aim", "privacy": {"epsilon": 1.0, "rho": 0.1}})
    with pytest.raises(ConfigError, match="applies to the DP families"):
        _parse({"family": "gaussian_copula", "privacy": {"rho": 0.1}})
    with pytest.raises(ConfigError, match=r"low .* must be below high"):
        _parse({"family": "mst", "privacy": {"rho": 0.1, "bounds": {"age": [9, 1]}}})
    with pytest.raises(ConfigError, match=r"family mst takes no parameter 'max_size'"):
        _parse({"family": "mst", "privacy": {"rho": 0.1}, "parameters": {"max_size": 3}})
    with pytest.raises(ConfigError, match=r"budget: epsilon must be positive"):
        _parse({"family": "mst", "privacy": {"rho": 0.1}}, budget={"epsilon": -1})
    ok = _parse({"family": "aim", "privacy": {"epsilon": 1.0}, "parameters": {"max_size": 8}})
    assert ok.generator.privacy.delta == 1e-6  # type: ignore[attr-defined]


def test_numerical_columns_need_declared_bounds() -> None:
    import pandas as pd

    from sdops_dvc.domain.config import DPCfg
    from sdops_dvc.synthesizers.dp_adapter import plan_columns

    df = pd.DataFrame({"age": [30, 40], "flag": ["no", "yes"]})
    meta = {
        "tables": {
            "t": {"columns": {"age": {"sdtype": "numerical"}, "flag": {"sdtype": "categorical"}}}
        }
    }
    with pytest.raises(ConfigError) as info:
        plan_columns(df, meta, DPCfg(rho=0.1, categories={"flag": [False, True]}))
    text = str(info.value)
    assert "age: numerical, needs public bounds" in text
    assert "quote them" in text  # YAML read no/yes as booleans
    codes = plan_columns(df, meta, DPCfg(rho=0.1, bounds={"age": (0, 100)}, bins=4))
    assert codes[0].edges == [0.0, 25.0, 50.0, 75.0, 100.0] and codes[0].integer
