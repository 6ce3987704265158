"""The policy gate: a release states its intended use, audiences, classification,
retention and owner."""

from __future__ import annotations

from sdops_dvc.domain.config import ACCESS_CLASSES, PLACEHOLDER, PolicyCfg


def _placeholder(text: str | None) -> bool:
    return (text or "").strip().upper().startswith(PLACEHOLDER)


def policy_failures(policy: PolicyCfg) -> list[str]:
    fails = []
    todo = "is still the placeholder `sdops init` wrote"
    if _placeholder(policy.intended_use):
        fails.append(f"policy.intended_use {todo}: state what the release may be used for")
    elif not (policy.intended_use or "").strip():
        fails.append("policy.intended_use is empty: state what the release may be used for")
    if any(_placeholder(a) for a in policy.audiences):
        fails.append(f"policy.audiences {todo}: list who may receive the release")
    elif not policy.audiences:
        fails.append("policy.audiences is empty: list who may receive the release")
    if _placeholder(policy.access_classification):
        fails.append(f"policy.access_classification {todo}: use one of {', '.join(ACCESS_CLASSES)}")
    elif policy.access_classification not in ACCESS_CLASSES:
        got = policy.access_classification
        fails.append(
            f"policy.access_classification is {got!r}: use one of {', '.join(ACCESS_CLASSES)}"
        )
    if policy.retention_days is None or policy.retention_days <= 0:
        fails.append("policy.retention_days must be a positive number of days")
    if _placeholder(policy.owner):
        fails.append(f"policy.owner {todo}: name the accountable owner")
    elif not (policy.owner or "").strip():
        fails.append("policy.owner is empty: name the accountable owner")
    return fails
