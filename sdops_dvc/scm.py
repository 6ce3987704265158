"""Thin adapters over git (GitPython) and the DVC command line."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdops_dvc.errors import RepoError


def git_toplevel(path: Path) -> Path | None:
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return Path(repo.working_tree_dir) if repo.working_tree_dir else None


def git_init(path: Path) -> None:
    import git

    git.Repo.init(path)


def git_tracks(root: Path, path: Path) -> bool:
    import git

    repo = git.Repo(root, search_parent_directories=True)
    try:
        repo.git.ls_files("--error-unmatch", str(path))
    except git.GitCommandError:
        return False
    return True


def git(cwd: str | Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in ``cwd``; the caller reads the exit code and output."""
    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )


def blob_at(commit: Any, path: str) -> bytes | None:
    """The bytes of ``path`` in a commit's tree, or None when it is not there."""
    try:
        return bytes((commit.tree / path).data_stream.read())
    except (KeyError, ValueError):
        return None


def repo_path(repo: Any, path: Path) -> str:
    """``path`` relative to the repository's top directory, as git trees name it."""
    return path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()


def dvc_root(path: Path) -> Path | None:
    for p in (path, *path.parents):
        if (p / ".dvc").is_dir():
            return p
    return None


def run_dvc(args: list[str], cwd: Path, *, capture: bool = True) -> str:
    """Run ``dvc ARGS`` with this interpreter's DVC; RepoError carries DVC's message.

    ``-q`` is dropped when the output is captured: it also silences DVC's error lines, and
    captured output is never shown unless the command fails."""
    if capture:
        args = [a for a in args if a != "-q"]
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        capture_output=capture,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = _cause((proc.stderr or proc.stdout or "") if capture else "")
        tail = "\n".join(f"  {line}" for line in detail[-8:])
        raise RepoError(
            f"`dvc {' '.join(args)}` failed (exit {proc.returncode})"
            + (f":\n{tail}" if tail else ""),
            hint="fix the DVC problem above and run the command again",
        )
    return proc.stdout or ""


_NOISE = (
    "Having any troubles?",
    "Hit us up at",
    "https://dvc.org/support",
    "Collecting",
    "Pushing",
)


def _cause(text: str) -> list[str]:
    """DVC's own error lines, without its support banner and progress lines, so the real
    cause (a remote that refused, a missing file) is what the user reads."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not any(n in ln for n in _NOISE)]
    errors = [ln for ln in lines if ln.lstrip().startswith("ERROR")]
    return errors or lines


@contextlib.contextmanager
def release_worktree(repo: Any, rev: str, *, shared_cache: bool = False) -> Iterator[Path]:
    """A temporary detached worktree of ``rev`` whose DVC can fetch what the clone can: the
    clone's remotes (``config.local`` included, where private remotes often live) and, when
    there is no remote or ``shared_cache``, the clone's own cache. Removed afterwards."""
    import shutil
    import tempfile

    top = Path(repo.working_tree_dir)
    tmp = Path(tempfile.mkdtemp(prefix="sdops-wt-"))
    wt = tmp / "wt"
    repo.git.worktree("add", "--detach", str(wt), rev)
    try:
        for local in top.rglob(".dvc/config.local"):
            dest = wt / local.relative_to(top)
            if dest.parent.is_dir():
                shutil.copyfile(local, dest)
        for dvc_dir in wt.rglob(".dvc"):
            if dvc_dir.is_dir() and (
                shared_cache or not run_dvc(["remote", "list"], cwd=dvc_dir.parent).strip()
            ):
                src_cache = top / dvc_dir.parent.relative_to(wt) / ".dvc" / "cache"
                run_dvc(["config", "--local", "cache.dir", str(src_cache)], cwd=dvc_dir.parent)
        yield wt
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(wt)],
            cwd=top,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)
