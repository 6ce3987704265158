"""Releases end to end: a real bare git remote and a real local DVC remote."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    TRAILER,
    Approver,
    approve_release as _approve,
    dvc,
    git,
    remote_tags as _remote_tags,
    sdops,
    set_params,
    tags as _tags,
)


def test_refused_releases_leave_nothing_behind(world: dict[str, Path]) -> None:
    work, origin, store = world["work"], world["origin"], world["store"]
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "no counted approval from the 'privacy' role" in proc.stderr
    # an unsigned trailer proves nothing: anyone can type it
    git("commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", f"Approve\n\n{TRAILER}", cwd=work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "unverified (the commit is not signed" in proc.stderr
    _approve(work)
    (work / "scratch.txt").write_text("not committed")
    set_params(work, {"gates.quality.min_column_shapes": 0.5})
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "uncommitted changes" in proc.stderr
    assert "nothing was tagged or pushed" in proc.stderr
    (work / "scratch.txt").unlink()
    git("checkout", "-q", "--", "params.yaml", cwd=work)

    # outputs that no longer match dvc.lock
    synthetic = work / "data/synthetic/synthetic.csv"
    original = synthetic.read_bytes()
    synthetic.write_bytes(original + b"\n")
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "`dvc status` is not clean" in proc.stderr
    synthetic.write_bytes(original)

    # a gate that did not approve, committed
    set_params(work, {"gates.quality.min_column_shapes": 0.999})
    proc = dvc("repro", cwd=work, check=False)  # a blocked verdict is recorded, not an error
    assert proc.returncode == 0 and "RELEASE BLOCKED" in proc.stdout + proc.stderr
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"Stricter gate\n\n{TRAILER}", cwd=work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "the gate at HEAD did not approve" in proc.stderr
    assert "column shapes" in proc.stderr
    dry = sdops("release", "--dry-run", cwd=work)  # refuses with the same reasons
    assert dry.returncode == 9 and "the gate at HEAD did not approve" in dry.stderr

    assert _tags(work) == [] and _remote_tags(origin) == []
    assert not store.exists() or not any(store.rglob("*"))


def _record_of(work: Path, tag: str) -> dict:  # type: ignore[type-arg]
    text = git("tag", "-l", "--format=%(contents:body)", tag, cwd=work).stdout  # no signature
    return json.loads(text)  # type: ignore[no-any-return]


def _release_seed(work: Path, seed: int, extra: dict | None = None) -> dict:  # type: ignore[type-arg]
    """Generate with ``seed`` (and ``extra`` params) in one commit, approve it, release it;
    returns the released manifest."""
    if seed != 7 or extra:
        set_params(work, {"generator.seed": seed, **(extra or {})})
        dvc("repro", cwd=work)
        git("add", "-A", cwd=work)
        git("commit", "-qm", f"Seed {seed}", cwd=work)
    _approve(work)
    sdops("release", cwd=work, check=True)
    return json.loads((work / "release/manifest.json").read_text())  # type: ignore[no-any-return]


def copy_world(world: dict[str, Path], dest: Path) -> dict[str, Path]:
    """An independent copy of a release world (work tree, bare origin, both DVC remotes and
    the approver's key), its remotes pointed at the copies: for tests that change it. The
    committed .dvc/config still names the original remotes, so reads through origin alone
    (``dvc get`` of the bare repository) see the original's data: use the work tree."""
    base = world["work"].parent
    shutil.copytree(base, dest, symlinks=True)
    out = {k: dest / v.relative_to(base) for k, v in world.items()}
    work = out["work"]
    git("remote", "set-url", "origin", str(out["origin"]), cwd=work)
    # the committed .dvc/config keeps its bytes: the local config overrides the urls
    dvc("remote", "modify", "--local", "store", "url", str(out["store"]), cwd=work)
    dvc("remote", "modify", "--local", "private", "url", str(out["private"]), cwd=work)
    git("update-index", "-q", "--refresh", cwd=work)  # new inodes: the same content
    assert git("status", "--porcelain", cwd=work).stdout == ""
    return out


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, pipeline_outputs: Path) -> dict[str, Path]:
    """A release world with two live releases: credit@v1.0.0 (seed 7) and credit@v1.1.0
    (seed 12, with a loosened privacy threshold in the same commit). Shared by this module's
    tests: they only read it; tests that change it work on :func:`copy_world`."""
    from tests.conftest import make_world

    base = tmp_path_factory.mktemp("released")
    world = make_world(pipeline_outputs, base, Approver(base, "Ana Privacy", "ana@example.com"))
    work = world["work"]
    _release_seed(work, 7)
    _release_seed(work, 12, {"gates.privacy.max_dcr_share": 0.7})
    return world


