"""The GTO tag grammar: name/parse round trips, and agreement with GTO's own parser."""

from __future__ import annotations

import pytest

from sdops_dvc.registry.tags import (
    Version,
    assign_tag,
    deregister_tag,
    next_counter,
    parse_tag,
    register_tag,
)


@pytest.mark.parametrize("name", ["health-insurance", "claims_2026", "a", "A1"])
@pytest.mark.parametrize("version", ["v0.0.1", "v1.2.3", "v10.0.0"])
def test_round_trips_and_gto_agrees(name: str, version: str) -> None:
    from gto.tag import parse_name

    v = Version.parse(version)
    for tag, action in (
        (register_tag(name, v), "register"),
        (deregister_tag(name, v, 3), "deregister"),
        (assign_tag(name, "prod", 4), "assign"),
    ):
        parsed = parse_tag(tag)
        assert parsed is not None and parsed.name == name and parsed.action == action
        gto = parse_name(tag)
        assert gto["name"] == name and gto["action"].value == action
        if action != "assign":
            assert parsed.version == v and gto["version"] == version
        else:
            assert parsed.stage == gto["stage"] == "prod" and parsed.counter == gto["counter"] == 4


@pytest.mark.parametrize(
    "tag", ["v1.0.0", "name@1.0.0", "name@v1.0", "name#prod", "name@v1.0.0#2", "-x@v1.0.0"]
)
def test_other_tags_are_not_releases(tag: str) -> None:
    assert parse_tag(tag) is None


def test_versions_order_and_bump() -> None:
    assert Version.parse("v1.10.0") > Version.parse("v1.9.9")
    assert str(Version.parse("v1.2.3").bump("minor")) == "v1.3.0"
    assert str(Version.parse("v1.2.3").bump("major")) == "v2.0.0"
    assert str(Version.parse("v1.2.3").bump("patch")) == "v1.2.4"
    with pytest.raises(ValueError):
        Version.parse("1.2")


def test_counter_follows_gto() -> None:
    tags = ["d@v1.0.0", "d@v1.0.0!#1", "d#prod#2", "other#prod#7"]
    assert next_counter(tags, "d") == 3
    assert next_counter(tags, "new") == 1
