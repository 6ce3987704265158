"""The click layer's registry commands in-process (cli/inspect.py, cli/releases.py,
cli/aftercare.py, cli/budget.py, cli/catalog.py), on a real repository where `sdops init`
ran and nothing is released yet: what a new user sees before the first release, each
refusal one readable error with its exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ReleaseUnavailable
from sdops_dvc.cli import aftercare, budget, catalog, inspect, releases
from sdops_dvc.registry.operations import rollback
from sdops_dvc.registry.site import build
from tests.unit.conftest import Ran


def test_before_the_first_release_there_is_nothing_to_list_show_or_revoke(
    project: Path, run_cli: Callable[..., Ran]
) -> None:
    assert {c.name for c in (inspect.list_, inspect.show)} == {"list", "show"}
    listed = run_cli("list", "--json")
    assert listed.code == 0 and listed.json() == []
    for argv in (
        ["show", "credit@v1.0.0"],
        ["revoke", "credit@v1.0.0", "--kind", "privacy", "--reason", "x"],
        ["incident", "credit@v1.0.0", "--kind", "privacy"],
        ["verify", "credit@v1.0.0"],
    ):
        ran = run_cli(*argv)
        assert ran.code == ReleaseUnavailable.exit_code, (argv, ran.err)
        assert "no release of 'credit'" in ran.err and "Traceback" not in ran.err
    assert releases.revoke.name == "revoke" and aftercare.incident.name == "incident"
    with pytest.raises(ReleaseUnavailable):
        rollback(project, "credit")


def test_consumers_budget_and_catalog_start_empty(
    project: Path, run_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    consumers = run_cli("consumers", "credit", "--json")
    assert consumers.code == 0 and consumers.json() == []
    spent = run_cli("budget", "--json")
    assert spent.code == 0, spent.err
    doc = spent.json()
    assert doc["entries"] == [] and doc["total"]["rho"] == 0 and doc["cap_changes"] == []
    site = run_cli("catalog", "--out", str(tmp_path / "site"), "--json")
    assert site.code == 0, site.err
    index = (tmp_path / "site" / "index.html").read_text()
    assert "no release records a budget" in index
    assert budget.budget.name == "budget" and catalog.catalog.name == "catalog"
    # the catalog refuses to replace a directory it did not make
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    refused = run_cli("catalog", "--out", str(tmp_path / "mine"))
    assert refused.code != 0 and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert build(project, tmp_path / "again").pages >= 1
