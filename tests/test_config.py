"""params.yaml validation: every bad key is named, with the closest valid key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdops_dvc.config import load_params, parse_params
from sdops_dvc.errors import ConfigError

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
    from sdops_dvc.templates import render

    text = render(
        "params.yaml",
        {
            "name": "n",
            "target": None,
            "source_path": "a.csv",
            "snapshot_id": "s",
            "source_md5": "0" * 32,
            "family": "ctgan",
        },
    )
    data = yaml.safe_load(text)
    p = parse_params(data, Path("params.yaml"))
    assert p.generator.family == "ctgan" and p.dataset.target is None
