"""Monitoring a release against fresh real data, on the real HealthInsurance table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.base.templates import demo_table
from tests.conftest import dvc, git, sdops, sdops_in, set_params, trust


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("monitor")
    real = pd.read_csv(demo_table())
    perm = np.random.default_rng(0).permutation(len(real))
    real.iloc[np.sort(perm[:6000])].to_csv(base / "source.csv", index=False)
    fresh = real.iloc[np.sort(perm[6000:])].reset_index(drop=True)
    rng = np.random.default_rng(1)
    fresh.to_csv(base / "same.csv", index=False)
    shifted = fresh.copy()
    shifted["age"] = shifted["age"] + 12
    shifted.loc[rng.random(len(shifted)) < 0.1, "region"] = "pacific"
    shifted.to_csv(base / "shifted.csv", index=False)
    group = fresh.copy()
    flip = (group["ethnicity"] == "afam") & (rng.random(len(group)) < 0.7)
    group.loc[flip, "insurance"] = group.loc[flip, "insurance"].map({"yes": "no", "no": "yes"})
    group.to_csv(base / "group.csv", index=False)

    repo = base / "repo"
    sdops_in(
        "init",
        "--source",
        str(base / "source.csv"),
        "--name",
        "health",
        "--target",
        "insurance",
        "--dir",
        str(repo),
        # the thresholds below were calibrated on the copula's release; the monitor is
        # what these tests are about
        "--family",
        "gaussian_copula",
        cwd=base,
        check=True,
    )
    set_params(
        repo,
        {
            "policy.intended_use": "tests",
            "policy.audiences": ["tests"],
            "policy.owner": "tests",
            "policy.access_classification": "internal",
            "policy.retention_days": 30,
            "evaluation.subgroups.columns": ["ethnicity", "region"],
            "gates.quality.min_utility_ratio": 0.7,
            "release.approvals.required": False,  # monitoring is tested here, not approvals
        },
    )
    trust(repo)  # the release tag is signed by the suite's key, listed here
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "pipeline", cwd=repo)
    dvc("repro", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "repro", cwd=repo)
    sdops("release", cwd=repo, check=True)
    return {"repo": repo, "base": base}


def _monitor(world: dict[str, Path], name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = sdops(
        "monitor",
        "health@latest",
        "--fresh",
        str(world["base"] / f"{name}.csv"),
        "--out",
        f"monitoring/{name}",
        cwd=world["repo"],
    )
    record = json.loads((world["repo"] / "monitoring" / name / "monitor.json").read_text())
    assert record["exit_code"] == proc.returncode
    return proc.returncode, record


def test_a_fresh_sample_of_the_same_population_is_healthy(released: dict[str, Path]) -> None:
    code, record = _monitor(released, "same")
    assert code == 0 and record["status"] == "healthy" and record["findings"] == [], record
    assert record["summary"]["max_psi"] < 0.1


def test_a_shifted_column_and_a_new_category_are_drift(released: dict[str, Path]) -> None:
    code, record = _monitor(released, "shifted")
    assert code == 2
    found = " ".join(f["what"] for f in record["findings"])
    assert "drift: age PSI" in found and "drift: age KS" in found
    assert "drift: region has categories the release never saw: ['pacific']" in found
    assert record["drift"]["gender"]["psi"] < 0.1  # untouched columns stay quiet
    assert "sdops snapshot" in record["recommendation"]


def test_one_subgroup_decays_before_the_overall_figure_moves(released: dict[str, Path]) -> None:
    code, record = _monitor(released, "group")
    assert code == 2
    worst = record["subgroups"][0]
    assert (worst["column"], worst["group"]) == ("ethnicity", "afam") and worst["decay"] > 0.08
    assert record["utility"]["decay"] < 0.03  # overall below its warning threshold
    assert not any(f["what"].startswith("utility:") for f in record["findings"])
    assert any("subgroup ethnicity=afam" in f["what"] for f in record["findings"])


def test_history_lists_runs_in_order(released: dict[str, Path]) -> None:
    for name in ("same", "shifted"):
        _monitor(released, name)
    runs = json.loads(
        sdops("monitor", "--history", "health", "--json", cwd=released["repo"], check=True).stdout
    )
    stamps = [r["checked_at"] for r in runs]
    assert len(runs) >= 2 and stamps == sorted(stamps)
    assert [r["status"] for r in runs[-2:]] == ["healthy", "action"]
    assert all(r["release"] == "health@v1.0.0" for r in runs)
    text = sdops("monitor", "--history", "health", cwd=released["repo"], check=True).stdout
    assert text.count("health@v1.0.0") == len(runs)


def test_monitoring_pipeline_stage_and_html_report(released: dict[str, Path]) -> None:
    """`sdops init` wrote monitoring/dvc.yaml: the scheduled job's `dvc repro` of it checks
    the newest source snapshot (here: unchanged, so healthy) and records the run."""
    repo = released["repo"]
    assert (
        "sdops monitor ${dataset.name}@current --fresh ${monitor.fresh}"
        in (repo / "monitoring/dvc.yaml").read_text()
    )
    proc = dvc("repro", "monitoring/dvc.yaml", cwd=repo, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((repo / "monitoring/latest/monitor.json").read_text())
    assert record["status"] == "healthy" and record["fresh"]["path"] == "data/source/source.csv"
    html = (repo / "monitoring/latest/monitor.html").read_text()
    assert "<svg" in html and "PSI per column" in html and "HEALTHY" in html
    shown = json.loads(dvc("metrics", "show", "--json", cwd=repo).stdout)
    assert "monitoring/latest/monitor.json" in json.dumps(shown)
    # the release pipeline's status ignores the monitoring pipeline
    assert "dvc.yaml" not in dvc("status", "dvc.yaml", cwd=repo).stdout.replace("up to date", "")
    workflow = (repo / ".github/workflows/sdops-monitor.yml").read_text()
    assert (
        "cron:" in workflow
        and "sdops monitor health@current --fresh data/source/source.csv" in workflow
    )
    assert "dvc update data/source/source.csv.dvc" in workflow and "{{" not in workflow
    gitlab = (repo / ".gitlab-ci-monitor.yml").read_text()
    assert '$CI_PIPELINE_SOURCE == "schedule"' in gitlab and "{{" not in gitlab
