"""The records a release leaves behind, as typed values: the release record its tag carries,
the revocation record and a release's privacy claim (the manifest itself is
:class:`sdops_dvc.domain.manifest.Manifest`).

Pure: no git, no files. Each record turns into JSON (``as_json``) where it is written and
back (``from_json``) where it is read, so ``dict[str, Any]`` lives only at those two edges.
``from_json`` raises :class:`RecordError` with a reason a person can read; callers decide
whether that makes a tag "not a release" or an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON = dict[str, Any]  # a JSON object at a read or write edge

RELEASE_SCHEMA = "sdops-release/1"
REVOCATION_SCHEMA = "sdops-revocation/1"


def utc_stamp() -> str:
    """UTC now, to the second, as every record writes it (``2026-01-02T03:04:05Z``)."""
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class RecordError(ValueError):
    """A JSON document is not the record it claims to be."""


def _obj(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise RecordError(f"{where} is not a JSON object")
    return data


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise RecordError(f"{where} has no {key!r}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _opt_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- release record -------------------------------------------------------------------------


@dataclass(frozen=True)
class GateRecord:
    """What the gate said at the released commit, as the release tag records it."""

    gates: dict[str, bool | None]
    approved: bool = True
    recomputed: bool = True
    reevaluated: bool = False
    # the release re-ran split and generate from the pinned inputs and got the same bytes
    # (False: released with --no-regenerate, or before sdops proved releases: unproven)
    regenerated: bool = False

    def as_json(self) -> JSON:
        return {
            "approved": self.approved,
            "recomputed": self.recomputed,
            "reevaluated": self.reevaluated,
            "regenerated": self.regenerated,
            "gates": dict(self.gates),
        }

    @classmethod
    def from_json(cls, data: Any) -> GateRecord:
        d = _obj(data, "the record's gate")
        gates = _obj(d.get("gates", {}), "the record's gates")
        return cls(
            {str(k): (bool(v) if v is not None else None) for k, v in gates.items()},
            bool(d.get("approved")),
            bool(d.get("recomputed")),
            bool(d.get("reevaluated")),
            bool(d.get("regenerated")),
        )


@dataclass(frozen=True)
class ApprovalRecord:
    """One counted approval (role, who, the approving commit, and how it was verified)."""

    role: str
    by: str
    commit: str | None = None
    verified: bool = False
    method: str | None = None

    def as_json(self) -> JSON:
        return {
            "role": self.role,
            "by": self.by,
            "commit": self.commit,
            "verified": self.verified,
            "method": self.method,
        }

    @classmethod
    def from_json(cls, data: Any) -> ApprovalRecord:
        d = _obj(data, "an approval")
        return cls(
            _str(d, "role", "an approval"),
            _str(d, "by", "an approval"),
            _opt_str(d, "commit"),
            bool(d.get("verified")),
            _opt_str(d, "method"),
        )


@dataclass(frozen=True)
class ExceptionApproval:
    """A ``Budget-exception-approved-by:`` trailer that counted."""

    by: str
    commit: str
    verified: bool

    def as_json(self) -> JSON:
        return {"by": self.by, "commit": self.commit, "verified": self.verified}


@dataclass(frozen=True)
class BudgetException:
    """``--budget-exception``: the reason, and who approved spending past the cap."""

    reason: str
    approved_by: tuple[ExceptionApproval, ...]

    def as_json(self) -> JSON:
        return {"reason": self.reason, "approved_by": [a.as_json() for a in self.approved_by]}

    @classmethod
    def from_json(cls, data: Any) -> BudgetException | None:
        if data is None:
            return None
        d = _obj(data, "the budget exception")
        approved = [_obj(a, "an exception approval") for a in d.get("approved_by") or ()]
        return cls(
            str(d.get("reason", "")),
            tuple(
                ExceptionApproval(
                    str(a.get("by", "")), str(a.get("commit", "")), bool(a.get("verified"))
                )
                for a in approved
            ),
        )


@dataclass(frozen=True)
class BudgetRecord:
    """The release's place in its privacy-budget ledger."""

    scope: str
    lineage: str
    ledger_ref: str
    rho: float
    delta0: float
    measurement_id: str | None
    cap: dict[str, float | None]
    after: JSON | None  # the standing after this release (ledger.standing_json)
    # the ledger commit this release appended: every later release requires origin's ledger
    # to descend from it, so deleting or rewinding the ledger cannot refund a spend
    ledger_tip: str | None = None

    def as_json(self) -> JSON:
        out: JSON = {
            "scope": self.scope,
            "lineage": self.lineage,
            "ledger_ref": self.ledger_ref,
            "spend": {"rho": self.rho, "delta0": self.delta0},
            "measurement_id": self.measurement_id,
            "cap": dict(self.cap),
            "after": self.after,
        }
        if self.ledger_tip is not None:
            out["ledger_tip"] = self.ledger_tip
        return out

    @classmethod
    def from_json(cls, data: Any) -> BudgetRecord:
        d = _obj(data, "the record's budget")
        spend = _obj(d.get("spend") or {}, "the record's spend")
        cap = _obj(d.get("cap") or {}, "the record's budget cap")
        after = d.get("after")
        return cls(
            _str(d, "scope", "the record's budget"),
            str(d.get("lineage", "")),
            _str(d, "ledger_ref", "the record's budget"),
            float(spend.get("rho", 0.0)),
            float(spend.get("delta0", 0.0)),
            _opt_str(d, "measurement_id"),
            {str(k): _opt_float(v) for k, v in cap.items()},
            dict(after) if isinstance(after, Mapping) else None,
            _opt_str(d, "ledger_tip"),
        )


