"""params.yaml validation: every bad key is named, with the closest valid key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.domain.config import GatesCfg, load_params, parse_params

BASE = {
    "dataset": {"name": "credit", "target": "card"},
    "source": {"path": "data/credit.csv", "snapshot_id": "s://1", "md5": "0" * 32},
}


def _with(**sections: object) -> dict[str, object]:
    data: dict[str, object] = {k: dict(v) for k, v in BASE.items()}  # type: ignore[call-overload]
    data.update(sections)
    return data


def _err(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_params(data, Path("params.yaml"))
    return str(info.value)


def test_minimal_params_get_defaults() -> None:
    p = parse_params(_with(), Path("params.yaml"))
    assert p.split.ratio == 0.8
    assert p.generator.family == "gaussian_copula"
    assert p.output.format == "csv"
    assert p.gates.quality.enabled is True


def test_misspelled_key_is_named_with_suggestion() -> None:
    msg = _err(_with(generator={"family": "ctgan", "sed": 3}))
    assert "generator.sed: unknown key (did you mean 'seed'?)" in msg


def test_several_errors_are_all_listed() -> None:
    msg = _err(_with(generator={"sed": 3}, gates={"qualty": {}}, split={"ratio": 1.5}))
    assert "generator.sed" in msg
    assert "gates.qualty: unknown key (did you mean 'quality'?)" in msg
    assert "split.ratio" in msg and "between 0 and 1" in msg


def test_unknown_family() -> None:
    msg = _err(_with(generator={"family": "ctgn"}))
    assert "unknown generator family 'ctgn' (did you mean 'ctgan'?)" in msg


def test_parameter_the_family_does_not_take() -> None:
    msg = _err(_with(generator={"family": "gaussian_copula", "parameters": {"epochs": 3}}))
    assert "family gaussian_copula takes no parameter 'epochs'" in msg
    msg = _err(_with(generator={"family": "ctgan", "parameters": {"epoch": 3}}))
    assert "(did you mean 'epochs'?)" in msg


def test_constraints_are_checked() -> None:
    msg = _err(_with(generator={"constraints": [{"type": "Inequalty", "args": {}}]}))
    assert "unknown constraint type 'Inequalty' (did you mean 'Inequality'?)" in msg
    msg = _err(
        _with(generator={"constraints": [{"type": "Inequality", "args": {"low_column_name": "a"}}]})
    )
    assert "needs high_column_name" in msg
    msg = _err(
        _with(
            generator={
                "constraints": [
                    {
                        "type": "Range",
                        "args": {
                            "low_column_name": "a",
                            "middle_column_name": "b",
                            "high_column_name": "c",
                            "strict": True,
                        },
                    }
                ]
            }
        )
    )
    assert "takes no argument 'strict'" in msg


def test_missing_required_section_and_bad_name() -> None:
    assert "source: required key is missing" in _err({"dataset": {"name": "x"}})
    assert "dataset.name" in _err(_with(dataset={"name": "bad name!"}))


def test_bad_md5_pin() -> None:
    assert "source.md5" in _err(_with(source={"path": "a", "snapshot_id": "s", "md5": "xyz"}))


def test_not_a_mapping() -> None:
    assert "expected a mapping" in _err(["a", "b"])


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("dataset:\n  name: x\n source: [\n")
    with pytest.raises(ConfigError) as info:
        load_params(path)
    assert "not valid YAML at line" in str(info.value)


def test_missing_params_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sdops init"):
        load_params(tmp_path / "params.yaml")


def test_template_params_are_valid(tmp_path: Path) -> None:
    from sdops_dvc.setup.project import Charter, render_params

    text = render_params(
        {
            "name": "n",
            "target": None,
            "source_path": "a.csv",
            "snapshot_id": "s",
            "source_md5": "0" * 32,
            "family": "ctgan",
            "decimals": {},
            "discrete": [],
            "parameters": {},
            **Charter().template_values(),
        },
    )
    data = yaml.safe_load(text)
    p = parse_params(data, Path("params.yaml"))
    assert p.generator.family == "ctgan" and p.dataset.target is None
    # the gates init writes are every threshold of the metric table, at its default
    assert data["gates"] == GatesCfg().model_dump(mode="json", by_alias=True)


# -- issue 11.8: every value is validated before a library sees it --------------------------


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("generator", {"seed": -3}, "generator.seed"),
        ("generator", {"seed": 2**70}, "generator.seed"),
        ("generator", {"seed": True}, "must be a whole number, not True"),
        ("generator", {"num_rows": "100"}, "must be a whole number, not '100'"),
        ("split", {"seed": -1}, "split.seed"),
        ("generator", {"family": "ctgan", "parameters": {"batch_size": 7}}, "multiple of pac"),
        ("generator", {"family": "ctgan", "parameters": {"batch_size": 30, "pac": 4}}, "pac (4)"),
        ("generator", {"family": "ctgan", "parameters": {"epochs": "many"}}, "positive integer"),
        ("generator", {"family": "ctgan", "parameters": {"epochs": 10**9}}, "allow_large_runs"),
        ("generator", {"family": "tvae", "parameters": {"batch_size": 5}}, "even for tvae"),
        (
            "generator",
            {"parameters": {"numerical_distributions": {"income": "cauchy"}}},
            "not one of SDV's distributions",
        ),
        ("generator", {"parameters": {"default_distribution": "pareto"}}, "SDV's distributions"),
        ("generator", {"torch_threads": 1000}, "between 1 and 256"),
        ("generator", {"num_rows": 10**9}, "allow_large_runs"),
        ("gates", {"privacy": {"alpha": 0}}, "could never fail"),
        ("gates", {"privacy": {"alpha": 0.6}}, "(0, 0.5]"),
        ("gates", {"quality": {"enabled": "no"}}, "true or false"),
        ("split", {"ratio": True}, "must be a number, not bool"),
        ("budget", {"epsilon": float("inf")}, "finite"),
        (
            "generator",
            {"family": "mst", "privacy": {"epsilon": 1.0, "bounds": {"age": "TODO"}}},
            "placeholders",
        ),
        ("release", {"approvals": {"require_signed": True}}, "replaced by allow_unverified"),
    ],
)
def test_values_are_checked_by_type_and_range(section: str, value: object, expected: str) -> None:
    assert expected in _err(_with(**{section: value}))


def test_ceilings_lift_with_an_explicit_override() -> None:
    p = parse_params(
        _with(
            generator={"family": "ctgan", "allow_large_runs": True, "parameters": {"epochs": 20000}}
        ),
        Path("params.yaml"),
    )
    assert p.generator.parameters["epochs"] == 20000


def test_sdv_distribution_list_is_sdvs_own() -> None:
    from sdv.single_table.copulas import GaussianCopulaSynthesizer

    from sdops_dvc.domain.families import DISTRIBUTIONS

    assert set(DISTRIBUTIONS) == set(GaussianCopulaSynthesizer._DISTRIBUTIONS)


def test_duplicate_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "dataset: {name: credit}\nsource: {path: a.csv, snapshot_id: s}\n"
        "gates:\n  quality: {min_column_shapes: 0.9}\n"
        "gates:\n  privacy: {alpha: 0.1}\n"
    )
    with pytest.raises(
        ConfigError, match=r"duplicate key 'gates' \(first at line 3, again at line 5\)"
    ):
        load_params(path)


def test_exponent_numbers_read_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "dataset: {name: credit}\nsource: {path: a.csv, snapshot_id: s}\nbudget: {delta: 1e-5}\n"
    )
    assert load_params(path).budget.delta == 1e-5


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary", "caf\xe9".encode("latin-1")])
def test_binary_params_file_is_a_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"not a params file|not UTF-8"):
        load_params(path)


def test_params_path_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_params(tmp_path / "params.yaml")


def test_each_gate_section_declares_its_gates_thresholds_as_typed_attributes() -> None:
    """The sections are written out (mypy reads ``gates.privacy.max_dcr_share``), and each
    holds exactly its gate's thresholds from the metric table, in table order, with the
    table's defaults and comments, and ``alpha`` where the table lists it."""
    from sdops_dvc.domain.metric_table import ALPHA_AFTER, thresholds_of

    gates = GatesCfg()
    for name in ("schema", "quality", "privacy", "subgroup", "fairness"):
        section = gates.schema_ if name == "schema" else getattr(gates, name)
        fields = type(section).model_fields
        expected = ["enabled"]
        for t in thresholds_of(name):
            expected.append(t.name)
            if ALPHA_AFTER.get(name) == t.name:
                expected.append("alpha")
        assert type(section).gate == name and list(fields) == expected
        for t in thresholds_of(name):
            assert fields[t.name].description == t.doc
            assert section.value(t) == t.default
        if "alpha" in fields:
            assert section.significance == 0.01
    assert gates.privacy.max_dcr_share == 0.55 and gates.subgroup.alpha == 0.01
    with pytest.raises(KeyError, match="no threshold"):
        gates.quality.value(thresholds_of("privacy")[0])  # another gate's threshold
    with pytest.raises(KeyError, match="tests nothing"):
        _ = gates.quality.significance


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("max_dcr_share", 1.5, "must be between 0 and 1"),
        ("alpha", 0.0, "must be in (0, 0.5]"),
        ("alpha", 0.7, "must be in (0, 0.5]"),
    ],
)
def test_a_privacy_threshold_out_of_range_is_named(key: str, value: float, says: str) -> None:
    from sdops_dvc.domain.config import PrivacyGateCfg

    with pytest.raises(ValueError, match=re.escape(says)):
        PrivacyGateCfg.model_validate({key: value})


