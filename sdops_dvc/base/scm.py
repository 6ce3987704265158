"""Thin adapters over git (GitPython) and the DVC command line."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import RepoError

if TYPE_CHECKING:
    from git import Repo as GitRepo


def git_toplevel(path: Path) -> Path | None:
    repo = find_repo(path)
    return Path(repo.working_tree_dir) if repo is not None and repo.working_tree_dir else None


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


ZERO = "0" * 40  # git's "no object": an update-ref's old value for a ref that must not exist


def trailers(text: str, *keys: str) -> list[tuple[str, str]]:
    """The ``Key: value`` trailer lines of a commit message whose key is one of ``keys``
    (case-insensitive), in order, as (lower-case key, value)."""
    wanted = {k.lower() for k in keys}
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in wanted and key == key.strip() and value.strip():
            out.append((key.lower(), value.strip()))
    return out


@dataclass(frozen=True)
class Pushed:
    """What ``git push`` said: whether it landed, and its own lines (progress dropped)."""

    ok: bool
    lines: list[str]


class Refs:
    """One repository's refs, objects and remotes, by git's plumbing commands: what the
    release tags, the budget ledger and the mirrors are made of. Every method reads git's
    exit code; none leaves a half-written ref behind."""

    def __init__(self, where: GitRepo | str | Path) -> None:
        self.cwd = str(where) if isinstance(where, str | Path) else git_cwd(where)

    def _git(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return git(self.cwd, *args, stdin=stdin)

    def value(self, ref: str) -> str | None:
        """The commit ``ref`` points at, or None when there is no such ref."""
        return self._git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}").stdout.strip() or None

    def names(self, prefix: str) -> list[str]:
        """Every ref under ``prefix`` (``refs/sdops/budget/``)."""
        return self._git("for-each-ref", "--format=%(refname)", prefix).stdout.split()

    def text_at(self, rev: str, path: str) -> str | None:
        proc = self._git("show", f"{rev}:{path}")
        return proc.stdout if proc.returncode == 0 else None

    def set(self, ref: str, new: str, old: str | None = None) -> str | None:
        """Point ``ref`` at ``new``; with ``old``, only if it still points there (``ZERO``:
        only if it does not exist). The error text when git refused, else None."""
        proc = self._git("update-ref", ref, new, *([old] if old is not None else []))
        if proc.returncode == 0:
            return None
        return proc.stderr.strip() or f"git update-ref exited {proc.returncode}"

    def commit_file(self, name: str, text: str, message: str, parent: str | None) -> str:
        """A commit (no ref) whose tree holds one file ``name`` with ``text``."""
        blob = self._git("hash-object", "-w", "--stdin", stdin=text).stdout.strip()
        tree = self._git("mktree", stdin=f"100644 blob {blob}\t{name}\n").stdout.strip()
        proc = self._git("commit-tree", tree, "-m", message, *(["-p", parent] if parent else []))
        if proc.returncode != 0:
            raise RepoError(f"git commit-tree failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def tag_object(
        self, tag: str, commit: str, message: str, sign: Callable[[str], str] | None = None
    ) -> str:
        """An annotated tag object for ``commit`` in the object store, with no ref yet;
        ``sign`` turns the payload into the armored signature a signed tag carries last."""
        ident = self._git("var", "GIT_COMMITTER_IDENT")
        if ident.returncode != 0:
            raise RepoError(
                f"git has no committer identity: {ident.stderr.strip()}",
                hint="set user.name and user.email (`git config`)",
            )
        tagger = ident.stdout.strip()
        body = f"object {commit}\ntype commit\ntag {tag}\ntagger {tagger}\n\n{message}"
        if sign is not None:
            body += sign(body)
        proc = self._git("mktag", stdin=body)
        if proc.returncode != 0:
            raise RepoError(f"git mktag failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def remote_tags(self, remote: str) -> dict[str, str] | None:
        """Tag name -> object of ``remote`` (``git ls-remote``); None when unreachable."""
        proc = self._git("ls-remote", "--tags", remote)
        if proc.returncode != 0:
            return None
        out: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
                out[ref.removeprefix("refs/tags/")] = sha
        return out

    def is_ancestor(self, older: str, newer: str) -> bool:
        """``older`` is ``newer`` or one of its ancestors (False when either is unknown)."""
        return self._git("merge-base", "--is-ancestor", older, newer).returncode == 0

    def remote_value(self, remote: str, ref: str) -> str | None:
        words = self._git("ls-remote", remote, ref).stdout.split()
        return words[0] if words else None

    def push_atomic(
        self, remote: str, refspecs: list[str], lease: tuple[str, str | None] | None = None
    ) -> Pushed:
        """Push ``refspecs`` all or nothing; ``lease`` (ref, expected value or None for
        absent): refused as a whole when the remote's ref moved since it was read."""
        args = ["push", "--atomic", "--porcelain"]
        if lease is not None:
            args.append(f"--force-with-lease={lease[0]}:{lease[1] or ''}")
        proc = self._git(*args, remote, *refspecs)
        text = (proc.stdout + "\n" + proc.stderr).strip()
        lines = [ln for ln in text.splitlines() if ln.strip() and ln.strip() != "Done"]
        return Pushed(proc.returncode == 0, lines)

    def fetch(self, remote: str, *refspecs: str) -> subprocess.CompletedProcess[str]:
        return self._git("fetch", remote, *refspecs)


