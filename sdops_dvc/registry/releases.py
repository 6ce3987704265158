"""Create, list, resolve and revoke releases (annotated git tags in GTO's format).

The tag annotation carries the release record as JSON after a one-line summary: manifest
digest, gate summary, approvals, releaser, UTC time. Git and DVC state change only after
every check passed, and a failed push removes the tag again: all or nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdops_dvc import layout as L
from sdops_dvc.config import ApprovalsCfg, Params
from sdops_dvc.errors import ReleaseRefused, ReleaseUnavailable, RepoError
from sdops_dvc.lineage import lineage_of, scope_of
from sdops_dvc.registry.tags import (
    REF_RE,
    ParsedTag,
    Version,
    deregister_tag,
    next_counter,
    parse_tag,
    register_tag,
)
from sdops_dvc.scm import blob_at, repo_path
from sdops_dvc.scm import git as _git

KINDS = ("privacy", "schema", "utility", "other")
PROD = "prod"
SIGNATURES = (
    "-----BEGIN SSH SIGNATURE-----",
    "-----BEGIN PGP SIGNATURE-----",
)  # what a signed tag carries last
RETIRED = "retired"  # GTO stage a retired release is assigned to (NAME#retired#N)


@dataclass(frozen=True)
class Release:
    name: str
    version: Version
    tag: str
    commit: str
    status: str  # current | released | revoked | retired
    record: dict[str, Any] = field(default_factory=dict)
    revocation: dict[str, Any] | None = None
    time: int = 0  # when the tag was made (seconds since the epoch; the tagger's date)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": str(self.version),
            "tag": self.tag,
            "commit": self.commit,
            "status": self.status,
            "released_at": self.record.get("released_at"),
            "gate": self.record.get("gate"),
            "manifest_digest": self.record.get("manifest_digest"),
            "approvals": self.record.get("approvals", []),
            "releaser": self.record.get("releaser"),
            "revocation": self.revocation,
        }


def _repo(root: Path) -> Any:
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RepoError(
            f"{root} is not inside a git repository", hint="run `sdops init` first"
        ) from None


def _record(message: str) -> dict[str, Any]:
    for marker in SIGNATURES:
        message = message.split(marker, 1)[0]  # a signed tag carries its signature last
    _, _, body = message.partition("\n\n")
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class NotRelease:
    """A tag of a release's shape that is not a release, and why."""

    tag: str
    commit: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "commit": self.commit, "reason": self.reason}


def _validate_register(repo: Any, ref: Any, p: ParsedTag, record: dict[str, Any]) -> str | None:
    """Why a ``NAME@vX.Y.Z`` tag is not a release (None: it is one).

    A release is an annotated tag carrying the release record, whose record names the tag's
    own commit, name and version, and whose manifest digest equals the digest of the manifest
    committed at that commit (recomputed, so an edited manifest does not match either)."""
    from sdops_dvc.manifest import compute_digest

    if ref.tag is None:
        return "a lightweight tag: releases are annotated tags made by `sdops release`"
    bad_signature = _signature_problem(repo, ref)
    if bad_signature:
        return bad_signature
    if record.get("schema") != "sdops-release/1":
        return "its annotation carries no release record"
    sha = ref.commit.hexsha
    if record.get("commit") != sha:
        return f"its record names commit {str(record.get('commit'))[:10]}, the tag points at {sha[:10]}"
    if record.get("name") != p.name or record.get("version") != str(p.version):
        return "its record names another release"
    manifest = _manifest_at_commit(repo, ref.commit, p.name)
    if manifest is None:
        return f"no manifest of {p.name} is committed at its commit"
    recorded = (manifest.get("digest") or {}).get("value")
    try:
        actual = compute_digest(manifest)
    except (TypeError, ValueError):
        return "the manifest at its commit cannot be hashed"
    if recorded != actual:
        return "the manifest at its commit was edited after it was sealed"
    if record.get("manifest_digest") != actual:
        return "its record's manifest digest differs from the manifest at its commit"
    return None


