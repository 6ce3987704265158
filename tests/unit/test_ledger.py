"""The privacy-budget ledger's pure core: composition, one count per measurement, and what
the cap forbids (no git, no process)."""

from __future__ import annotations

import pytest

from sdops_dvc.domain.budget import (
    Entry,
    Ledger,
    Spend,
    budget_problems,
    entry_for,
    ledger_ref,
    spend_of,
    zcdp_epsilon,
    zcdp_rho_for,
)
from sdops_dvc.domain.config import BudgetCfg
from sdops_dvc.domain.records import PrivacyInfo


def _entry(tag: str, rho: float, mid: str | None, *, dp: bool = True) -> Entry:
    return Entry(
        tag=tag,
        name="credit",
        version=tag.rsplit("@", 1)[-1],
        status="released",
        released_at=f"2026-11-0{len(tag) % 9 + 1}T00:00:00Z",
        mechanism="AIM" if dp else "none",
        dp=dp,
        spend=Spend(rho, 0.0),
        epsilon=None,
        delta=None,
        measurement_id=mid,
        counted=True,
        releaser=None,
    )


def test_a_measurement_is_counted_once_however_many_releases_sample_it() -> None:
    ledger = Ledger("s", [_entry("credit@v1.0.0", 0.05, "m1")])
    again = ledger.with_entry(_entry("credit@v1.1.0", 0.05, "m1"))  # resampled, same fit
    assert [e.counted for e in again.entries] == [True, False]
    assert again.spent.rho == pytest.approx(0.05)
    fresh = again.with_entry(_entry("credit@v1.2.0", 0.02, "m2"))
    assert fresh.spent.rho == pytest.approx(0.07)


def test_the_cap_refuses_the_release_that_would_pass_it() -> None:
    cfg = BudgetCfg(epsilon=1.0, delta=1e-6)
    rho_cap = zcdp_rho_for(1.0, 1e-6)
    ledger = Ledger("s", [_entry("credit@v1.0.0", rho_cap * 0.6, "m1")])
    assert budget_problems(ledger, _entry("(new)", rho_cap * 0.3, "m2"), cfg, None) == []
    [problem] = budget_problems(ledger, _entry("(new)", rho_cap * 0.5, "m3"), cfg, None)
    assert problem.startswith("budget: this release would bring the total to epsilon ")
    assert "against the cap 1 at delta 1e-06" in problem
    total = zcdp_epsilon(rho_cap * 1.1, 1e-6)
    assert f"epsilon {total:.4g}" in problem


def test_no_cap_no_policy_and_a_non_dp_release_needs_an_exception_under_a_cap() -> None:
    plain = _entry("(new)", 0.0, None, dp=False)
    assert budget_problems(Ledger("s", []), plain, BudgetCfg(), None) == []
    capped = BudgetCfg(epsilon=2.0)
    [problem] = budget_problems(Ledger("s", []), plain, capped, None)
    assert "gives no formal privacy guarantee" in problem
    granted = {"reason": "deadline", "approved_by": [{"by": "bea"}]}
    assert budget_problems(Ledger("s", []), plain, capped, granted) == []


def test_entries_read_what_manifests_record() -> None:
    manifest = {
        "privacy": {
            "formal_guarantee": True,
            "mechanism": "AIM (Private-PGM over OpenDP marginals)",
            "native": {"rho": 0.01, "delta": 1e-9},
            "epsilon": 0.9,
            "delta": 1e-6,
            "measurement_id": "abc",
        }
    }
    privacy = PrivacyInfo.from_json(manifest["privacy"])
    assert spend_of(privacy) == (Spend(0.01, 1e-9), "abc")
    assert spend_of(PrivacyInfo.from_json({"formal_guarantee": False})) == (Spend(), None)
    e = entry_for("credit@v1.0.0", "credit", "v1.0.0", "current", None, privacy)
    assert e.dp and e.epsilon == 0.9 and e.releaser is None and e.measurement_id == "abc"
    assert ledger_ref("scope-a") != ledger_ref("scope-b")
    assert ledger_ref("scope-a").startswith("refs/sdops/budget/")
