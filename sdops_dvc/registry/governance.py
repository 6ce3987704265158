"""Whose rules judge a release: the last release's (issue 25).

Nothing the releaser writes in the candidate commit may decide whether the candidate is
trusted. So the approvals policy (roles, signers file and its path, ``required``,
``allow_unverified``, ``forbid_self_approval``), the gate thresholds and the budget cap in
force are those of the last release of the dataset, and the allowed-signers file is read as
it was there. A change to any of them is valid only with a verified approval, under that old
policy, from the role that owns it (privacy thresholds and the budget: the privacy role;
anything else: every role), like a root rotation in The Update Framework. A dataset's first
release takes the approvals policy and signers of the repository's last release; only the
repository's first release trusts what HEAD says, and is recorded as trust on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.base.yamlio import loads
from sdops_dvc.domain.config import Params, params_dict, parse_params
from sdops_dvc.domain.records import ApprovalRecord
from sdops_dvc.registry.approvals import Basis
from sdops_dvc.registry.catalog import Release, params_beside_manifests
from sdops_dvc.review import flatten, threshold_change

if TYPE_CHECKING:
    from git import Repo as GitRepo

PRIVACY_ROLE = "privacy"
SECTIONS = ("gates", "budget", "release.approvals", "release.sign_tags")  # what governs a release


@dataclass(frozen=True)
class Change:
    """One governing setting that differs from the last release's."""

    key: str  # dotted, as in params.yaml
    old: Any
    new: Any
    change: str  # loosened, tightened or changed
    owners: tuple[str, ...]  # the roles whose verified approval it needs
    approved_by: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "old": self.old,
            "new": self.new,
            "change": self.change,
            "owners": list(self.owners),
            "approved_by": list(self.approved_by),
        }

    def describe(self) -> str:
        mark = " (LOOSENED)" if self.change == "loosened" else ""
        return f"{self.key}: {self.old!r} -> {self.new!r}{mark}"


@dataclass(frozen=True)
class Governance:
    """The rules a release is judged by, where they come from, and what changed since."""

    basis: Basis
    basis_tag: str | None  # the release whose rules apply (None: the repository's first)
    changes: tuple[Change, ...] = ()
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis_tag,
            "first_use": self.basis.first_use,
            "changes": [c.as_json() for c in self.changes],
        }


def _newest(rels: list[Release]) -> Release | None:
    return max(rels, key=lambda r: (r.time, r.version)) if rels else None


def pipeline_params(repo: GitRepo, rel: Release) -> tuple[str | None, Params | None, str]:
    """(path, params, why not) of the params.yaml beside release ``rel``'s manifest at its
    commit, wherever its pipeline sits in the repository."""
    for path, text in params_beside_manifests(repo.commit(rel.commit)):
        where = f"{path} at {rel.tag}"
        try:
            params = parse_params(loads(text, where), Path(where))
        except ConfigError as exc:
            return path, None, exc.message
        if params.dataset.name == rel.name:
            return path, params, ""
    return None, None, f"no params.yaml of {rel.name} is committed at {rel.tag}"


def _owners(key: str, roles: list[str]) -> tuple[str, ...]:
    privacy = key.startswith(("gates.privacy.", "budget."))
    if privacy and PRIVACY_ROLE in roles:
        return (PRIVACY_ROLE,)
    return tuple(roles)


def changes_between(old: Params, new: Params, sections: tuple[str, ...]) -> list[Change]:
    """Governing settings that differ (validated values, so a default written out or left out
    is no change), each with the roles of the old policy that own it."""
    fa, fb = flatten(params_dict(old)), flatten(params_dict(new))
    roles = sorted(old.release.approvals.roles)
    out: list[Change] = []
    for key in sorted(set(fa) | set(fb)):
        if not any(key == s or key.startswith(s + ".") for s in sections):
            continue
        if fa.get(key) == fb.get(key) or key.endswith(".require_signed"):
            continue
        kind = threshold_change(key, fa.get(key), fb.get(key)) or "changed"
        out.append(Change(key, fa.get(key), fb.get(key), kind, _owners(key, roles)))
    return out


def governing(
    repo: GitRepo, params: Params, known: list[Release], every: list[Release]
) -> Governance:
    """The rules of this release of ``params.dataset.name``: ``known`` are its releases,
    ``every`` the repository's."""
    head = repo.head.commit
    own, last_any = _newest(known), _newest(every)
    since = None
    if own is not None and repo.is_ancestor(repo.commit(own.commit), head):
        since = own.commit
    since_tag = own.tag if since and own else None
    basis_rel = own or last_any
    if basis_rel is None:  # the repository's first release: HEAD's rules, trust on first use
        return Governance(Basis(params.release.approvals, None, None, None, None), None)
    path, old, why = pipeline_params(repo, basis_rel)
    if old is None:
        return Governance(
            Basis(params.release.approvals, since, since_tag, basis_rel.commit, basis_rel.tag),
            basis_rel.tag,
            problems=[
                f"governance: the rules of {basis_rel.tag} cannot be read ({path or 'params.yaml'}: "
                f"{why}), and a candidate cannot set its own: restore a readable params.yaml "
                "history or release from a repository whose releases carry one"
            ],
        )
    # another dataset's release vouches for the approvals policy and signers, not thresholds
    sections = SECTIONS if own is not None else ("release.approvals", "release.sign_tags")
    changes = tuple(changes_between(old, params, sections))
    basis = Basis(old.release.approvals, since, since_tag, basis_rel.commit, basis_rel.tag)
    return Governance(basis, basis_rel.tag, changes)


def approve_changes(gov: Governance, approvals: list[ApprovalRecord]) -> Governance:
    """Each change with the verified approvals of its owners; the changes that lack one are
    the governance's problems. A policy that requires no approvals lets changes through
    (they are recorded all the same)."""
    cfg = gov.basis.cfg
    done: list[Change] = []
    problems = list(gov.problems)
    for c in gov.changes:
        by = tuple(
            sorted({f"{a.by} ({a.role})" for a in approvals if a.verified and a.role in c.owners})
        )
        done.append(replace(c, approved_by=by))
        missing = [r for r in c.owners if not any(a.verified and a.role == r for a in approvals)]
        if cfg.required and cfg.roles and missing:
            problems.append(
                f"governance: {c.describe()} changed since {gov.basis_tag}, whose rules judge "
                f"this release; the change needs a verified (signed) approval from the "
                f"{', '.join(repr(r) for r in missing)} role under those rules, and has none"
            )
    return replace(gov, changes=tuple(done), problems=problems)
