"""Create and revoke releases (annotated git tags in GTO's format).

The tag annotation carries the release record as JSON after a one-line summary: manifest
digest, gate summary, approvals, releaser, UTC time. Git and DVC state change only after
every check passed, and a failed push removes the tag again: all or nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sdops_dvc.base.errors import ReleaseRefused, RepoError
from sdops_dvc.base.scm import (
    ZERO,
    Pushed,
    Refs,
    dvc_pointers,
    git_cwd,
    release_worktree,
    repo_at,
    repo_path,
    run_dvc,
    work_tree,
)
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.budget import Entry, Ledger
from sdops_dvc.domain.config import Params
from sdops_dvc.domain.lineage import lineage_of, scope_of, source_digests
from sdops_dvc.domain.manifest import Manifest, read
from sdops_dvc.domain.records import (
    JSON,
    BudgetException,
    BudgetRecord,
    GateRecord,
    PrivacyInfo,
    ReleaseRecord,
    RevocationRecord,
    utc_stamp,
)
from sdops_dvc.registry.catalog import (  # the read side, re-exported for callers
    ALLOWED_SIGNERS as ALLOWED_SIGNERS,
    KINDS as KINDS,
    PROD as PROD,
    REFERENCE_HINT as REFERENCE_HINT,
    RETIRED as RETIRED,
    SIGNATURES as SIGNATURES,
    NotRelease as NotRelease,
    Release as Release,
    Status as Status,
    actor,
    manifest_at as manifest_at,
    parse_reference as parse_reference,
    release_manifest as release_manifest,
    releases as releases,
    resolve as resolve,
    scan as scan,
    tag_verifies,
)
from sdops_dvc.registry.evidence import digests
from sdops_dvc.registry.governance import Governance, approve_changes, governing
from sdops_dvc.registry.objects import remote_holds, store_files
from sdops_dvc.registry.signing import NO_KEY_HINT, Signer, release_signer, sign
from sdops_dvc.registry.tags import (
    Version,
    deregister_tag,
    next_counter,
    parse_tag,
    register_tag,
)

if TYPE_CHECKING:
    from git import Repo as GitRepo

    from sdops_dvc.registry.approvals import Basis, Collected
    from sdops_dvc.registry.checks import Committed


def dvc_remotes(root: Path) -> tuple[dict[str, str], str | None]:
    """(name -> url, default remote name) of the project's DVC configuration."""

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
class Proof:
    """How much of the candidate ``sdops release`` re-runs before it tags: by default split and
    generate (the released bytes are what the pinned inputs make); ``reevaluate`` also the
    evaluation; ``regenerate=False`` nothing (recorded in the tag, shown as unproven)."""

    regenerate: bool = True
    reevaluate: bool = False


@dataclass(frozen=True)
class ReleaseResult:
    tag: str
    version: Version
    record: ReleaseRecord
    pushed_data: bool
    pushed_tag: bool
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class Plan:
    version: Version
    record: ReleaseRecord
    ledger: Ledger  # before this release
    entry: Entry  # this release's (tag filled in by release())
    warnings: list[str] = field(default_factory=list)
    dvc_remote: str | None = None
    signer: Signer | None = None  # the key the release tag is signed with (None: unsigned)


def has_origin(repo: GitRepo) -> bool:
    return "origin" in [r.name for r in repo.remotes]