@dataclass(frozen=True)
class ReleaseRecord:
    """The record an annotated release tag carries (schema ``sdops-release/1``)."""

    name: str
    version: str
    commit: str
    manifest_digest: str
    gate: GateRecord
    approvals: tuple[ApprovalRecord, ...]
    approvals_required: bool
    approval_notes: tuple[str, ...]
    releaser: str
    released_at: str
    dvc_remote: str | None
    pushed_to_origin: bool
    budget: BudgetRecord | None
    budget_exception: BudgetException | None = None
    # whose rules judged it: {"basis": the release they came from (null: the repository's
    # first release, trust on first use), "first_use", "changes": governing settings changed
    # since the basis, each loosened / tightened / changed, with the approvals covering it}
    governance: JSON | None = None
    origin_url: str | None = None  # where the release was published (the card's url)
    # evidence file name -> {"md5", "sha256"}: the card, provenance statement and datasheet
    # (sdops_dvc.registry.evidence), stored in the release remote; None before they existed
    evidence: dict[str, dict[str, str]] | None = None

    def as_json(self) -> JSON:
        out: JSON = {
            "schema": RELEASE_SCHEMA,
            "name": self.name,
            "version": self.version,
            "commit": self.commit,
            "manifest_digest": self.manifest_digest,
            "gate": self.gate.as_json(),
            "approvals": [a.as_json() for a in self.approvals],
            "approvals_required": self.approvals_required,
            "approval_notes": list(self.approval_notes),
            "releaser": self.releaser,
            "released_at": self.released_at,
            "published": {"dvc_remote": self.dvc_remote, "origin": self.pushed_to_origin},
        }
        if self.budget is not None:
            out["budget"] = self.budget.as_json()
        if self.budget_exception is not None:
            out["budget_exception"] = self.budget_exception.as_json()
        if self.governance is not None:
            out["governance"] = self.governance
        if self.origin_url is not None:
            out["published"]["origin_url"] = self.origin_url
        if self.evidence is not None:
            out["evidence"] = self.evidence
        return out

    @classmethod
    def from_json(cls, data: Any) -> ReleaseRecord:
        d = _obj(data, "its annotation")
        if d.get("schema") != RELEASE_SCHEMA:
            raise RecordError("its annotation carries no release record")
        where = "its release record"
        published = _obj(d.get("published") or {}, "the record's publication")
        return cls(
            name=_str(d, "name", where),
            version=_str(d, "version", where),
            commit=_str(d, "commit", where),
            manifest_digest=_str(d, "manifest_digest", where),
            gate=GateRecord.from_json(d.get("gate") or {}),
            approvals=tuple(ApprovalRecord.from_json(a) for a in d.get("approvals") or ()),
            approvals_required=bool(d.get("approvals_required", True)),
            approval_notes=tuple(str(n) for n in d.get("approval_notes") or ()),
            releaser=str(d.get("releaser", "")),
            released_at=str(d.get("released_at", "")),
            dvc_remote=_opt_str(published, "dvc_remote"),
            pushed_to_origin=bool(published.get("origin")),
            budget=BudgetRecord.from_json(d["budget"]) if d.get("budget") else None,
            budget_exception=BudgetException.from_json(d.get("budget_exception")),
            governance=d["governance"] if isinstance(d.get("governance"), dict) else None,
            origin_url=_opt_str(published, "origin_url"),
            evidence=_evidence(d.get("evidence")),
        )


