"""The policy gate: a release states its intended use, audiences, classification,
retention and owner."""

from __future__ import annotations

from sdops_dvc.config import ACCESS_CLASSES, PolicyCfg


def policy_failures(policy: PolicyCfg) -> list[str]:
    fails = []
    if not (policy.intended_use or "").strip():
        fails.append("policy.intended_use is empty: state what the release may be used for")
    if not policy.audiences:
        fails.append("policy.audiences is empty: list who may receive the release")
    if policy.access_classification not in ACCESS_CLASSES:
        got = policy.access_classification
        fails.append(
            f"policy.access_classification is {got!r}: use one of {', '.join(ACCESS_CLASSES)}"
        )
    if policy.retention_days is None or policy.retention_days <= 0:
        fails.append("policy.retention_days must be a positive number of days")
    if not (policy.owner or "").strip():
        fails.append("policy.owner is empty: name the accountable owner")
    return fails
