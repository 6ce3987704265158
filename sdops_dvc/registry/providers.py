"""Approval providers behind one Protocol, in one dict: where a release's approvals come
from (``release.approvals.provider``).

- ``git``: signed ``Approved-by:`` trailers on commits (:mod:`sdops_dvc.registry.approvals`);
- ``github``, ``gitlab``: forge reviews of the final commit (:mod:`sdops_dvc.registry.hosted`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sdops_dvc.config import ApprovalsCfg
from sdops_dvc.registry import hosted
from sdops_dvc.registry.approvals import Collected, collect_git

if TYPE_CHECKING:
    from git import Repo as GitRepo


class Provider(Protocol):
    def __call__(
        self, repo: GitRepo, cfg: ApprovalsCfg, since: str | None, since_tag: str | None
    ) -> Collected: ...


def _github(
    repo: GitRepo, cfg: ApprovalsCfg, since: str | None, since_tag: str | None
) -> Collected:
    return hosted.github(repo, cfg, repo.head.commit.hexsha)


def _gitlab(
    repo: GitRepo, cfg: ApprovalsCfg, since: str | None, since_tag: str | None
) -> Collected:
    return hosted.gitlab(repo, cfg, repo.head.commit.hexsha)


PROVIDERS: dict[str, Provider] = {"git": collect_git, "github": _github, "gitlab": _gitlab}


def collect(
    repo: GitRepo, cfg: ApprovalsCfg, since: str | None, since_tag: str | None
) -> Collected:
    """Approvals of HEAD: each configured role needs one counted approval."""
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
    return PROVIDERS[cfg.provider](repo, cfg, since, since_tag)
