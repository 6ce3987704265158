"""Edits of files people wrote change only what they set (pure text, no git)."""

from __future__ import annotations

import pytest

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.base.yamlio import dump_round_trip, round_trip, set_scalars

TEXT = (
    "# top comment\n"
    "source:\n"
    '  path: "a.csv"\n'
    "  snapshot_id: plain-id   # a comment\n"
    "  md5: 'abc'  # pin\n"
    "  empty:\n"
    "  tilde: ~\n"
    "  spelled: null\n"
    "list: [1, 2]\n"
)


def test_set_scalars_touches_only_the_values_it_sets() -> None:
    out = set_scalars(
        TEXT,
        {("source", "md5"): "f00", ("source", "snapshot_id"): "warehouse://x/2026 05"},
        "params.yaml",
    )
    changed = [(a, b) for a, b in zip(TEXT.splitlines(), out.splitlines(), strict=True) if a != b]
    assert changed == [
        (
            "  snapshot_id: plain-id   # a comment",
            '  snapshot_id: "warehouse://x/2026 05"   # a comment',
        ),
        ("  md5: 'abc'  # pin", "  md5: 'f00'  # pin"),  # its quoting style kept
    ]
    assert round_trip().load(out)["source"]["snapshot_id"] == "warehouse://x/2026 05"
    filled = set_scalars(TEXT, {("source", "empty"): "now"}, "params.yaml")
    assert "  empty: now\n" in filled and "  tilde: ~\n" in filled


def test_set_scalars_refuses_a_missing_key() -> None:
    with pytest.raises(ConfigError, match=r"source\.nope is missing"):
        set_scalars(TEXT, {("source", "nope"): "x"}, "params.yaml")


def test_round_trip_writes_null_as_null() -> None:
    doc = round_trip().load("a:\n  b: null\n  c: 1\n")
    doc["a"]["c"] = 2
    assert dump_round_trip(doc) == "a:\n  b: null\n  c: 2\n"
