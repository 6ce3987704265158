"""``sdops demo``: the whole lifecycle in a throwaway directory, on bundled data.

Layout of the demo directory: ``repo/`` (the project), ``origin.git`` (its bare git origin),
``release-store/`` (the release DVC remote consumers read), ``private-store/`` (the private
DVC remote for real rows), ``consumer/`` (an empty directory a consumer works from) and
``keys/`` (throwaway SSH keys: the author's signs commits and the release tag, the
reviewer's signs her approval; both listed in the committed allowed-signers file).
Steps, each a commit where it changes the project: init (with the charter), remotes and
approval roles, ``dvc repro``, a reviewer's approval, ``sdops release``; then, as a consumer
with nothing but origin's path: list, show and get.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdops_dvc.base.errors import RepoError, WouldOverwrite
from sdops_dvc.base.fsutil import atomic_path, write_text_atomic
from sdops_dvc.base.scm import git as _git, run_dvc
from sdops_dvc.base.templates import demo_table
from sdops_dvc.base.yamlio import dump_round_trip, round_trip
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.config import load_params
from sdops_dvc.setup.project import Charter, init_project, set_private_remote

NAME = "health-insurance"
CHARTER = Charter(
    intended_use="demonstration of sdops-dvc; not for analysis or decisions",
    audiences=("sdops-dvc-demo",),
    classification="internal",
    retention_days=30,
    owner="demo@example.invalid",
)
AUTHOR = ("sdops demo", "demo@example.invalid")
REVIEWER = ("Dana Privacy", "privacy@example.invalid")
STEPS = 7


@dataclass(frozen=True)
class DemoResult:
    root: Path
    paths: dict[str, Path]
    approved: bool
    release: str | None = None
    commits: list[str] = field(default_factory=list)
    listed: list[dict[str, Any]] = field(default_factory=list)
    shown: dict[str, Any] = field(default_factory=dict)  # the release's manifest, as shown
    got: Path | None = None


def run_demo(
    directory: Path | None,
    family: str = "gaussian_copula",
    progress: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Run every step; ``progress`` is told each one as it starts."""
    top = _empty_dir(directory)
    repo, origin = top / "repo", top / "origin.git"
    store, private, consumer = top / "release-store", top / "private-store", top / "consumer"
    for d in (repo, consumer):
        d.mkdir()
    step = _Steps(progress)
    keys, commits = _set_up(top, repo, family, step)

    step("remotes: a bare git origin, a release DVC remote, a private one for real rows")
    _run(top, "init", "-q", "--bare", str(origin))
    _run(repo, "remote", "add", "origin", str(origin))
    run_dvc(["remote", "add", "-d", "release", str(store)], cwd=repo)
    set_private_remote(repo, str(private))
    _approval_roles(repo / L.PARAMS, signed=keys is not None)
    commits.append(_commit(repo, "Remotes and approval roles (privacy: Dana)"))

    step("dvc repro: split, generate, evaluate, gate, manifest")
    run_dvc(["repro"], cwd=repo)
    gate = json.loads((repo / L.GATE).read_text(encoding="utf-8"))
    commits.append(_commit(repo, "dvc repro: candidate, reports and manifest"))
    _run(repo, "push", "-q", "origin", "HEAD:main")

    release: str | None = None
    listed: list[dict[str, Any]] = []
    shown: dict[str, Any] = {}
    got: Path | None = None
    if gate.get("approved"):
        release, listed, shown, got = _approve_release_and_read(
            repo, origin, consumer / "synthetic.csv", keys, step, commits
        )
    else:
        step("the gate blocked the candidate: no release (see reports/report.md)")
    paths = _paths(repo, origin, store, private)
    if got is not None:
        paths["consumer's copy"] = got
    approved = bool(gate.get("approved"))
    return DemoResult(top, paths, approved, release, commits, listed, shown, got)


def _set_up(
    top: Path, repo: Path, family: str, step: Callable[[str], None]
) -> tuple[dict[str, Path] | None, list[str]]:
    """``sdops init`` on the bundled table in ``repo``, the author's identity and signing
    key (when ssh-keygen is here), and the first commit; the keys and the commits."""
    step("init: track the bundled HealthInsurance table, detect metadata, write the pipeline")
    source = repo / "data" / "source" / "health_insurance.csv"
    source.parent.mkdir(parents=True)
    shutil.copyfile(demo_table(), source)
    init_project(
        repo,
        [source],
        NAME,
        target="insurance",
        snapshot_id="aer://HealthInsurance/1996",
        family=family,
        charter=CHARTER,
    )
    _identity(repo, *AUTHOR)
    keys = _keys(top / "keys", repo)
    if keys is not None:
        _run(repo, "config", "gpg.format", "ssh")
        _run(repo, "config", "user.signingkey", str(keys["author"]))
        _run(repo, "config", "commit.gpgsign", "true")
    return keys, [_commit(repo, "sdops init: pipeline on the bundled HealthInsurance table")]