def _manifest_at(work: Path, tag: str) -> dict:  # type: ignore[type-arg]
    shown = json.loads(sdops("show", tag, "--json", cwd=work, check=True).stdout)
    return shown["manifest"]  # type: ignore[no-any-return]


def test_dry_run_checks_everything_and_writes_nothing(world: dict[str, Path]) -> None:
    work, origin, store = world["work"], world["origin"], world["store"]
    _approve(work)
    proc = sdops("release", "--dry-run", "--json", cwd=work, check=True)
    planned = json.loads(proc.stdout)
    assert planned["dry_run"] and planned["would_release"] == "credit@v1.0.0"
    assert planned["record"]["approvals"][0]["by"] == "Ana Privacy <ana@example.com>"
    assert "nothing was pushed, tagged or recorded" in proc.stderr
    assert _tags(work) == [] and _remote_tags(origin) == []
    assert not store.exists() or not any(store.rglob("*"))
    proc = sdops("release", "--json", cwd=work, check=True)
    released = json.loads(proc.stdout)  # --json: one document on stdout, human lines on stderr
    assert released["released"] == "credit@v1.0.0" and "credit@v1.0.0" in proc.stderr
    assert "Ana Privacy" in proc.stderr
    assert released["record"]["approvals"][0]["role"] == "privacy"
    assert "credit@v1.0.0" in _remote_tags(origin)
    assert any(store.rglob("*")), "data was pushed to the DVC remote"


def test_a_release_tag_records_who_released_what(released: dict[str, Path]) -> None:
    work = released["work"]
    record = _record_of(work, "credit@v1.0.0")
    manifest_v1 = _manifest_at(work, "credit@v1.0.0")
    assert record["manifest_digest"] == manifest_v1["digest"]["value"]
    assert record["approvals"][0]["role"] == "privacy"
    assert record["approvals"][0]["by"] == "Ana Privacy <ana@example.com>"
    assert record["releaser"] == "sdops test <test@example.invalid>"
    listed = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)
    assert [(r["version"], r["status"]) for r in listed] == [
        ("v1.0.0", "released"),
        ("v1.1.0", "current"),
    ]
    shown = json.loads(sdops("show", "credit@latest", "--json", cwd=work, check=True).stdout)
    assert shown["release"]["version"] == "v1.1.0" and shown["manifest"]["generator"]["seed"] == 12
    text = sdops("show", "credit@1.0.0", cwd=work, check=True).stdout
    assert "approved by Ana Privacy <ana@example.com> (privacy)" in text
    assert manifest_v1["digest"]["value"] in text
    # releasing the same commit again is refused
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "already released as credit@v1.1.0" in proc.stderr