ALLOWED_SIGNERS = str(ApprovalsCfg.model_fields["allowed_signers"].default)


def _signature_problem(repo: Any, ref: Any) -> str | None:
    """A signed tag must verify: SSH signatures against the allowed-signers file committed at
    the tagged commit, PGP ones against the keyring git uses. Unsigned tags pass here."""
    from sdops_dvc.registry.approvals import verify_signed

    message = ref.tag.message or ""
    if not any(marker in message for marker in SIGNATURES):
        return None
    signers = _git_file(ref.commit, ALLOWED_SIGNERS) or ""
    proc = verify_signed(repo.working_tree_dir or repo.git_dir, signers, "verify-tag", ref.name)
    if proc.returncode == 0:
        return None
    return "the tag is signed, but its signature does not verify against the allowed signers"


def scan(repo: Any, name: str | None = None) -> tuple[list[Release], list[NotRelease]]:
    """Every release in the repository, oldest first, with its status; and the tags of a
    release's shape that are not releases, with the reason."""
    parsed: list[tuple[Any, ParsedTag]] = []
    for ref in repo.tags:
        p = parse_tag(ref.name)
        if p and (name is None or p.name == name):
            parsed.append((ref, p))
    revoked = {
        (p.name, p.version): _record(ref.tag.message if ref.tag else "")
        for ref, p in parsed
        if p.action == "deregister"
    }
    retired_at = {
        (p.name, ref.commit.hexsha): _record(ref.tag.message if ref.tag else "")
        for ref, p in parsed
        if p.action == "assign" and p.stage == RETIRED
    }
    out: list[Release] = []
    rejected: list[NotRelease] = []
    for ref, p in parsed:
        if p.action != "register" or p.version is None:
            continue
        record = _record(ref.tag.message if ref.tag else "")
        reason = _validate_register(repo, ref, p, record)
        if reason is not None:
            rejected.append(NotRelease(ref.name, ref.commit.hexsha, reason))
            continue
        status = "revoked" if (p.name, p.version) in revoked else "released"
        if (p.name, ref.commit.hexsha) in retired_at:
            status = "retired"
        out.append(
            Release(
                p.name,
                p.version,
                ref.name,
                ref.commit.hexsha,
                status,
                record,
                revoked.get((p.name, p.version)),
                int(ref.tag.tagged_date),
            )
        )
    out.sort(key=lambda r: (r.name, r.version))
    # `sdops release` never releases a commit twice while its release is live: a later tag at
    # the same commit is a copy of the record, not a release
    first: dict[tuple[str, str], str] = {}
    kept: list[Release] = []
    for r in out:
        earlier = first.get((r.name, r.commit))
        if earlier is not None:
            rejected.append(
                NotRelease(r.tag, r.commit, f"its commit is already released as {earlier}")
            )
            continue
        if r.status != "revoked":
            first[(r.name, r.commit)] = r.tag
        kept.append(r)
    out = kept
    current = _current(out, parsed, rejected)
    rels = [
        Release(r.name, r.version, r.tag, r.commit, "current", r.record, r.revocation, r.time)
        if current.get(r.name) is r
        else r
        for r in out
    ]
    return rels, rejected


def _current(
    out: list[Release], parsed: list[tuple[Any, ParsedTag]], rejected: list[NotRelease]
) -> dict[str, Release]:
    """Per name, the release the last release or rollback made current: events (a release's
    tag, a rollback's GTO assignment ``NAME#prod#N``) newest first by tag time, the first one
    whose release is still live. A revoked or retired current release gives way to the one
    that was current before it."""
    events: list[tuple[int, int, int, str, str]] = []  # (time, kind, order, name, commit)
    for i, r in enumerate(out):  # out is in version order: the newer wins a tie in time
        events.append((r.time, 0, i, r.name, r.commit))
    for ref, p in parsed:
        if p.action != "assign" or p.stage != PROD or p.counter is None:
            continue
        if ref.tag is None:
            rejected.append(NotRelease(ref.name, ref.commit.hexsha, "a lightweight assignment tag"))
            continue
        events.append((int(ref.tag.tagged_date), 1, p.counter, p.name, ref.commit.hexsha))
    live = {(r.name, r.commit): r for r in out if r.status == "released"}
    current: dict[str, Release] = {}
    for _, _, _, name, commit in sorted(events, reverse=True):
        if name not in current and (name, commit) in live:
            current[name] = live[(name, commit)]
    return current