def test_tabular_argn_parameters_are_checked_at_load() -> None:
    ok = parse_params(
        _with(generator={"family": "tabular_argn", "parameters": {"max_epochs": 5}}),
        Path("params.yaml"),
    )
    assert ok.generator.parameters == {"max_epochs": 5}
    msg = _err(
        _with(
            generator={
                "family": "tabular_argn",
                "parameters": {
                    "model": "MOSTLY_AI/Huge",
                    "max_epochs": 0,
                    "numeric_encoding": "binned",
                    "column_order": "alphabetical",
                    "value_protection": "yes",
                },
            }
        )
    )
    assert "MOSTLY_AI/Huge" in msg and "max_epochs must be a positive integer" in msg
    assert "numeric_encoding must be one of digits, auto" in msg
    assert "column_order must be 'table' or a list of column names" in msg
    assert "value_protection must be true or false" in msg
    msg = _err(_with(generator={"family": "tabular_argn", "parameters": {"max_epoch": 5}}))
    assert "(did you mean 'max_epochs'?)" in msg
    msg = _err(
        _with(
            generator={
                "family": "tabular_argn",
                "conditions": {
                    "rationale": "audit",
                    "groups": [{"values": {"card": "yes"}, "share": 1.0}],
                },
            }
        )
    )
    assert "cannot condition generation" in msg and "its own runtime" in msg