def test_diff_and_lineage_name_what_changed_between_releases(released: dict[str, Path]) -> None:
    work = released["work"]
    manifest_v1 = _manifest_at(work, "credit@v1.0.0")
    d = json.loads(
        sdops("diff", "credit@v1.0.0", "credit@v1.1.0", "--json", cwd=work, check=True).stdout
    )
    assert d["generator_changed"] and not d["source_changed"] and d["synthetic_changed"]
    changed = [(c["key"], c["a"], c["b"], c["change"]) for c in d["params_changed"]]
    assert changed[0] == ("gates.privacy.max_dcr_share", 0.55, 0.7, "loosened")  # first
    assert ("generator.seed", 7, 12, "changed") in changed
    assert d["code"]["a"] != d["code"]["b"] and d["source"]["a"] == d["source"]["b"]
    text = sdops("diff", "credit@v1.0.0", "credit@1.1.0", cwd=work, check=True).stdout
    assert "gates.privacy.max_dcr_share: 0.55 -> 0.7  LOOSENED" in text
    assert "privacy.dcr_share" in d["metrics"]
    lin = json.loads(sdops("lineage", "credit@v1.0.0", "--json", cwd=work, check=True).stdout)
    assert lin["source"]["snapshot_id"] == "test://credit/v1" and lin["generator"]["seed"] == 7
    assert lin["approvers"][0]["by"] == "Ana Privacy <ana@example.com>"
    assert lin["manifest_digest"] == manifest_v1["digest"]["value"]
    text = sdops("lineage", "credit@v1.0.0", cwd=work, check=True).stdout
    assert "source: test://credit/v1" in text and "seed 7" in text
    assert "approved by Ana Privacy <ana@example.com> (privacy)" in text


def test_verify_reruns_a_release_byte_identically(released: dict[str, Path]) -> None:
    work = released["work"]
    proc = sdops("verify", "credit@v1.0.0", "--json", cwd=work, check=True)
    verified = json.loads(proc.stdout)
    assert verified["identical"] and "data/synthetic/synthetic.csv" in verified["compared"]
    assert "byte-identical" in proc.stderr


