"""Python API for consumers: resolve a release through its tags and read its data.

    from sdops_dvc import api
    rel = api.resolve("health-insurance@current", repo="git@github.com:acme/claims-synth.git")
    df = api.read_dataframe("health-insurance@v1.1.0", repo="path/to/repo")
    tables = api.read_tables("flights@v1.0.0", repo="path/to/repo")  # related tables: a dict

``repo`` is a work tree, a bare repository or a git URL (no clone needed: see
:mod:`sdops_dvc.registry.remote`). Revoked releases are refused with ``ReleaseUnavailable``;
bytes that differ from the release manifest's md5 with ``IntegrityError`` (nothing is
returned). Columns come back typed as the release's metadata.json declares them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import IntegrityError, ReleaseUnavailable
from sdops_dvc.domain.metadata import column_sdtypes, named_as, parse_datetimes, table_metadata

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.manifest import Manifest
    from sdops_dvc.registry.reader import Registry, Release


def resolve(ref: str, repo: str | Path = ".") -> Release:
    from sdops_dvc.registry.reader import Registry

    return Registry.at(repo).resolve(ref)


def synthetic_path(ref: str, repo: str | Path = ".") -> tuple[Release, str]:
    """The release and the repo-relative path of its synthetic table (from its manifest)."""
    rel, path, _ = _synthetic(ref, repo)
    return rel, path


def _synthetic(ref: str, repo: str | Path) -> tuple[Release, str, str]:
    """(release, repo-relative path, md5 the manifest records) of the synthetic table."""
    rel, manifest, _ = _release(ref, repo)
    return rel, manifest.synthetic.path, manifest.synthetic.md5


def _release(ref: str, repo: str | Path) -> tuple[Release, Manifest, Registry]:
    """The live release ``ref`` names, its manifest and the registry holding it."""
    from sdops_dvc.registry.reader import Registry

    registry = Registry.at(repo)
    rel, manifest = registry.release(ref)
    return rel, manifest, registry


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
    rel, path, md5 = _synthetic(ref, repo)
    return rel, path, _read_verified(rel, path, md5, repo)


def _read_verified(rel: Release, path: str, md5: str, repo: str | Path) -> bytes:
    import dvc.api

    from sdops_dvc.registry.remote import dvc_location

    data = dvc.api.read(path, repo=dvc_location(repo), rev=rel.tag, mode="rb")
    return check_bytes(rel, path, data, md5)


def open(ref: str, repo: str | Path = ".", mode: str = "r") -> Any:
    """A file object of the release's synthetic table (bytes verified against the manifest
    before anything is returned), read through DVC at the release tag."""
    _, _, data = read_bytes(ref, repo)
    if "b" in mode:
        return io.BytesIO(data)
    return io.StringIO(data.decode("utf-8"))


def read_table_bytes(
    ref: str, repo: str | Path = "."
) -> tuple[Release, dict[str, tuple[str, bytes]]]:
    """The release and every synthetic table's path and bytes by name (one for a
    single-table release), each verified against the manifest before any is returned."""
    rel, manifest, _ = _release(ref, repo)
    return rel, {
        name: (art.path, _read_verified(rel, art.path, art.md5, repo))
        for name, art in manifest.tables.items()
    }


def read_tables(ref: str, repo: str | Path = ".") -> dict[str, pd.DataFrame]:
    """Every synthetic table of a release as DataFrames by table name (bytes verified against
    the manifest), typed as the release's metadata.json declares each table. A single-table
    release gives one table, named after the dataset."""

    rel, manifest, registry = _release(ref, repo)
    meta = manifest.source.metadata
    raw = registry.file_at(rel, meta.path) if meta else None
    metadata = named_as(json.loads(raw), list(manifest.tables)) if raw else None
    out = {}
    for name, art in manifest.tables.items():
        df = _frame(art.path, _read_verified(rel, art.path, art.md5, repo))
        if metadata is not None:
            df = typed(df, table_metadata(metadata, name))
        out[name] = df
    return out


def read_release_files(
    ref: str, repo: str | Path = "."
) -> tuple[Release, dict[str, tuple[str, bytes]], dict[str, bytes]]:
    """A release's tables (as :func:`read_table_bytes`) and its evidence: the Croissant card,
    the provenance statement and the datasheet, made again from what the tag pins and
    checked against the digests in the signed tag record (IntegrityError if they differ;
    ReleaseUnavailable for a release made before evidence existed)."""
    import tempfile

    from sdops_dvc.registry.evidence import remade
    from sdops_dvc.registry.reader import Registry

    registry = Registry.at(repo)
    rel, tables = read_table_bytes(ref, repo)
    if rel.record.evidence is None:
        raise ReleaseUnavailable(
            f"{rel.tag} was released before sdops-dvc made data cards and provenance "
            "statements; its tag pins none",
            hint="read its data without --card; a new release carries both",
        )
    with tempfile.TemporaryDirectory(prefix="sdops-card-") as tmp:
        local = {}
        for i, (path, data) in enumerate(tables.values()):
            local[path] = Path(tmp) / f"{i}-{Path(path).name}"
            local[path].write_bytes(data)
        files, differ = remade(registry.repo, rel.tag, rel.record, local)
    if differ:
        raise IntegrityError(
            f"{differ[0]} of {rel.tag}, made again from what the tag pins, does not match the "
            "digest in the signed tag record; nothing was written",
            hint=f"run `sdops verify {rel.tag} --signature` and report it to the owner",
        )
    return rel, tables, files


def _frame(path: str, data: bytes) -> pd.DataFrame:
    import pandas as pd

    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data))


def read_dataframe(ref: str, repo: str | Path = ".") -> pd.DataFrame:
    """The release's synthetic table as a DataFrame (bytes verified against the manifest),
    typed as the release's metadata.json declares: categorical and ordinal columns as pandas
    categories, booleans as booleans, datetimes parsed with their format."""

    tables = read_tables(ref, repo)
    if len(tables) != 1:
        raise ReleaseUnavailable(
            f"{ref} releases related tables ({', '.join(tables)}), not one table",
            hint="read them with sdops_dvc.api.read_tables(ref), or `sdops get REF -o DIR`",
        )
    return next(iter(tables.values()))


def typed(df: pd.DataFrame, metadata: dict[str, Any]) -> pd.DataFrame:
    """Columns cast to the sdtypes ``metadata`` (SDV's) declares; others left as read."""

    out = df.copy()
    for name, sdtype in column_sdtypes(metadata).items():
        if name not in out.columns:
            continue
        if sdtype in ("categorical", "ordinal"):
            out[name] = out[name].astype("category")
        elif sdtype == "boolean":
            with contextlib.suppress(TypeError, ValueError):  # not true/false: leave as read
                out[name] = out[name].astype("boolean")
    return parse_datetimes(out, metadata)
