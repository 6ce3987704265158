"""Isolated runtimes: a generator whose dependencies cannot join sdops' environment runs in a
virtualenv of its own.

pre-commit's habit: one environment per locked revision, in a user cache, built on first use
and reused after. A runtime is built from a lock file shipped with the package
(``runtimes/<name>.txt``: every package pinned, installed with pip's ``--no-deps`` so nothing
is resolved and the same lock gives the same packages), in a directory named by the lock's
digest, so a new lock is a new environment and an old one is never changed in place. The
build goes to a temporary directory, is probed (its generator imports), and is then renamed
into place with its record (``sdops-runtime.json``) inside: a directory under that name is a
finished runtime. Concurrent builds (``dvc exp run --parallel``, two test workers) wait on a
file lock and the second finds the first's result.

Jobs run in that interpreter with a clean environment (no ``PYTHONPATH``, no user site), the
thread variables bounded to the job's count, and their stderr forwarded line by line to the
log (progress on long fits). Nothing here imports the generator: that happens only in the
other interpreter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdops_dvc.base.errors import RuntimeUnavailable

log = logging.getLogger(__name__)

LOCKS = Path(__file__).parent / "runtimes"
RECORD = "sdops-runtime.json"
# per runtime: the distributions whose versions its record keeps, and the modules it must
# import once built (the probe that makes a build a runtime)
PROBES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tabular_argn": (
        ("mostlyai-engine", "torch", "numpy", "pandas", "pyarrow"),
        ("mostlyai.engine", "torch", "numpy", "pandas", "pyarrow"),
    ),
}
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def root() -> Path:
    """Where runtimes live: ``$SDOPS_RUNTIME_DIR``, else the user cache
    (``$XDG_CACHE_HOME/sdops-dvc/runtimes``, ``~/.cache/sdops-dvc/runtimes``)."""
    explicit = os.environ.get("SDOPS_RUNTIME_DIR")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "sdops-dvc" / "runtimes"


@dataclass(frozen=True)
class Runtime:
    name: str
    digest: str  # sha256 of the lock file, first 12 hex digits
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def installed(self) -> bool:
        return (self.path / RECORD).is_file() and self.python.exists()

    def record(self) -> dict[str, Any]:
        """The runtime's record: its name, lock digest and the probed versions."""
        data: dict[str, Any] = json.loads((self.path / RECORD).read_text(encoding="utf-8"))
        return data


def lock_file(name: str) -> Path:
    path = LOCKS / f"{name}.txt"
    if name not in PROBES or not path.is_file():
        raise RuntimeUnavailable(
            f"no runtime named {name!r}", hint=f"known runtimes: {', '.join(sorted(PROBES))}"
        )
    return path


def locate(name: str) -> Runtime:
    """The runtime ``name`` as this package's lock defines it (installed or not)."""
    digest = hashlib.sha256(lock_file(name).read_bytes()).hexdigest()[:12]
    return Runtime(name, digest, root() / f"{name}-{digest}")


def ensure(name: str) -> Runtime:
    """The runtime, built first if it is not there yet (about a minute and 1.7 GB for
    tabular_argn; the package registry must be reachable)."""
    rt = locate(name)
    if rt.installed:
        return rt
    return install(name)


def install(name: str, *, force: bool = False) -> Runtime:
    """Build the runtime (again, with ``force``). Atomic: a failed build leaves nothing
    under the runtime's name."""
    rt = locate(name)
    rt.path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(rt.path.parent / f".{rt.path.name}.lock"):
        if rt.installed and not force:
            return rt
        log.info(
            "building the %s runtime in %s (once per lock: a virtualenv of its own, about a "
            "minute)",
            name,
            rt.path,
        )
        tmp = Path(tempfile.mkdtemp(prefix=f".{rt.path.name}.", dir=rt.path.parent))
        try:
            _build(name, tmp)
            if rt.path.exists():  # force, or a half-removed old one: out of the way first
                old = Path(tempfile.mkdtemp(prefix=f".{rt.path.name}.old.", dir=rt.path.parent))
                os.replace(rt.path, old / "rt")
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, rt.path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    log.info("%s runtime ready: %s", name, rt.python)
    return rt


def _build(name: str, target: Path) -> None:
    """A venv in ``target`` with the lock installed and probed, and its record written."""
    _run([sys.executable, "-m", "venv", "--clear", str(target)], f"creating the {name} venv")
    py = str(target / "bin" / "python")
    _run(
        [
            py,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--no-deps",
            "-r",
            str(lock_file(name)),
        ],
        f"installing the {name} lock",
    )
    dists, modules = PROBES[name]
    probe = (
        f"import {', '.join(modules)}\nimport importlib.metadata as m, json, platform\n"
        f"print(json.dumps([platform.python_version(), {{p: m.version(p) for p in "
        f"{list(dists)!r}}}]))"
    )
    python, versions = json.loads(
        _run([py, "-c", probe], f"importing the {name} generator").strip().splitlines()[-1]
    )
    record = {
        "name": name,
        "lock_sha256": hashlib.sha256(lock_file(name).read_bytes()).hexdigest(),
        "python": python,
        "packages": versions,
    }
    (target / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_clean_env(None))
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-6:])
        raise RuntimeUnavailable(
            f"{what} failed (exit {proc.returncode}):\n{tail}",
            hint="check that the package registry is reachable and the disk has about 2 GB "
            "free, then run `sdops runtime install` again",
        )
    return proc.stdout


def _clean_env(threads: int | None) -> dict[str, str]:
    """The caller's environment without what would leak sdops' packages into the runtime."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    if threads is not None:
        env.update({var: str(threads) for var in _THREAD_VARS})
    return env


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_job(rt: Runtime, script: Path, job: dict[str, Any], *, threads: int, what: str) -> None:
    """Run ``script`` in the runtime's interpreter with ``job`` (JSON) as its argument,
    forwarding its stderr to the log as it comes; a failure raises RuntimeUnavailable with
    the job's last lines."""
    with tempfile.TemporaryDirectory(prefix="sdops-job-") as tmp:
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        proc = subprocess.Popen(
            [str(rt.python), "-s", "-P", str(script), str(job_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_clean_env(threads),
        )
        assert proc.stderr is not None
        tail: list[str] = []
        for line in proc.stderr:
            line = line.rstrip()
            if line:
                log.info("%s: %s", what, line)
                tail = [*tail[-7:], line]
        code = proc.wait()
    if code != 0:
        raise RuntimeUnavailable(
            f"{what} failed in the {rt.name} runtime (exit {code}):\n" + "\n".join(tail),
            hint="rerun with -v for the whole log; if the runtime is damaged, rebuild it with "
            f"`sdops runtime install {rt.name} --force`",
        )
