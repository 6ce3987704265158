"""Atomic file writes and content hashes (DVC 3 compatible md5)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def _umask_mode() -> int:
    """The mode a plain ``open(..., "w")`` would give a new file (0o666 less the umask):
    ``mkstemp`` creates 0600 files, and a moved-in temp file would keep that."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _publish(tmp: Path, target: Path) -> None:
    os.chmod(tmp, _umask_mode())
    os.replace(tmp, target)


def md5_file(path: Path) -> str:
    """md5 of the file's bytes: the value DVC 3 records as ``md5`` in dvc.lock."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digests(path: Path) -> tuple[str, str]:
    """(md5, sha256) of the file's bytes, read once: what dvc.lock records and what
    provenance statements and data cards publish."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _publish(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def dump_json(obj: Any) -> str:
    """Stable, human-readable JSON (sorted keys, trailing newline)."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, dump_json(obj))


def write_many_atomic(items: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write several files; none is moved into place unless all writers succeed."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, writer in items:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            staged.append((Path(tmp), target))
            writer(Path(tmp))
        for tmp_path, target in staged:
            _publish(tmp_path, target)
    finally:
        for tmp_path, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value safe to write into a CSV someone may open in a spreadsheet: text that a
    spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+``, ``@``, a ``-`` that is not
    a number) gets a leading apostrophe (OWASP's CSV-injection rule). Numbers pass as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if value.startswith(("-", "+")):
        try:
            float(value)
            return value
        except ValueError:
            pass
    return "'" + value
