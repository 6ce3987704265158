"""Approval providers behind one Protocol, in one dict: where a release's approvals come
from (``release.approvals.provider``).

- ``git``: signed ``Approved-by:`` trailers on commits (:mod:`sdops_dvc.registry.approvals`);
- ``github``, ``gitlab``: forge reviews of the final commit (:mod:`sdops_dvc.registry.hosted`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sdops_dvc.registry import hosted
from sdops_dvc.registry.approvals import Basis, Collected, collect_git

if TYPE_CHECKING:
    from git import Repo as GitRepo


class Provider(Protocol):
    def __call__(self, repo: GitRepo, basis: Basis) -> Collected: ...


def _github(repo: GitRepo, basis: Basis) -> Collected:
    return hosted.github(repo, basis.cfg, repo.head.commit.hexsha)


def _gitlab(repo: GitRepo, basis: Basis) -> Collected:
    return hosted.gitlab(repo, basis.cfg, repo.head.commit.hexsha)


PROVIDERS: dict[str, Provider] = {"git": collect_git, "github": _github, "gitlab": _gitlab}


def collect(repo: GitRepo, basis: Basis) -> Collected:
    """Approvals of HEAD under the policy in force (the last release's): each of its roles
    needs one counted approval."""
    cfg = basis.cfg
    if not cfg.roles:
        if cfg.required:
            return Collected(
                problems=[
                    "approvals: no approval roles are configured (release.approvals.roles); "
                    "name who approves (roles: {privacy: [EMAIL]}), or declare "
                    "`release.approvals.required: false` to release without approvals "
                    "(recorded in the tag)"
                ]
            )
        return Collected(notes=["approvals not required (release.approvals.required: false)"])
    return PROVIDERS[cfg.provider](repo, basis)
