"""What reviewers must notice: gate thresholds changed together with the data, and a
changed privacy-budget cap.

Compares ``params.yaml`` in the work tree with its version at the last release of the dataset
that HEAD descends from (its ``NAME@vX.Y.Z`` tag: a loosening in any commit since then is
named, not only one in the branch under review), else at the merge base of HEAD and the main
branch. Changing thresholds and data (source pin, split, generator) in one change
is allowed but is said prominently, with every loosened threshold named. Raising the budget
cap is meant to be its own change: a raise is said prominently, and more so when the same
change touches anything else in params.yaml.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from sdops_dvc.base.scm import find_repo, repo_path
from sdops_dvc.domain.budget import cap_of, cap_raised, scope_value
from sdops_dvc.domain.config import Params, params_dict
from sdops_dvc.domain.metric_table import THRESHOLDS, Goal

log = logging.getLogger(__name__)
MAIN_CANDIDATES = ("main", "master", "origin/main", "origin/master")
DATA_SECTIONS = ("source", "split", "generator", "dataset")


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys: {'a': {'b': 1}} -> {'a.b': 1}."""
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def _section_changed(old: Any, new: Any) -> bool:
    """A params section differs, ignoring keys the new version adds with empty defaults."""
    fo, fn = flatten(old or {}), flatten(new or {})
    kept = {k: v for k, v in fn.items() if k in fo or v not in (None, [], {})}
    return fo != kept


def loosened(key: str, old: Any, new: Any) -> bool:
    """Whether a threshold under ``gates:`` (``key`` with or without the prefix) loosened."""
    full = key if key.startswith("gates.") else f"gates.{key}"
    return threshold_change(full, old, new) == "loosened"


def threshold_change(key: str, old: Any, new: Any) -> str | None:
    """``loosened`` or ``tightened`` for a gate threshold (or switch) that moved, by the
    goal of the metric it bounds (the metric table); None for any other key or change."""
    if not key.startswith("gates."):
        return None
    last = key.rsplit(".", 1)[-1]
    if isinstance(old, bool) or isinstance(new, bool):
        if bool(old) == bool(new):
            return None
        return "loosened" if bool(old) else "tightened"  # a gate switched off / on
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)) or old == new:
        return None
    if last == "alpha":
        up_loosens = False  # a smaller alpha makes the tests harder to fail
    elif key in THRESHOLDS:  # the metric's goal: a maximum of a metric to minimize...
        up_loosens = THRESHOLDS[key].goal is Goal.MINIMIZE
    else:
        return None
    return "loosened" if (new > old) == up_loosens else "tightened"


def _params_at(repo: Any, commit: Any, root: Path) -> dict[str, Any]:

    try:
        blob = commit.tree / repo_path(repo, root / "params.yaml")
    except KeyError:
        return {}
    data = yaml.safe_load(blob.data_stream.read().decode("utf-8")) or {}
    return data if isinstance(data, dict) else {}


def _last_release(repo: Any, name: str) -> Any:
    """The newest ``NAME@vX.Y.Z`` tag HEAD descends from (its validity is the registry's
    business: this only chooses what reviewers compare against)."""
    import git

    try:
        out = repo.git.tag("--merged", "HEAD", "--list", f"{name}@v*", "--sort=-v:refname")
    except git.GitCommandError:
        return None
    for tag in out.splitlines():
        if "!" not in tag and "#" not in tag:
            return repo.commit(tag.strip()), tag.strip()
    return None


def base_params(
    root: Path, name: str | None = None
) -> tuple[dict[str, Any] | None, str | None, str]:
    """params.yaml at the last release of ``name`` HEAD descends from, else at the merge base
    of HEAD and the main branch; its sha; and what it is ("release NAME@vX.Y.Z", "merge base
    SHA with main")."""
    import git

    repo = find_repo(root)
    if repo is None:
        return None, None, ""
    try:
        head = repo.head.commit
    except ValueError:  # no commit yet
        return None, None, ""
    released = _last_release(repo, name) if name else None
    if released is not None:
        commit, tag = released
        return _params_at(repo, commit, root), commit.hexsha, f"release {tag}"
    for main in MAIN_CANDIDATES:
        try:
            other = repo.commit(main)
        except (git.BadName, ValueError, git.GitCommandError):
            continue
        bases = repo.merge_base(head, other)
        if not bases:
            continue
        base = bases[0]
        return _params_at(repo, base, root), base.hexsha, f"merge base {base.hexsha[:10]} with main"
    return None, None, ""