def releases(repo: Any, name: str | None = None) -> list[Release]:
    """Every release in the repository, oldest first, with its status."""
    return scan(repo, name)[0]


REFERENCE_HINT = "use NAME@vX.Y.Z, NAME@current (or NAME, NAME#prod) or NAME@latest"


def parse_reference(ref: str) -> tuple[str, str]:
    """(name, which) of a release reference; which is ``current``, ``latest`` or a version
    ``vX.Y.Z``. ``NAME`` and ``NAME#prod`` (GTO's stage) mean ``current``; ``1.1.0`` = ``v1.1.0``."""
    m = REF_RE.match(ref.strip())
    if m:
        which = m["which"] or "current"
        if which not in ("current", "latest"):
            which = "v" + which.removeprefix("v")
        return m["name"], which
    p = parse_tag(ref.strip())
    if p is not None and p.action == "register" and p.version is not None:
        return p.name, str(p.version)
    raise ReleaseUnavailable(f"{ref!r} is not a release reference", hint=REFERENCE_HINT)


def resolve(repo: Any, ref: str, *, live_only: bool = True) -> Release:
    """A release by reference (:func:`parse_reference`): ``current`` is the release the last
    release or rollback made current, ``latest`` the newest live version."""
    name, which = parse_reference(ref)
    known, rejected = scan(repo, name)
    for bad in rejected:
        if bad.tag == f"{name}@{which}":
            raise ReleaseUnavailable(
                f"{bad.tag} is not a release: {bad.reason}", hint="see `sdops list`"
            )
    if not known:
        raise ReleaseUnavailable(f"there is no release of {name!r}", hint="see `sdops list`")
    if which in ("latest", "current"):
        live = [r for r in known if r.status in ("current", "released")]
        if not live:
            raise ReleaseUnavailable(f"every release of {name!r} is revoked or retired")
        if which == "latest":
            return live[-1]
        return next(r for r in live if r.status == "current")
    wanted = Version.parse(which)
    for r in known:
        if r.version == wanted:
            if live_only and r.status == "retired":
                raise ReleaseUnavailable(
                    f"{r.tag} was retired (retention expired); its data was deleted",
                    hint=f"use {name}@current for the release in service",
                )
            if live_only and r.status == "revoked":
                reason = (r.revocation or {}).get("reason", "no reason recorded")
                raise ReleaseUnavailable(
                    f"{r.tag} was revoked ({(r.revocation or {}).get('kind', 'other')}): {reason}",
                    hint=f"use {name}@current for the release in service",
                )
            return r
    raise ReleaseUnavailable(f"{name} has no version {which}", hint="see `sdops list`")


def _actor(repo: Any) -> str:
    """Who acts: git's configured identity (as `git config` resolves it, env included)."""
    import git

    def value(key: str) -> str:
        try:
            return str(repo.git.config("--get", key)).strip()
        except git.GitCommandError:
            return "unknown"

    return f"{value('user.name')} <{value('user.email')}>"


def _git_file(commit: Any, rel: str) -> str | None:
    raw = blob_at(commit, rel)
    return raw.decode("utf-8") if raw is not None else None


def manifest_at(repo: Any, rev: str, root: Path) -> dict[str, Any] | None:
    commit = repo.commit(rev)
    rel = repo_path(repo, root / L.MANIFEST)
    text = _git_file(commit, rel)
    return json.loads(text) if text else None