def repair_leftovers(repo: GitRepo, name: str, *, apply: bool = True) -> list[str]:
    """Remove local release tags that origin never accepted, or that differ from origin's tag
    of the same name (left by an interrupted release of an earlier sdops, or by a clone that
    lost the race for a version): origin's tags are the truth, and the release's own fetch
    then brings them. Returns what was done (``apply=False``: what would be done)."""
    if not has_origin(repo):
        return []
    remote = Refs(repo).remote_tags("origin")
    if remote is None:
        return []  # the release's own fetch reports the remote's problem
    done = []
    have = {t.name for t in repo.tags}
    for missing in sorted(set(remote) - have):
        p = parse_tag(missing)
        if p and p.action == "register" and p.name == name:
            fetched = "fetched" if apply else "would fetch"
            done.append(
                f"{fetched} {missing} from origin, where an interrupted release published it "
                "(its local tag was never made)"
            )
    for ref in list(repo.tags):
        p = parse_tag(ref.name)
        if not (p and p.action == "register" and p.name == name):
            continue
        local = ref.tag.hexsha if ref.tag is not None else ref.commit.hexsha
        verb = ("removed", "replaced") if apply else ("would remove", "would replace")
        if ref.name not in remote:
            if apply:
                repo.delete_tag(ref)
            done.append(
                f"{verb[0]} the local tag {ref.name}: origin never accepted it (an interrupted "
                "release left it)"
            )
        elif remote[ref.name] != local:
            if apply:
                repo.delete_tag(ref)
            done.append(f"{verb[1]} the local tag {ref.name} by origin's, which differs from it")
    return done


@dataclass
class _Findings:
    """What the checks of a release found: reasons to refuse it, and warnings."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    """HEAD as committed: its gate verdict and manifest (None when missing)."""

    committed: Committed
    gate: JSON | None  # gate.json as committed (a JSON document the gate stage wrote)
    manifest: Manifest | None


@dataclass(frozen=True)
class _Budget:
    scope: str
    lineage: str
    ledger: Ledger  # before this release
    entry: Entry  # this release's
    exception: BudgetException | None


def _check_origin(repo: GitRepo, f: _Findings) -> None:
    from sdops_dvc.registry import budget as B

    if not has_origin(repo):
        f.warnings.append(
            "NO ORIGIN: the release tag stays in this clone only; nobody else can see, review "
            "or fetch it (add a git remote named origin)"
        )
        return
    # the budget is decided against the remote's releases, not a stale local view
    fetch_error = B.fetch_ledger(git_cwd(repo), "origin")
    if fetch_error:
        f.problems.append(
            "cannot read the release tags and budget ledger from origin, so the budget "
            f"cannot be checked: {fetch_error}"
        )


def _check_work_tree(repo: GitRepo, root: Path, f: _Findings) -> None:

    if repo.is_dirty(untracked_files=True):
        f.problems.append(
            "the work tree has uncommitted changes: commit or stash them (see `git status`)"
        )
    try:
        # the release pipeline only: monitoring/dvc.yaml has its own life
        status = json.loads(run_dvc(["status", "--json", "dvc.yaml"], cwd=root) or "{}")
    except (RepoError, json.JSONDecodeError) as exc:
        status = {"dvc status": str(exc)}
    if status:
        f.problems.append(
            f"`dvc status` is not clean ({', '.join(sorted(status))}): run `dvc pull` or `dvc repro` "
            "and commit dvc.lock"
        )


def _check_remotes(root: Path, params: Params, f: _Findings) -> str | None:
    """The default DVC remote, after checking the remotes the data goes to."""
    from sdops_dvc.registry import checks

    remotes, default_remote = dvc_remotes(root)
    if default_remote is None:
        f.warnings.append(
            "NO DVC REMOTE: the synthetic data stays in this machine's DVC cache; consumers "
            "cannot fetch it (`dvc remote add -d NAME URL`)"
        )
    f.problems += checks.remote_problems(root, params, remotes, default_remote)
    return default_remote


def _check_candidate(
    repo: GitRepo, root: Path, params: Params, name: str, f: _Findings
) -> _Candidate:
    """HEAD's committed gate, lock, decision and manifest."""
    from sdops_dvc.registry import checks

    prefix = repo_path(repo, root)
    prefix = "" if prefix == "." else prefix
    committed = checks.committed(repo, "HEAD", prefix)
    gate = committed.json(L.GATE)
    if gate is None:
        gate_rel = repo_path(repo, root / L.GATE)
        f.problems.append(
            f"no {gate_rel} committed at HEAD: run `dvc repro` and commit its outputs"
        )
    elif not gate.get("approved"):
        f.problems.append(
            "the gate at HEAD did not approve: " + "; ".join(gate.get("failures", [])[:5])
        )
    tables = list(params.source.tables)
    f.problems += [
        f"integrity: {p}"
        for p in checks.lock_problems(
            committed,
            L.synthetic_outputs(tables, params.output.format),
            L.split_outputs(tables),
        )
    ]
    f.problems += [f"integrity: {p}" for p in checks.decision_problems(committed, params)]
    doc = committed.json(L.MANIFEST)
    manifest = None
    if doc is None:
        f.problems.append(f"no {L.MANIFEST} committed at HEAD: run `dvc repro` and commit it")
    else:
        manifest, invalid = read(doc)  # None when the model cannot read it (named in invalid)
        f.problems += [f"manifest: {p}" for p in invalid]
        if manifest is not None and manifest.name != name:
            f.problems.append(f"the manifest at HEAD is for {manifest.name!r}, not {name!r}")
    return _Candidate(committed, gate, manifest)