def repo_at(root: Path) -> GitRepo:
    """The git repository ``root`` is in; RepoError when it is in none."""
    repo = find_repo(root)
    if repo is None:
        raise RepoError(f"{root} is not inside a git repository", hint="run `sdops init` first")
    return repo


def find_repo(root: Path) -> GitRepo | None:
    """The git repository ``root`` is in, or None."""
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def work_tree(repo: GitRepo) -> Path:
    """The top directory of the repository's work tree; RepoError for a bare repository."""
    if repo.working_tree_dir is None:
        raise RepoError(f"{repo.git_dir} is a bare repository: this needs a work tree")
    return Path(repo.working_tree_dir)


def git_cwd(repo: GitRepo) -> str:
    """Where git commands on the repository run: its work tree, or a bare repository's
    own directory."""
    return str(repo.working_tree_dir or repo.git_dir)


def message(commit: Any) -> str:
    """A commit's or tag's message as text (GitPython types it str | bytes)."""
    text = commit.message
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def blob_at(commit: Any, path: str) -> bytes | None:
    """The bytes of ``path`` in a commit's tree, or None when it is not there."""
    try:
        return bytes((commit.tree / path).data_stream.read())
    except (KeyError, ValueError):
        return None


def repo_path(repo: GitRepo, path: Path) -> str:
    """``path`` relative to the repository's top directory, as git trees name it."""
    return path.resolve().relative_to(work_tree(repo).resolve()).as_posix()


def dvc_root(path: Path) -> Path | None:
    for p in (path, *path.parents):
        if (p / ".dvc").is_dir():
            return p
    return None


def dvc_pointers(root: Path) -> list[str]:
    """The ``.dvc`` files under ``root`` (the pinned sources), relative to it; none inside a
    ``.dvc`` directory."""
    return [
        p.relative_to(root).as_posix()
        for p in sorted(root.rglob("*.dvc"))
        if p.is_file() and ".dvc" not in p.relative_to(root).parts[:-1]
    ]


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
def release_worktree(repo: GitRepo, rev: str, *, shared_cache: bool = False) -> Iterator[Path]:
    """A temporary detached worktree of ``rev`` whose DVC can fetch what the clone can: the
    clone's remotes (``config.local`` included, where private remotes often live) and, when
    there is no remote or ``shared_cache``, the clone's own cache. Removed afterwards."""
    import shutil
    import tempfile

    work = work_tree(repo)
    tmp = Path(tempfile.mkdtemp(prefix="sdops-wt-"))
    wt = tmp / "wt"
    repo.git.worktree("add", "--detach", str(wt), rev)
    try:
        for local in work.rglob(".dvc/config.local"):
            dest = wt / local.relative_to(work)
            if dest.parent.is_dir():
                shutil.copyfile(local, dest)
        for dvc_dir in wt.rglob(".dvc"):
            if dvc_dir.is_dir() and (
                shared_cache or not run_dvc(["remote", "list"], cwd=dvc_dir.parent).strip()
            ):
                src_cache = work / dvc_dir.parent.relative_to(wt) / ".dvc" / "cache"
                run_dvc(["config", "--local", "cache.dir", str(src_cache)], cwd=dvc_dir.parent)
        yield wt
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(wt)],
            cwd=work,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)
