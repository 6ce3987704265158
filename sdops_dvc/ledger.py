"""The privacy-budget ledger's pure core: entries, their composition and the cap policy.

No I/O: :mod:`sdops_dvc.registry.budget` reads the entries from release tags and guards
the ledger with a git ref; this module says what they add up to and what the cap forbids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sdops_dvc.accounting import Spend, Standing, compose
from sdops_dvc.config import BudgetCfg
from sdops_dvc.records import ApprovalRecord, BudgetException, PrivacyInfo, ReleaseRecord

LEDGER_PREFIX = "refs/sdops/budget/"
EXCEPTION_TRAILER = "budget-exception-approved-by"


def ledger_ref(scope: str) -> str:
    return LEDGER_PREFIX + hashlib.sha256(scope.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Entry:
    tag: str
    name: str
    version: str
    status: str
    released_at: str | None
    mechanism: str
    dp: bool
    spend: Spend
    epsilon: float | None  # this release alone, as recorded in its manifest
    delta: float | None
    measurement_id: str | None
    counted: bool  # False: sampled from a measurement an earlier release already spent
    releaser: str | None
    approvals: tuple[ApprovalRecord, ...] = ()
    exception: BudgetException | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "released_at": self.released_at,
            "mechanism": self.mechanism,
            "formal_guarantee": self.dp,
            "rho": self.spend.rho,
            "delta0": self.spend.delta0,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "measurement_id": self.measurement_id,
            "counted": self.counted,
            "releaser": self.releaser,
            "approvals": [a.as_json() for a in self.approvals],
            "budget_exception": self.exception.as_json() if self.exception else None,
        }


def spend_of(privacy: PrivacyInfo) -> tuple[Spend, str | None]:
    """(spend, measurement id) a manifest records; non-DP releases spend nothing formal."""
    if not privacy.formal_guarantee:
        return Spend(), None
    return Spend(privacy.rho, privacy.delta0), privacy.measurement_id


def entry_for(
    tag: str,
    name: str,
    version: str,
    status: str,
    record: ReleaseRecord | None,
    privacy: PrivacyInfo,
) -> Entry:
    """A release's ledger entry (``record`` None: a candidate, not yet released)."""
    spend, mid = spend_of(privacy)
    return Entry(
        tag=tag,
        name=name,
        version=version,
        status=status,
        released_at=record.released_at if record else None,
        mechanism=privacy.mechanism,
        dp=privacy.formal_guarantee,
        spend=spend,
        epsilon=privacy.epsilon,
        delta=privacy.delta,
        measurement_id=mid,
        counted=True,
        releaser=record.releaser if record else None,
        approvals=record.approvals if record else (),
        exception=record.budget_exception if record else None,
    )


def dedupe(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.measurement_id and e.measurement_id in seen:
            e = Entry(**{**e.__dict__, "counted": False})
        elif e.measurement_id:
            seen.add(e.measurement_id)
        out.append(e)
    return out


@dataclass(frozen=True)
class Ledger:
    scope: str
    entries: list[Entry]

    @property
    def spent(self) -> Spend:
        return compose([e.spend for e in self.entries if e.counted])

    def with_entry(self, entry: Entry) -> Ledger:
        return Ledger(self.scope, dedupe([*self.entries, entry]))

    def standing(self, cfg: BudgetCfg) -> Standing | None:
        if cfg.epsilon is None:
            return None
        return Standing(self.spent, cfg.epsilon, cfg.delta)


def describe(standing: Standing) -> str:
    return (
        f"spent epsilon {standing.epsilon:.4g} of {standing.cap_epsilon:g} "
        f"(delta {standing.cap_delta:g}; rho {standing.spent.rho:.4g}, "
        f"key-discovery delta {standing.spent.delta0:.3g}); "
        f"remaining epsilon {standing.remaining_epsilon:.4g} (rho {standing.remaining_rho:.4g})"
    )


def budget_problems(
    ledger: Ledger, entry: Entry, cfg: BudgetCfg, exception: BudgetException | None
) -> list[str]:
    """Reasons the budget forbids this release (an empty list: it may go ahead)."""
    if cfg.epsilon is None:
        return []
    problems: list[str] = []
    if not entry.dp and exception is None:
        problems.append(
            f"budget: {entry.mechanism!r} gives no formal privacy guarantee and this scope has a "
            "budget policy: use a DP family (aim, mst), or release with an approved exception "
            f"(`--budget-exception REASON` and a `Budget-exception-approved-by:` trailer)"
        )
    after = ledger.with_entry(entry).standing(cfg)
    assert after is not None
    if not after.within:
        before = ledger.standing(cfg)
        assert before is not None
        over = after.epsilon - after.cap_epsilon
        problems.append(
            f"budget: this release would bring the total to epsilon {after.epsilon:.4g} "
            f"(rho {after.spent.rho:.4g}) against the cap {after.cap_epsilon:g} at delta "
            f"{after.cap_delta:g}: over by epsilon {over:.4g}; before it, {describe(before)}"
        )
    return problems


def standing_json(st: Standing | None) -> dict[str, Any] | None:
    if st is None:
        return None
    return {
        "rho": st.spent.rho,
        "delta0": st.spent.delta0,
        "epsilon": st.epsilon,
        "remaining_epsilon": st.remaining_epsilon,
        "remaining_rho": st.remaining_rho,
        "within": st.within,
    }
