"""Create, list, resolve and revoke releases (annotated git tags in GTO's format).

The tag annotation carries the release record as JSON after a one-line summary: manifest
digest, gate summary, approvals, releaser, UTC time. Git and DVC state change only after
every check passed, and a failed push removes the tag again: all or nothing.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdops_dvc import layout as L
from sdops_dvc.config import Params
from sdops_dvc.errors import ReleaseRefused, ReleaseUnavailable, RepoError
from sdops_dvc.registry.tags import (
    REF_RE,
    ParsedTag,
    Version,
    deregister_tag,
    next_counter,
    parse_tag,
    register_tag,
)
from sdops_dvc.scm import repo_path

KINDS = ("privacy", "schema", "utility", "other")
PROD = "prod"
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
    _, _, body = message.partition("\n\n")
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def releases(repo: Any, name: str | None = None) -> list[Release]:
    """Every release in the repository, oldest first, with its status."""
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
    out = []
    for ref, p in parsed:
        if p.action != "register" or p.version is None:
            continue
        message = ref.tag.message if ref.tag else ""
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
                _record(message),
                revoked.get((p.name, p.version)),
            )
        )
    out.sort(key=lambda r: (r.name, r.version))
    current: dict[str, Release] = {}
    for r in out:
        if r.status == "released":
            current[r.name] = r
    # a rollback (GTO assignment NAME#prod#N) makes an older live release current
    latest_assign: dict[str, tuple[int, str]] = {}
    for ref, p in parsed:
        if (
            p.action == "assign"
            and p.stage == PROD
            and p.counter is not None
            and p.counter > latest_assign.get(p.name, (0, ""))[0]
        ):
            latest_assign[p.name] = (p.counter, ref.commit.hexsha)
    for nm, (_, sha) in latest_assign.items():
        pinned = [r for r in out if r.name == nm and r.commit == sha and r.status == "released"]
        if pinned:
            current[nm] = pinned[-1]
    return [
        Release(r.name, r.version, r.tag, r.commit, "current", r.record, r.revocation)
        if current.get(r.name) is r
        else r
        for r in out
    ]


def resolve(repo: Any, ref: str, *, live_only: bool = True) -> Release:
    """``NAME@vX.Y.Z``, ``NAME@latest`` (newest live release) or a release tag."""
    m = REF_RE.match(ref)
    if not m:
        p = parse_tag(ref)
        if p is None or p.action != "register" or p.version is None:
            raise ReleaseUnavailable(
                f"{ref!r} is not a release reference", hint="use NAME@vX.Y.Z or NAME@latest"
            )
        name, which = p.name, str(p.version)
    else:
        name, which = m["name"], m["which"]
    known = releases(repo, name)
    if not known:
        raise ReleaseUnavailable(f"there is no release of {name!r}", hint="see `sdops list`")
    if which == "latest":
        live = [r for r in known if r.status in ("current", "released")]
        if not live:
            raise ReleaseUnavailable(f"every release of {name!r} is revoked")
        return live[-1]
    wanted = Version.parse(which)
    for r in known:
        if r.version == wanted:
            if live_only and r.status == "retired":
                raise ReleaseUnavailable(
                    f"{r.tag} was retired (retention expired); its data was deleted",
                    hint=f"use {name}@latest for the newest live release",
                )
            if live_only and r.status == "revoked":
                reason = (r.revocation or {}).get("reason", "no reason recorded")
                raise ReleaseUnavailable(
                    f"{r.tag} was revoked ({(r.revocation or {}).get('kind', 'other')}): {reason}",
                    hint=f"use {name}@latest for the newest live release",
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
    try:
        return str((commit.tree / rel).data_stream.read().decode("utf-8"))
    except KeyError:
        return None


def manifest_at(repo: Any, rev: str, root: Path) -> dict[str, Any] | None:
    commit = repo.commit(rev)
    rel = repo_path(repo, root / L.MANIFEST)
    text = _git_file(commit, rel)
    return json.loads(text) if text else None


def _has_dvc_remote(root: Path) -> bool:
    from sdops_dvc.scm import run_dvc

    return bool(run_dvc(["remote", "list"], cwd=root).strip())


@dataclass(frozen=True)
class ReleaseResult:
    tag: str
    version: Version
    record: dict[str, Any]
    pushed_data: bool
    pushed_tag: bool


@dataclass(frozen=True)
class Plan:
    version: Version
    record: dict[str, Any]
    ledger: Any  # registry.budget.Ledger before this release
    entry: Any  # registry.budget.Entry of this release (tag filled in by release())


def _has_origin(repo: Any) -> bool:
    return "origin" in [r.name for r in repo.remotes]


def plan_release(
    repo: Any,
    root: Path,
    params: Params,
    name: str,
    bump: str,
    budget_exception: str | None = None,
) -> Plan:
    """Check everything a release needs; raise ReleaseRefused listing every reason."""
    from sdops_dvc.manifest import validate
    from sdops_dvc.registry import budget as B
    from sdops_dvc.registry.approvals import collect
    from sdops_dvc.scm import run_dvc

    problems: list[str] = []
    if _has_origin(repo):
        # the budget is decided against the remote's releases, not a stale local view
        fetch_error = B.fetch_ledger(repo.working_tree_dir, "origin")
        if fetch_error:
            problems.append(
                "cannot read the release tags and budget ledger from origin, so the budget "
                f"cannot be checked: {fetch_error.splitlines()[-1]}"
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
    head = repo.head.commit
    gate_rel = repo_path(repo, root / L.GATE)
    gate_text = _git_file(head, gate_rel)
    gate = json.loads(gate_text) if gate_text else None
    if gate is None:
        problems.append(f"no {gate_rel} committed at HEAD: run `dvc repro` and commit its outputs")
    elif not gate.get("approved"):
        problems.append(
            "the gate at HEAD did not approve: " + "; ".join(gate.get("failures", [])[:5])
        )
    manifest = manifest_at(repo, "HEAD", root)
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
    approvals, approval_problems = collect(repo, params.release.approvals, since)
    problems += approval_problems
    scope = ((manifest or {}).get("privacy") or {}).get("budget_scope") or B.scope_of(
        params, L.Layout(root)
    )
    ledger = B.read_ledger(repo, root, scope)
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
            found = B.exception_approvals(repo, approvers, since) if approvers else []
            if not found:
                problems.append(
                    "budget exception not approved: a commit since the last release needs a "
                    "`Budget-exception-approved-by: NAME <EMAIL>` trailer by one of "
                    f"budget.exception_approvers ({', '.join(approvers) or 'none listed'})"
                )
            exception = {"reason": budget_exception.strip(), "approved_by": found}
    if not (budget_exception is not None and exception is None):
        problems += B.budget_problems(ledger, entry, params.budget, exception)
    if problems:
        raise ReleaseRefused(
            f"release of {name} refused:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="fix every reason above; nothing was tagged or pushed",
        )
    version = Version(1, 0, 0) if not known else max(r.version for r in known).bump(bump)
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
            "gates": {k: v.get("passed") for k, v in gate.get("gates", {}).items()},
        },
        "approvals": [{"role": a.role, "by": a.by, "commit": a.commit} for a in approvals],
        "releaser": releaser,
        "released_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "budget": {
            "scope": scope,
            "ledger_ref": B.ledger_ref(scope),
            "spend": {"rho": entry.spend.rho, "delta0": entry.spend.delta0},
            "measurement_id": entry.measurement_id,
            "cap": params.budget.model_dump(mode="json", include={"epsilon", "delta"}),
            "after": B.standing_json(ledger.with_entry(entry).standing(params.budget)),
        },
    }
    if exception is not None:
        record["budget_exception"] = exception
    return Plan(version, record, ledger, entry)


def _push_tag(repo: Any, tag: str) -> bool:
    """Push the tag when an ``origin`` remote exists; on failure delete it locally."""
    if "origin" not in [r.name for r in repo.remotes]:
        return False
    proc = subprocess.run(
        ["git", "push", "origin", f"refs/tags/{tag}"],
        cwd=repo.working_tree_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        repo.delete_tag(tag)
        detail = "\n".join(f"  {line}" for line in proc.stderr.strip().splitlines()[-5:])
        raise ReleaseRefused(
            f"pushing {tag} to origin failed; the local tag was removed again:\n{detail}",
            hint="fix access to the remote and run the command again",
        )
    return True


def _push_release(repo: Any, tag: str, ref: str, new: str, old: str | None) -> bool:
    """Publish the tag and the advanced ledger ref together, or neither.

    With ``origin``: one ``git push --atomic`` whose ledger ref carries a lease on the value
    read before planning; a concurrent release that advanced the ledger first makes the whole
    push fail. Without: a local compare-and-swap of the ledger ref. On failure the local tag is
    deleted again."""
    cwd = repo.working_tree_dir
    if not _has_origin(repo):
        proc = subprocess.run(
            ["git", "update-ref", ref, new, old or "0" * 40],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            repo.delete_tag(tag)
            raise ReleaseRefused(
                f"the budget ledger {ref} changed while {tag} was being made; nothing was "
                "released (the local tag was removed)",
                hint="run `sdops release` again: it re-checks the budget",
            )
        return False
    proc = subprocess.run(
        [
            "git",
            "push",
            "--atomic",
            "--porcelain",
            f"--force-with-lease={ref}:{old or ''}",
            "origin",
            f"refs/tags/{tag}",
            f"{new}:{ref}",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        repo.delete_tag(tag)
        text = (proc.stdout + "\n" + proc.stderr).strip()
        now = subprocess.run(
            ["git", "ls-remote", "origin", ref],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        raced = "stale info" in text or (now[0] if now else None) != old
        lines = [ln for ln in text.splitlines() if ln.strip() and ln.strip() != "Done"]
        detail = "\n".join(f"  {line}" for line in lines[-8:])
        if raced:
            raise ReleaseRefused(
                f"another release spent from this budget first: origin's ledger {ref} moved "
                f"since it was read, so the atomic push of {tag} was rejected and nothing "
                f"landed (the local tag was removed):\n{detail}",
                hint="run `sdops release` again: it re-reads the ledger and re-checks the cap",
            )
        raise ReleaseRefused(
            f"pushing {tag} to origin failed, so nothing landed; the local tag was removed "
            f"again:\n{detail}",
            hint="fix access to the remote and run the command again",
        )
    subprocess.run(["git", "update-ref", ref, new], cwd=cwd, check=False, capture_output=True)
    return True


def release(
    root: Path,
    params: Params,
    name: str | None = None,
    bump: str = "minor",
    budget_exception: str | None = None,
) -> ReleaseResult:
    from sdops_dvc.registry import budget as B
    from sdops_dvc.scm import run_dvc

    repo = _repo(root)
    name = name or params.dataset.name
    plan = plan_release(repo, root, params, name, bump, budget_exception)
    version, record = plan.version, plan.record
    tag = register_tag(name, version)
    pushed_data = False
    if _has_dvc_remote(root):
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
    new = B.ledger_commit(repo.working_tree_dir, plan.ledger.with_entry(entry), old, tag)
    repo.create_tag(
        tag,
        ref=record["commit"],
        message=f"{summary}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n",
    )
    pushed_tag = _push_release(repo, tag, ref, new, old)
    return ReleaseResult(tag, version, record, pushed_data, pushed_tag)


def revoke(root: Path, ref: str, reason: str, kind: str) -> tuple[str, Release]:
    """Deregister a release (GTO ``NAME@vX.Y.Z!#N``), annotated with reason, kind and actor."""
    if kind not in KINDS:
        raise ReleaseRefused(f"--kind {kind!r} is unknown", hint=f"use one of {', '.join(KINDS)}")
    if not reason.strip():
        raise ReleaseRefused("--reason is empty", hint="say why the release is revoked")
    repo = _repo(root)
    target = resolve(repo, ref, live_only=True)
    tag = deregister_tag(
        target.name, target.version, next_counter([t.name for t in repo.tags], target.name)
    )
    record = {
        "schema": "sdops-revocation/1",
        "release": target.tag,
        "reason": reason,
        "kind": kind,
        "actor": _actor(repo),
        "revoked_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    repo.create_tag(
        tag,
        ref=target.commit,
        message=f"Revoke {target.tag}: {reason}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n",
    )
    _push_tag(repo, tag)
    return tag, target
