"""GitHub and GitLab approval providers.

The forges cannot be reached from tests, so a local HTTP server on 127.0.0.1 serves the
response shapes their REST APIs document (GitHub: commits/{sha}/pulls, pulls/{n}/reviews,
orgs/{org}/teams/{team}/memberships/{user}; GitLab: repository/commits/{sha}/merge_requests,
merge_requests/{iid}/approvals). The repository and commits are real.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import git as gitpython
import pytest

from sdops_dvc.domain.config import ApprovalsCfg
from sdops_dvc.registry.approvals import Basis
from sdops_dvc.registry.providers import collect
from tests.conftest import git


@pytest.fixture
def merged(repo: Path) -> tuple[Any, str]:
    (repo / "a.txt").write_text("a")
    git("add", "a.txt", cwd=repo)
    git("commit", "-qm", "Merge pull request #7", cwd=repo)
    r = gitpython.Repo(repo)
    return r, r.head.commit.hexsha


def test_github_reviews_and_team_roles(
    forge: dict[str, Any], merged: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, sha = merged
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    routes = forge["routes"]
    routes[f"/repos/acme/claims/commits/{sha}/pulls"] = [
        {
            "number": 7,
            "merged_at": "2026-11-20T10:00:00Z",
            "head": {"sha": "f1na1"},
            "user": {"login": "dev"},
        }
    ]

    def review(user: str, state: str, at: str, commit: str = "f1na1") -> dict[str, Any]:
        return {"user": {"login": user}, "state": state, "submitted_at": at, "commit_id": commit}

    routes["/repos/acme/claims/pulls/7/reviews"] = [
        review("ana", "APPROVED", "2026-11-20T09:00:00Z"),
        review("bo", "APPROVED", "2026-11-20T09:05:00Z"),
        review("bo", "CHANGES_REQUESTED", "2026-11-20T09:30:00Z"),
        review("cy", "COMMENTED", "2026-11-20T09:40:00Z"),
    ]
    routes["/orgs/acme/teams/privacy/memberships/ana"] = {"state": "active", "role": "member"}
    cfg = ApprovalsCfg(
        provider="github",
        repository="acme/claims",
        roles={"privacy": ["@acme/privacy"], "data-owner": ["bo", "cy"]},
    )
    c = collect(repo, Basis(cfg, None, None, None, None))
    found, problems = c.approvals, c.problems
    assert [(a.role, a.by, a.commit) for a in found] == [("privacy", "ana", "acme/claims#7")]
    assert found[0].verified and found[0].method == "github review"
    # bo's latest review requests changes and cy only commented: no data-owner approval
    assert problems == [
        "approvals: no approval from the 'data-owner' role (bo, cy) on pull request #7"
    ]
    assert all(s["auth"] == "Bearer t0ken" for s in forge["seen"])

    # a review of an earlier commit does not approve the final one (GitHub's stale reviews)
    routes["/repos/acme/claims/pulls/7/reviews"].append(
        review("bo", "APPROVED", "2026-11-20T09:50:00Z", commit="0ld")
    )
    c = collect(repo, Basis(cfg, None, None, None, None))
    assert any("bo: void, the review is of 0ld" in p for p in c.problems)
    # the pull request's author cannot approve it
    cfg_dev = cfg.model_copy(update={"roles": {"data-owner": ["dev"]}})
    routes["/repos/acme/claims/pulls/7/reviews"].append(
        review("dev", "APPROVED", "2026-11-20T09:55:00Z")
    )
    c = collect(repo, Basis(cfg_dev, None, None, None, None))
    assert c.approvals == [] and any("dev: self-approval" in p for p in c.problems)

    routes["/repos/acme/claims/pulls/7/reviews"].append(
        review("bo", "APPROVED", "2026-11-20T10:00:00Z")
    )
    c = collect(repo, Basis(cfg, None, None, None, None))
    assert c.problems == [] and {a.role for a in c.approvals} == {"privacy", "data-owner"}


def test_gitlab_merge_request_approvals(
    forge: dict[str, Any], merged: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, sha = merged
    monkeypatch.setenv("GITLAB_TOKEN", "glpat")
    routes = forge["routes"]
    routes[f"/projects/data%2Fclaims/repository/commits/{sha}/merge_requests"] = [
        {"iid": 12, "state": "merged", "author": {"username": "bo"}}
    ]
    routes["/projects/data%2Fclaims/merge_requests/12/approvals"] = {
        "approved": True,
        "approved_by": [
            {"user": {"username": "ana", "name": "Ana"}},
            {"user": {"username": "bo", "name": "Bo"}},
        ],
    }
    cfg = ApprovalsCfg(
        provider="gitlab",
        repository="data/claims",
        roles={"privacy": ["ana"], "data-owner": ["bo"]},
    )
    c = collect(repo, Basis(cfg, None, None, None, None))
    assert [(a.role, a.by, a.commit) for a in c.approvals] == [("privacy", "ana", "data/claims!12")]
    # bo wrote the merge request: his approval of it is self-approval
    assert c.problems == [
        "approvals: no approval from the 'data-owner' role (bo) on merge request !12",
        "approvals: not counted: bo: self-approval of their own merge request",
    ]
    assert forge["seen"][0]["auth"] == "glpat"


def test_missing_token_or_pull_request_is_a_clear_reason(
    forge: dict[str, Any], merged: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = merged
    cfg = ApprovalsCfg(provider="github", repository="acme/claims", roles={"privacy": ["ana"]})
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert collect(repo, Basis(cfg, None, None, None, None)).problems == [
        "approvals: GITHUB_TOKEN is not set (provider github needs it to read reviews)"
    ]
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    problems = collect(repo, Basis(cfg, None, None, None, None)).problems
    assert len(problems) == 1 and "no pull request on acme/claims contains" in problems[0]


@pytest.mark.parametrize(
    ("status", "provider"),
    [
        (HTTPStatus.UNAUTHORIZED, "github"),
        (HTTPStatus.FORBIDDEN, "github"),  # rate limited, or a token without repo scope
        (HTTPStatus.INTERNAL_SERVER_ERROR, "github"),
        (HTTPStatus.UNAUTHORIZED, "gitlab"),
        (HTTPStatus.BAD_GATEWAY, "gitlab"),
    ],
)
def test_a_forge_http_error_is_a_reason_naming_the_status(
    forge: dict[str, Any],
    merged: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    status: HTTPStatus,
    provider: str,
) -> None:
    repo, sha = merged
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITLAB_TOKEN", "t")
    path = (
        f"/repos/acme/claims/commits/{sha}/pulls"
        if provider == "github"
        else f"/projects/acme%2Fclaims/repository/commits/{sha}/merge_requests"
    )
    forge["routes"][path] = status
    cfg = ApprovalsCfg(provider=provider, repository="acme/claims", roles={"privacy": ["ana"]})
    collected = collect(repo, Basis(cfg, None, None, None, None))
    assert collected.approvals == []
    [problem] = collected.problems
    assert f"HTTP {status.value} {status.phrase}" in problem, problem
    assert forge["seen"] and forge["seen"][0]["path"].split("?")[0] == path


def test_an_unreachable_forge_is_a_reason_not_a_crash(
    merged: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed port on loopback: the connection is refused."""
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    repo, _ = merged
    cfg = ApprovalsCfg(provider="github", repository="acme/claims", roles={"privacy": ["ana"]})
    [problem] = collect(repo, Basis(cfg, None, None, None, None)).problems
    assert "Connection refused" in problem, problem