def _approve_release_and_read(
    repo: Path,
    origin: Path,
    got: Path,
    keys: dict[str, Path] | None,
    step: Callable[[str], None],
    commits: list[str],
) -> tuple[str, list[dict[str, Any]], dict[str, Any], Path]:
    """The reviewer's approval commit (appended to ``commits``), ``sdops release``, and a
    consumer's list, show and get from origin into ``got``: the tag, the listing, the
    manifest shown and ``got``."""
    step("review: Dana approves the candidate in a commit with an Approved-by trailer")
    message = f"Approve the release\n\nApproved-by: {REVIEWER[0]} <{REVIEWER[1]}>"
    signing = ["-c", f"user.signingkey={keys['reviewer']}"] if keys is not None else []
    _run(
        repo,
        "-c", f"user.name={REVIEWER[0]}", "-c", f"user.email={REVIEWER[1]}", *signing,
        "commit", "-q", "--allow-empty", "-m", message,
    )  # fmt: skip
    commits.append(_head(repo))
    _run(repo, "push", "-q", "origin", "HEAD:main")

    step("sdops release: every check, data to the remotes, the tag to origin")
    from sdops_dvc.registry.releases import release as do_release

    res = do_release(repo, load_params(repo / L.PARAMS), NAME, "minor")

    step("a consumer, from an empty directory with origin's path: list and show")
    from sdops_dvc.registry.reader import Registry

    mirror = Registry.at(origin)  # a consumer reads origin (a bare repository)
    listed = [r.as_json() for r in mirror.releases(NAME)]
    found = mirror.manifest(mirror.resolve(f"{NAME}@current"))

    step(f"a consumer: get {NAME}@current (md5 checked against the manifest)")
    from sdops_dvc.api import read_bytes

    _, _, data = read_bytes(f"{NAME}@current", origin)
    with atomic_path(got) as tmp:
        tmp.write_bytes(data)
    return res.tag, listed, found.doc if found else {}, got


def _paths(repo: Path, origin: Path, store: Path, private: Path) -> dict[str, Path]:
    """What the demo made, by what it is."""
    return {
        "repository": repo,
        "origin": origin,
        "release DVC remote": store,
        "private DVC remote": private,
        "params": repo / L.PARAMS,
        "metadata": repo / L.METADATA,
        "train split": repo / L.TRAIN,
        "holdout split": repo / L.HOLDOUT,
        "synthetic": repo / "data" / "synthetic" / "synthetic.csv",
        "metrics": repo / L.METRICS,
        "gate": repo / L.GATE,
        "report (html)": repo / L.REPORTS / "report.html",
        "report (markdown)": repo / L.REPORTS / "report.md",
        "manifest": repo / L.MANIFEST,
    }


class _Steps:
    def __init__(self, progress: Callable[[str], None]) -> None:
        self.n, self.progress = 0, progress

    def __call__(self, what: str) -> None:
        self.n += 1
        self.progress(f"[{self.n}/{STEPS}] {what}")


def _empty_dir(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="sdops-demo-"))
    if directory.exists() and any(directory.iterdir()):
        raise WouldOverwrite(
            f"demo directory {directory} is not empty", hint="give a new or empty directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _identity(repo: Path, name: str, email: str) -> None:
    """A throwaway repository never depends on a global git identity."""
    _run(repo, "config", "user.name", name)
    _run(repo, "config", "user.email", email)


def _run(cwd: Path, *args: str) -> str:
    """``git ARGS``; a failure stops the demo with git's own words."""
    proc = _git(cwd, *args)
    if proc.returncode != 0:
        verb = next((a for a in args if not a.startswith("-") and "=" not in a), "")
        raise RepoError(f"the demo's `git {verb}` failed: {proc.stderr.strip()}")
    return proc.stdout


def _commit(repo: Path, message: str) -> str:
    _run(repo, "add", "-A")
    _run(repo, "commit", "-q", "--no-verify", "-m", message)
    return _head(repo)


def _head(repo: Path) -> str:
    return _run(repo, "rev-parse", "HEAD").strip()


def _keys(directory: Path, repo: Path) -> dict[str, Path] | None:
    """Throwaway SSH keys for the author (commits, release tag) and the reviewer, listed in
    the repository's allowed-signers file; None when ssh-keygen is not installed."""
    import subprocess

    if shutil.which("ssh-keygen") is None:
        return None
    directory.mkdir()
    keys: dict[str, Path] = {}
    lines = []
    for who, (_, email) in (("author", AUTHOR), ("reviewer", REVIEWER)):
        key = directory / f"id_{who}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(key)],
            check=True,
            capture_output=True,
        )
        keys[who] = key
        lines.append(f"{email} {key.with_suffix('.pub').read_text(encoding='utf-8').strip()}\n")
    signers = repo / ".sdops" / "allowed_signers"
    signers.parent.mkdir(exist_ok=True)
    signers.write_text("".join(lines), encoding="utf-8")
    return keys


def _approval_roles(params_path: Path, *, signed: bool) -> None:
    """The privacy role, held by Dana, who signs her approval with her key (the repository's
    first release: trust on first use, recorded as such). Without ssh-keygen her approval is
    an unsigned trailer, counted only with ``allow_unverified``, and the release tag is not
    signed (``release.sign_tags: false``): both recorded in the tag."""

    doc = round_trip().load(params_path.read_text(encoding="utf-8"))
    approvals = doc["release"]["approvals"]
    approvals["roles"] = {"privacy": [REVIEWER[1]]}
    if not signed:
        approvals["allow_unverified"] = True
        doc["release"]["sign_tags"] = False
    write_text_atomic(params_path, dump_round_trip(doc))
