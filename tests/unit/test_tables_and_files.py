"""Table reading refuses bad input clearly; writes are atomic; md5 matches DVC."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from sdops_dvc.base.errors import DataError
from sdops_dvc.base.fsutil import atomic_path, md5_file, write_many_atomic
from sdops_dvc.domain.tableio import read_table, write_table


def test_reads_csv_and_parquet(tmp_path: Path, credit_df: pd.DataFrame) -> None:
    write_table(credit_df, tmp_path / "a.parquet")
    write_table(credit_df, tmp_path / "a.csv")
    assert read_table(tmp_path / "a.parquet").equals(credit_df)
    assert read_table(tmp_path / "a.csv").shape == credit_df.shape


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b,c\n", "has a header but no rows"),
        ("binary.csv", bytes(range(256)) * 20, "not a readable csv table"),
        ("fake.parquet", b"not parquet at all", "not a readable parquet table"),
        ("notes.txt", b"a,b\n1,2\n", "unsupported file type"),
        ("dupes.csv", b"a,a\n1,2\n", "duplicate or unnamed columns"),
    ],
)
def test_bad_tables(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_missing_table(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_md5_is_plain_md5(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"hello\r\nworld" * 100_000)
    assert md5_file(p) == hashlib.md5(p.read_bytes()).hexdigest()


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_write_many_is_all_or_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"

    def ok(p: Path) -> None:
        p.write_text("a")

    def fail(p: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_many_atomic([(a, ok), (b, fail)])
    assert list(tmp_path.iterdir()) == []
