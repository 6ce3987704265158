"""Retention: which releases outlived ``policy.retention_days``, and ``sdops retire``.

Retiring records a GTO assignment ``NAME#retired#N`` at the release's commit (annotated
with reason, actor and the objects deleted), deletes the release's data objects from the
DVC remote and the local cache unless a live release or the work tree still uses them,
and keeps the manifest and the tags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from sdops_dvc.errors import ReleaseRefused, RepoError
from sdops_dvc.registry.releases import (
    RETIRED,
    Release,
    _actor,
    _repo,
    manifest_at,
    publish_tag,
    releases,
    resolve,
)
from sdops_dvc.registry.tags import assign_tag, next_counter


def expired(
    root: Path, name: str | None = None, now: datetime | None = None
) -> list[tuple[Release, datetime]]:
    """Live releases whose retention ended, with the day it ended."""
    repo = _repo(root)
    now = now or datetime.now(UTC)
    out = []
    for r in releases(repo, name):
        if r.status not in ("current", "released") or not r.record.get("released_at"):
            continue
        manifest = manifest_at(repo, r.tag, Path(repo.working_tree_dir)) or {}
        days = (manifest.get("policy") or {}).get("retention_days")
        if not days:
            continue
        released = datetime.fromisoformat(str(r.record["released_at"]).replace("Z", "+00:00"))
        end = released + timedelta(days=int(days))
        if end <= now:
            out.append((r, end))
    return out


def _objects(repo: Any, rev: str) -> set[str]:
    """md5s of the cached files a revision's dvc.lock records."""
    try:
        text = (repo.commit(rev).tree / "dvc.lock").data_stream.read().decode("utf-8")
    except KeyError:
        return set()
    lock = yaml.safe_load(text) or {}
    found = set()
    for stage in (lock.get("stages") or {}).values():
        for entry in stage.get("outs") or []:
            md5 = str(entry.get("md5", ""))
            if md5 and not md5.endswith(".dir"):
                found.add(md5)
    return found


@dataclass(frozen=True)
class RetireResult:
    release: Release
    tag: str
    deleted: list[str]
    kept_shared: list[str]


def retire(root: Path, ref: str, reason: str = "retention period ended") -> RetireResult:
    from dvc.repo import Repo as DvcRepo

    repo = _repo(root)
    target = resolve(repo, ref, live_only=False)
    if target.status == "retired":
        raise ReleaseRefused(f"{target.tag} is already retired")
    mine = _objects(repo, target.tag)
    keep = _objects(repo, "HEAD")
    for r in releases(repo, target.name):
        if r.tag != target.tag and r.status in ("current", "released"):
            keep |= _objects(repo, r.tag)
    doomed = sorted(mine - keep)
    top = Path(repo.working_tree_dir)
    tag = assign_tag(target.name, RETIRED, next_counter([t.name for t in repo.tags], target.name))
    record = {
        "schema": "sdops-retirement/1",
        "release": target.tag,
        "reason": reason,
        "actor": _actor(repo),
        "retired_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "deleted_objects": doomed,
        "kept_shared_objects": sorted(mine & keep),
    }
    message = f"Retire {target.tag}: {reason}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n"
    try:
        from sdops_dvc.scm import run_dvc

        dvc = DvcRepo(str(top))
        odbs = [dvc.cache.local]
        if run_dvc(["remote", "list"], cwd=top).strip():
            odbs.append(dvc.cloud.get_remote_odb(None, "retire"))
        for odb in odbs:
            for oid in doomed:
                if odb.exists(oid):
                    odb.delete(oid)
    except Exception as exc:
        raise RepoError(
            f"deleting the data of {target.tag} failed; it was not retired: {exc}"
        ) from None
    publish_tag(repo, tag, target.commit, message)
    return RetireResult(target, tag, doomed, sorted(mine & keep))
