"""What ``sdops release`` verifies for itself instead of trusting a committed file.

* **The decision.** The gate is recomputed from the committed ``metrics.json`` (and
  ``details.json``) with the thresholds and policy of params.yaml at HEAD; a ``gate.json``
  that disagrees (hand-edited, then ``dvc commit -f gate``) is refused, naming the
  disagreement. The manifest's recorded decision must agree too.
* **The chain of hashes.** The committed metrics must be the outputs ``dvc.lock`` records for
  the evaluate stage, and the evaluate stage must have read the synthetic table and splits
  the generate and split stages produced. ``--reevaluate`` goes further: it re-runs evaluate
  from the pinned data in a temporary worktree and requires the same bytes.
* **Where real data goes.** Source, train and holdout must be pushed to a private DVC remote,
  never to the release remote consumers read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from sdops_dvc.base.scm import blob_at
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.config import Params

if TYPE_CHECKING:
    from git import Repo as GitRepo

BUDGET_PREFIX = "budget:"


@dataclass(frozen=True)
class Committed:
    """The pipeline files committed at one revision (paths relative to the pipeline root)."""

    prefix: str  # the pipeline's directory inside the repository ("" at the top)
    files: dict[str, bytes]

    def json(self, rel: str) -> dict[str, Any] | None:
        raw = self.files.get(rel)
        if raw is None:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def md5(self, rel: str) -> str | None:
        raw = self.files.get(rel)
        return hashlib.md5(raw).hexdigest() if raw is not None else None

    def lock(self) -> dict[str, Any]:
        return parse_lock(self.files.get(L.DVC_LOCK))


def parse_lock(raw: bytes | None) -> dict[str, Any]:
    """A ``dvc.lock``'s content ({} when missing or unreadable)."""
    try:
        data = yaml.safe_load(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def lock_in(root: Path) -> dict[str, Any]:
    """The ``dvc.lock`` of the pipeline in the work tree ``root`` (one a re-run just wrote)."""
    path = root / L.DVC_LOCK
    return parse_lock(path.read_bytes() if path.is_file() else None)


DETAILS = "reports/details.json"


def committed(repo: GitRepo, rev: str, prefix: str) -> Committed:
    files = {}
    commit = repo.commit(rev)
    for rel in (L.METRICS, DETAILS, L.GATE, L.MANIFEST, L.DVC_LOCK):
        raw = blob_at(commit, str(PurePosixPath(prefix) / rel) if prefix else rel)
        if raw is not None:
            files[rel] = raw
    return Committed(prefix, files)


def outs(lock: dict[str, Any], stage: str, key: str = "outs") -> dict[str, str]:
    entries = ((lock.get("stages") or {}).get(stage) or {}).get(key) or []
    return {
        str(e["path"]): str(e.get("md5")) for e in entries if isinstance(e, dict) and "path" in e
    }


def lock_problems(c: Committed, synthetic: list[str], split: list[str]) -> list[str]:
    """The committed metrics are the ones dvc.lock records, computed from the pinned data."""
    lock = c.lock()
    if not lock:
        return [f"no readable {L.DVC_LOCK} committed at HEAD: run `dvc repro` and commit it"]
    problems: list[str] = []
    ev_out, ev_dep = outs(lock, "evaluate"), outs(lock, "evaluate", "deps")
    gen_out, split_out = outs(lock, "generate"), outs(lock, "split")
    gate_dep = outs(lock, "gate", "deps")
    for rel in (L.METRICS, DETAILS):
        got, recorded = c.md5(rel), ev_out.get(rel)
        if got is None:
            problems.append(f"{rel} is not committed at HEAD")
        elif got != recorded:
            problems.append(
                f"{rel} committed at HEAD (md5 {got}) is not the evaluate stage's output in "
                f"{L.DVC_LOCK} (md5 {recorded}): it was edited after evaluation"
            )
        if rel in gate_dep and gate_dep[rel] != recorded:
            problems.append(
                f"the gate stage in {L.DVC_LOCK} read another {rel} than evaluate wrote"
            )
    pairs = [(rel, gen_out) for rel in synthetic] + [(rel, split_out) for rel in split]
    for rel, produced in pairs:
        if ev_dep.get(rel) != produced.get(rel):
            problems.append(
                f"in {L.DVC_LOCK} evaluate read {rel} with md5 {ev_dep.get(rel)}, but the pipeline "
                f"produced md5 {produced.get(rel)}: the metrics are not of the pinned data"
            )
    return problems


def _non_budget(failures: list[str]) -> list[str]:
    return sorted(f for f in failures if not f.startswith(BUDGET_PREFIX))


def decision_problems(c: Committed, params: Params) -> list[str]:
    """gate.json and the manifest agree with the decision recomputed from the metrics."""
    from sdops_dvc.stages.gate import decide

    metrics, gate = c.json(L.METRICS), c.json(L.GATE)
    if metrics is None or gate is None:
        return []  # reported by the caller (nothing to compare)
    result = decide(metrics, params.gates, params.policy, c.json(DETAILS) or {})
    recomputed = _non_budget(result.failures)
    recorded = _non_budget([str(f) for f in gate.get("failures") or []])
    # the budget part of the privacy gate is re-checked against origin's ledger at release
    budget_fails = [f for f in gate.get("failures") or [] if str(f).startswith(BUDGET_PREFIX)]
    claimed = bool(gate.get("approved"))
    problems: list[str] = []
    if claimed != (not recomputed and not budget_fails) or recomputed != recorded:
        missing = [f for f in recomputed if f not in recorded]
        extra = [f for f in recorded if f not in recomputed]
        lines = [
            f"{L.GATE} at HEAD says {'approved' if claimed else 'blocked'}, but the decision "
            f"recomputed from {L.METRICS} and params.yaml at HEAD is "
            f"{'approved' if not recomputed else 'blocked'}"
        ]
        lines += [f"failure missing from {L.GATE}: {f}" for f in missing[:8]]
        lines += [f"failure {L.GATE} lists that the metrics do not support: {f}" for f in extra[:4]]
        problems.append("; ".join(lines))
    manifest = c.json(L.MANIFEST)
    if manifest is not None:
        recorded_m = bool((manifest.get("gates") or {}).get("approved"))
        if recorded_m != claimed:
            problems.append(
                f"the manifest records the gate as {'approved' if recorded_m else 'blocked'}, "
                f"{L.GATE} as {'approved' if claimed else 'blocked'}"
            )
    return problems


# -- where real data is pushed -----------------------------------------------------------


@dataclass(frozen=True)
class RealDataOutput:
    path: str  # relative to the pipeline root
    remote: str | None  # the output's own `remote:`, or None for the default remote


def real_data_outputs(root: Path, params: Params) -> list[RealDataOutput]:
    """Outputs holding real rows: the source (its ``.dvc`` file) and the train/holdout split."""
    out: list[RealDataOutput] = []
    source = root / params.source.path
    pointer = source.with_name(source.name + ".dvc")
    if pointer.is_file():
        data = yaml.safe_load(pointer.read_text(encoding="utf-8")) or {}
        for o in data.get("outs") or []:
            if isinstance(o, dict):
                out.append(RealDataOutput(params.source.path, o.get("remote")))
    dvc_yaml = root / L.DVC_YAML
    stages = (yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")) or {}).get("stages") or {}
    for o in (stages.get("split") or {}).get("outs") or []:
        if isinstance(o, str):
            out.append(RealDataOutput(o, None))
        elif isinstance(o, dict):
            for path, opts in o.items():
                out.append(RealDataOutput(str(path), (opts or {}).get("remote")))
    return out


def remote_location(root: Path, url: str) -> str:
    """Where a DVC remote's URL points, comparable across names: a local path resolved as DVC
    resolves it (relative to ``.dvc/``), without a trailing slash; other URLs as written."""
    import os

    url = url.strip()
    if "://" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme.lower()}://{rest.rstrip('/')}"
    return os.path.normpath(os.path.join(root / ".dvc", os.path.expanduser(url)))


def remote_problems(
    root: Path, params: Params, remotes: dict[str, str], default: str | None
) -> list[str]:
    """Real data must never be pushed to the release remote (the default remote), under its
    name or under another name for the same location."""
    if default is None:
        return []
    release_url = remote_location(root, remotes.get(default, ""))
    leaking = [
        o.path
        for o in real_data_outputs(root, params)
        if (o.remote or default) == default
        or (o.remote and o.remote not in remotes)
        or (o.remote and remote_location(root, remotes[o.remote]) == release_url)
    ]
    if not leaking:
        return []
    return [
        f"real data would be pushed to the release remote {default!r} that consumers read: "
        f"{', '.join(leaking)}; give them a private remote (`sdops private-remote URL`, or "
        "`remote: NAME` on each output in dvc.yaml and in the source's .dvc file)"
    ]