def _check_not_released(repo: GitRepo, known: list[Release], f: _Findings) -> None:
    head = repo.head.commit.hexsha
    if any(r.commit == head and r.status != Status.REVOKED for r in known):
        tag = next(r.tag for r in known if r.commit == head)
        f.problems.append(f"HEAD is already released as {tag}")


def _check_budget(
    repo: GitRepo,
    root: Path,
    params: Params,
    name: str,
    manifest: Manifest | None,
    budget_exception: str | None,
    basis: Basis,
    every: list[Release],
    f: _Findings,
) -> _Budget:
    """The release's spend against the ledger of its scope, and any exception to the cap."""
    from sdops_dvc.registry import budget as B

    layout = L.Layout(root)
    privacy = manifest.privacy_info if manifest is not None else PrivacyInfo.from_json(None)
    scope = privacy.budget_scope or scope_of(params, layout)
    lineage = lineage_of(params, layout)
    digests = source_digests(params, layout)
    ledger = B.read_ledger(repo, root, scope, lineage, digests)
    mine = {e.tag for e in ledger.entries}
    f.problems += ledger_anchor_problems(repo, [r for r in every if r.tag in mine])
    f.problems += published_spend_problems(repo, root, ledger, privacy, lineage, digests)
    entry = B.entry_for("(new)", name, "", "candidate", None, privacy)
    exception = None
    if budget_exception is not None:
        exception = _budget_exception(repo, params, entry, budget_exception, basis, f)
    if budget_exception is None or exception is not None:
        f.problems += B.budget_problems(ledger, entry, params.budget, exception)
    return _Budget(scope, lineage, ledger, entry, exception)


def _budget_exception(
    repo: GitRepo, params: Params, entry: Entry, reason: str, basis: Basis, f: _Findings
) -> BudgetException | None:
    """``--budget-exception``: a reason, and an approval by a budget exception approver;
    None (with the problem said) when it cannot stand."""
    from sdops_dvc.registry import budget as B

    if not reason.strip():
        f.problems.append("--budget-exception needs a reason")
    elif entry.dp:
        f.problems.append("--budget-exception is for generators without formal guarantee only")
    elif params.budget.epsilon is None:
        f.problems.append("--budget-exception given, but no budget cap is set (budget.epsilon)")
    else:
        approvers = params.budget.exception_approvers
        found = B.exception_approvals(repo, approvers, basis) if approvers else []
        if not found:
            f.problems.append(
                "budget exception not approved: a commit since the last release needs a "
                "`Budget-exception-approved-by: NAME <EMAIL>` trailer by one of "
                f"budget.exception_approvers ({', '.join(approvers) or 'none listed'}), "
                "signed by their key unless allow_unverified"
            )
        return BudgetException(reason.strip(), tuple(found))
    return None


def _check_signer(repo: GitRepo, params: Params, f: _Findings) -> Signer | None:
    """The key the release tag is signed with; a release without one is refused unless
    ``release.sign_tags: false`` declares it (recorded, and listed as unverified)."""
    if not params.release.sign_tags:
        f.warnings.append(
            "release tag NOT SIGNED (release.sign_tags: false): readers list it as unverified "
            "and never serve it as current"
        )
        return None
    signer = release_signer(git_cwd(repo))
    if signer is None:
        f.problems.append(f"no key to sign the release tag with: {NO_KEY_HINT}")
    return signer


