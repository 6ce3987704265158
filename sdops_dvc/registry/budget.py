"""The release's privacy-budget check. Non-DP generators spend no formal budget; the
privacy-budget ledger (differentially private families) plugs in here."""

from __future__ import annotations

from typing import Any


def budget_problems(manifest: dict[str, Any], released: list[dict[str, Any]]) -> list[str]:
    """Reasons the budget forbids this release (none while no DP mechanism is in use).

    ``released``: the records of the dataset's earlier releases, which a ledger sums."""
    privacy = manifest.get("privacy", {})
    if privacy.get("formal_guarantee"):
        return ["budget: DP releases need the privacy-budget ledger, which this version lacks"]
    return []
