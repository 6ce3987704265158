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

from sdops_dvc.base.errors import ReleaseRefused
from sdops_dvc.base.scm import repo_at, work_tree
from sdops_dvc.domain.records import utc_stamp
from sdops_dvc.registry.catalog import Status, actor
from sdops_dvc.registry.objects import delete_objects, own_objects
from sdops_dvc.registry.releases import (
    RETIRED,
    Release,
    publish_tag,
    release_manifest,
    releases,
    resolve,
)
from sdops_dvc.registry.tags import assign_tag, next_counter


def expired(
    location: str | Path, name: str | None = None, now: datetime | None = None
) -> list[tuple[Release, datetime]]:
    """Live releases whose retention ended, with the day it ended; ``location``: a work
    tree, a bare repository or a git URL."""
    from sdops_dvc.registry.remote import open_location

    repo, root = open_location(location)
    now = now or datetime.now(UTC)
    out = []
    for r in releases(repo, name):
        if not r.live or not r.record.released_at:
            continue
        manifest = release_manifest(repo, r, root)
        days = manifest.retention_days if manifest else None
        if not days:
            continue
        released = datetime.fromisoformat(r.record.released_at.replace("Z", "+00:00"))
        end = released + timedelta(days=days)
        if end <= now:
            out.append((r, end))
    return out


@dataclass(frozen=True)
class RetireResult:
    release: Release
    tag: str
    deleted: list[str]
    kept_shared: list[str]


def retire(root: Path, ref: str, reason: str = "retention period ended") -> RetireResult:
    repo = repo_at(root)
    target = resolve(repo, ref, live_only=False)
    if target.status == Status.RETIRED:
        raise ReleaseRefused(f"{target.tag} is already retired")
    live = [r.tag for r in releases(repo, target.name) if r.live]
    doomed, shared = own_objects(repo, target.tag, ["HEAD", *live])
    top = work_tree(repo)
    tag = assign_tag(target.name, RETIRED, next_counter([t.name for t in repo.tags], target.name))
    record = {
        "schema": "sdops-retirement/1",
        "release": target.tag,
        "reason": reason,
        "actor": actor(repo),
        "retired_at": utc_stamp(),
        "deleted_objects": doomed,
        "kept_shared_objects": shared,
    }
    message = f"Retire {target.tag}: {reason}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n"
    delete_objects(top, doomed, local_cache=True, what=f"{target.tag} (it was not retired)")
    publish_tag(repo, tag, target.commit, message)
    return RetireResult(target, tag, doomed, shared)