def _next_version(repo: GitRepo, name: str, known: list[Release], bump: str) -> Version:
    """The bumped version, past any tag that holds a version's name without being a release."""
    taken = {
        p.version for t in repo.tags if (p := parse_tag(t.name)) and p.name == name and p.version
    }
    version = Version(1, 0, 0) if not known else max(r.version for r in known).bump(bump)
    while version in taken:  # a tag that is not a release still holds its name on origin
        version = version.bump("patch")
    return version


def plan_release(
    repo: GitRepo,
    root: Path,
    params: Params,
    name: str,
    bump: str,
    budget_exception: str | None = None,
    *,
    proof: Proof = Proof(),
) -> Plan:
    """Check everything a release needs; raise ReleaseRefused listing every reason."""
    from sdops_dvc.registry.providers import collect

    f = _Findings()
    _check_origin(repo, f)
    _check_work_tree(repo, root, f)
    default_remote = _check_remotes(root, params, f)
    cand = _check_candidate(repo, root, params, name, f)
    every = releases(repo)
    known = [r for r in every if r.name == name]
    _check_not_released(repo, known, f)
    gov = governing(repo, params, known, every)
    approvals = collect(repo, gov.basis)
    gov = approve_changes(gov, approvals.approvals)
    f.problems += approvals.problems + gov.problems
    signer = _check_signer(repo, params, f)
    budget = _check_budget(
        repo, root, params, name, cand.manifest, budget_exception, gov.basis, every, f
    )
    if (proof.regenerate or proof.reevaluate) and not f.problems:  # the costly check last
        prefix = cand.committed.prefix
        f.problems += [
            f"regeneration: {p}"
            for p in reproduce_problems(
                repo, prefix, params, cand.committed, reevaluate=proof.reevaluate
            )
        ]
    if f.problems:
        raise ReleaseRefused(
            f"release of {name} refused:\n" + "\n".join(f"  - {p}" for p in f.problems),
            hint="fix every reason above; nothing was tagged or pushed",
        )
    version = _next_version(repo, name, known, bump)
    record = _release_record(
        repo, params, name, version, cand, approvals, gov, budget, proof, default_remote
    )
    if not gov.basis.cfg.required:
        f.warnings.append("released WITHOUT APPROVALS (release.approvals.required: false)")
    return Plan(version, record, budget.ledger, budget.entry, f.warnings, default_remote, signer)


def _release_record(
    repo: GitRepo,
    params: Params,
    name: str,
    version: Version,
    cand: _Candidate,
    approvals: Collected,
    gov: Governance,
    budget: _Budget,
    proof: Proof,
    dvc_remote: str | None,
) -> ReleaseRecord:
    """The record the release tag carries."""
    from sdops_dvc.registry import budget as B

    assert cand.manifest is not None and cand.gate is not None
    entry, ledger = budget.entry, budget.ledger
    return ReleaseRecord(
        name=name,
        version=str(version),
        commit=repo.head.commit.hexsha,
        manifest_digest=cand.manifest.digest.value,
        gate=GateRecord(
            {k: v.get("passed") for k, v in cand.gate.get("gates", {}).items()},
            reevaluated=proof.reevaluate,
            regenerated=proof.regenerate or proof.reevaluate,
        ),
        approvals=tuple(approvals.approvals),
        approvals_required=gov.basis.cfg.required,
        governance=gov.as_json(),
        approval_notes=tuple(approvals.notes),
        releaser=actor(repo),
        released_at=utc_stamp(),
        dvc_remote=dvc_remote,
        pushed_to_origin=has_origin(repo),
        origin_url=origin_url(repo),
        budget=BudgetRecord(
            scope=budget.scope,
            lineage=budget.lineage,
            ledger_ref=B.ledger_ref(budget.scope),
            rho=entry.spend.rho,
            delta0=entry.spend.delta0,
            measurement_id=entry.measurement_id,
            cap={"epsilon": params.budget.epsilon, "delta": params.budget.delta},
            after=B.standing_json(ledger.with_entry(entry).standing(params.budget)),
        ),
        budget_exception=budget.exception,
    )


