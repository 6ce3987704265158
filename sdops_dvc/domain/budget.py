"""The privacy budget's pure core: zCDP accounting, the ledger's entries, their composition
and the cap policy. No I/O: :mod:`sdops_dvc.registry.budget` reads the entries from release
tags and guards the ledger with a git ref; this module says what they add up to and what the
cap forbids. No numpy either, so ``sdops budget`` starts fast.

Accounting is in zero-concentrated DP (zCDP), the native currency of OpenDP's AIM and MST. A
release spends ``(rho, delta0)``: ``rho`` of zCDP and ``delta0`` of approximate zCDP (the
delta used to discover category keys privately; 0 when every key is public). Releases compose
by adding both (zCDP composition is exact and additive). The total is converted to
(epsilon, delta)-DP once, at the cap's delta, with the conversion of Canonne, Kamath and
Steinke (2020), Prop. 12, the one OpenDP's ``make_zCDP_to_approxDP`` implements (tested against
it in tests/unit/test_accounting.py).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from sdops_dvc.domain.config import BudgetCfg
from sdops_dvc.domain.records import ApprovalRecord, BudgetException, PrivacyInfo, ReleaseRecord


@dataclass(frozen=True)
class Spend:
    rho: float = 0.0
    delta0: float = 0.0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.rho + other.rho, self.delta0 + other.delta0)


def compose(spends: list[Spend]) -> Spend:
    total = Spend()
    for s in spends:
        total = total + s
    return total


def _epsilon_at(alpha: float, rho: float, delta: float) -> float:
    # CKS20 Prop. 12 with the Renyi curve of rho-zCDP, eps(alpha) = alpha * rho
    if alpha <= 1:
        return math.inf
    return alpha * rho + (
        math.log(1 / delta) + (alpha - 1) * math.log(1 - 1 / alpha) - math.log(alpha)
    ) / (alpha - 1)


def zcdp_epsilon(rho: float, delta: float) -> float:
    """The smallest epsilon such that rho-zCDP implies (epsilon, delta)-DP."""
    if rho < 0 or not 0 < delta < 1:
        raise ValueError(f"need rho >= 0 and 0 < delta < 1 (got rho={rho}, delta={delta})")
    if rho == 0:
        return 0.0
    # the objective is convex in alpha > 1: golden-section search on log(alpha - 1)
    lo, hi = math.log(1e-9), math.log(1e6)
    g = (math.sqrt(5) - 1) / 2

    def f(t: float) -> float:
        return _epsilon_at(1 + math.exp(t), rho, delta)

    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(200):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return max(0.0, min(fa, fb))


def zcdp_rho_for(epsilon: float, delta: float) -> float:
    """The largest rho whose conversion at ``delta`` stays within ``epsilon``."""
    if epsilon <= 0:
        raise ValueError(f"epsilon must be positive (got {epsilon})")
    lo, hi = 0.0, max(1.0, epsilon)
    while zcdp_epsilon(hi, delta) < epsilon:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if zcdp_epsilon(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class Standing:
    """A total spend against a cap of (epsilon, delta)."""

    spent: Spend
    cap_epsilon: float
    cap_delta: float

    @property
    def conversion_delta(self) -> float:
        """The delta left for the zCDP-to-(eps, delta) conversion after key discovery."""
        return self.cap_delta - self.spent.delta0

    @property
    def epsilon(self) -> float:
        """The total's epsilon at the cap's delta (inf when key discovery used all delta)."""
        if self.conversion_delta <= 0:
            return math.inf
        return zcdp_epsilon(self.spent.rho, self.conversion_delta)

    @property
    def within(self) -> bool:
        return self.epsilon <= self.cap_epsilon * (1 + 1e-12)

    @property
    def remaining_epsilon(self) -> float:
        return max(0.0, self.cap_epsilon - self.epsilon) if math.isfinite(self.epsilon) else 0.0

    @property
    def remaining_rho(self) -> float:
        """How much more rho (with no more key-discovery delta) the cap allows."""
        if self.conversion_delta <= 0:
            return 0.0
        return max(0.0, zcdp_rho_for(self.cap_epsilon, self.conversion_delta) - self.spent.rho)


# --- the budget cap as params.yaml states it (any version of the file) -------------------

Cap = tuple[Any, Any]  # (epsilon or None for no cap, delta) as written in params.yaml


def cap_of(params: Any) -> Cap:
    """The budget cap of a params.yaml mapping (any version of it)."""
    b = params.get("budget") if isinstance(params, dict) else None
    b = b if isinstance(b, dict) else {}
    return _number(b.get("epsilon")), _number(b.get("delta", 1e-5))


def scope_value(params: Any) -> Any:
    """``budget.scope`` of a params.yaml mapping (any version of it)."""
    b = params.get("budget") if isinstance(params, dict) else None
    return b.get("scope") if isinstance(b, dict) else None


def _number(value: Any) -> Any:
    """PyYAML reads ``1e-5`` (no dot) as a string; params validation coerces it, so do we."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def cap_raised(old: Cap, new: Cap) -> bool:
    """A looser cap: a larger epsilon, no cap where there was one, or a larger delta."""
    if old[0] is None:
        return False  # there was no cap to loosen
    return new[0] is None or new[0] > old[0] or new[1] > old[1]


# --- the ledger -----------------------------------------------------------------------------

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
