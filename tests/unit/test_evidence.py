"""registry/evidence.py in-process: a released table is described from its own bytes (and
refused when they are not the ones the manifest records), the evidence's digests are what
the tag pins, and a stored copy that was altered or is missing is named. The release
remote is a real local DVC remote."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from git import Repo

from sdops_dvc.base.errors import IntegrityError
from sdops_dvc.domain.records import PrivacyInfo
from sdops_dvc.registry.evidence import (
    describe_file,
    digests,
    spend_text,
    stored_copies,
)
from sdops_dvc.registry.objects import store_files

META = {"tables": {"t": {"columns": {"age": {"sdtype": "numerical"}, "sex": {"sdtype": "categorical"},
                                      "day": {"sdtype": "datetime"}}}}}  # fmt: skip


def test_a_table_is_described_from_its_bytes_and_refused_when_they_differ(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.csv"
    pd.DataFrame({"age": [30, 41], "sex": ["f", "m"], "day": ["2024-01-01", "2024-02-01"]}).to_csv(
        path, index=False
    )
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    d = describe_file("t", "data/synthetic/synthetic.csv", md5, path, META)
    assert (d.rows, d.size, d.file_name) == (2, path.stat().st_size, "synthetic.csv")
    assert d.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # datetimes are described as the text they are written as (ISO 8601)
    assert dict(d.fields) == {"age": "sc:Integer", "sex": "sc:Text", "day": "sc:Text"}
    with pytest.raises(IntegrityError, match="the release manifest records"):
        describe_file("t", "data/synthetic/synthetic.csv", "0" * 32, path, META)
    with pytest.raises(IntegrityError, match="not at hand"):
        describe_file("t", "x.csv", md5, tmp_path / "missing.csv", META)


def test_the_spend_is_said_in_words() -> None:
    none = PrivacyInfo("none", False, None, None, 0.0, 0.0, None, None, None)
    dp = PrivacyInfo("mst", True, 1.0, 1e-6, 0.02, 5e-7, "m", "s", "l")
    assert spend_text(none) == "no formal privacy guarantee (mechanism: none)"
    assert spend_text(dp) == "mst: epsilon 1, delta 1e-06"


def test_stored_evidence_is_checked_against_the_signed_digests(tmp_path: Path) -> None:
    top = tmp_path / "repo"
    top.mkdir()
    Repo.init(top)
    subprocess.run(["dvc", "init", "-q"], cwd=top, check=True)
    subprocess.run(["dvc", "remote", "add", "-d", "release", str(tmp_path / "store")],
                   cwd=top, check=True)  # fmt: skip
    files = {"croissant.json": b"{}", "datasheet.md": b"# t\n"}
    pinned = digests(files)
    assert pinned["datasheet.md"]["sha256"] == hashlib.sha256(b"# t\n").hexdigest()
    store_files(top, {"croissant.json": files["croissant.json"]})
    got = stored_copies(top, pinned)
    assert got["croissant.json"] == (b"{}", None)
    assert got["datasheet.md"][0] is None and "does not hold it" in str(got["datasheet.md"][1])
    # a copy whose bytes no longer match the signed sha256 (same md5 claimed)
    forged = {**pinned, "croissant.json": {**pinned["croissant.json"], "sha256": "f" * 64}}
    assert "altered" in str(stored_copies(top, forged)["croissant.json"][1])
