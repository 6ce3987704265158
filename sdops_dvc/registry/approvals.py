"""Approvals from git itself: ``Approved-by:`` / ``Reviewed-by:`` trailers on the commit
being released and every commit since the previous release (works offline, any forge)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Any

from sdops_dvc.config import ApprovalsCfg

TRAILER = re.compile(r"^(approved-by|reviewed-by):\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Approval:
    role: str
    by: str
    commit: str


def _matches(holder: str, approver: str) -> bool:
    h = holder.strip().lower()
    a = approver.strip().lower()
    m = re.match(r"^(.*?)\s*<([^>]+)>$", a)
    name, email = (m.group(1).strip(), m.group(2).strip()) if m else (a, a)
    return h in (a, name, email)


def _signed(repo_dir: str, sha: str) -> bool:
    proc = subprocess.run(
        ["git", "verify-commit", sha], cwd=repo_dir, capture_output=True, check=False
    )
    return proc.returncode == 0


def collect(repo: Any, cfg: ApprovalsCfg, since: str | None) -> tuple[list[Approval], list[str]]:
    """(approvals found, problems): every configured role needs one holder's approval."""
    if not cfg.roles:
        return [], []
    if cfg.provider != "git":
        from sdops_dvc.registry import hosted

        fetch = hosted.github if cfg.provider == "github" else hosted.gitlab
        return fetch(repo, cfg, repo.head.commit.hexsha)
    rev = f"{since}..HEAD" if since else "HEAD"
    commits = list(repo.iter_commits(rev))
    found: list[Approval] = []
    unsigned: list[str] = []
    for commit in commits:
        trailers = [m.group(2) for m in TRAILER.finditer(commit.message)]
        if not trailers:
            continue
        if cfg.require_signed and not _signed(repo.working_tree_dir, commit.hexsha):
            unsigned.append(commit.hexsha[:10])
            continue
        for approver in trailers:
            for role, holders in cfg.roles.items():
                if any(_matches(h, approver) for h in holders):
                    found.append(Approval(role, approver, commit.hexsha))
    problems = []
    for role, holders in cfg.roles.items():
        if not any(a.role == role for a in found):
            problems.append(
                f"approvals: no approval from the {role!r} role ({', '.join(holders)}) on the "
                f"{len(commits)} commit(s) since the last release; add a trailer "
                f"'Approved-by: NAME <EMAIL>' to the merge commit"
            )
    if unsigned:
        problems.append(
            f"approvals: trailers on unsigned commits were ignored (require_signed): {', '.join(unsigned)}"
        )
    return found, problems
