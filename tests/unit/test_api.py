"""Consumers get columns typed as the release's metadata declares (pure, no git)."""

from __future__ import annotations

import pandas as pd

from sdops_dvc.api import typed
from sdops_dvc.registry.incidents import pin
from sdops_dvc.registry.releases import parse_reference
from sdops_dvc.registry.remote import dvc_location, is_remote


def test_columns_come_back_typed_as_released() -> None:
    df = pd.DataFrame(
        {
            "flag": [True, None],
            "word": ["yes", "no"],  # declared boolean but not true/false: left as read
            "cat": ["x", "y"],
            "when": ["2020-01-02", "not a date"],
            "n": [1, 2],
        }
    )
    columns = {
        "flag": {"sdtype": "boolean"},
        "word": {"sdtype": "boolean"},
        "cat": {"sdtype": "categorical"},
        "when": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
        "n": {"sdtype": "numerical"},
    }
    out = typed(df, {"tables": {"t": {"columns": columns}}})
    assert str(out["flag"].dtype) == "boolean" and out["word"].dtype == object
    assert str(out["cat"].dtype) == "category" and list(out["cat"].cat.categories) == ["x", "y"]
    assert str(out["when"].dtype).startswith("datetime64") and out["when"].isna().tolist() == [
        False,
        True,
    ]
    assert out["n"].tolist() == [1, 2] and df["cat"].dtype == object  # the input is untouched


def test_references_and_pins_have_one_spelling() -> None:
    assert parse_reference("claims@1.2.0") == ("claims", "v1.2.0")
    assert parse_reference("claims@v1.2.0") == ("claims", "v1.2.0")
    assert parse_reference("claims") == ("claims", "current")
    assert parse_reference("claims#prod") == ("claims", "current")
    assert parse_reference("claims@latest") == ("claims", "latest")
    assert [pin(v) for v in ("1.2.0", "v1.2.0", "Current", "prod", "latest")] == [
        "v1.2.0",
        "v1.2.0",
        "current",
        "current",
        "latest",
    ]


def test_locations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert is_remote("https://example.invalid/acme/claims.git")
    assert is_remote("git@example.invalid:acme/claims.git")
    assert not is_remote(tmp_path)  # a plain directory
    bare = tmp_path / "b.git"
    (bare / "objects").mkdir(parents=True)
    (bare / "HEAD").write_text("ref: refs/heads/main\n")
    assert is_remote(bare) and dvc_location(bare) == str(bare.resolve())