def release_manifest(repo: Any, rel: Release, root: Path | None = None) -> dict[str, Any] | None:
    """A release's manifest: at ``root``'s pipeline in a work tree, or, in a bare repository
    (``root`` None), wherever the release's pipeline sits."""
    if root is not None and repo.working_tree_dir is not None:
        found = manifest_at(repo, rel.tag, root)
        if found is not None:
            return found
    return _manifest_at_commit(repo, repo.commit(rel.tag), rel.name)


def _manifest_at_commit(repo: Any, commit: Any, name: str) -> dict[str, Any] | None:
    """The manifest of release ``name`` committed at ``commit``, wherever its pipeline sits
    in the repository (the top, or a subdirectory; several pipelines may share a repo)."""
    try:
        commit.tree / L.MANIFEST
        paths = [L.MANIFEST]
    except KeyError:
        names = repo.git.ls_tree("-r", "--name-only", commit.hexsha).splitlines()
        paths = sorted(n for n in names if n.endswith("/" + L.MANIFEST))
    for rel in paths:
        text = _git_file(commit, rel)
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and (data.get("dataset") or {}).get("name") == name:
            return data
    return None


def dvc_remotes(root: Path) -> tuple[dict[str, str], str | None]:
    """(name -> url, default remote name) of the project's DVC configuration."""
    from sdops_dvc.scm import run_dvc

    remotes: dict[str, str] = {}
    default = None
    for line in run_dvc(["config", "--list"], cwd=root).splitlines():
        key, _, value = line.strip().partition("=")
        m = re.fullmatch(r"remote\.(.+)\.url", key)
        if m:
            remotes[m.group(1)] = value
        elif key == "core.remote":
            default = value
    return remotes, (default if default in remotes else None)


@dataclass(frozen=True)
class ReleaseResult:
    tag: str
    version: Version
    record: dict[str, Any]
    pushed_data: bool
    pushed_tag: bool
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class Plan:
    version: Version
    record: dict[str, Any]
    ledger: Any  # registry.budget.Ledger before this release
    entry: Any  # registry.budget.Entry of this release (tag filled in by release())
    warnings: list[str] = field(default_factory=list)
    dvc_remote: str | None = None


def _has_origin(repo: Any) -> bool:
    return "origin" in [r.name for r in repo.remotes]


def repair_leftovers(repo: Any, name: str, *, apply: bool = True) -> list[str]:
    """Remove local release tags that origin never accepted, or that differ from origin's tag
    of the same name (left by an interrupted release of an earlier sdops, or by a clone that
    lost the race for a version): origin's tags are the truth, and the release's own fetch
    then brings them. Returns what was done (``apply=False``: what would be done)."""
    if not _has_origin(repo):
        return []
    proc = _git(repo.working_tree_dir, "ls-remote", "--tags", "origin")
    if proc.returncode != 0:
        return []  # the release's own fetch reports the remote's problem
    remote: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
            remote[ref.removeprefix("refs/tags/")] = sha
    done = []
    for ref in list(repo.tags):
        p = parse_tag(ref.name)
        if not (p and p.action == "register" and p.name == name):
            continue
        local = ref.tag.hexsha if ref.tag is not None else ref.commit.hexsha
        verb = ("removed", "replaced") if apply else ("would remove", "would replace")
        if ref.name not in remote:
            if apply:
                repo.delete_tag(ref.name)
            done.append(
                f"{verb[0]} the local tag {ref.name}: origin never accepted it (an interrupted "
                "release left it)"
            )
        elif remote[ref.name] != local:
            if apply:
                repo.delete_tag(ref.name)
            done.append(f"{verb[1]} the local tag {ref.name} by origin's, which differs from it")
    return done


