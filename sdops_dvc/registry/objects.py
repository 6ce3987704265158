"""A release's data objects in DVC's stores: which are its own, and deleting them.

Used by ``sdops retire`` (remote and local cache) and ``sdops revoke --purge`` (the release
remote): objects that HEAD or another live release records are always kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sdops_dvc.base.errors import RepoError

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
    try:
        for odb in _stores(top, local_cache=local_cache):
            for oid in oids:
                if odb.exists(oid):
                    odb.delete(oid)
    except Exception as exc:
        raise RepoError(f"deleting the data of {what} failed: {exc}") from None


def _stores(top: Path, *, local_cache: bool) -> list[Any]:
    """This clone's cache (with ``local_cache``) and the default (release) remote, if any."""
    from dvc.repo import Repo as DvcRepo

    dvc = DvcRepo(str(top))
    odbs: list[Any] = [dvc.cache.local] if local_cache else []
    if dvc.config["core"].get("remote"):
        odbs.append(dvc.cloud.get_remote_odb(None, "push"))
    return odbs


def store_files(top: Path, files: dict[str, bytes]) -> None:
    """Store each file by its md5, as DVC stores data, in this clone's cache and the default
    (release) remote: how a release's evidence (card, provenance statement, datasheet) is
    published beside its data. RepoError when a store refuses; nothing is tagged then."""
    import hashlib
    import tempfile

    from dvc_objects.fs.local import LocalFileSystem

    try:
        odbs = _stores(top, local_cache=True)
        with tempfile.TemporaryDirectory(prefix="sdops-evidence-") as tmp:
            for name, data in sorted(files.items()):
                path = Path(tmp) / name
                path.write_bytes(data)
                md5 = hashlib.md5(data).hexdigest()
                for odb in odbs:
                    odb.add(str(path), LocalFileSystem(), md5)
    except Exception as exc:
        raise RepoError(f"storing the release's evidence failed: {exc}") from None


def read_stored(top: Path, md5s: list[str]) -> dict[str, bytes | None]:
    """The bytes the default (release) remote holds under each md5, as served (None where it
    holds none, or where there is no default remote). Not checked here: the caller compares
    them with what the release pins."""
    try:
        odbs = _stores(top, local_cache=False)
        out: dict[str, bytes | None] = {}
        for md5 in md5s:
            if not odbs or not odbs[0].exists(md5):
                out[md5] = None
                continue
            with odbs[0].fs.open(odbs[0].oid_to_path(md5), "rb") as fh:
                out[md5] = fh.read()
        return out
    except Exception as exc:
        raise RepoError(f"reading from the release remote failed: {exc}") from None


def remote_holds(top: Path, md5s: list[str]) -> bool | None:
    """Whether the default (release) remote holds any of the objects; None when there is no
    default remote or it cannot be asked."""
    try:
        odbs = _stores(top, local_cache=False)
        return any(odbs[0].exists(md5) for md5 in md5s) if odbs else None
    except Exception:
        return None
