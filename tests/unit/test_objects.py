"""registry/objects.py in-process, on a real git + DVC repository with a local release
remote: evidence files stored by md5 and read back as served, a release's own objects told
from those another live release shares, and deletion that keeps the shared ones."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import yaml
from git import Repo

from sdops_dvc.registry.objects import (
    delete_objects,
    own_objects,
    read_stored,
    remote_holds,
    store_files,
)


def _repo(tmp: Path) -> tuple[Path, Repo]:
    top = tmp / "repo"
    top.mkdir()
    repo = Repo.init(top)
    subprocess.run(["dvc", "init", "-q"], cwd=top, check=True)
    subprocess.run(
        ["dvc", "remote", "add", "-d", "release", str(tmp / "store")], cwd=top, check=True
    )
    return top, repo


def _commit_lock(top: Path, repo: Repo, md5s: list[str], message: str) -> str:
    outs = [{"path": f"f{i}", "md5": m} for i, m in enumerate(md5s)]
    lock = {"schema": "2.0", "stages": {"generate": {"outs": outs}, "split": {"outs": [
        {"path": "data/split", "md5": "d" * 32 + ".dir"}]}}}  # fmt: skip
    (top / "dvc.lock").write_text(yaml.safe_dump(lock))
    repo.index.add(["dvc.lock"])
    return repo.index.commit(message).hexsha


def test_stored_evidence_reads_back_as_served_and_the_remote_says_it_holds_it(
    tmp_path: Path,
) -> None:
    top, _ = _repo(tmp_path)
    files = {"card.json": b'{"name": "t"}', "datasheet.md": b"# t\n"}
    md5s = [hashlib.md5(b).hexdigest() for b in files.values()]
    assert remote_holds(top, md5s) is False
    store_files(top, files)
    assert read_stored(top, [*md5s, "0" * 32]) == {
        md5s[0]: files["card.json"],
        md5s[1]: files["datasheet.md"],
        "0" * 32: None,
    }
    assert remote_holds(top, md5s) is True


def test_deleting_a_releases_data_keeps_what_another_release_records(tmp_path: Path) -> None:
    top, repo = _repo(tmp_path)
    data = {name: name.encode() * 10 for name in ("own", "shared", "other")}
    md5 = {n: hashlib.md5(b).hexdigest() for n, b in data.items()}
    store_files(top, {n: b for n, b in data.items()})
    old = _commit_lock(top, repo, [md5["own"], md5["shared"]], "old release")
    new = _commit_lock(top, repo, [md5["shared"], md5["other"]], "new release")
    own, shared = own_objects(repo, old, [old, new])
    assert own == [md5["own"]] and shared == [md5["shared"]]  # a .dir entry is never an object
    delete_objects(top, own, local_cache=True, what="t@v1.0.0")
    held = read_stored(top, list(md5.values()))
    assert held[md5["own"]] is None
    assert held[md5["shared"]] == data["shared"] and held[md5["other"]] == data["other"]
