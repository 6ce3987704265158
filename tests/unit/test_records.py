"""The typed records (in-process): what a release tag and a revocation carry, read
back from their JSON exactly, and malformed documents refused with a reason."""

from __future__ import annotations

import json

import pytest

from sdops_dvc.domain.records import (
    ApprovalRecord,
    BudgetException,
    BudgetRecord,
    ExceptionApproval,
    GateRecord,
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
