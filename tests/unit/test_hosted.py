"""registry/hosted.py in-process. GitHub cannot be reached from tests: the ``forge`` fixture
(tests/conftest.py) serves the response shapes its REST API documents on 127.0.0.1. The
repository is real. Reviews come in pages of 100, and a reviewer's last state wins across
pages; an API failure is a readable problem, not a crash."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import git as gitpython
import pytest

from sdops_dvc.domain.config import ApprovalsCfg
from sdops_dvc.registry.hosted import github
from tests.conftest import git

CFG = ApprovalsCfg(provider="github", repository="acme/claims", roles={"privacy": ["ana"]})


def _review(user: str, state: str, head: str) -> dict[str, Any]:
    return {"user": {"login": user}, "state": state, "commit_id": head}


def _pull(forge: dict[str, Any], repo: Path) -> tuple[gitpython.Repo, str]:
    (repo / "a.txt").write_text("a")
    git("add", "a.txt", cwd=repo)
    git("commit", "-qm", "Merge pull request #7", cwd=repo)
    r = gitpython.Repo(repo)
    sha = r.head.commit.hexsha
    pull = {
        "number": 7,
        "merged_at": "2026-12-01",
        "head": {"sha": "h" * 40},
        "user": {"login": "dev"},
    }
    forge["routes"][f"/repos/acme/claims/commits/{sha}/pulls"] = [pull]
    return r, sha


def test_a_reviewers_last_state_wins_across_pages(
    forge: dict[str, Any], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    r, sha = _pull(forge, repo)
    page1 = [_review(f"u{i}", "COMMENTED", "h" * 40) for i in range(99)]
    page1.append(_review("ana", "APPROVED", "h" * 40))
    url = "/repos/acme/claims/pulls/7/reviews?per_page=100&page="
    forge["routes"][url + "1"] = page1
    forge["routes"][url + "2"] = []
    found = github(r, CFG, sha)
    assert [a.by for a in found.approvals] == ["ana"] and found.problems == []
    # a full first page makes it ask for the second, where her later change request is
    forge["routes"][url + "2"] = [_review("ana", "CHANGES_REQUESTED", "h" * 40)]
    found = github(r, CFG, sha)
    assert found.approvals == [] and "no approval from the 'privacy' role" in found.problems[0]
    pages = [s["path"] for s in forge["seen"] if "/reviews" in s["path"]]
    assert pages == [url + "1", url + "2"] * 2


def test_a_failing_api_is_a_readable_problem(
    forge: dict[str, Any], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    r, sha = _pull(forge, repo)
    forge["routes"]["/repos/acme/claims/pulls/7/reviews"] = HTTPStatus.BAD_GATEWAY
    found = github(r, CFG, sha)
    assert found.approvals == [] and len(found.problems) == 1
    assert (
        found.problems[0].startswith("approvals: GitHub API:") and "HTTP 502" in found.problems[0]
    )