def origin_url(repo: GitRepo) -> str | None:
    """origin's URL without any credentials in it (it is published in the release's card)."""
    from urllib.parse import urlsplit, urlunsplit

    if not has_origin(repo):
        return None
    url = str(repo.remotes.origin.url)
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url


def make_evidence(repo: GitRepo, root: Path, tag: str, record: ReleaseRecord) -> dict[str, bytes]:
    """The release's card, provenance statement and datasheet, made from the work tree's
    released tables (each checked against the manifest's md5 first)."""
    from sdops_dvc.registry import evidence

    manifest = manifest_at(repo, "HEAD", root)
    assert manifest is not None  # plan_release checked the candidate's manifest
    local = {art.path: Path(root) / art.path for art in manifest.tables.values()}
    return evidence.render(evidence.gather(repo, tag, record, local))


REPRODUCED = ("split", "generate")  # the stages whose outputs a release proves by regeneration


def reproduce_problems(
    repo: GitRepo, prefix: str, params: Params, committed: Committed, *, reevaluate: bool
) -> list[str]:
    """Re-run the pipeline from its pinned inputs in a temporary worktree at HEAD: split and
    generate (a DP family reuses its saved measurement: measuring again would draw new noise
    and spend new budget), and evaluate with ``reevaluate``. The outputs must come out
    byte-identical to the ones ``dvc.lock`` records at HEAD (pipeline at ``prefix``), so a
    synthetic table that the pinned source, params and code do not make is refused."""
    from sdops_dvc.registry import checks

    recorded = committed.lock()
    stages = [*REPRODUCED, "evaluate"] if reevaluate else list(REPRODUCED)
    with release_worktree(repo, "HEAD", shared_cache=True) as wt:  # nothing is pushed yet
        proot = wt / prefix if prefix else wt
        sources = dvc_pointers(proot)
        fit = checks.outs(recorded, "generate").get(L.DP_FIT)
        try:
            if sources:
                run_dvc(["pull", "-q", *sources], cwd=proot)
            if fit is not None:
                run_dvc(["pull", "-q", L.DP_FIT], cwd=proot)
            run_dvc(["repro", "-f", "-q", stages[-1]], cwd=proot)
        except RepoError as exc:
            return [f"the candidate could not be regenerated from its pinned inputs: {exc.message}"]
        redone = checks.lock_in(proot)
        problems: list[str] = []
        for stage in stages:
            want, got = checks.outs(recorded, stage), checks.outs(redone, stage)
            for rel in sorted(want):
                if got.get(rel) != want[rel]:
                    problems.append(
                        f"{rel} regenerated from the pinned source, params and code has md5 "
                        f"{got.get(rel)}, but dvc.lock at HEAD records {want[rel]}: the "
                        "committed output is not what the pipeline makes"
                    )
    return problems


FAULT_POINTS = ("planned", "tag-object", "pushed", "ledger-ref")


