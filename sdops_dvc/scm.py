"""Thin adapters over git (GitPython) and the DVC command line."""

from __future__ import annotations

import subprocess
import sys
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


def repo_path(repo: Any, path: Path) -> str:
    """``path`` relative to the repository's top directory, as git trees name it."""
    return path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()


def dvc_root(path: Path) -> Path | None:
    for p in (path, *path.parents):
        if (p / ".dvc").is_dir():
            return p
    return None


def run_dvc(args: list[str], cwd: Path, *, capture: bool = True) -> str:
    """Run ``dvc ARGS`` with this interpreter's DVC; RepoError carries DVC's message."""
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