def plan_release(
    repo: Any,
    root: Path,
    params: Params,
    name: str,
    bump: str,
    budget_exception: str | None = None,
    *,
    reevaluate: bool = False,
) -> Plan:
    """Check everything a release needs; raise ReleaseRefused listing every reason."""
    from sdops_dvc.manifest import validate
    from sdops_dvc.registry import budget as B
    from sdops_dvc.registry import checks
    from sdops_dvc.registry.approvals import collect
    from sdops_dvc.scm import run_dvc

    problems: list[str] = []
    warnings: list[str] = []
    if _has_origin(repo):
        # the budget is decided against the remote's releases, not a stale local view
        fetch_error = B.fetch_ledger(repo.working_tree_dir, "origin")
        if fetch_error:
            problems.append(
                "cannot read the release tags and budget ledger from origin, so the budget "
                f"cannot be checked: {fetch_error}"
            )
    else:
        warnings.append(
            "NO ORIGIN: the release tag stays in this clone only; nobody else can see, review "
            "or fetch it (add a git remote named origin)"
        )
    if repo.is_dirty(untracked_files=True):
        problems.append(
            "the work tree has uncommitted changes: commit or stash them (see `git status`)"
        )
    try:
        # the release pipeline only: monitoring/dvc.yaml has its own life
        status = json.loads(run_dvc(["status", "--json", "dvc.yaml"], cwd=root) or "{}")
    except (RepoError, json.JSONDecodeError) as exc:
        status = {"dvc status": str(exc)}
    if status:
        problems.append(
            f"`dvc status` is not clean ({', '.join(sorted(status))}): run `dvc pull` or `dvc repro` "
            "and commit dvc.lock"
        )
    remotes, default_remote = dvc_remotes(root)
    if default_remote is None:
        warnings.append(
            "NO DVC REMOTE: the synthetic data stays in this machine's DVC cache; consumers "
            "cannot fetch it (`dvc remote add -d NAME URL`)"
        )
    problems += checks.remote_problems(root, params, remotes, default_remote)
    head = repo.head.commit
    prefix = repo_path(repo, root)
    prefix = "" if prefix == "." else prefix
    committed = checks.committed(repo, "HEAD", prefix)
    gate = committed.json(L.GATE)
    gate_rel = repo_path(repo, root / L.GATE)
    if gate is None:
        problems.append(f"no {gate_rel} committed at HEAD: run `dvc repro` and commit its outputs")
    elif not gate.get("approved"):
        problems.append(
            "the gate at HEAD did not approve: " + "; ".join(gate.get("failures", [])[:5])
        )
    synthetic = f"{L.SYNTHETIC_STEM}.{params.output.format}"
    problems += [f"integrity: {p}" for p in checks.lock_problems(committed, synthetic)]
    problems += [f"integrity: {p}" for p in checks.decision_problems(committed, params)]
    if reevaluate and not problems:
        problems += [
            f"re-evaluation: {p}" for p in reevaluate_problems(repo, prefix, params, committed)
        ]
    manifest = committed.json(L.MANIFEST)
    if manifest is None:
        problems.append(f"no {L.MANIFEST} committed at HEAD: run `dvc repro` and commit it")
    else:
        problems += [f"manifest: {p}" for p in validate(manifest)]
        if manifest.get("dataset", {}).get("name") != name:
            problems.append(
                f"the manifest at HEAD is for {manifest.get('dataset', {}).get('name')!r}, not {name!r}"
            )
    known = releases(repo, name)
    if any(r.commit == head.hexsha and r.status != "revoked" for r in known):
        problems.append(
            f"HEAD is already released as {next(r.tag for r in known if r.commit == head.hexsha)}"
        )
    last = known[-1] if known else None
    since = last.commit if last and repo.is_ancestor(last.commit, head.hexsha) else None
    cfg = params.release.approvals
    approvals = collect(repo, cfg, since, last.tag if since and last else None)
    problems += approvals.problems
    scope = ((manifest or {}).get("privacy") or {}).get("budget_scope") or scope_of(
        params, L.Layout(root)
    )
    lineage = lineage_of(params, L.Layout(root))
    ledger = B.read_ledger(repo, root, scope, lineage)
    entry = B.entry_for("(new)", name, "", "candidate", {}, manifest or {})
    exception: dict[str, Any] | None = None
    if budget_exception is not None:
        if not budget_exception.strip():
            problems.append("--budget-exception needs a reason")
        elif entry.dp:
            problems.append("--budget-exception is for generators without formal guarantee only")
        elif params.budget.epsilon is None:
            problems.append("--budget-exception given, but no budget cap is set (budget.epsilon)")
        else:
            approvers = params.budget.exception_approvers
            found = B.exception_approvals(repo, approvers, since, cfg) if approvers else []
            if not found:
                problems.append(
                    "budget exception not approved: a commit since the last release needs a "
                    "`Budget-exception-approved-by: NAME <EMAIL>` trailer by one of "
                    f"budget.exception_approvers ({', '.join(approvers) or 'none listed'}), "
                    "signed by their key unless allow_unverified"
                )
            exception = {"reason": budget_exception.strip(), "approved_by": found}
    if not (budget_exception is not None and exception is None):
        problems += B.budget_problems(ledger, entry, params.budget, exception)
    if problems:
        raise ReleaseRefused(
            f"release of {name} refused:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="fix every reason above; nothing was tagged or pushed",
        )
    taken = {
        p.version for t in repo.tags if (p := parse_tag(t.name)) and p.name == name and p.version
    }
    version = Version(1, 0, 0) if not known else max(r.version for r in known).bump(bump)
    while version in taken:  # a tag that is not a release still holds its name on origin
        version = version.bump("patch")
    releaser = _actor(repo)
    assert manifest is not None and gate is not None
    record = {
        "schema": "sdops-release/1",
        "name": name,
        "version": str(version),
        "commit": head.hexsha,
        "manifest_digest": manifest["digest"]["value"],
        "gate": {
            "approved": True,
            "recomputed": True,
            "reevaluated": reevaluate,
            "gates": {k: v.get("passed") for k, v in gate.get("gates", {}).items()},
        },
        "approvals": [a.as_json() for a in approvals.approvals],
        "approvals_required": cfg.required,
        "approval_notes": approvals.notes,
        "releaser": releaser,
        "released_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "published": {"dvc_remote": default_remote, "origin": _has_origin(repo)},
        "budget": {
            "scope": scope,
            "lineage": lineage,
            "ledger_ref": B.ledger_ref(scope),
            "spend": {"rho": entry.spend.rho, "delta0": entry.spend.delta0},
            "measurement_id": entry.measurement_id,
            "cap": params.budget.model_dump(mode="json", include={"epsilon", "delta"}),
            "after": B.standing_json(ledger.with_entry(entry).standing(params.budget)),
        },
    }
    if not cfg.required:
        warnings.append("released WITHOUT APPROVALS (release.approvals.required: false)")
    if exception is not None:
        record["budget_exception"] = exception
    return Plan(version, record, ledger, entry, warnings, default_remote)