def review_notes(root: Path, params: Params) -> list[str]:
    base, sha, against = base_params(root, params.dataset.name)
    if base is None or sha is None:
        return []
    now = params_dict(params)
    try:  # as written, so that defaults the file leaves out do not count as changes
        raw = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raw = None
    written = raw if isinstance(raw, dict) else now
    return (
        _threshold_notes(base, now, against, written)
        + _budget_notes(base, written, against)
        + _scope_notes(base, written, against)
    )


def _scope_notes(base: dict[str, Any], now: dict[str, Any], short: str) -> list[str]:
    """A renamed budget scope is flagged like a raised cap: it cannot refund the source's
    spends (they follow its lineage), but it changes which budget a release draws from."""

    old, new = scope_value(base), scope_value(now)
    if old == new:
        return []
    return [
        f"PRIVACY BUDGET SCOPE CHANGED (against {short}): budget.scope "
        f"{old!r} -> {new!r}. Spends of this source still count (they follow its lineage); "
        "reviewers: the budget's owner must approve the change."
    ]


def _budget_notes(base: dict[str, Any], now: dict[str, Any], short: str) -> list[str]:
    """``now`` is params.yaml as written in the work tree."""

    old, new = cap_of(base), cap_of(now)
    if old == new:
        return []
    desc = f"budget.epsilon {old[0]} -> {new[0]}, budget.delta {old[1]} -> {new[1]}"
    if not cap_raised(old, new):
        return [f"Privacy budget cap changed against {short}: {desc}."]
    others = sorted(
        k
        for k in set(base) | set(now)
        if k != "budget" and _section_changed(base.get(k), now.get(k))
    )
    if others:
        return [
            f"PRIVACY BUDGET CAP RAISED IN ONE CHANGE WITH OTHER PARAMS (against {short}): "
            f"{desc}; also changed: {', '.join(others)}. Reviewers: a cap "
            "raise should be its own pull request, approved by the budget's owner."
        ]
    return [
        f"PRIVACY BUDGET CAP RAISED (against {short}): {desc}, as its own "
        "change. Reviewers: the budget's owner must approve it."
    ]


def _threshold_notes(
    base: dict[str, Any], now: dict[str, Any], short: str, written: dict[str, Any] | None = None
) -> list[str]:
    """``now``: the validated params (defaults filled in, so a threshold left out still has
    its value); ``written``: the file as written, for data sections, so that a default the
    file leaves out does not count as a data change."""
    old_gates = flatten(base.get("gates") or {})
    new_gates = flatten(now.get("gates") or {})
    changed = sorted(
        k
        for k in set(old_gates) | set(new_gates)
        if old_gates.get(k) != new_gates.get(k) and k in old_gates
    )
    as_written = written if written is not None else now
    data_changed = [s for s in DATA_SECTIONS if _section_changed(base.get(s), as_written.get(s))]
    if not changed:
        return []
    loose = [k for k in changed if loosened(k, old_gates.get(k), new_gates.get(k))]
    desc = ", ".join(
        f"gates.{k}: {old_gates.get(k)} -> {new_gates.get(k)}{' (LOOSENED)' if k in loose else ''}"
        for k in changed
    )
    if data_changed:
        return [
            f"THRESHOLDS AND DATA CHANGED TOGETHER (against {short}): "
            f"{desc}; data sections changed: {', '.join(data_changed)}. Reviewers: confirm the "
            "thresholds were not moved to let this data pass."
        ]
    return [f"Gate thresholds changed against {short}: {desc}."]
