"""Python API for consumers: resolve a release through its tags and read its data.

    from sdops_dvc import api
    rel = api.resolve("health-insurance@latest", repo="path/to/repo")
    df = api.read_dataframe("health-insurance@v1.1.0", repo="path/to/repo")

Revoked releases are refused with ``ReleaseUnavailable``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.errors import ReleaseUnavailable

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.registry.releases import Release


def resolve(ref: str, repo: str | Path = ".") -> Release:
    from sdops_dvc.registry.releases import _repo
    from sdops_dvc.registry.releases import resolve as _resolve

    return _resolve(_repo(Path(repo)), ref)


def synthetic_path(ref: str, repo: str | Path = ".") -> tuple[Release, str]:
    """The release and the repo-relative path of its synthetic table (from its manifest)."""
    from sdops_dvc.registry.releases import _repo, manifest_at

    rel = resolve(ref, repo)
    git_repo = _repo(Path(repo))
    root = Path(git_repo.working_tree_dir)
    manifest = manifest_at(git_repo, rel.tag, root)
    if manifest is None:
        raise ReleaseUnavailable(f"{rel.tag} has no manifest")
    return rel, str(manifest["outputs"]["synthetic"]["path"])


def _open_at(rel: Release, path: str, repo: str | Path, mode: str) -> Any:
    import dvc.api

    return dvc.api.open(path, repo=str(Path(repo).resolve()), rev=rel.tag, mode=mode)


def open(ref: str, repo: str | Path = ".", mode: str = "r") -> Any:
    """A file object of the release's synthetic table, read through DVC at the release tag."""
    rel, path = synthetic_path(ref, repo)
    return _open_at(rel, path, repo, mode)


def read_dataframe(ref: str, repo: str | Path = ".") -> pd.DataFrame:
    """The release's synthetic table as a DataFrame."""
    import io

    import pandas as pd

    rel, path = synthetic_path(ref, repo)
    with _open_at(rel, path, repo, "rb") as fh:
        data = fh.read()
    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data))
