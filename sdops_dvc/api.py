"""Python API for consumers: resolve a release through its tags and read its data.

    from sdops_dvc import api
    rel = api.resolve("health-insurance@latest", repo="path/to/repo")
    df = api.read_dataframe("health-insurance@v1.1.0", repo="path/to/repo")

Revoked releases are refused with ``ReleaseUnavailable``; bytes that differ from the
release manifest's md5 with ``IntegrityError`` (nothing is returned).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.errors import IntegrityError, ReleaseUnavailable

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.registry.releases import Release


def resolve(ref: str, repo: str | Path = ".") -> Release:
    from sdops_dvc.registry.releases import _repo
    from sdops_dvc.registry.releases import resolve as _resolve

    return _resolve(_repo(Path(repo)), ref)


def synthetic_path(ref: str, repo: str | Path = ".") -> tuple[Release, str]:
    """The release and the repo-relative path of its synthetic table (from its manifest)."""
    rel, path, _ = _synthetic(ref, repo)
    return rel, path


def _synthetic(ref: str, repo: str | Path) -> tuple[Release, str, str]:
    """(release, repo-relative path, md5 the manifest records) of the synthetic table."""
    from sdops_dvc.registry.releases import _repo, manifest_at
    from sdops_dvc.registry.releases import resolve as _resolve

    git_repo = _repo(Path(repo))
    rel = _resolve(git_repo, ref)
    root = Path(git_repo.working_tree_dir)
    manifest = manifest_at(git_repo, rel.tag, root)
    if manifest is None:
        raise ReleaseUnavailable(f"{rel.tag} has no manifest")
    out = manifest["outputs"]["synthetic"]
    return rel, str(out["path"]), str(out["md5"])


def check_bytes(rel: Release, path: str, data: bytes, md5: str) -> bytes:
    """The bytes, if they are the ones the release's manifest records; IntegrityError if not."""
    got = hashlib.md5(data).hexdigest()
    if got != md5:
        raise IntegrityError(
            f"{path} of {rel.tag} as served has md5 {got}, but its manifest records {md5}: "
            "the stored copy was altered or corrupted; nothing was returned",
            hint="report it to the release's owner; `sdops verify` checks the remote's objects",
        )
    return data


def read_bytes(ref: str, repo: str | Path = ".") -> tuple[Release, str, bytes]:
    """The release, the table's path and its bytes, verified against the manifest."""
    import dvc.api

    rel, path, md5 = _synthetic(ref, repo)
    data = dvc.api.read(path, repo=str(Path(repo).resolve()), rev=rel.tag, mode="rb")
    return rel, path, check_bytes(rel, path, data, md5)


def open(ref: str, repo: str | Path = ".", mode: str = "r") -> Any:
    """A file object of the release's synthetic table (bytes verified against the manifest
    before anything is returned), read through DVC at the release tag."""
    _, _, data = read_bytes(ref, repo)
    if "b" in mode:
        return io.BytesIO(data)
    return io.StringIO(data.decode("utf-8"))


def read_dataframe(ref: str, repo: str | Path = ".") -> pd.DataFrame:
    """The release's synthetic table as a DataFrame (bytes verified against the manifest)."""
    import pandas as pd

    _, path, data = read_bytes(ref, repo)
    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data))
