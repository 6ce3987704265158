"""The registry's public read side (registry.reader.Registry), on a real release repository:
the same answers from the work tree and from the bare origin a consumer reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ReleaseUnavailable
from sdops_dvc.registry.reader import Registry
from tests.conftest import approve_release, lock_md5, sdops, tags


def test_registry_reads_releases_from_a_work_tree_and_from_origin(
    world: dict[str, Path],
) -> None:
    work, origin = world["work"], world["origin"]
    approve_release(work)
    sdops("release", cwd=work, check=True)
    approve_release(work, "Approve the second release")
    sdops("release", cwd=work, check=True)
    name = json.loads((work / "release/manifest.json").read_text())["dataset"]["name"]
    released = [t for t in tags(work) if t.startswith(f"{name}@v")]
    assert len(released) == 2
    synthetic_md5 = lock_md5(work, "generate", "data/synthetic/synthetic.csv")

    for location in (work, origin):
        registry = Registry.at(location)
        assert [r.tag for r in registry.releases(name)] == released
        found, rejected = registry.scan()
        assert [r.tag for r in found] == released and rejected == []
        current, manifest = registry.release(f"{name}@current")
        assert current.tag == released[-1] and registry.resolve(f"{name}@latest") == current
        assert manifest.name == name and manifest.synthetic.md5 == synthetic_md5
        params = registry.file_at(current, "params.yaml")
        assert params is not None and f"name: {name}" in params
        assert registry.file_at(current, "no/such/file") is None

    sdops("revoke", released[0], "--reason", "test", "--kind", "other", cwd=work, check=True)
    registry = Registry.at(work)
    with pytest.raises(ReleaseUnavailable, match="revoked"):
        registry.resolve(released[0])
    assert registry.resolve(released[0], live_only=False).status == "revoked"
    assert Registry.parse_reference(f"{name}@v1.0.0") == (name, "v1.0.0")