def reevaluate_problems(repo: Any, prefix: str, params: Params, committed: Any) -> list[str]:
    """Re-run evaluate from the pinned data in a temporary worktree at HEAD; the metrics must
    come out byte-identical to the ``committed`` ones (pipeline at ``prefix`` in the repo)."""
    from sdops_dvc.fsutil import md5_file
    from sdops_dvc.registry import checks
    from sdops_dvc.scm import release_worktree, run_dvc

    problems: list[str] = []
    with release_worktree(repo, "HEAD", shared_cache=True) as wt:  # nothing is pushed yet
        proot = wt / prefix if prefix else wt
        run_dvc(
            ["pull", "-q", L.TRAIN, L.HOLDOUT, f"{L.SYNTHETIC_STEM}.{params.output.format}"],
            cwd=proot,
        )
        run_dvc(["repro", "-f", "-s", "-q", "evaluate"], cwd=proot)
        for rel in (L.METRICS, checks.DETAILS):
            got = md5_file(proot / rel)
            if got != committed.md5(rel):
                problems.append(
                    f"{rel} re-computed from the pinned data has md5 {got}, the committed one "
                    f"{committed.md5(rel)}: the committed metrics are not what the data gives"
                )
    return problems


def _tag_object(repo: Any, tag: str, commit: str, message: str) -> str:
    """An annotated tag object for ``commit``, written to the object store with no ref."""
    cwd = repo.working_tree_dir
    ident = _git(cwd, "var", "GIT_COMMITTER_IDENT")
    if ident.returncode != 0:
        raise RepoError(
            f"git has no committer identity: {ident.stderr.strip()}",
            hint="set user.name and user.email (`git config`)",
        )
    body = f"object {commit}\ntype commit\ntag {tag}\ntagger {ident.stdout.strip()}\n\n{message}"
    proc = _git(cwd, "mktag", stdin=body)
    if proc.returncode != 0:
        raise RepoError(f"git mktag failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def publish_tag(
    repo: Any,
    tag: str,
    commit: str,
    message: str,
    ledger: tuple[str, str, str | None] | None = None,
) -> bool:
    """Publish an annotated tag: origin accepts it (with the ledger ref, atomically) before
    any local ref exists, so an interrupted or refused push leaves no local tag. Returns
    whether it was pushed. ``ledger`` is (ref, new commit, value read before planning)."""
    cwd = repo.working_tree_dir
    obj = _tag_object(repo, tag, commit, message)
    pushed = False
    if _has_origin(repo):
        args = ["push", "--atomic", "--porcelain"]
        refspecs = [f"{obj}:refs/tags/{tag}"]
        if ledger is not None:
            ref, new, old = ledger
            args.append(f"--force-with-lease={ref}:{old or ''}")
            refspecs.append(f"{new}:{ref}")
        proc = _git(cwd, *args, "origin", *refspecs)
        if proc.returncode != 0:
            _push_refused(cwd, tag, proc, ledger)
        pushed = True
        if ledger is not None:
            _git(cwd, "update-ref", ledger[0], ledger[1])
    elif ledger is not None:
        ref, new, old = ledger
        proc = _git(cwd, "update-ref", ref, new, old or "0" * 40)
        if proc.returncode != 0:
            raise ReleaseRefused(
                f"the budget ledger {ref} changed while {tag} was being made; nothing was "
                "released (no tag was created)",
                hint="run `sdops release` again: it re-checks the budget",
            )
    made = _git(cwd, "update-ref", f"refs/tags/{tag}", obj, "0" * 40)
    if made.returncode != 0:
        raise RepoError(
            f"{tag} was published but the local tag could not be created: {made.stderr.strip()}",
            hint=f"run `git fetch origin tag {tag}`",
        )
    return pushed


