"""The privacy-budget ledger: derived from the release tags' manifests, guarded by a ref.

* **Scope.** Every manifest names its budget scope: the fingerprint of the source lineage
  (a ``dvc import``'s url and path, else the source's path in the repository), or
  ``budget.scope`` when set. Re-snapshotting the source keeps the scope: the same people
  stay in it.
* **Ledger.** The releases (any artifact name) whose manifest is in the scope, revoked and
  retired ones included: spent budget stays spent. A DP measurement is counted once, however
  many releases sample from it (sampling is post-processing).
* **Composition** adds rho and the key-discovery delta (zCDP, exact), converts the total to
  (epsilon, delta) once at the cap's delta (:mod:`sdops_dvc.domain.budget`).
* **Serialisation.** ``refs/sdops/budget/<scope>`` points to a commit chain listing the
  releases spent so far. ``sdops release`` pushes the release tag and the advanced ledger ref
  in one ``git push --atomic`` with ``--force-with-lease`` on the ledger ref: of two releases
  racing for the same budget, the second push fails as a whole and nothing of it lands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import RepoError
from sdops_dvc.base.scm import Refs, find_repo, git_cwd, message, repo_path, trailers
from sdops_dvc.domain.budget import (  # the pure core, re-exported for callers
    EXCEPTION_TRAILER as EXCEPTION_TRAILER,
    LEDGER_PREFIX as LEDGER_PREFIX,
    Cap,
    Entry as Entry,
    Ledger as Ledger,
    Spend,
    budget_problems as budget_problems,
    cap_of,
    cap_raised,
    dedupe as dedupe,
    describe as describe,
    entry_for as entry_for,
    ledger_ref as ledger_ref,
    scope_value,
    spend_of as spend_of,
    standing_json as standing_json,
)
from sdops_dvc.domain.config import Params
from sdops_dvc.domain.layout import DP_FIT, Layout
from sdops_dvc.domain.lineage import lineage_of, scope_of, source_digests
from sdops_dvc.domain.records import ExceptionApproval, PrivacyInfo
from sdops_dvc.registry.catalog import manifest_at, releases

if TYPE_CHECKING:
    from git import Repo as GitRepo

    from sdops_dvc.registry.approvals import Basis


def read_ledger(
    repo: GitRepo,
    root: Path,
    scope: str,
    lineage: str | None = None,
    digests: frozenset[str] = frozenset(),
) -> Ledger:
    """Every spend in ``scope`` (or of the same source ``lineage``, or of a source whose
    content digest is one of ``digests``: moving the file starts no fresh budget), oldest
    first: the releases whose manifest names it, plus every spend the append-only ledger refs
    recorded whose tag is gone or was moved ("tag gone, spend kept"). Spent stays spent."""
    entries = []
    for r in releases(repo):
        manifest = manifest_at(repo, r.commit, root)
        p = manifest.privacy_info if manifest is not None else PrivacyInfo.from_json(None)
        same_source = manifest is not None and manifest.source.md5 in digests
        if (
            p.budget_scope != scope
            and (lineage is None or p.source_lineage != lineage)
            and not same_source
        ):
            continue
        entries.append(entry_for(r.tag, r.name, str(r.version), r.status, r.record, p))
    present = {(e.tag, round(e.spend.rho, 15)) for e in entries}
    for rec in recorded_spends(git_cwd(repo)):
        mine = rec.get("scope") == scope or (lineage is not None and rec.get("lineage") == lineage)
        if not mine or (rec["tag"], round(float(rec.get("rho", 0.0)), 15)) in present:
            continue
        if float(rec.get("rho", 0.0)) == 0.0 and float(rec.get("delta0", 0.0)) == 0.0:
            continue  # a release without formal spend leaves nothing to keep
        present.add((rec["tag"], round(float(rec.get("rho", 0.0)), 15)))
        entries.append(
            Entry(
                tag=str(rec["tag"]),
                name=str(rec.get("name") or str(rec["tag"]).split("@")[0]),
                version=str(rec.get("version") or ""),
                status="tag gone, spend kept",
                released_at=rec.get("released_at"),
                mechanism=str(rec.get("mechanism") or "recorded in the ledger"),
                dp=True,
                spend=Spend(float(rec.get("rho", 0.0)), float(rec.get("delta0", 0.0))),
                epsilon=None,
                delta=None,
                measurement_id=rec.get("measurement_id"),
                counted=True,
                releaser=None,
            )
        )
    entries.sort(key=lambda e: (e.released_at or "", e.tag))
    return Ledger(scope, dedupe(entries))


def recorded_spends(cwd: str) -> list[dict[str, Any]]:
    """Every release record of every ledger ref (``refs/sdops/budget/*``), newest ledger
    state of each ref; old ledgers without per-entry scope take the ledger's scope."""
    refs = Refs(cwd)
    out: list[dict[str, Any]] = []
    for ref in refs.names(LEDGER_PREFIX):
        try:
            data = json.loads(refs.text_at(ref, "ledger.json") or "")
        except json.JSONDecodeError:
            continue
        for rec in data.get("releases") or []:
            if isinstance(rec, dict) and rec.get("tag") and rec.get("counted", True):
                out.append({"scope": data.get("scope"), **rec})
    return out


def exception_approvals(
    repo: GitRepo, approvers: list[str], basis: Basis
) -> list[ExceptionApproval]:
    """``Budget-exception-approved-by:`` trailers by a listed approver since the last release,
    counted like approvals: signed by the approver's key in the allowed-signers file (read as
    at the last release), or unverified only with ``allow_unverified``."""
    from sdops_dvc.registry.approvals import matches, parse_identity, signer_of, signers_of

    cfg = basis.cfg
    rev = f"{basis.since}..HEAD" if basis.since else "HEAD"
    signers, _ = signers_of(repo, basis)
    found = []
    for commit in repo.iter_commits(rev):
        for _, who in trailers(message(commit), EXCEPTION_TRAILER):
            if not any(matches(h, who) for h in approvers):
                continue
            principal = signer_of(git_cwd(repo), commit.hexsha, signers)
            verified = principal is not None and principal == parse_identity(who)[1]
            if verified or cfg.allow_unverified:
                # a repository's first release: counted, recorded as trust on first use
                verified = verified and not basis.first_use
                found.append(ExceptionApproval(who, commit.hexsha, verified))
    return found


def this_run_entry(params: Params, layout: Layout) -> Entry:
    """The spend of the pipeline's current outputs, before any release."""
    from sdops_dvc.synthesizers.adapters import generator_for

    m = generator_for(params.generator.family).measurement(layout.path(DP_FIT))
    spend = Spend(m.rho, m.delta0) if m else Spend()
    return Entry(
        tag="(this run)",
        name=params.dataset.name,
        version="",
        status="candidate",
        released_at=None,
        mechanism=m.mechanism if m else "none",
        dp=m is not None,
        spend=spend,
        epsilon=m.epsilon if m else None,
        delta=m.delta if m else None,
        measurement_id=m.measurement_id if m else None,
        counted=True,
        releaser=None,
    )


def gate_summary(root: Path, params: Params) -> dict[str, Any]:
    """The budget block of gate.json: this run's spend against the releases so far."""
    layout = Layout(root)
    scope = scope_of(params, layout)
    entry = this_run_entry(params, layout)
    repo = find_repo(root)
    lineage = lineage_of(params, layout)
    digests = source_digests(params, layout)
    ledger = (
        read_ledger(repo, root, scope, lineage, digests) if repo is not None else Ledger(scope, [])
    )
    cfg = params.budget
    after = ledger.with_entry(entry)
    notes: list[str] = []
    problems: list[str] = []
    if cfg.epsilon is None:
        notes.append(
            "budget: no cap set (budget.epsilon is null); spends are recorded, not limited"
        )
    else:
        problems = [
            p for p in budget_problems(ledger, entry, cfg, exception=None) if "no formal" not in p
        ]
        st = after.standing(cfg)
        assert st is not None
        notes.append(f"budget after this release: {describe(st)}")
        if not entry.dp:
            notes.append(
                "budget: this generator has no formal guarantee; releasing it under the budget "
                "policy needs an approved exception (`sdops release --budget-exception`)"
            )
    if entry.dp and not after.entries[-1].counted:
        notes.append("budget: this run samples from an already released measurement: no new spend")
    if repo is not None:
        for change in cap_changes(repo, root):
            notes.append(f"budget: {change['summary']}")
    return {
        "scope": scope,
        "cap": {"epsilon": cfg.epsilon, "delta": cfg.delta},
        "this_release": entry.as_json(),
        "before": standing_json(ledger.standing(cfg)),
        "after": standing_json(after.standing(cfg)),
        "releases_in_scope": len(ledger.entries),
        "problems": problems,
        "notes": notes,
    }


_UNSET = object()


def cap_changes(repo: GitRepo, root: Path) -> list[dict[str, Any]]:
    """Every commit (first-parent history of HEAD) that changed the budget cap, oldest first."""
    import yaml

    try:
        rel = repo_path(repo, root / "params.yaml")
        commits = list(repo.iter_commits("HEAD", paths=rel, first_parent=True))
    except Exception:  # no commits yet
        return []
    out: list[dict[str, Any]] = []
    prev: Cap | None = None
    prev_scope: Any = _UNSET
    for commit in reversed(commits):
        try:
            data = yaml.safe_load((commit.tree / rel).data_stream.read()) or {}
        except (KeyError, yaml.YAMLError):
            continue
        cap = cap_of(data)
        scope = scope_value(data)
        if prev_scope is not _UNSET and scope != prev_scope:
            out.append(_scope_change(commit, prev_scope, scope))
        prev_scope = scope
        if prev is not None and cap != prev:
            out.append(_cap_change(commit, rel, prev, cap))
        prev = cap
    return out


def _who_when(commit: Any) -> dict[str, str]:
    return {
        "commit": commit.hexsha,
        "author": f"{commit.author.name} <{commit.author.email}>",
        "date": commit.committed_datetime.isoformat(),
    }


def _scope_change(commit: Any, old: Any, new: Any) -> dict[str, Any]:
    """A renamed budget scope (shown as a raise: spends of the source still count)."""
    return {
        **_who_when(commit),
        "from": {"scope": old},
        "to": {"scope": new},
        "raised": True,
        "own_change": False,
        "summary": (
            f"scope RENAMED from {old!r} to {new!r} in {commit.hexsha[:10]} "
            f"by {commit.author.name}: spends of the same source still count "
            "(they follow its lineage)"
        ),
    }


def _cap_change(commit: Any, rel: str, prev: Cap, cap: Cap) -> dict[str, Any]:
    """A changed cap: raised or not, and whether its commit changed anything else."""
    raised = cap_raised(prev, cap)
    files = sorted(str(f) for f in commit.stats.files) if commit.parents else []
    alone = files == [rel]
    verb = "RAISED" if raised else "changed"
    return {
        **_who_when(commit),
        "from": {"epsilon": prev[0], "delta": prev[1]},
        "to": {"epsilon": cap[0], "delta": cap[1]},
        "raised": raised,
        "own_change": alone,
        "summary": (
            f"cap {verb} from epsilon {prev[0]} to {cap[0]} (delta {prev[1]} -> "
            f"{cap[1]}) in {commit.hexsha[:10]} by {commit.author.name}"
            + (
                ""
                if alone
                else f"; that commit also changed {', '.join(f for f in files if f != rel)}"
            )
        ),
    }


# -- the ledger ref -------------------------------------------------------------------------


def ledger_commit(
    cwd: str, ledger: Ledger, parent: str | None, tag: str, lineage: str | None = None
) -> str:
    """A commit recording the ledger after ``tag``; its parent is the ledger before."""
    body = json.dumps(
        {
            "schema": "sdops-budget-ledger/1",
            "scope": ledger.scope,
            "lineage": lineage,
            "releases": [
                {
                    "tag": e.tag,
                    "name": e.name,
                    "version": e.version,
                    "released_at": e.released_at,
                    "mechanism": e.mechanism,
                    "rho": e.spend.rho,
                    "delta0": e.spend.delta0,
                    "measurement_id": e.measurement_id,
                    "scope": ledger.scope,
                    "lineage": lineage,
                    "counted": e.counted,
                }
                for e in ledger.entries
            ],
            "rho": ledger.spent.rho,
            "delta0": ledger.spent.delta0,
        },
        indent=2,
        sort_keys=True,
    )
    return Refs(cwd).commit_file("ledger.json", body + "\n", f"budget: {tag}", parent)


def fetch_ledger(cwd: str, remote: str) -> str | None:
    """Fetch the remote's tags and ledger refs; the error text when that fails.

    The ledger refs are fetched without ``+``: they only ever move forward, so a remote
    ledger that was rewound (spends dropped) is refused rather than taken."""
    proc = Refs(cwd).fetch(
        remote, "refs/sdops/budget/*:refs/sdops/budget/*", "refs/tags/*:refs/tags/*"
    )
    if proc.returncode == 0:
        return None
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    rejected = [
        ln for ln in lines if "rejected" in ln or "!" in ln[:3] or "fatal" in ln or "error" in ln
    ]
    text = "; ".join(rejected or lines[-3:]) or f"git fetch exited {proc.returncode}"
    if any(LEDGER_PREFIX in ln and ("non-fast-forward" in ln or "rejected" in ln) for ln in lines):
        text += (
            " (origin's budget ledger is not a continuation of this clone's: spends were "
            "removed from it; restore the ledger ref rather than releasing past it)"
        )
    elif any("would clobber existing tag" in ln for ln in lines):
        text += " (a local tag differs from origin's tag of the same name)"
    return text


def ledger_report(
    root: Path, params: Params, name: str | None = None, *, fetch: bool = True
) -> dict[str, Any]:
    """What ``sdops budget`` shows: entries, composed total, cap, remaining, cap changes."""

    repo = find_repo(root)
    if repo is None:
        raise RepoError(f"{root} is not inside a git repository", hint="run `sdops init` first")
    warnings: list[str] = []
    if fetch and "origin" in [r.name for r in repo.remotes]:
        err = fetch_ledger(git_cwd(repo), "origin")
        if err:
            warnings.append(f"could not fetch from origin ({err.splitlines()[-1]}); local view")
    scope = scope_of(params, Layout(root))
    if name:
        own = [r for r in releases(repo, name)]
        if own:
            manifest = manifest_at(repo, own[-1].commit, root)
            scope = (manifest.privacy.budget_scope if manifest else None) or scope
    layout = Layout(root)
    ledger = read_ledger(
        repo, root, scope, lineage_of(params, layout), source_digests(params, layout)
    )
    cfg = params.budget
    st = ledger.standing(cfg)
    total: dict[str, Any] = {"rho": ledger.spent.rho, "delta0": ledger.spent.delta0}
    if st is not None:
        total.update(
            epsilon=st.epsilon,
            remaining_epsilon=st.remaining_epsilon,
            remaining_rho=st.remaining_rho,
            within=st.within,
        )
    return {
        "scope": scope,
        "ledger_ref": ledger_ref(scope),
        "ledger_ref_value": Refs(repo).value(ledger_ref(scope)),
        "cap": {"epsilon": cfg.epsilon, "delta": cfg.delta},
        "entries": [e.as_json() for e in ledger.entries],
        "total": total,
        "cap_changes": cap_changes(repo, root),
        "warnings": warnings,
    }


def measure_problems(params: Params, layout: Layout, metadata: dict[str, Any]) -> list[str]:
    """Before a DP measurement is drawn: would its planned spend exceed the cap, given every
    spend of this source so far (tags and the ledger refs, as this clone knows them)?"""
    cfg = params.budget
    if cfg.epsilon is None or params.generator.privacy is None:
        return []
    from sdops_dvc.synthesizers.dp_adapter import allocate, columns_of

    alloc = allocate(params.generator.privacy, columns_of(metadata))
    entry = Entry(
        tag="(this measurement)",
        name=params.dataset.name,
        version="",
        status="planned",
        released_at=None,
        mechanism=params.generator.family,
        dp=True,
        spend=Spend(alloc.rho, alloc.delta0),
        epsilon=alloc.epsilon,
        delta=alloc.delta,
        measurement_id=None,
        counted=True,
        releaser=None,
    )
    repo = find_repo(layout.root)
    scope = scope_of(params, layout)
    ledger = (
        read_ledger(
            repo, layout.root, scope, lineage_of(params, layout), source_digests(params, layout)
        )
        if repo is not None
        else Ledger(scope, [])
    )
    return budget_problems(ledger, entry, cfg, exception=None)
