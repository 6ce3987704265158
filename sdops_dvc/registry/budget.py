"""The privacy-budget ledger: derived from the release tags' manifests, guarded by a ref.

* **Scope.** Every manifest names its budget scope: the fingerprint of the source lineage
  (a ``dvc import``'s url and path, else the source's path in the repository), or
  ``budget.scope`` when set. Re-snapshotting the source keeps the scope: the same people
  stay in it.
* **Ledger.** The releases (any artifact name) whose manifest is in the scope, revoked and
  retired ones included: spent budget stays spent. A DP measurement is counted once, however
  many releases sample from it (sampling is post-processing).
* **Composition** adds rho and the key-discovery delta (zCDP, exact), converts the total to
  (epsilon, delta) once at the cap's delta (:mod:`sdops_dvc.accounting`).
* **Serialisation.** ``refs/sdops/budget/<scope>`` points to a commit chain listing the
  releases spent so far. ``sdops release`` pushes the release tag and the advanced ledger ref
  in one ``git push --atomic`` with ``--force-with-lease`` on the ledger ref: of two releases
  racing for the same budget, the second push fails as a whole and nothing of it lands.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdops_dvc.accounting import Spend, Standing, compose
from sdops_dvc.config import ApprovalsCfg, BudgetCfg, Params
from sdops_dvc.layout import Layout

LEDGER_PREFIX = "refs/sdops/budget/"
EXCEPTION_TRAILER = "budget-exception-approved-by"


def scope_of(params: Params, layout: Layout) -> str:
    """The budget scope of this project's source."""
    if params.budget.scope:
        return f"name:{params.budget.scope}"
    from sdops_dvc.scm import git_toplevel
    from sdops_dvc.stages.manifest import import_info

    source = layout.path(params.source.path)
    imp = import_info(source)
    if imp:
        body: dict[str, Any] = {
            "kind": "dvc-import",
            "url": imp.get("url"),
            "path": imp.get("path"),
        }
    else:
        top = git_toplevel(layout.root) or layout.root
        try:
            rel = source.resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            rel = source.resolve().as_posix()
        body = {"kind": "path", "path": rel}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest}"


def ledger_ref(scope: str) -> str:
    return LEDGER_PREFIX + hashlib.sha256(scope.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Entry:
    tag: str
    name: str
    version: str
    status: str
    released_at: str | None
    mechanism: str
    dp: bool
    spend: Spend
    epsilon: float | None  # this release alone, as recorded in its manifest
    delta: float | None
    measurement_id: str | None
    counted: bool  # False: sampled from a measurement an earlier release already spent
    releaser: str | None
    approvals: list[dict[str, Any]] = field(default_factory=list)
    exception: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "released_at": self.released_at,
            "mechanism": self.mechanism,
            "formal_guarantee": self.dp,
            "rho": self.spend.rho,
            "delta0": self.spend.delta0,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "measurement_id": self.measurement_id,
            "counted": self.counted,
            "releaser": self.releaser,
            "approvals": self.approvals,
            "budget_exception": self.exception,
        }


def spend_of(manifest: dict[str, Any]) -> tuple[Spend, str | None]:
    """(spend, measurement id) a manifest records; non-DP releases spend nothing formal."""
    p = manifest.get("privacy") or {}
    if not p.get("formal_guarantee"):
        return Spend(), None
    native = p.get("native") or {}
    return Spend(float(native.get("rho", 0.0)), float(native.get("delta", 0.0))), p.get(
        "measurement_id"
    )


def entry_for(
    tag: str, name: str, version: str, status: str, record: dict[str, Any], manifest: dict[str, Any]
) -> Entry:
    p = manifest.get("privacy") or {}
    spend, mid = spend_of(manifest)
    return Entry(
        tag=tag,
        name=name,
        version=version,
        status=status,
        released_at=record.get("released_at"),
        mechanism=str(p.get("mechanism", "none")),
        dp=bool(p.get("formal_guarantee")),
        spend=spend,
        epsilon=p.get("epsilon"),
        delta=p.get("delta"),
        measurement_id=mid,
        counted=True,
        releaser=record.get("releaser"),
        approvals=list(record.get("approvals", [])),
        exception=record.get("budget_exception"),
    )


