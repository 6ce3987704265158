"""Releases read from where consumers find them: a work tree, a bare repository or a git URL.

A consumer needs no clone of the project: a bare mirror of its refs is kept in a cache
(``SDOPS_CACHE_DIR``, else ``$XDG_CACHE_HOME/sdops-dvc``, else ``~/.cache/sdops-dvc``) and
brought up to date on every use (origin's tags are the truth: a revocation made since is seen
at once); the data is read by DVC at the release tag from the release remote that the tag's
``.dvc/config`` names.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sdops_dvc.base.errors import RepoError
from sdops_dvc.base.scm import git as _git, repo_at

_SCP = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@host:owner/repo.git


def _is_url(text: str) -> bool:
    return "://" in text or bool(_SCP.match(text))


def is_remote(location: str | Path) -> bool:
    """A git URL or a bare repository (no work tree to read files from)."""
    text = str(location)
    if _is_url(text):
        return True
    path = Path(text)
    return (
        path.is_dir()
        and (path / "HEAD").is_file()
        and (path / "objects").is_dir()
        and not (path / ".git").exists()
    )


def dvc_location(location: str | Path) -> str:
    """What DVC is given as ``repo=``: a URL as it is, a local path absolute."""
    text = str(location)
    return text if _is_url(text) else str(Path(text).resolve())


def cache_dir() -> Path:
    if os.environ.get("SDOPS_CACHE_DIR"):
        return Path(os.environ["SDOPS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sdops-dvc"


def open_repo(location: str | Path) -> Any:
    """A GitPython repository holding the releases of ``location``: the repository itself
    when it has a work tree, else an up-to-date bare mirror of its branches and tags."""
    import git

    if not is_remote(location):
        return repo_at(Path(location))
    url = dvc_location(location)
    mirror = cache_dir() / "repos" / (hashlib.sha256(url.encode()).hexdigest()[:20] + ".git")
    refspecs = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
    if mirror.exists():
        proc = _git(str(mirror), "fetch", "--quiet", "--prune", "--prune-tags", url, *refspecs)
    else:
        mirror.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=mirror.parent))
        proc = _git(str(mirror.parent), "clone", "--quiet", "--bare", url, str(tmp / "m.git"))
        if proc.returncode == 0:
            with contextlib.suppress(OSError):  # another process made it first
                os.replace(tmp / "m.git", mirror)  # whole, or not at all
        shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        raise RepoError(
            f"cannot read the releases of {location}: {proc.stderr.strip() or 'git failed'}",
            hint="check the URL or path and your access to it",
        )
    return git.Repo(mirror)


def open_location(location: str | Path) -> tuple[Any, Path | None]:
    """:func:`open_repo`, and the work tree's pipeline directory to read files at (None for
    a bare repository or a URL: a release's manifest is then found by its name)."""
    return open_repo(location), None if is_remote(location) else Path(location).resolve()