def _push_refused(
    cwd: str,
    tag: str,
    proc: subprocess.CompletedProcess[str],
    ledger: tuple[str, str, str | None] | None,
) -> None:
    text = (proc.stdout + "\n" + proc.stderr).strip()
    lines = [ln for ln in text.splitlines() if ln.strip() and ln.strip() != "Done"]
    detail = "\n".join(f"  {line}" for line in lines[-8:])
    if ledger is not None:
        ref, _, old = ledger
        now = _git(cwd, "ls-remote", "origin", ref).stdout.split()
        if "stale info" in text or (now[0] if now else None) != old:
            raise ReleaseRefused(
                f"another release spent from this budget first: origin's ledger {ref} moved "
                f"since it was read, so the atomic push of {tag} was rejected and nothing "
                f"landed (no local tag was created):\n{detail}",
                hint="run `sdops release` again: it re-reads the ledger and re-checks the cap",
            )
    raise ReleaseRefused(
        f"pushing {tag} to origin failed, so nothing landed and no local tag was created:\n{detail}",
        hint="fix access to the remote and run the command again",
    )


def release(
    root: Path,
    params: Params,
    name: str | None = None,
    bump: str = "minor",
    budget_exception: str | None = None,
    *,
    reevaluate: bool = False,
    dry_run: bool = False,
) -> ReleaseResult:
    """Check everything, then publish: data to the DVC remotes, the tag and the budget
    ledger to origin. ``dry_run``: every check (origin's tags and ledger are fetched to
    check against), then stop: no data pushed, no tag, no ledger entry, no repair."""
    from sdops_dvc.registry import budget as B
    from sdops_dvc.scm import run_dvc

    repo = _repo(root)
    name = name or params.dataset.name
    repairs = repair_leftovers(repo, name, apply=not dry_run)
    try:
        plan = plan_release(repo, root, params, name, bump, budget_exception, reevaluate=reevaluate)
    except ReleaseRefused as exc:
        if repairs:
            exc.message += "\n" + "\n".join(f"  (repaired: {r})" for r in repairs)
        raise
    version, record = plan.version, plan.record
    tag = register_tag(name, version)
    if dry_run:
        return ReleaseResult(tag, version, record, False, False, plan.warnings, repairs, True)
    pushed_data = False
    if plan.dvc_remote is not None:
        try:
            run_dvc(["push", "-q"], cwd=root)
        except RepoError as exc:
            raise ReleaseRefused(
                f"`dvc push` failed, so nothing was tagged:\n{exc.message}",
                hint="fix the DVC remote and run the command again",
            ) from None
        pushed_data = True
    summary = f"Release {tag} (manifest sha256 {record['manifest_digest'][:12]})"
    ref = B.ledger_ref(record["budget"]["scope"])
    old = B.ref_value(repo.working_tree_dir, ref)
    entry = B.Entry(**{**plan.entry.__dict__, "tag": tag, "version": str(version)})
    new = B.ledger_commit(
        repo.working_tree_dir, plan.ledger.with_entry(entry), old, tag, record["budget"]["lineage"]
    )
    message = f"{summary}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n"
    pushed_tag = publish_tag(repo, tag, record["commit"], message, (ref, new, old))
    return ReleaseResult(tag, version, record, pushed_data, pushed_tag, plan.warnings, repairs)


