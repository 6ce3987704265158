"""The wheel ships templates, the manifest schema and the demo data (pip users need them)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contains_templates_schema_and_demo_data(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("sdops_dvc-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (
        "dvc.yaml",
        "params.yaml",
        "gitignore",
        "gitlab-ci.yml",
        "github/CODEOWNERS",
        "github/pull_request_template.md",
        "github/workflows/sdops.yml",
    ):
        assert f"sdops_dvc/templates/{template}" in names
        packaged = zipfile.ZipFile(wheel).read(f"sdops_dvc/templates/{template}")
        assert packaged == (ROOT / "templates" / template).read_bytes()
    assert "sdops_dvc/schemas/manifest.schema.json" in names
    assert "sdops_dvc/data/health_insurance.csv" in names
    assert "sdops_dvc/data/README.md" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "sdops = sdops_dvc.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_repo_pipeline_matches_the_template() -> None:
    """The repo's own dvc.yaml is the template users get, so the demo exercises it."""
    assert (ROOT / "dvc.yaml").read_text() == (ROOT / "templates" / "dvc.yaml").read_text()
