"""The typed records (in-process): what a release tag, a revocation and a manifest carry, read
back from their JSON exactly, and malformed documents refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdops_dvc.records import (
    ApprovalRecord,
    BudgetException,
    BudgetRecord,
    ExceptionApproval,
    GateRecord,
    Manifest,
    RecordError,
    ReleaseRecord,
    RevocationRecord,
)


def _record(**changes: object) -> ReleaseRecord:
    from dataclasses import replace

    base = ReleaseRecord(
        name="credit",
        version="v1.0.0",
        commit="a" * 40,
        manifest_digest="b" * 64,
        gate=GateRecord({"schema": True, "quality": True, "privacy": None}),
        approvals=(ApprovalRecord("privacy", "Ana <ana@example.com>", "c" * 40, True, "git"),),
        approvals_required=True,
        approval_notes=("approvals: 1 of 1 roles",),
        releaser="Rel <rel@example.com>",
        released_at="2026-12-03T10:00:00Z",
        dvc_remote="store",
        pushed_to_origin=True,
        budget=BudgetRecord(
            "sha256:s",
            "sha256:l",
            "refs/sdops/budget/x",
            0.05,
            5e-7,
            "m1",
            {"epsilon": 2.0, "delta": None},
            None,
        ),
        budget_exception=BudgetException(
            "one-off", (ExceptionApproval("Dpo <dpo@example.com>", "d" * 40, True),)
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_release_record_reads_back_from_its_json() -> None:
    rec = _record()
    doc = json.loads(json.dumps(rec.as_json(), sort_keys=True))  # as the tag carries it
    assert doc["schema"] == "sdops-release/1"
    assert doc["published"] == {"dvc_remote": "store", "origin": True}
    assert doc["budget"]["spend"] == {"rho": 0.05, "delta0": 5e-7}
    assert ReleaseRecord.from_json(doc) == rec
    plain = _record(budget=None, budget_exception=None)
    assert "budget" not in plain.as_json() and "budget_exception" not in plain.as_json()
    assert ReleaseRecord.from_json(plain.as_json()) == plain


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ([], "not a JSON object"),
        ({"schema": "something-else"}, "carries no release record"),
        ({"schema": "sdops-release/1", "name": "x", "version": "v1.0.0"}, "has no 'commit'"),
    ],
)
def test_a_malformed_release_record_is_refused_with_the_reason(doc: object, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        ReleaseRecord.from_json(doc)


def test_a_revocation_reads_back_and_a_hand_made_one_still_names_its_release() -> None:
    rev = RevocationRecord(
        "credit@v1.1.0", "rare rows", "privacy", "Ana", "2026-12-03T10:00:00Z", ("ab",)
    )
    assert RevocationRecord.from_json(rev.as_json(), "ignored") == rev
    bare = RevocationRecord.from_json({}, "credit@v1.1.0")
    assert (bare.release, bare.kind, bare.reason, bare.purged_objects) == (
        "credit@v1.1.0",
        "other",
        "",
        None,
    )


def test_a_pipeline_manifest_reads_as_typed_values(pipeline_outputs: Path) -> None:
    doc = json.loads((pipeline_outputs / "release" / "manifest.json").read_text())
    m = Manifest.from_json(doc)
    assert m.doc == doc and m.name == doc["dataset"]["name"]
    assert m.digest == doc["digest"]["value"]
    assert m.synthetic.md5 == doc["outputs"]["synthetic"]["md5"]
    assert m.synthetic.rows == doc["outputs"]["synthetic"]["rows"]
    assert m.source.metadata is not None and m.source.metadata.path == "metadata.json"
    assert m.generator.seed == doc["generator"]["seed"]
    assert m.metrics["quality.column_shapes"] == doc["metrics"]["quality.column_shapes"]
    assert m.gates_passed == {g: v["passed"] for g, v in doc["gates"]["summary"].items()}
    assert not m.privacy.formal_guarantee and m.privacy.rho == 0.0
    assert m.retention_days == doc["policy"]["retention_days"]
    broken = {**doc, "outputs": {}}
    with pytest.raises(RecordError, match="no synthetic output"):
        Manifest.from_json(broken)