@dataclass(frozen=True)
class Revocation:
    tag: str
    release: Release
    purged: list[str] | None  # objects deleted from the release remote (None: not purged)
    kept_shared: list[str]


def revoke(root: Path, ref: str, reason: str, kind: str, *, purge: bool = False) -> Revocation:
    """Deregister a release (GTO ``NAME@vX.Y.Z!#N``), annotated with reason, kind and actor.
    ``purge``: first delete the release's own data objects from the release remote (objects
    another live release uses are kept); a failed purge revokes nothing."""
    from sdops_dvc.registry.objects import delete_objects, own_objects

    if kind not in KINDS:
        raise ReleaseRefused(f"--kind {kind!r} is unknown", hint=f"use one of {', '.join(KINDS)}")
    if not reason.strip():
        raise ReleaseRefused("--reason is empty", hint="say why the release is revoked")
    repo = _repo(root)
    target = resolve(repo, ref, live_only=True)
    tag = deregister_tag(
        target.name, target.version, next_counter([t.name for t in repo.tags], target.name)
    )
    record: dict[str, Any] = {
        "schema": "sdops-revocation/1",
        "release": target.tag,
        "reason": reason,
        "kind": kind,
        "actor": _actor(repo),
        "revoked_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    purged: list[str] | None = None
    shared: list[str] = []
    if purge:
        live = [r.tag for r in releases(repo, target.name) if r.status in ("current", "released")]
        # the release remote serves releases: only other live releases' objects stay there
        purged, shared = own_objects(repo, target.tag, live)
        top = Path(repo.working_tree_dir)
        delete_objects(top, purged, local_cache=False, what=f"{target.tag} (nothing was revoked)")
        record["purged_objects"] = purged
    publish_tag(
        repo,
        tag,
        target.commit,
        f"Revoke {target.tag}: {reason}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n",
    )
    return Revocation(tag, target, purged, shared)
