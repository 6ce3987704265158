"""``sdops release --budget-exception REASON``: when it stands, and every way it does not
(in-process on a real git repository with real SSH signing keys; no pipeline needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git as gitpython
import pytest

from sdops_dvc.domain.config import Params, parse_params
from sdops_dvc.domain.records import BudgetException
from sdops_dvc.registry.approvals import Basis
from sdops_dvc.registry.budget import EXCEPTION_TRAILER, Entry, Spend
from sdops_dvc.registry.releases import _budget_exception, _Findings
from tests.conftest import Approver, git, trust

BEA = "Bea Budget <bea@example.com>"


def _params(**budget: Any) -> Params:
    data = {
        "dataset": {"name": "credit"},
        "source": {"path": "data/source/credit.csv", "snapshot_id": "s"},
        "budget": {"epsilon": 3.0, "exception_approvers": ["bea@example.com"], **budget},
    }
    return parse_params(data, Path("params.yaml"))


def _entry(dp: bool) -> Entry:
    return Entry(
        tag="(new)",
        name="credit",
        version="",
        status="candidate",
        released_at=None,
        mechanism="AIM" if dp else "none",
        dp=dp,
        spend=Spend(0.1, 0.0) if dp else Spend(),
        epsilon=1.0 if dp else None,
        delta=1e-6 if dp else None,
        measurement_id="m" if dp else None,
        counted=True,
        releaser=None,
    )


@pytest.fixture
def repo(tmp_path: Path) -> tuple[gitpython.Repo, Approver]:
    root = tmp_path / "work"
    root.mkdir()
    git("init", "-q", cwd=root)
    bea = Approver(tmp_path, "Bea Budget", "bea@example.com")
    trust(root, bea)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "Trust Bea", cwd=root)
    return gitpython.Repo(root), bea


def _problems(repo: Any, params: Params, entry: Entry, reason: str) -> tuple[Any, list[str]]:
    f = _Findings()
    # no release yet: the repository's first release, whose signers file nothing vouches for
    basis = Basis(params.release.approvals, None, None, None, None)
    return _budget_exception(repo, params, entry, reason, basis, f), f.problems


def test_an_exception_needs_a_reason_and_a_cap_and_is_for_non_dp_only(
    repo: tuple[gitpython.Repo, Approver],
) -> None:
    r, _ = repo
    assert _problems(r, _params(), _entry(False), "  ") == (
        None,
        ["--budget-exception needs a reason"],
    )
    assert _problems(r, _params(), _entry(True), "urgent") == (
        None,
        ["--budget-exception is for generators without formal guarantee only"],
    )
    assert _problems(r, _params(epsilon=None), _entry(False), "urgent") == (
        None,
        ["--budget-exception given, but no budget cap is set (budget.epsilon)"],
    )


def test_an_unapproved_exception_is_refused_with_who_may_approve_it(
    repo: tuple[gitpython.Repo, Approver],
) -> None:
    r, _ = repo
    exception, problems = _problems(r, _params(), _entry(False), "regulator deadline")
    assert exception == BudgetException("regulator deadline", ())
    assert len(problems) == 1 and "budget exception not approved" in problems[0]
    assert "budget.exception_approvers (bea@example.com)" in problems[0]


def test_a_signed_trailer_by_a_listed_approver_grants_it(
    repo: tuple[gitpython.Repo, Approver],
) -> None:
    r, bea = repo
    root = Path(r.working_tree_dir or "")
    bea.commit(root, "--allow-empty", "-m", f"Grant\n\n{EXCEPTION_TRAILER}: {BEA}")
    exception, problems = _problems(r, _params(), _entry(False), " regulator deadline ")
    assert problems == []
    assert exception is not None and exception.reason == "regulator deadline"
    [grant] = exception.approved_by
    # counted, and recorded as trust on first use: not verified
    assert grant.by == BEA and grant.verified is False
    assert grant.commit == r.head.commit.hexsha
    assert exception.as_json()["approved_by"] == [
        {"by": BEA, "commit": r.head.commit.hexsha, "verified": False}
    ]


def test_an_unsigned_trailer_counts_only_when_unverified_approvals_are_allowed(
    repo: tuple[gitpython.Repo, Approver],
) -> None:
    r, _ = repo
    root = Path(r.working_tree_dir or "")
    git("commit", "-q", "--allow-empty", "-m", f"Grant\n\n{EXCEPTION_TRAILER}: {BEA}", cwd=root)
    _, problems = _problems(r, _params(), _entry(False), "deadline")
    assert problems and "not approved" in problems[0]
    lax = _params().model_copy(
        update={
            "release": parse_params(
                {
                    "dataset": {"name": "credit"},
                    "source": {"path": "x", "snapshot_id": "s"},
                    "release": {"approvals": {"allow_unverified": True}},
                },
                Path("params.yaml"),
            ).release
        }
    )
    exception, problems = _problems(r, lax, _entry(False), "deadline")
    assert problems == [] and exception is not None
    assert exception.approved_by[0].verified is False


def test_a_trailer_by_someone_not_listed_does_not_count(
    repo: tuple[gitpython.Repo, Approver], tmp_path: Path
) -> None:
    r, _ = repo
    root = Path(r.working_tree_dir or "")
    eve = Approver(tmp_path, "Eve", "eve@example.com")
    trust(root, Approver(tmp_path, "Bea Budget", "bea@example.com"), eve)
    git("commit", "-qam", "Trust Eve too", cwd=root)
    eve.commit(root, "--allow-empty", "-m", f"Grant\n\n{EXCEPTION_TRAILER}: Eve <eve@example.com>")
    _, problems = _problems(r, _params(), _entry(False), "deadline")
    assert problems and "not approved" in problems[0]
