"""Fixtures that build real git + DVC repositories in temporary directories.

Like DVC's ``dvc.testing`` fixtures and pre-commit's tests: a pinned author identity,
a private global git config, no analytics, and the real ``sdops`` and ``dvc`` commands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

TESTS = Path(__file__).resolve().parent
CREDIT = TESTS / "data" / "credit_card.csv"
BIN = Path(sys.executable).parent
TEST_EMAIL = "test@example.invalid"  # the suite's own git identity (the change author)


@pytest.fixture(autouse=True, scope="session")
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _set_env(tmp_path_factory, monkeypatch)
        yield


def _set_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    # every commit the suite makes is signed by the test identity's SSH key, as a team that
    # enforces four eyes with the git provider signs its commits (issue 25: authorship is
    # proven by signature, not by the self-declared author field)
    key = home / "id_test"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", TEST_EMAIL, "-f", str(key)],
        check=True,
        capture_output=True,
    )
    gitconfig.write_text(
        f"[user]\n\tname = sdops test\n\temail = {TEST_EMAIL}\n\tsigningkey = {key}\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = true\n"
        "[gpg]\n\tformat = ssh\n"
    )
    monkeypatch.setenv(
        "SDOPS_TEST_SIGNER", f"{TEST_EMAIL} {key.with_suffix('.pub').read_text().strip()}\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("SDOPS_NO_PROGRESS", "1")
    monkeypatch.setenv("SDOPS_CACHE_DIR", str(tmp_path_factory.mktemp("sdops-cache")))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("SDOPS_DEBUG", raising=False)
    # the suite runs one process per core (README's `pytest -n 2`): each takes its share of
    # the cores for native pools (sdops's evaluation threads honour it; results do not
    # depend on it), instead of every process sizing its pools to the whole machine
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(1, len(os.sched_getaffinity(0)) // max(1, workers))
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", str(share)))


def run(
    args: list[str], cwd: Path, *, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, check=False, env=env or dict(os.environ)
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def sdops(*args: str, cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "sdops_dvc", *args], cwd, check=check)


def sdops_in(*args: str, cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``sdops ARGS`` in this process: the same entry point (``sdops_dvc.cli.main.main``, its
    error handler and exit codes), without starting Python and importing SDV again. For
    commands whose subprocess proves nothing more (``init``: ~4 s of imports per call); the
    console script itself is exercised by the subprocess tests. Restores the working
    directory, the environment and the logging handlers afterwards."""
    import contextlib
    import io
    import logging

    from sdops_dvc.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    here, env = Path.cwd(), dict(os.environ)
    handlers = logging.getLogger().handlers[:]
    code = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(env)
        logging.getLogger().handlers[:] = handlers
    proc = subprocess.CompletedProcess(["sdops", *args], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(
            f"sdops {' '.join(args)} exited {code}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "dvc", *args], cwd, check=check)


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["git", *args], cwd, check=check)


def read_lock(root: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((root / "dvc.lock").read_text())


def lock_md5(root: Path, stage: str, path: str, kind: str = "outs") -> str:
    for entry in read_lock(root)["stages"][stage][kind]:
        if entry["path"] == path:
            return str(entry["md5"])
    raise KeyError(f"{path} not in {stage}.{kind}")


def set_params(root: Path, updates: dict[str, object]) -> None:
    """Update dotted keys in params.yaml (a test stands in for a human editing it)."""
    from ruamel.yaml import YAML

    ry = YAML()
    path = root / "params.yaml"
    data = ry.load(path.read_text())
    for dotted, value in updates.items():
        cur = data
        *parents, last = dotted.split(".")
        for part in parents:
            cur = cur.setdefault(part, {})
        cur[last] = value
    with path.open("w") as fh:
        ry.dump(data, fh)


@pytest.fixture
def credit_df() -> pd.DataFrame:
    return pd.read_csv(CREDIT)


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    """A 400-row slice of the CreditCard table, written as a csv outside any repo."""
    src = tmp_path / "incoming" / "credit.csv"
    src.parent.mkdir(parents=True)
    pd.read_csv(CREDIT).head(400).to_csv(src, index=False)
    return src


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", cwd=root)
    return root


# the charter and a short attack count every pipeline test sets (init leaves the charter to
# the user: without it the policy gate blocks)
TEST_CHARTER: dict[str, object] = {
    "policy.owner": "tests",
    "policy.intended_use": "tests",
    "policy.audiences": ["tests"],
    "policy.access_classification": "internal",
    "policy.retention_days": 30,
    "evaluation.privacy.n_attacks": 100,
}


def make_pipeline(repo: Path, small_source: Path) -> Path:
    sdops_in(
        "init",
        "--source",
        str(small_source),
        "--name",
        "credit",
        "--target",
        "card",
        "--snapshot-id",
        "test://credit/v1",
        # the pipeline's own tests keep the copula they were calibrated on (a 320-row train);
        # init's default family has its own tests (tests/flows/stages/test_cart_pipeline.py)
        "--family",
        "gaussian_copula",
        cwd=repo,
        check=True,
    )
    set_params(
        repo,
        {
            **TEST_CHARTER,
            # a 320-row train makes a copula visibly different to a detector (AUC ~0.9) and an
            # 80-row holdout makes TSTR/TRTR noisy: these tests are about the pipeline, the
            # gates have their own planted-case tests on full tables (tests/flows/stages/test_gates.py)
            "gates.quality.max_detection_auc": 0.97,
            "gates.quality.min_utility_ratio": 0.5,
            # subgroups are measured, but 80 holdout rows are too few to gate on them
            "evaluation.subgroups.columns": ["owner", "selfemp"],
            "evaluation.subgroups.min_size": 10,
            "gates.subgroup.enabled": False,
        },
    )
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "pipeline", cwd=repo)
    return repo


@pytest.fixture
def pipeline(repo: Path, small_source: Path) -> Path:
    """A repo with `sdops init` done and committed (gaussian copula, CreditCard slice)."""
    return make_pipeline(repo, small_source)


@pytest.fixture(scope="session")
def pipeline_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pipeline after `dvc repro`, outputs committed. Shared: tests must not modify it."""
    base = tmp_path_factory.mktemp("ran")
    src = base / "incoming" / "credit.csv"
    src.parent.mkdir(parents=True)
    pd.read_csv(CREDIT).head(400).to_csv(src, index=False)
    root = base / "repo"
    root.mkdir()
    git("init", "-q", cwd=root)
    make_pipeline(root, src)
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "repro", cwd=root)
    return root


# -- approvers with real SSH signing keys (git's gpg.format=ssh) ------------------------------


class Approver:
    """A person with an ed25519 key made by ssh-keygen, who signs approval commits."""

    def __init__(self, tmp: Path, name: str, email: str) -> None:
        self.name, self.email = name, email
        self.key = tmp / f"id_{email.split('@')[0]}"
        if not self.key.exists():
            run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(self.key)],
                tmp,
                check=True,
            )

    @property
    def signer_line(self) -> str:
        return f"{self.email} {(self.key.with_suffix('.pub')).read_text().strip()}\n"

    @property
    def trailer(self) -> str:
        return f"Approved-by: {self.name} <{self.email}>"

    def approve(self, cwd: Path, message: str = "Approve release", *, extra: str = "") -> str:
        """A signed, empty approval commit authored by the approver; returns its sha."""
        body = f"{message}\n\n{self.trailer}" + (f"\n{extra}" if extra else "")
        self.commit(cwd, "--allow-empty", "-m", body)
        return git("rev-parse", "HEAD", cwd=cwd).stdout.strip()

    def commit(self, cwd: Path, *args: str) -> None:
        git(
            "-c",
            "gpg.format=ssh",
            "-c",
            f"user.signingkey={self.key}",
            "-c",
            f"user.name={self.name}",
            "-c",
            f"user.email={self.email}",
            "commit",
            "-q",
            "-S",
            *args,
            cwd=cwd,
        )


def trust(cwd: Path, *approvers: Approver) -> None:
    """Write .sdops/allowed_signers with the approvers' public keys (committed by the caller)."""
    path = cwd / ".sdops" / "allowed_signers"
    path.parent.mkdir(exist_ok=True)
    # the change author's key too: with four eyes, who made a change is read from its signature
    path.write_text(os.environ["SDOPS_TEST_SIGNER"] + "".join(a.signer_line for a in approvers))


TRAILER = "Approved-by: Ana Privacy <ana@example.com>"


def tag_record(cwd: Path, tag: str) -> dict:  # type: ignore[type-arg]
    """The release record a tag carries (its annotation's body, without any signature)."""
    import json

    body = git("tag", "-l", "--format=%(contents:body)", tag, cwd=cwd).stdout
    return json.loads(body)  # type: ignore[no-any-return]


def tags(cwd: Path) -> list[str]:
    return git("tag", "--list", cwd=cwd).stdout.split()


def remote_tags(origin: Path) -> list[str]:
    out = git("ls-remote", "--tags", str(origin), cwd=origin).stdout
    return [line.split("refs/tags/")[1] for line in out.splitlines() if "^{}" not in line]


@pytest.fixture
def ana(tmp_path: Path) -> Approver:
    return Approver(tmp_path, "Ana Privacy", "ana@example.com")


def approve_release(work: Path, message: str = "Approve release") -> str:
    """Ana's signed approval of the current content (her key lives beside the work tree)."""
    return Approver(work.parent, "Ana Privacy", "ana@example.com").approve(work, message)


def make_world(pipeline_outputs: Path, base: Path, ana: Approver) -> dict[str, Path]:
    """A release repository in ``base``: the pipeline run and committed, a bare origin, a
    release DVC remote (default) and a private one for real data, Ana's key trusted for the
    privacy role."""
    import shutil

    work = base / "work"
    shutil.copytree(pipeline_outputs, work, symlinks=True)
    origin = base / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=base)
    git("remote", "add", "origin", str(origin), cwd=work)
    store = base / "dvcstore"
    private = base / "private-store"
    dvc("remote", "add", "-d", "store", str(store), cwd=work)
    sdops("private-remote", str(private), cwd=work, check=True)
    set_params(work, {"release.approvals.roles": {"privacy": ["ana@example.com"]}})
    trust(work, ana)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Configure remotes and approvals", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    return {"work": work, "origin": origin, "store": store, "private": private}


@pytest.fixture
def world(pipeline_outputs: Path, tmp_path: Path, ana: Approver) -> dict[str, Path]:
    """A release repository of its own (see :func:`make_world`)."""
    return make_world(pipeline_outputs, tmp_path, ana)


# The forges (GitHub, GitLab) cannot be reached from tests: a local HTTP server on 127.0.0.1
# stands in for their REST APIs, serving the response shapes they document; GITHUB_API_URL
# and GITLAB_API_URL point at it. Tests put bodies in ``routes`` (path -> JSON, or an
# HTTPStatus to fail with) and read the requests in ``seen``.
@pytest.fixture
def forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    routes: dict[str, Any] = {}
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization")
                    or self.headers.get("PRIVATE-TOKEN")
                    or "",
                }
            )
            # a route with its query (one page of a list) first, else the path's
            body = routes.get(self.path, routes.get(self.path.split("?")[0]))
            if body is None or isinstance(body, HTTPStatus):  # an error status, no body
                self.send_response(body or 404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("GITHUB_API_URL", base)
    monkeypatch.setenv("GITLAB_API_URL", base)
    try:
        yield {"routes": routes, "seen": seen}
    finally:
        server.shutdown()
        server.server_close()
