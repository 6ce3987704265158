"""``sdops catalog`` rendered by a real browser: headless Chromium (Debian's package, which
`.ci/run` installs) loads the static site from disk, and the test reads the DOM it built and
saves a screenshot."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import run, sdops
from tests.flows.registry.test_release import copy_world, released  # noqa: F401  (module fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"


def _dom(page: Path, shot: Path) -> str:
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    url = page.resolve().as_uri()
    proc = run([CHROMIUM, *flags, "--dump-dom", url], page.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shotted = run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,1800", url], page.parent
    )
    assert shotted.returncode == 0 and shot.stat().st_size > 10_000  # a rendered page, not blank
    return proc.stdout


@pytest.fixture
def history(released: dict[str, Path], tmp_path: Path) -> Path:  # noqa: F811
    """Two releases, a rollback to the first, then the second revoked; a consumer and an
    incident report."""
    work = copy_world(released, tmp_path / "w")["work"]
    sdops("rollback", "credit", "--to", "credit@v1.0.0", cwd=work, check=True)
    sdops(
        "revoke",
        "credit@v1.1.0",
        "--kind",
        "privacy",
        "--reason",
        "rare rows reproduced",
        cwd=work,
        check=True,
    )
    (work / "consumers.yaml").write_text(
        "consumers:\n  - {name: fraud-model, contact: ml@example.com, dataset: credit, "
        "version: v1.1.0}\n"
    )
    sdops("incident", "credit@v1.1.0", cwd=work, check=True)
    return work


def test_the_catalog_renders_releases_revocation_and_budget(history: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = sdops("catalog", "--out", str(site), "--json", cwd=history, check=True)
    built = json.loads(proc.stdout)
    assert built["releases"] == 2 and built["missing"] == []
    dom = _dom(site / "index.html", tmp_path / "catalog.png")
    rows = dict(re.findall(r'<tr data-tag="(credit@v[\d.]+)" data-status="(\w+)"', dom))
    assert rows == {"credit@v1.0.0": "current", "credit@v1.1.0": "revoked"}
    assert "rare rows reproduced" in dom and "Revocations" in dom
    assert dom.count('class="trend"') >= 4  # metric plots across versions, drawn as SVG
    assert "<circle" in dom and "<polyline" in dom
    assert 'class="budget"' in dom and "Privacy budget" in dom
    assert "fraud-model" in dom and "incidents/" in dom
    # each release's page links its card, statement and report, copied into the site
    page = site / "releases/credit/v1.0.0/index.html"
    release_dom = _dom(page, tmp_path / "release.png")
    for name in ("croissant.json", "provenance.intoto.json", "datasheet.md", "report.html"):
        assert f'href="{name}"' in release_dom and (page.parent / name).is_file()
    card = json.loads((page.parent / "croissant.json").read_text())
    assert card["version"] == "1.0.0"
    # a second run replaces the site whole; a directory it did not make is never overwritten
    sdops("catalog", "--out", str(site), cwd=history, check=True)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    proc = sdops("catalog", "--out", str(other), cwd=history)
    assert proc.returncode == 7 and (other / "mine.txt").read_text() == "keep"
