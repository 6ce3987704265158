"""A release's data objects in DVC's stores: which are its own, and deleting them.

Used by ``sdops retire`` (remote and local cache) and ``sdops revoke --purge`` (the release
remote): objects that HEAD or another live release records are always kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sdops_dvc.errors import RepoError

if TYPE_CHECKING:
    from git import Repo as GitRepo


def _objects(repo: GitRepo, rev: str) -> set[str]:
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


def own_objects(repo: GitRepo, rev: str, keep_revs: list[str]) -> tuple[list[str], list[str]]:
    """(objects only ``rev`` records, objects it shares with any of ``keep_revs``): what
    deleting its data may delete, and what must stay."""
    mine = _objects(repo, rev)
    keep: set[str] = set()
    for other in keep_revs:
        if other != rev:
            keep |= _objects(repo, other)
    return sorted(mine - keep), sorted(mine & keep)


def delete_objects(top: Path, oids: list[str], *, local_cache: bool, what: str) -> None:
    """Delete objects from the default (release) DVC remote and, with ``local_cache``, from
    this clone's cache; RepoError when a store refuses."""
    from dvc.repo import Repo as DvcRepo

    from sdops_dvc.scm import run_dvc

    try:
        dvc = DvcRepo(str(top))
        odbs = [dvc.cache.local] if local_cache else []
        if run_dvc(["remote", "list"], cwd=top).strip():
            odbs.append(dvc.cloud.get_remote_odb(None, "purge"))
        for odb in odbs:
            for oid in oids:
                if odb.exists(oid):
                    odb.delete(oid)
    except Exception as exc:
        raise RepoError(f"deleting the data of {what} failed: {exc}") from None
