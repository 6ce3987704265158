"""``sdops verify`` (re-run a release and compare bytes) and ``sdops rollback``."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sdops_dvc.base.errors import IntegrityError, ReleaseRefused, ReleaseUnavailable, RepoError
from sdops_dvc.base.fsutil import md5_file
from sdops_dvc.base.scm import dvc_pointers, release_worktree, repo_at, run_dvc, work_tree
from sdops_dvc.domain import layout as L
from sdops_dvc.registry.releases import (
    PROD,
    Release,
    publish_tag,
    release_manifest,
    releases,
    resolve,
)
from sdops_dvc.registry.tags import assign_tag, next_counter

if TYPE_CHECKING:
    from git import Repo as GitRepo

# Outputs whose bytes embed the environment or git state rather than the data: the manifest
# (package versions), the gate result and reports (review notes against the main branch).
NOT_COMPARED = (
    "release/manifest.json",
    "reports/gate.json",
    "reports/report.html",
    "reports/report.md",
)


@dataclass(frozen=True)
class VerifyResult:
    release: Release
    compared: dict[str, str] = field(default_factory=dict)  # path -> md5
    differences: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)  # stored objects checked, where
    evidence: list[str] = field(default_factory=list)  # evidence files checked

    @property
    def identical(self) -> bool:
        return not self.differences


def _lock_outputs(lock: dict[str, Any]) -> dict[str, str]:
    out = {}
    for stage in (lock.get("stages") or {}).values():
        for entry in stage.get("outs") or []:
            if "md5" in entry:
                out[str(entry["path"])] = str(entry["md5"])
    return out


def _object(cache: Path, md5: str) -> Path:
    return cache / "files" / "md5" / md5[:2] / md5[2:]


def _check_stored(wt: Path, top: Path, cached: dict[str, str]) -> tuple[list[str], list[str]]:
    """Hash the stored objects of the release's DVC-cached outputs: in the DVC remote (fetched
    into an empty cache, so nothing local can stand in for them) and in this clone's cache.
    Returns (what was checked, problems)."""
    checked: list[str] = []
    problems: list[str] = []
    local = top / ".dvc" / "cache"
    for path, md5 in sorted(cached.items()):
        obj = _object(local, md5)
        if obj.is_file():
            checked.append(f"{path} (local cache)")
            got = md5_file(obj)
            if got != md5:
                problems.append(
                    f"{path}: the local cache's object is altered (md5 {got}, released {md5})"
                )
    if not run_dvc(["remote", "list"], cwd=wt).strip():
        return checked, problems
    fresh = wt.parent / "objects"  # removed with the worktree
    run_dvc(["config", "--local", "cache.dir", str(fresh)], cwd=wt)
    for path, md5 in sorted(cached.items()):
        with contextlib.suppress(RepoError):  # a missing object is reported below
            run_dvc(["fetch", "-q", path], cwd=wt)
        obj = _object(fresh, md5)
        if not obj.is_file():
            problems.append(
                f"{path}: the DVC remote does not serve it intact (no valid object for md5 "
                f"{md5}: missing, or altered and refused by DVC)"
            )
            continue
        checked.append(f"{path} (DVC remote)")
        got = md5_file(obj)
        if got != md5:
            problems.append(
                f"{path}: the DVC remote's object is altered (md5 {got}, released {md5})"
            )
    return checked, problems


def _pull_measurement(wt: Path, tag: str, md5: str) -> None:
    """A DP release's measurement is an input to re-run, not something to redraw: its noise
    cannot be seeded (see synthesizers/dp_adapter.py), so only the sampling is re-run. Pulled
    on its own: DVC 3.67 left some targets unpulled when ``.dvc`` files and a stage output
    were mixed in one ``dvc pull``."""
    fit = wt / L.DP_FIT
    with contextlib.suppress(RepoError):  # reported below, with what it means
        run_dvc(["pull", "-q", L.DP_FIT], cwd=wt)
    if not fit.is_file() or md5_file(fit) != md5:
        raise ReleaseUnavailable(
            f"the DP measurement {L.DP_FIT} of {tag} (md5 {md5}) is not in the DVC remote or "
            "cache, so the release cannot be re-run: measuring again would draw new noise and "
            "spend new budget",
            hint="run `dvc push` in the clone that made the release",
        )


def verify(root: Path, ref: str) -> VerifyResult:
    """Check out the release in a temporary worktree, fetch its inputs from the DVC remote
    (or this repository's cache), re-run the whole pipeline and compare every output."""
    repo = repo_at(root)
    rel = resolve(repo, ref, live_only=False)
    top = work_tree(repo)
    lock_text = (repo.commit(rel.tag).tree / "dvc.lock").data_stream.read().decode("utf-8")
    expected = _lock_outputs(yaml.safe_load(lock_text) or {})
    cached = {
        path: md5
        for path, md5 in expected.items()
        if not md5.endswith(".dir") and not _exists_at(repo, rel.tag, path)
    }
    with release_worktree(repo, rel.tag) as wt:
        stored, stored_problems = _check_stored(wt, top, cached)
        dvc_files = dvc_pointers(wt)
        if dvc_files:
            run_dvc(["pull", "-q", *dvc_files], cwd=wt)
        if L.DP_FIT in expected:
            _pull_measurement(wt, rel.tag, expected[L.DP_FIT])
        run_dvc(["repro", "-f", "-q"], cwd=wt)
        compared: dict[str, str] = {}
        differences: list[str] = list(stored_problems)
        skipped: list[str] = []
        for path, md5 in sorted(expected.items()):
            if path in NOT_COMPARED:
                skipped.append(path)
                continue
            produced = wt / path
            if not produced.exists():
                differences.append(f"{path}: not produced")
                continue
            if produced.is_dir():  # a directory output: compare each file with the tag's
                for f in sorted(p for p in produced.rglob("*") if p.is_file()):
                    rel_f = f.relative_to(wt).as_posix()
                    released = _blob_md5(repo, rel.tag, rel_f)
                    if released is None:
                        skipped.append(f"{rel_f} (not committed)")
                        continue
                    compared[rel_f] = md5_file(f)
                    if compared[rel_f] != released:
                        differences.append(f"{rel_f}: md5 {compared[rel_f]}, released {released}")
                continue
            got = md5_file(produced)
            compared[path] = got
            if got != md5:
                differences.append(f"{path}: md5 {got}, released {md5}")
        tables = {p: _fetched(wt, top, md5) or wt / p for p, md5 in cached.items()}
        checked, ev_problems = evidence_problems(repo, rel, tables, top)
        if differences:
            differences += environment_differences(repo, rel.tag)
        return VerifyResult(rel, compared, differences + ev_problems, skipped, stored, checked)


def _fetched(wt: Path, top: Path, md5: str) -> Path | None:
    """The object :func:`_check_stored` fetched from the remote (else the clone's cache)."""
    for cache in (wt.parent / "objects", top / ".dvc" / "cache"):
        obj = _object(cache, md5)
        if obj.is_file():
            return obj
    return None


def evidence_problems(
    repo: GitRepo, rel: Release, tables: dict[str, Path], top: Path
) -> tuple[list[str], list[str]]:
    """Make the release's card, provenance statement and datasheet again from what its tag
    pins (``tables``: each released table's bytes, by manifest path) and compare them, and
    the copies the release remote serves, with the digests in the signed tag record.
    Returns (what was checked, problems naming the file)."""
    from sdops_dvc.registry.evidence import remade, stored_copies

    pinned = rel.record.evidence
    if pinned is None:
        return [], []  # released before evidence existed: nothing pinned to compare
    try:
        made, differ = remade(repo, rel.tag, rel.record, tables)
    except IntegrityError as exc:
        return [], [exc.message]
    stored = stored_copies(top, pinned)
    checked, problems = [], []
    for name, want in sorted(pinned.items()):
        if name in differ:
            got = hashlib.sha256(made[name]).hexdigest() if name in made else None
            problems.append(
                f"{name}: made again from the release it has sha256 {got}, but the signed tag "
                f"record pins {want.get('sha256')}"
            )
        checked.append(f"{name} (made again)")
        data, why = stored[name]
        if data is not None:
            checked.append(f"{name} (release remote)")
        if why is not None:
            problems.append(f"{name}: {why}")
    return checked, problems


@dataclass(frozen=True)
class SignatureCheck:
    release: Release
    signature: str  # what verified the tag
    checked: list[str]
    problems: list[str]


def verify_signature(root: Path, ref: str) -> SignatureCheck:
    """What an outsider checks without re-running anything: the tag's signature against the
    allowed signers committed at the tagged commit, the manifest digest the tag pins, every
    released table's bytes as the release remote serves them, and the card, statement and
    datasheet (made again, and as stored) against the signed digests."""
    from sdops_dvc.registry.catalog import ALLOWED_SIGNERS, tag_signed

    repo = repo_at(root)
    try:
        rel = resolve(repo, ref, live_only=False)
    except ReleaseUnavailable as exc:
        if "is not a release" in exc.message:
            raise IntegrityError(exc.message, hint="the tag cannot be trusted") from None
        raise
    commit = repo.commit(rel.tag)
    problems: list[str] = []
    tag_object = repo.tags[rel.tag].tag
    # a signed tag reaches here only when its signature verified: resolving it read the tags
    # through catalog.scan, which refuses a signed tag that does not verify (caught above)
    if not tag_signed((tag_object.message if tag_object is not None else "") or ""):
        problems.append(f"{rel.tag}: the tag is not signed")
        signature = "none"
    else:
        signature = f"verified against {ALLOWED_SIGNERS} at {commit.hexsha[:10]}"
    if rel.record.evidence is None:
        problems.append(f"{rel.tag}: its record pins no card or provenance statement")
    manifest = release_manifest(repo, rel, None)
    assert manifest is not None  # a release's manifest reads (scan checked it)
    cached = {a.path: a.md5 for a in manifest.tables.values()}
    top = work_tree(repo)
    with release_worktree(repo, rel.tag) as wt:
        stored, stored_problems = _check_stored(wt, top, cached)
        problems += stored_problems
        checked: list[str] = []
        if not stored_problems:  # else the evidence would only repeat what is missing
            tables = {p: _fetched(wt, top, md5) or wt / p for p, md5 in cached.items()}
            checked, ev_problems = evidence_problems(repo, rel, tables, top)
            problems += ev_problems
    checked = [f"manifest sha256 {rel.record.manifest_digest[:12]} (tag record)", *stored, *checked]
    return SignatureCheck(rel, signature, checked, problems)


def environment_differences(repo: GitRepo, tag: str) -> list[str]:
    """Versions recorded in the release's manifest that differ from this environment: the
    likely reason bytes differ (pyarrow writes its version into every parquet file)."""
    import json

    from sdops_dvc.stages.manifest import environment

    try:
        text = (repo.commit(tag).tree / L.MANIFEST).data_stream.read().decode("utf-8")
        recorded = json.loads(text).get("environment") or {}
    except (KeyError, ValueError):
        return []
    here = environment()
    return [
        f"environment: {name} {recorded[name]} made the release, {here[name]} is installed here"
        for name in sorted(here)
        if name in recorded and recorded[name] != here[name]
    ]


RESTORED = (
    "dvc.lock",
    "dvc.yaml",
    "params.yaml",
    "metadata.json",
    "release/manifest.json",
    "reports",
)


def rollback(root: Path, name: str, to: str | None = None) -> tuple[str, Release]:
    """Make a live release current again: restore its pointers and data in the work tree
    and record a GTO assignment ``NAME#prod#N`` at its commit (history is kept)."""
    repo = repo_at(root)
    if repo.is_dirty(untracked_files=False):
        raise ReleaseRefused(
            "the work tree has uncommitted changes", hint="commit or stash them first"
        )
    known = releases(repo, name)
    if to is None:  # the last known-good: the newest live release but the one checked out
        head = repo.head.commit.hexsha
        older = [r for r in known if r.live and r.commit != head]
        if not older:
            raise ReleaseUnavailable(
                f"no live release of {name} other than the one checked out to roll back to",
                hint="see `sdops list`; give --to NAME@vX.Y.Z",
            )
        to = older[-1].tag
    target = resolve(repo, to, live_only=True)
    if target.name != name:
        raise ReleaseUnavailable(f"{to} is not a release of {name}")
    if not any(r.tag == target.tag for r in known):
        raise ReleaseUnavailable(f"{target.tag} is not live")
    top = work_tree(repo)
    present = [p for p in RESTORED if _exists_at(repo, target.tag, p)]
    repo.git.checkout(target.tag, "--", *present)
    has_remote = bool(run_dvc(["remote", "list"], cwd=top).strip())
    run_dvc(["pull", "-q", "--force"] if has_remote else ["checkout", "-q", "--force"], cwd=top)
    tag = assign_tag(name, PROD, next_counter([t.name for t in repo.tags], name))
    publish_tag(repo, tag, target.commit, f"Roll {name} back to {target.tag} in {PROD}\n")
    return tag, target


def _blob_md5(repo: GitRepo, rev: str, path: str) -> str | None:
    import hashlib

    try:
        blob = repo.commit(rev).tree / path
    except KeyError:
        return None
    return hashlib.md5(blob.data_stream.read()).hexdigest()


def _exists_at(repo: GitRepo, rev: str, path: str) -> bool:
    try:
        repo.commit(rev).tree / path
    except KeyError:
        return False
    return True
