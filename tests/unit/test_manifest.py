"""manifest.py in-process: the digest covers everything but itself, any edit after sealing
is named, a file that is no manifest is refused with a readable error, and one model reads,
writes and generates the schema of a pipeline's manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ManifestInvalid
from sdops_dvc.domain.manifest import (
    Manifest,
    canonical_bytes,
    compute_digest,
    load,
    read,
    schema,
    seal,
    shipped_schema,
    validate,
)
from sdops_dvc.domain.records import RecordError


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


def test_a_pipeline_manifest_reads_as_typed_values_and_writes_its_own_bytes(
    pipeline_outputs: Path,
) -> None:
    doc = json.loads((pipeline_outputs / "release" / "manifest.json").read_text())
    m = Manifest.parse(doc)
    assert m.doc == doc  # read and written again: the same document, so the same bytes
    assert m.name == doc["dataset"]["name"] and m.digest.value == doc["digest"]["value"]
    assert m.synthetic.md5 == doc["outputs"]["synthetic"]["md5"]
    assert m.synthetic.rows == doc["outputs"]["synthetic"]["rows"]
    assert m.source.metadata.path == "metadata.json" and m.source.imported is None
    assert m.generator.seed == doc["generator"]["seed"]
    assert m.metrics["quality.column_shapes"] == doc["metrics"]["quality.column_shapes"]
    assert m.gates_passed == {g: v["passed"] for g, v in doc["gates"]["summary"].items()}
    assert not m.privacy_info.formal_guarantee and m.privacy_info.rho == 0.0
    assert m.retention_days == doc["policy"]["retention_days"]
    assert m.tables == {m.name: m.synthetic} and m.entity == m.name and not m.multi_table
    edited = {**doc, "generator": {**doc["generator"], "seed": doc["generator"]["seed"] + 1}}
    read_back, problems = read(edited)  # fits the model, but its digest no longer matches
    assert read_back is not None and read_back.generator.seed == edited["generator"]["seed"]
    assert len(problems) == 1 and "edited after it was sealed" in problems[0]
    assert read({**doc, "policy": None})[0] is None
    for broken, says in [
        (
            {**doc, "outputs": {k: v for k, v in doc["outputs"].items() if k != "synthetic"}},
            "outputs: pins no synthetic output",
        ),
        (
            {**doc, "split": {**doc["split"], "seed": "42"}},
            "split/seed: Input should be a valid integer",
        ),
        ({**doc, "dataset": {**doc["dataset"], "rows": 3}}, "dataset/rows: Extra inputs"),
        ({**doc, "relational": None}, "'relational' is left out when it does not apply"),
    ]:
        with pytest.raises(RecordError, match=re.escape(says)):
            Manifest.parse(broken)


def test_the_shipped_schema_is_the_models(pipeline_outputs: Path) -> None:
    """The JSON Schema in the wheel is generated from the model (regenerate it with
    ``python -m sdops_dvc.domain.manifest``), and it judges documents as the model does (one
    difference, by JSON Schema's definition: its ``integer`` admits 7.0, the model does not)."""
    from jsonschema import Draft202012Validator

    assert shipped_schema() == schema(), "run `python -m sdops_dvc.domain.manifest` and commit it"
    Draft202012Validator.check_schema(shipped_schema())
    outside = Draft202012Validator(shipped_schema())
    doc = json.loads((pipeline_outputs / "release" / "manifest.json").read_text())
    dp = {
        "mechanism": "mst",
        "formal_guarantee": True,
        "budget_scope": doc["privacy"]["budget_scope"],
    }
    cases = {
        "as written": doc,
        "no policy": {k: v for k, v in doc.items() if k != "policy"},
        "an unknown block": {**doc, "extra": {}},
        "a text seed": {**doc, "generator": {**doc["generator"], "seed": "7"}},
        "a bad md5": {
            **doc,
            "split": {**doc["split"], "train": {**doc["split"]["train"], "md5": "x"}},
        },
        "a null rows": {
            **doc,
            "split": {**doc["split"], "train": {**doc["split"]["train"], "rows": None}},
        },
        "ratio 1": {**doc, "split": {**doc["split"], "ratio": 1.0}},
        "a family note": {**doc, "privacy": {**doc["privacy"], "note": "anything"}},
        "DP without its accounting": {**doc, "privacy": dp},
        "schema version 2": {**doc, "schema_version": 2},
        "a metric as text": {**doc, "metrics": {"quality.column_shapes": "0.9"}},
    }
    verdicts = {
        name: (not list(outside.iter_errors(case)), not _model_problems(case))
        for name, case in cases.items()
    }
    assert all(a == b for a, b in verdicts.values()), verdicts
    assert {n for n, (ok, _) in verdicts.items() if ok} == {"as written", "a family note"}


def _model_problems(doc: dict[str, object]) -> list[str]:
    return [p for p in validate(doc) if not p.startswith("digest: ")]
