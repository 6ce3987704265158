"""Approvals from a forge: GitHub pull-request reviews, GitLab merge-request approvals.

Token from the environment (``GITHUB_TOKEN`` / ``GITLAB_TOKEN``); API base from
``GITHUB_API_URL`` (default https://api.github.com) or ``GITLAB_API_URL`` / ``CI_API_V4_URL``
(default https://gitlab.com/api/v4). Role holders are user names, or ``@org/team`` for
GitHub teams.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from sdops_dvc.domain.config import ApprovalsCfg
from sdops_dvc.domain.records import ApprovalRecord
from sdops_dvc.registry.approvals import Collected, collected

if TYPE_CHECKING:
    from git import Repo as GitRepo


class ForgeError(Exception):
    pass


def _get(url: str, headers: dict[str, str]) -> Any:
    req = urllib.request.Request(url, headers={**headers, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise ForgeError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ForgeError(f"{url}: {exc.reason}") from None


def _slug_from_origin(repo: GitRepo) -> str | None:
    for remote in getattr(repo, "remotes", []):
        if remote.name == "origin":
            url = next(iter(remote.urls), "")
            m = re.search(r"[:/]([^/:]+/[^/]+?)(?:\.git)?$", url)
            return m.group(1) if m else None
    return None


def github(repo: GitRepo, cfg: ApprovalsCfg, sha: str) -> Collected:
    return collected(*_github(repo, cfg, sha))


def _github(
    repo: GitRepo, cfg: ApprovalsCfg, sha: str
) -> tuple[list[ApprovalRecord], list[str], list[str]]:
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        return (
            [],
            ["approvals: GITHUB_TOKEN is not set (provider github needs it to read reviews)"],
            [],
        )
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    slug = cfg.repository or _slug_from_origin(repo)
    if not slug:
        return [], ["approvals: set release.approvals.repository to OWNER/NAME"], []
    h = {"Authorization": f"Bearer {token}", "X-GitHub-Api-Version": "2022-11-28"}
    try:
        pulls = _get(f"{base}/repos/{slug}/commits/{sha}/pulls", h) or []
        merged = [p for p in pulls if p.get("merged_at")] or pulls
        if not merged:
            return [], [f"approvals: no pull request on {slug} contains {sha[:10]}"], []
        pr = merged[0]
        head_sha = (pr.get("head") or {}).get("sha")
        author = ((pr.get("user") or {}).get("login") or "").lower()
        latest = _latest_reviews(f"{base}/repos/{slug}/pulls/{pr['number']}/reviews", h)
        ignored: list[str] = []
        approvers = []
        for user, r in sorted(latest.items()):
            if r["state"] != "APPROVED":
                continue
            if not head_sha or r.get("commit_id") != head_sha:
                ignored.append(
                    f"{user}: void, the review is of {str(r.get('commit_id'))[:10]}, not the pull "
                    f"request's final commit {str(head_sha)[:10]}"
                )
            elif cfg.forbid_self_approval and user.lower() == author:
                ignored.append(f"{user}: self-approval of their own pull request")
            else:
                approvers.append(user)
        found = []
        for role, holders in cfg.roles.items():
            for user in approvers:
                if any(_github_holds(base, h, holder, user) for holder in holders):
                    found.append(
                        ApprovalRecord(role, user, f"{slug}#{pr['number']}", True, "github review")
                    )
    except ForgeError as exc:
        return [], [f"approvals: GitHub API: {exc}"], []
    return found, _missing(cfg, found, f"pull request #{pr['number']}"), ignored


def _latest_reviews(url: str, h: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each reviewer's last approving, change-requesting or dismissed review, every page
    read (chronological: the last state of each reviewer wins)."""
    latest: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        reviews = _get(f"{url}?per_page=100&page={page}", h) or []
        for r in reviews:
            if r.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[r["user"]["login"]] = r
        if len(reviews) < 100:
            return latest
        page += 1


def _github_holds(base: str, h: dict[str, str], holder: str, user: str) -> bool:
    holder = holder.strip()
    if holder.startswith("@") and "/" in holder:
        org, team = holder[1:].split("/", 1)
        m = _get(f"{base}/orgs/{org}/teams/{team}/memberships/{user}", h)
        return bool(m and m.get("state") == "active")
    return holder.lstrip("@").lower() == user.lower()


def gitlab(repo: GitRepo, cfg: ApprovalsCfg, sha: str) -> Collected:
    return collected(*_gitlab(repo, cfg, sha))


def _gitlab(
    repo: GitRepo, cfg: ApprovalsCfg, sha: str
) -> tuple[list[ApprovalRecord], list[str], list[str]]:
    token = os.environ.get("GITLAB_TOKEN")
    if not token:
        return (
            [],
            ["approvals: GITLAB_TOKEN is not set (provider gitlab needs it to read approvals)"],
            [],
        )
    base = (
        os.environ.get("GITLAB_API_URL")
        or os.environ.get("CI_API_V4_URL")
        or "https://gitlab.com/api/v4"
    ).rstrip("/")
    project = cfg.repository or os.environ.get("CI_PROJECT_ID") or _slug_from_origin(repo)
    if not project:
        return [], ["approvals: set release.approvals.repository to GROUP/PROJECT"], []
    pid = urllib.parse.quote(project, safe="")
    h = {"PRIVATE-TOKEN": token}
    try:
        mrs = _get(f"{base}/projects/{pid}/repository/commits/{sha}/merge_requests", h) or []
        merged = [m for m in mrs if m.get("state") == "merged"] or mrs
        if not merged:
            return [], [f"approvals: no merge request of {project} contains {sha[:10]}"], []
        mr = merged[0]
        data = _get(f"{base}/projects/{pid}/merge_requests/{mr['iid']}/approvals", h) or {}
        users = [a["user"]["username"] for a in data.get("approved_by", [])]
    except ForgeError as exc:
        return [], [f"approvals: GitLab API: {exc}"], []
    # GitLab resets approvals when commits are pushed (the project setting "Remove all
    # approvals when commits are added"); the approvals API names the MR's current state.
    author = ((mr.get("author") or {}).get("username") or "").lower()
    ignored = []
    if cfg.forbid_self_approval and author in [u.lower() for u in users]:
        ignored.append(f"{author}: self-approval of their own merge request")
        users = [u for u in users if u.lower() != author]
    found = [
        ApprovalRecord(role, u, f"{project}!{mr['iid']}", True, "gitlab approval")
        for role, holders in cfg.roles.items()
        for u in users
        if any(hd.lstrip("@").lower() == u.lower() for hd in holders)
    ]
    return found, _missing(cfg, found, f"merge request !{mr['iid']}"), ignored


def _missing(cfg: ApprovalsCfg, found: list[ApprovalRecord], where: str) -> list[str]:
    return [
        f"approvals: no approval from the {role!r} role ({', '.join(holders)}) on {where}"
        for role, holders in cfg.roles.items()
        if not any(a.role == role for a in found)
    ]
