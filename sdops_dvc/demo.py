"""``sdops demo``: a throwaway repository running the whole flow on bundled data."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sdops_dvc import layout as L
from sdops_dvc.errors import WouldOverwrite
from sdops_dvc.project import init_project
from sdops_dvc.scm import run_dvc
from sdops_dvc.templates import demo_table

DEMO_POLICY = {
    "intended_use": "demonstration of sdops-dvc; not for analysis or decisions",
    "audiences": ["sdops-dvc-demo"],
    "access_classification": "internal",
    "retention_days": 30,
    "owner": "demo@example.invalid",
}


@dataclass(frozen=True)
class DemoResult:
    root: Path
    paths: dict[str, Path]
    approved: bool


def run_demo(directory: Path | None, family: str = "gaussian_copula") -> DemoResult:
    import git

    from sdops_dvc.fsutil import write_text_atomic
    from sdops_dvc.yamlio import dump_round_trip, round_trip

    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="sdops-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        raise WouldOverwrite(
            f"demo directory {directory} is not empty", hint="give a new or empty directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "data" / "source" / "health_insurance.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo_table(), source)
    init_project(
        directory,
        source,
        "health-insurance",
        target="insurance",
        snapshot_id="aer://HealthInsurance/1996",
        family=family,
    )
    params_path = directory / L.PARAMS
    doc = round_trip().load(params_path.read_text(encoding="utf-8"))
    for key, value in DEMO_POLICY.items():
        doc["policy"][key] = value
    write_text_atomic(params_path, dump_round_trip(doc))

    repo = git.Repo(directory)
    with repo.config_writer() as cfg:  # a throwaway repo: never depend on a global identity
        cfg.set_value("user", "name", "sdops demo")
        cfg.set_value("user", "email", "demo@example.invalid")
    repo.git.add(A=True)
    repo.git.commit(
        "-m", "sdops demo: pipeline on the bundled HealthInsurance table", "--no-verify"
    )
    run_dvc(["repro"], cwd=directory)
    import json

    gate = json.loads((directory / L.GATE).read_text(encoding="utf-8"))
    paths = {
        "params": params_path,
        "metadata": directory / L.METADATA,
        "train": directory / L.TRAIN,
        "holdout": directory / L.HOLDOUT,
        "synthetic": directory / "data" / "synthetic" / "synthetic.csv",
        "metrics": directory / L.METRICS,
        "gate": directory / L.GATE,
        "manifest": directory / L.MANIFEST,
    }
    return DemoResult(directory, paths, bool(gate.get("approved")))