def _dedupe(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.measurement_id and e.measurement_id in seen:
            e = Entry(**{**e.__dict__, "counted": False})
        elif e.measurement_id:
            seen.add(e.measurement_id)
        out.append(e)
    return out


@dataclass(frozen=True)
class Ledger:
    scope: str
    entries: list[Entry]

    @property
    def spent(self) -> Spend:
        return compose([e.spend for e in self.entries if e.counted])

    def with_entry(self, entry: Entry) -> Ledger:
        return Ledger(self.scope, _dedupe([*self.entries, entry]))

    def standing(self, cfg: BudgetCfg) -> Standing | None:
        if cfg.epsilon is None:
            return None
        return Standing(self.spent, cfg.epsilon, cfg.delta)


def read_ledger(repo: Any, root: Path, scope: str) -> Ledger:
    """Every release in the repository whose manifest is in ``scope``, oldest first."""
    from sdops_dvc.registry.releases import manifest_at, releases

    entries = []
    for r in releases(repo):
        manifest = manifest_at(repo, r.commit, root)
        if not manifest or (manifest.get("privacy") or {}).get("budget_scope") != scope:
            continue
        entries.append(entry_for(r.tag, r.name, str(r.version), r.status, r.record, manifest))
    entries.sort(key=lambda e: (e.released_at or "", e.tag))
    return Ledger(scope, _dedupe(entries))


def describe(standing: Standing) -> str:
    return (
        f"spent epsilon {standing.epsilon:.4g} of {standing.cap_epsilon:g} "
        f"(delta {standing.cap_delta:g}; rho {standing.spent.rho:.4g}, "
        f"key-discovery delta {standing.spent.delta0:.3g}); "
        f"remaining epsilon {standing.remaining_epsilon:.4g} (rho {standing.remaining_rho:.4g})"
    )


def budget_problems(
    ledger: Ledger, entry: Entry, cfg: BudgetCfg, exception: dict[str, Any] | None
) -> list[str]:
    """Reasons the budget forbids this release (an empty list: it may go ahead)."""
    if cfg.epsilon is None:
        return []
    problems: list[str] = []
    if not entry.dp and exception is None:
        problems.append(
            f"budget: {entry.mechanism!r} gives no formal privacy guarantee and this scope has a "
            "budget policy: use a DP family (aim, mst), or release with an approved exception "
            f"(`--budget-exception REASON` and a `Budget-exception-approved-by:` trailer)"
        )
    after = ledger.with_entry(entry).standing(cfg)
    assert after is not None
    if not after.within:
        before = ledger.standing(cfg)
        assert before is not None
        over = after.epsilon - after.cap_epsilon
        problems.append(
            f"budget: this release would bring the total to epsilon {after.epsilon:.4g} "
            f"(rho {after.spent.rho:.4g}) against the cap {after.cap_epsilon:g} at delta "
            f"{after.cap_delta:g}: over by epsilon {over:.4g}; before it, {describe(before)}"
        )
    return problems


def exception_approvals(
    repo: Any, approvers: list[str], since: str | None, cfg: ApprovalsCfg
) -> list[dict[str, Any]]:
    """``Budget-exception-approved-by:`` trailers by a listed approver since the last release,
    counted like approvals: signed by the approver's key in the allowed-signers file (read as
    at the last release), or unverified only with ``allow_unverified``."""
    import re

    from sdops_dvc.registry.approvals import _matches, _signers, parse_identity, signer_of

    pattern = re.compile(rf"^{EXCEPTION_TRAILER}:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
    rev = f"{since}..HEAD" if since else "HEAD"
    signers, _ = _signers(repo, cfg, since, since)
    found = []
    for commit in repo.iter_commits(rev):
        for m in pattern.finditer(commit.message):
            if not any(_matches(h, m.group(1)) for h in approvers):
                continue
            principal = signer_of(repo.working_tree_dir, commit.hexsha, signers)
            verified = principal is not None and principal == parse_identity(m.group(1))[1]
            if verified or cfg.allow_unverified:
                found.append({"by": m.group(1), "commit": commit.hexsha, "verified": verified})
    return found


def this_run_entry(params: Params, layout: Layout) -> Entry:
    """The spend of the pipeline's current outputs, before any release."""
    from sdops_dvc.layout import DP_FIT
    from sdops_dvc.synthesizers import FAMILIES

    spec = FAMILIES[params.generator.family]
    spend, mid, eps, delta = Spend(), None, None, None
    if spec.dp:
        from sdops_dvc.synthesizers.dp_adapter import load_fit

        header, _ = load_fit(layout.path(DP_FIT))
        sp = header.get("spend") or {}
        spend = Spend(float(sp["rho"]), float(sp.get("delta0", 0.0)))
        mid, eps, delta = header.get("measurement_id"), sp.get("epsilon"), sp.get("delta")
    return Entry(
        tag="(this run)",
        name=params.dataset.name,
        version="",
        status="candidate",
        released_at=None,
        mechanism=spec.sdv_class if spec.dp else "none",
        dp=spec.dp,
        spend=spend,
        epsilon=eps,
        delta=delta,
        measurement_id=mid,
        counted=True,
        releaser=None,
    )


def _repo_or_none(root: Path) -> Any:
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def standing_json(st: Standing | None) -> dict[str, Any] | None:
    if st is None:
        return None
    return {
        "rho": st.spent.rho,
        "delta0": st.spent.delta0,
        "epsilon": st.epsilon,
        "remaining_epsilon": st.remaining_epsilon,
        "remaining_rho": st.remaining_rho,
        "within": st.within,
    }


def gate_summary(root: Path, params: Params) -> dict[str, Any]:
    """The budget block of gate.json: this run's spend against the releases so far."""
    layout = Layout(root)
    scope = scope_of(params, layout)
    entry = this_run_entry(params, layout)
    repo = _repo_or_none(root)
    ledger = read_ledger(repo, root, scope) if repo is not None else Ledger(scope, [])
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


Cap = tuple[Any, Any]  # (epsilon or None for no cap, delta) as written in params.yaml


def cap_of(params: Any) -> Cap:
    """The budget cap of a params.yaml mapping (any version of it)."""
    b = params.get("budget") if isinstance(params, dict) else None
    b = b if isinstance(b, dict) else {}
    return _number(b.get("epsilon")), _number(b.get("delta", 1e-5))


def _number(value: Any) -> Any:
    """PyYAML reads ``1e-5`` (no dot) as a string; params validation coerces it, so do we."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def cap_raised(old: Cap, new: Cap) -> bool:
    """A looser cap: a larger epsilon, no cap where there was one, or a larger delta."""
    if old[0] is None:
        return False  # there was no cap to loosen
    return new[0] is None or new[0] > old[0] or new[1] > old[1]


def cap_changes(repo: Any, root: Path) -> list[dict[str, Any]]:
    """Every commit (first-parent history of HEAD) that changed the budget cap, oldest first."""
    import yaml

    from sdops_dvc.scm import repo_path

    try:
        rel = repo_path(repo, root / "params.yaml")
        commits = list(repo.iter_commits("HEAD", paths=rel, first_parent=True))
    except Exception:  # no commits yet
        return []
    out: list[dict[str, Any]] = []
    prev: Cap | None = None
    for commit in reversed(commits):
        try:
            data = yaml.safe_load((commit.tree / rel).data_stream.read()) or {}
        except (KeyError, yaml.YAMLError):
            continue
        cap = cap_of(data)
        if prev is not None and cap != prev:
            raised = cap_raised(prev, cap)
            parents = commit.parents
            files = sorted(commit.stats.files) if parents else []
            alone = files == [rel]
            verb = "RAISED" if raised else "changed"
            out.append(
                {
                    "commit": commit.hexsha,
                    "author": f"{commit.author.name} <{commit.author.email}>",
                    "date": commit.committed_datetime.isoformat(),
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
            )
        prev = cap
    return out


# -- the ledger ref -------------------------------------------------------------------------


def _git(cwd: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )


def ref_value(cwd: str, ref: str) -> str | None:
    proc = _git(cwd, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
    return proc.stdout.strip() or None


def ledger_commit(cwd: str, ledger: Ledger, parent: str | None, tag: str) -> str:
    """A commit recording the ledger after ``tag``; its parent is the ledger before."""
    body = json.dumps(
        {
            "schema": "sdops-budget-ledger/1",
            "scope": ledger.scope,
            "releases": [
                {"tag": e.tag, "rho": e.spend.rho, "delta0": e.spend.delta0, "counted": e.counted}
                for e in ledger.entries
            ],
            "rho": ledger.spent.rho,
            "delta0": ledger.spent.delta0,
        },
        indent=2,
        sort_keys=True,
    )
    blob = _git(cwd, "hash-object", "-w", "--stdin", stdin=body + "\n").stdout.strip()
    tree = _git(cwd, "mktree", stdin=f"100644 blob {blob}\tledger.json\n").stdout.strip()
    args = ["commit-tree", tree, "-m", f"budget: {tag}"]
    if parent:
        args += ["-p", parent]
    proc = _git(cwd, *args)
    if proc.returncode != 0:
        raise RuntimeError(f"git commit-tree failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def fetch_ledger(cwd: str, remote: str) -> str | None:
    """Fetch the remote's tags and ledger refs; the error text when that fails."""
    proc = _git(
        cwd,
        "fetch",
        "--quiet",
        remote,
        "+refs/sdops/budget/*:refs/sdops/budget/*",
        "refs/tags/*:refs/tags/*",
    )
    return proc.stderr.strip() or "git fetch failed" if proc.returncode != 0 else None


def ledger_report(
    root: Path, params: Params, name: str | None = None, *, fetch: bool = True
) -> dict[str, Any]:
    """What ``sdops budget`` shows: entries, composed total, cap, remaining, cap changes."""
    from sdops_dvc.errors import RepoError
    from sdops_dvc.registry.releases import manifest_at, releases

    repo = _repo_or_none(root)
    if repo is None:
        raise RepoError(f"{root} is not inside a git repository", hint="run `sdops init` first")
    warnings: list[str] = []
    if fetch and "origin" in [r.name for r in repo.remotes]:
        err = fetch_ledger(repo.working_tree_dir, "origin")
        if err:
            warnings.append(f"could not fetch from origin ({err.splitlines()[-1]}); local view")
    scope = scope_of(params, Layout(root))
    if name:
        own = [r for r in releases(repo, name)]
        if own:
            manifest = manifest_at(repo, own[-1].commit, root) or {}
            scope = (manifest.get("privacy") or {}).get("budget_scope") or scope
    ledger = read_ledger(repo, root, scope)
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
        "ledger_ref_value": ref_value(repo.working_tree_dir, ledger_ref(scope)),
        "cap": {"epsilon": cfg.epsilon, "delta": cfg.delta},
        "entries": [e.as_json() for e in ledger.entries],
        "total": total,
        "cap_changes": cap_changes(repo, root),
        "warnings": warnings,
    }