def _evidence(data: Any) -> dict[str, dict[str, str]] | None:
    if not isinstance(data, Mapping):
        return None
    return {
        str(name): {str(k): str(v) for k, v in _obj(d, f"evidence {name!r}").items()}
        for name, d in data.items()
    }


# --- revocation record ----------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationRecord:
    """Why a release was deregistered (schema ``sdops-revocation/1``)."""

    release: str
    reason: str
    kind: str
    actor: str
    revoked_at: str
    purged_objects: tuple[str, ...] | None = None

    def as_json(self) -> JSON:
        out: JSON = {
            "schema": REVOCATION_SCHEMA,
            "release": self.release,
            "reason": self.reason,
            "kind": self.kind,
            "actor": self.actor,
            "revoked_at": self.revoked_at,
        }
        if self.purged_objects is not None:
            out["purged_objects"] = list(self.purged_objects)
        return out

    @classmethod
    def from_json(cls, data: Any, release: str) -> RevocationRecord:
        """A deregistration tag's record; a tag made by hand (no record) still revokes, with
        what is known: the release it names."""
        d = data if isinstance(data, Mapping) else {}
        purged = d.get("purged_objects")
        return cls(
            release=str(d.get("release") or release),
            reason=str(d.get("reason", "")),
            kind=str(d.get("kind", "other")),
            actor=str(d.get("actor", "")),
            revoked_at=str(d.get("revoked_at", "")),
            purged_objects=tuple(str(p) for p in purged) if isinstance(purged, list) else None,
        )


# --- privacy claim (read side) --------------------------------------------------------------


@dataclass(frozen=True)
class PrivacyInfo:
    """A release's privacy claim as the budget counts it: the mechanism and, for DP
    generators, the spend (from the manifest's privacy block, :class:`sdops_dvc.domain.manifest.
    PrivacyBlock`; all zero for a release without one)."""

    mechanism: str
    formal_guarantee: bool
    epsilon: float | None
    delta: float | None
    rho: float
    delta0: float
    measurement_id: str | None
    budget_scope: str | None
    source_lineage: str | None

    @classmethod
    def from_json(cls, data: Any) -> PrivacyInfo:
        d = data if isinstance(data, Mapping) else {}
        native = d.get("native") or {}
        formal = bool(d.get("formal_guarantee"))
        return cls(
            mechanism=str(d.get("mechanism", "none")),
            formal_guarantee=formal,
            epsilon=_opt_float(d.get("epsilon")),
            delta=_opt_float(d.get("delta")),
            rho=float(native.get("rho", 0.0)) if formal else 0.0,
            delta0=float(native.get("delta", 0.0)) if formal else 0.0,
            measurement_id=_opt_str(d, "measurement_id") if formal else None,
            budget_scope=_opt_str(d, "budget_scope"),
            source_lineage=_opt_str(d, "source_lineage"),
        )


def monitor_history(root: Path, name: str) -> list[JSON]:
    """Every monitor record of NAME committed under ``monitoring/NAME/`` (written by
    ``sdops monitor``), oldest first."""
    import json

    folder = root / "monitoring" / name
    records = (
        [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
        if folder.exists()
        else []
    )
    return sorted(records, key=lambda r: str(r.get("checked_at")))
