"""manifest.py in-process: the digest covers everything but itself, any edit after sealing
is named, and a file that is no manifest is refused with a readable error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdops_dvc.errors import ManifestInvalid
from sdops_dvc.manifest import canonical_bytes, compute_digest, load, seal, validate


def test_the_digest_ignores_key_order_and_whitespace_but_not_content() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": "é"}}
    b = json.loads(json.dumps(a, indent=4, sort_keys=False))
    assert canonical_bytes(a) == canonical_bytes(b) == '{"a":{"x":"é","y":[1,2]},"b":1}'.encode()
    sealed = seal(a)
    assert sealed["digest"] == {"algorithm": "sha256", "value": compute_digest(a)}
    assert compute_digest(sealed) == compute_digest(a)  # the digest is left out of itself
    assert compute_digest({**a, "b": 2}) != compute_digest(a)
    with pytest.raises(ValueError):
        canonical_bytes({"x": float("nan")})  # not JSON: no manifest may hold it


def test_an_edit_after_sealing_is_named_as_a_digest_mismatch() -> None:
    sealed = seal({"schema_version": 1, "dataset": {"name": "t"}})
    edited = {**sealed, "dataset": {"name": "u"}}
    problems = validate(edited)
    assert any(p.startswith("digest: recorded") and "edited after" in p for p in problems)
    assert not any(p.startswith("digest:") for p in validate(sealed))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_a_file_that_is_no_manifest_is_refused(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(ManifestInvalid, match=says):
        load(path)
    with pytest.raises(ManifestInvalid, match="does not exist"):
        load(tmp_path / "missing.json")
    with pytest.raises(ManifestInvalid, match="is a directory"):
        load(tmp_path)