def fault_point(name: str) -> None:
    """The crash harness's hook (tests/flows/registry/test_crash.py): with ``SDOPS_FAULT=NAME`` the
    process kills itself here with SIGKILL, as a lost machine or ``kill -9`` would."""
    import os
    import signal

    if os.environ.get("SDOPS_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def publish_tag(
    repo: GitRepo,
    tag: str,
    commit: str,
    message: str,
    ledger: tuple[str, str, str | None] | None = None,
    signer: Signer | None = None,
) -> bool:
    """Publish an annotated tag: origin accepts it (with the ledger ref, atomically) before
    any local ref exists, so an interrupted or refused push leaves no local tag. Returns
    whether it was pushed. ``ledger`` is (ref, new commit, value read before planning)."""
    refs = Refs(repo)
    obj = refs.tag_object(tag, commit, message, (lambda b: sign(signer, b)) if signer else None)
    if signer is not None:
        _check_tag_signature(repo, obj, commit)
    fault_point("tag-object")
    pushed = False
    if has_origin(repo):
        refspecs = [f"{obj}:refs/tags/{tag}"]
        lease = None
        if ledger is not None:
            ref, new, old = ledger
            refspecs.append(f"{new}:{ref}")
            lease = (ref, old)
        push = refs.push_atomic("origin", refspecs, lease)
        if not push.ok:
            _push_refused(refs, tag, push, ledger)
        pushed = True
        fault_point("pushed")
        if ledger is not None:
            refs.set(ledger[0], ledger[1])
            fault_point("ledger-ref")
    elif ledger is not None:
        ref, new, old = ledger
        if refs.set(ref, new, old or ZERO) is not None:
            raise ReleaseRefused(
                f"the budget ledger {ref} changed while {tag} was being made; nothing was "
                "released (no tag was created)",
                hint="run `sdops release` again: it re-checks the budget",
            )
    failed = refs.set(f"refs/tags/{tag}", obj, ZERO)
    if failed is not None:
        raise RepoError(
            f"{tag} was published but the local tag could not be created: {failed}",
            hint=f"run `git fetch origin tag {tag}`",
        )
    return pushed


def _check_tag_signature(repo: GitRepo, obj: str, commit: str) -> None:
    """A signed release tag must verify as readers will verify it: against the allowed
    signers committed at the tagged commit. Checked before anything is pushed."""
    if not tag_verifies(repo, obj, repo.commit(commit)):
        raise ReleaseRefused(
            f"the release tag is signed with a key that {ALLOWED_SIGNERS} at the released "
            "commit does not list, so no reader could verify it; nothing was pushed or tagged",
            hint="add the release key's public half to the allowed signers (a reviewed change), "
            "or sign with a key listed there",
        )


def _push_refused(
    refs: Refs, tag: str, push: Pushed, ledger: tuple[str, str, str | None] | None
) -> None:
    detail = "\n".join(f"  {line}" for line in push.lines[-8:])
    if ledger is not None:
        ref, _, old = ledger
        stale = any("stale info" in line for line in push.lines)
        if stale or refs.remote_value("origin", ref) != old:
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
    proof: Proof = Proof(),
    dry_run: bool = False,
) -> ReleaseResult:
    """Check everything, then publish: data to the DVC remotes, the tag and the budget
    ledger to origin. ``dry_run``: every check (origin's tags and ledger are fetched to
    check against), then stop: no data pushed, no tag, no ledger entry, no repair."""
    from sdops_dvc.registry import budget as B

    repo = repo_at(root)
    name = name or params.dataset.name
    repairs = repair_leftovers(repo, name, apply=not dry_run)
    try:
        plan = plan_release(repo, root, params, name, bump, budget_exception, proof=proof)
    except ReleaseRefused as exc:
        if repairs:
            exc.message += "\n" + "\n".join(f"  (repaired: {r})" for r in repairs)
        raise
    version, record = plan.version, plan.record
    tag = register_tag(name, version)
    fault_point("planned")
    files = make_evidence(repo, root, tag, record)
    record = replace(record, evidence=digests(files))
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
    store_files(root, files)  # RepoError: nothing tagged
    summary = f"Release {tag} (manifest sha256 {record.manifest_digest[:12]})"
    assert record.budget is not None  # every record plan_release makes has one
    ref = record.budget.ledger_ref
    old = Refs(repo).value(ref)
    entry = replace(plan.entry, tag=tag, version=str(version))
    new = B.ledger_commit(
        git_cwd(repo), plan.ledger.with_entry(entry), old, tag, record.budget.lineage
    )
    record = replace(record, budget=replace(record.budget, ledger_tip=new))
    message = f"{summary}\n\n{json.dumps(record.as_json(), indent=2, sort_keys=True)}\n"
    pushed_tag = publish_tag(repo, tag, record.commit, message, (ref, new, old), plan.signer)
    return ReleaseResult(tag, version, record, pushed_data, pushed_tag, plan.warnings, repairs)