def test_a_revoked_release_is_never_served_then_retired(
    released: dict[str, Path], tmp_path: Path
) -> None:
    world = copy_world(released, tmp_path / "w")
    work, origin, store = world["work"], world["origin"], world["store"]
    manifest_v1 = _manifest_at(work, "credit@v1.0.0")
    proc = sdops(
        "revoke",
        "credit@v1.1.0",
        "--kind",
        "privacy",
        "--reason",
        "rare rows reproduced",
        cwd=work,
        check=True,
    )
    assert "remain in the release remote" in proc.stderr and "--purge" in proc.stderr
    assert "credit@v1.1.0!#1" in _tags(work) and "credit@v1.1.0!#1" in _remote_tags(origin)
    listed = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)
    assert [(r["version"], r["status"]) for r in listed] == [
        ("v1.0.0", "current"),
        ("v1.1.0", "revoked"),
    ]
    assert listed[1]["revocation"]["kind"] == "privacy"
    shown = sdops("show", "credit@v1.1.0", cwd=work, check=True).stdout
    assert "REVOKED (privacy): rare rows reproduced" in shown

    # consumers and the incident record for the revoked release
    (work / "consumers.yaml").write_text(
        "consumers:\n"
        "  - {name: fraud-model, contact: ml@example.com, dataset: credit, version: v1.1.0}\n"
        "  - {name: bi-dashboard, contact: bi@example.com, dataset: credit, version: v1.0.0}\n"
        "  - {name: notebooks, contact: ds@example.com, dataset: credit, version: latest}\n"
    )
    pinned = json.loads(
        sdops("consumers", "credit", "--version", "v1.1.0", "--json", cwd=work, check=True).stdout
    )
    assert [c["name"] for c in pinned] == ["fraud-model"]
    latest = json.loads(
        sdops("consumers", "credit", "--version", "v1.0.0", "--json", cwd=work, check=True).stdout
    )
    assert [c["name"] for c in latest] == ["bi-dashboard", "notebooks"]  # v1.0.0 is now latest
    proc = sdops("incident", "credit@v1.1.0", "--json", cwd=work, check=True)
    assert json.loads(proc.stdout)["record"].endswith("-credit-v1.1.0.md")
    record = next((work / "incidents").glob("*-credit-v1.1.0.md")).read_text()
    assert "severity: SEV-1" in record and "privacy" in record and "rare rows reproduced" in record
    assert "fraud-model <ml@example.com>" in record and "bi-dashboard" not in record
    assert "sdops rollback credit --to credit@v1.0.0" in record
    assert "`generator.seed`: 7 -> 12" in record
    assert "`gates.privacy.max_dcr_share`: 0.55 -> 0.7 **LOOSENED**" in record
    (work / "consumers.yaml").unlink()
    shutil.rmtree(work / "incidents")

    from sdops_dvc import api
    from sdops_dvc.base.errors import ReleaseUnavailable

    assert str(api.resolve("credit@latest", repo=work).version) == "v1.0.0"
    with pytest.raises(ReleaseUnavailable, match="revoked"):
        api.resolve("credit@v1.1.0", repo=work)
    proc = sdops(
        "get", "credit@v1.1.0", "-o", str(tmp_path / "v11.csv"), "--repo", str(work), cwd=tmp_path
    )
    assert proc.returncode == 10 and "rare rows reproduced" in proc.stderr
    assert not (tmp_path / "v11.csv").exists()
    proc = sdops(
        "get",
        "credit@latest",
        "-o",
        str(tmp_path / "v1.csv"),
        "--repo",
        str(work),
        cwd=tmp_path,
        check=True,
    )
    got = hashlib.md5((tmp_path / "v1.csv").read_bytes()).hexdigest()
    assert got == manifest_v1["outputs"]["synthetic"]["md5"]
    df = api.read_dataframe("credit@v1.0.0", repo=work)
    assert len(df) == manifest_v1["outputs"]["synthetic"]["rows"]

    # rollback: v1.0.0's bytes are back in the work tree, recorded as credit#prod#N
    synthetic = work / "data/synthetic/synthetic.csv"
    assert (
        hashlib.md5(synthetic.read_bytes()).hexdigest()
        != manifest_v1["outputs"]["synthetic"]["md5"]
    )
    proc = sdops("rollback", "credit", cwd=work, check=True)
    assert "credit@v1.0.0 is current again" in proc.stdout
    assert (
        hashlib.md5(synthetic.read_bytes()).hexdigest()
        == manifest_v1["outputs"]["synthetic"]["md5"]
    )
    assert "credit#prod#2" in _tags(work) and "credit#prod#2" in _remote_tags(origin)

    # retention: nothing expired yet (30 days); in 31 days v1.0.0 is
    from datetime import UTC, datetime, timedelta

    from sdops_dvc.registry.retention import expired

    assert json.loads(sdops("list", "--expired", "--json", cwd=work, check=True).stdout) == []
    later = [r.tag for r, _ in expired(work, "credit", now=datetime.now(UTC) + timedelta(days=31))]
    assert later == ["credit@v1.0.0"]

    # retire the revoked v1.1.0: its own objects leave the remote and cache, shared ones stay
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Roll back to credit@v1.0.0", cwd=work)
    v11 = _manifest_at(work, "credit@v1.1.0")
    v11_syn = v11["outputs"]["synthetic"]["md5"]

    def stored(root: Path, md5: str) -> bool:
        return (root / "files" / "md5" / md5[:2] / md5[2:]).exists()

    assert stored(store, v11_syn) and stored(work / ".dvc" / "cache", v11_syn)
    proc = sdops("retire", "credit@v1.1.0", "--json", cwd=work, check=True)
    assert json.loads(proc.stdout)["retired"] == "credit@v1.1.0"
    assert not stored(store, v11_syn) and not stored(work / ".dvc" / "cache", v11_syn)
    v1_syn = manifest_v1["outputs"]["synthetic"]["md5"]
    assert stored(store, v1_syn) and stored(work / ".dvc" / "cache", v1_syn)
    split_md5 = manifest_v1["split"]["train"]["md5"]  # real data: only in the private remote
    assert stored(world["private"], split_md5) and not stored(store, split_md5)
    listed = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)
    assert [(r["version"], r["status"]) for r in listed] == [
        ("v1.0.0", "current"),
        ("v1.1.0", "retired"),
    ]
    shown = json.loads(sdops("show", "credit@v1.1.0", "--json", cwd=work, check=True).stdout)
    assert shown["manifest"]["digest"]["value"] == v11["digest"]["value"]  # the manifest stays
    again = sdops("retire", "credit@v1.1.0", "--json", cwd=work)
    assert again.returncode == 9 and json.loads(again.stdout)["error"]["exit_code"] == 9
    # a retired release resolves for the record, never for its data
    import git as gitpython

    from sdops_dvc.registry.catalog import Status, resolve

    with pytest.raises(ReleaseUnavailable, match="was retired \\(retention expired\\)") as exc:
        resolve(gitpython.Repo(work), "credit@v1.1.0")
    assert exc.value.hint == "use credit@current for the release in service"
    assert resolve(gitpython.Repo(work), "credit@1.1.0", live_only=False).status is Status.RETIRED
    got = sdops("get", "credit@v1.1.0", "-o", str(tmp_path / "gone.csv"), cwd=work)
    assert got.returncode == ReleaseUnavailable.exit_code and "was retired" in got.stderr
    assert not (tmp_path / "gone.csv").exists()

    # GTO reads our tags: v1.0.0 is registered and latest; the deregistered v1.1.0 is hidden
    gto = str(Path(sys.executable).parent / "gto")
    shown_gto = subprocess.run(
        [gto, "show", "credit", "--json"], cwd=work, capture_output=True, text=True, check=True
    )
    assert [v["version"] for v in json.loads(shown_gto.stdout)] == ["v1.0.0"]
    table = subprocess.run(
        [gto, "show"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    assert "credit" in table and "v1.0.0" in table and "v1.1.0" not in table


def test_failed_tag_push_leaves_no_local_tag(world: dict[str, Path]) -> None:
    work, origin = world["work"], world["origin"]
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen during an incident' >&2\nexit 1\n")
    hook.chmod(0o755)
    _approve(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "no local tag was created" in proc.stderr and "tags are frozen" in proc.stderr
    assert _tags(work) == [] and _remote_tags(origin) == []


def test_consumers_follow_a_rollback(world: dict[str, Path], tmp_path: Path) -> None:
    """`NAME@current` (also `NAME`, `NAME#prod`) is what the last release or rollback put in
    service; `NAME@latest` stays the newest live version; versions need no "v"."""
    from sdops_dvc import api

    work = world["work"]  # its own world: `dvc get` from origin reads the committed remotes
    v10 = _release_seed(work, 7)
    _release_seed(work, 12)
    assert str(api.resolve("credit@current", repo=work).version) == "v1.1.0"

    # no --to: the newest live release but the one checked out (v1.1.0's commit is HEAD)
    default = sdops("rollback", "credit", "--json", cwd=work, check=True)
    assert json.loads(default.stdout)["current"] == "credit@v1.0.0"
    git("reset", "-q", "--hard", cwd=work)  # rollback staged the restored files
    proc = sdops("rollback", "credit", "--to", "credit@1.0.0", "--json", cwd=work, check=True)
    assert json.loads(proc.stdout)["current"] == "credit@v1.0.0"
    assert "credit@v1.0.0 is current again" in proc.stderr
    listed = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)
    assert [(r["version"], r["status"]) for r in listed] == [
        ("v1.0.0", "current"),
        ("v1.1.0", "released"),
    ]
    for ref in ("credit@current", "credit#prod", "credit", "credit@1.0.0"):
        assert str(api.resolve(ref, repo=work).version) == "v1.0.0", ref
    assert str(api.resolve("credit@latest", repo=work).version) == "v1.1.0"
    out = tmp_path / "current.csv"
    got = sdops(
        "get", "credit@current", "-o", str(out), "--repo", str(work), "--json", cwd=tmp_path
    )
    assert json.loads(got.stdout)["release"]["tag"] == "credit@v1.0.0", got.stderr
    assert hashlib.md5(out.read_bytes()).hexdigest() == v10["outputs"]["synthetic"]["md5"]
    assert len(api.read_dataframe("credit", repo=work)) == v10["outputs"]["synthetic"]["rows"]

    (work / "consumers.yaml").write_text(
        "consumers:\n"
        "  - {name: fraud-model, contact: ml@example.com, dataset: credit, version: current}\n"
        "  - {name: notebooks, contact: ds@example.com, dataset: credit, version: latest}\n"
        "  - {name: audit, contact: au@example.com, dataset: credit, version: 1.1.0}\n"
    )

    def consumers(version: str) -> list[str]:
        out = sdops("consumers", "credit", "--version", version, "--json", cwd=work, check=True)
        return [c["name"] for c in json.loads(out.stdout)]

    assert consumers("1.0.0") == ["fraud-model"]
    assert consumers("v1.1.0") == ["notebooks", "audit"]
    assert consumers("current") == ["fraud-model"]
    (work / "consumers.yaml").unlink()

    # a consumer with nothing but the bare origin's path, from an empty directory
    origin, empty = world["origin"], tmp_path / "consumer"
    empty.mkdir()
    remote_list = json.loads(sdops("list", "--repo", str(origin), "--json", cwd=empty).stdout)
    assert [(r["version"], r["status"]) for r in remote_list] == [
        ("v1.0.0", "current"),
        ("v1.1.0", "released"),
    ]
    url = origin.as_uri()  # file:///...: a URL, read through the mirror like any other
    by_url = json.loads(sdops("list", "--repo", url, "--json", cwd=empty, check=True).stdout)
    assert by_url == remote_list
    expired = sdops("list", "--expired", "--repo", url, "--json", cwd=empty, check=True)
    assert json.loads(expired.stdout) == []  # 30-day retention: nothing expired yet
    sdops("get", "credit", "-o", "c.csv", "--repo", str(origin), cwd=empty, check=True)
    assert (
        hashlib.md5((empty / "c.csv").read_bytes()).hexdigest()
        == v10["outputs"]["synthetic"]["md5"]
    )
    shown = json.loads(
        sdops("show", "credit@1.1.0", "--repo", str(origin), "--json", cwd=empty).stdout
    )
    assert shown["manifest"]["generator"]["seed"] == 12
    lin = json.loads(sdops("lineage", "credit", "--repo", str(origin), "--json", cwd=empty).stdout)
    assert lin["release"] == "credit@v1.0.0" and lin["generator"]["seed"] == 7
    df = api.read_dataframe("credit@current", repo=origin)
    meta = json.loads((work / "metadata.json").read_text())
    columns = next(iter(meta["tables"].values()))["columns"]
    cats = [c for c, spec in columns.items() if spec["sdtype"] == "categorical"]
    assert cats and all(str(df[c].dtype) == "category" for c in cats)  # typed as released
    assert len(df) == v10["outputs"]["synthetic"]["rows"]

    # the next release is current again
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Roll back to credit@v1.0.0", cwd=work)
    _release_seed(work, 13)
    assert str(api.resolve("credit", repo=work).version) == "v1.2.0"
    assert str(api.resolve("credit", repo=origin).version) == "v1.2.0"  # the mirror follows
    v12 = json.loads((work / "release/manifest.json").read_text())["outputs"]["synthetic"]
    fetch = ("get", str(origin), "data/synthetic/synthetic.csv", "--rev", "credit@v1.2.0")
    dvc(*fetch, "-o", "before.csv", cwd=empty)  # plain DVC serves any rev it can read
    proc = sdops(
        "revoke", "credit@v1.2.0", "--kind", "utility", "--reason", "drift", "--purge", "--json",
        cwd=work,
    )  # fmt: skip
    purge = json.loads(proc.stdout)
    assert proc.returncode == 0 and v12["md5"] in purge["purged"]
    assert not (world["store"] / "files" / "md5" / v12["md5"][:2] / v12["md5"][2:]).exists()
    assert dvc(*fetch, "-o", "after.csv", cwd=empty, check=False).returncode != 0
    refused = sdops("get", "credit@1.2.0", "-o", "r.csv", "--repo", str(origin), cwd=empty)
    assert refused.returncode == 10 and "revoked" in refused.stderr
    # what v1.0.0 shares with it was kept: the current release is still served
    sdops("get", "credit", "-o", "again.csv", "--repo", str(origin), cwd=empty, check=True)
    assert str(api.resolve("credit@current", repo=origin).version) == "v1.0.0"
    proc = sdops("get", "credit@nope", cwd=work)
    assert proc.returncode == 10 and "NAME@current" in proc.stderr