def published_spend_problems(
    repo: GitRepo,
    root: Path,
    ledger: Ledger,
    privacy: PrivacyInfo,
    lineage: str,
    digests: frozenset[str],
    limit: int = 200,
) -> list[str]:
    """A DP measurement of this source recorded in a manifest in HEAD's history, whose
    synthetic table the release remote holds (published: ``sdops release`` pushed it), must be
    in the ledger. With the release tags *and* the ledger deleted on origin, this is what a
    fresh clone still sees: the released manifests on main and the released bytes."""
    spent = {e.measurement_id for e in ledger.entries if e.measurement_id}
    rel = repo_path(repo, root / L.MANIFEST)
    problems: list[str] = []
    seen: set[str] = set()
    for commit in repo.iter_commits("HEAD", paths=rel, max_count=limit):
        m = manifest_at(repo, commit.hexsha, root)
        p = m.privacy_info if m is not None else None
        if m is None or p is None or not p.formal_guarantee or not p.measurement_id:
            continue
        mid = p.measurement_id
        if mid in spent or mid == privacy.measurement_id or mid in seen:
            continue
        if p.source_lineage != lineage and m.source.md5 not in digests:
            continue
        seen.add(mid)
        if remote_holds(root, [t.md5 for t in m.tables.values()]):
            problems.append(
                f"commit {commit.hexsha[:10]} records DP measurement {mid[:12]} of this source "
                f"(epsilon {p.epsilon}), and its synthetic table is in the release remote "
                "(published), but the budget ledger holds no such spend: the ledger and the "
                "release tag were deleted or never pushed. Restore them from a clone that has "
                "them; releasing past it would refund the spend"
            )
    return problems


def ledger_anchor_problems(repo: GitRepo, spent: list[Release]) -> list[str]:
    """Every release of this budget (``spent``) records the ledger commit it appended; the
    ledger now (origin's, when there is one) must still hold each of them. A ledger deleted or rewound
    on origin, also seen from a fresh clone, is refused: it would refund spends."""
    refs = Refs(repo)
    problems: list[str] = []
    for r in spent:
        b = r.record.budget
        if b is None or b.ledger_tip is None:
            continue
        now = (
            refs.remote_value("origin", b.ledger_ref)
            if has_origin(repo)
            else refs.value(b.ledger_ref)
        )
        if now is None:
            problems.append(
                f"the budget ledger {b.ledger_ref} is missing, but {r.tag} recorded spends up to "
                f"ledger commit {b.ledger_tip[:12]}: it was deleted. Restore it from any clone "
                f"that has it (`git push origin {b.ledger_tip}:{b.ledger_ref}`); releasing past "
                "it would refund the spends"
            )
        elif now != b.ledger_tip and not refs.is_ancestor(b.ledger_tip, now):
            problems.append(
                f"the budget ledger {b.ledger_ref} no longer descends from ledger commit "
                f"{b.ledger_tip[:12]} that {r.tag} recorded: it was rewound. Restore it "
                f"(`git push --force origin {b.ledger_tip}:{b.ledger_ref}` from a clone that "
                "has the newest ledger)"
            )
    return problems


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
    repo = repo_at(root)
    target = resolve(repo, ref, live_only=True)
    tag = deregister_tag(
        target.name, target.version, next_counter([t.name for t in repo.tags], target.name)
    )
    record = RevocationRecord(target.tag, reason, kind, actor(repo), utc_stamp())
    purged: list[str] | None = None
    shared: list[str] = []
    if purge:
        live = [r.tag for r in releases(repo, target.name) if r.live]
        # the release remote serves releases: only other live releases' objects stay there
        purged, shared = own_objects(repo, target.tag, live)
        top = work_tree(repo)
        delete_objects(top, purged, local_cache=False, what=f"{target.tag} (nothing was revoked)")
        record = replace(record, purged_objects=tuple(purged))
    body = json.dumps(record.as_json(), indent=2, sort_keys=True)
    publish_tag(repo, tag, target.commit, f"Revoke {target.tag}: {reason}\n\n{body}\n")
    return Revocation(tag, target, purged, shared)
