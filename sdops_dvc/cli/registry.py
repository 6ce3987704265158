"""``sdops release``, ``list``, ``show``, ``revoke``, ``get``."""

from __future__ import annotations

from pathlib import Path

import click

from sdops_dvc.cli.setup import PARAMS_OPTION
from sdops_dvc.output import JSON_OPTION, info, result

REPO_OPTION = click.option(
    "--repo",
    "location",
    default=".",
    show_default=True,
    help="Where the releases are: a work tree, a bare repository or a git URL (no clone needed).",
)


@click.command(
    epilog="""\b
Example:
  git commit --allow-empty -m "Approve release" --trailer "Approved-by: Ana <ana@example.com>"
  sdops release --bump minor"""
)
@click.argument("name", required=False)
@PARAMS_OPTION
@click.option(
    "--bump", type=click.Choice(["major", "minor", "patch"]), default="minor", show_default=True
)
@click.option(
    "--budget-exception",
    metavar="REASON",
    default=None,
    help="Release a generator without formal guarantee under a budget cap; needs a "
    "`Budget-exception-approved-by:` trailer by one of budget.exception_approvers.",
)
@click.option(
    "--reevaluate",
    is_flag=True,
    help="Also re-run evaluate from the pinned data and require the committed metrics byte "
    "for byte (the CI templates use it on merge).",
)
@click.option(
    "--no-regenerate",
    is_flag=True,
    help="Skip re-running split and generate before tagging (by default the release requires "
    "the synthetic bytes the pinned inputs make). Recorded in the tag; the release is shown "
    "as unproven everywhere.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Run every check and say what would be released; push, tag and record nothing.",
)
def release(
    name: str | None,
    params_path: Path,
    bump: str,
    budget_exception: str | None,
    reevaluate: bool,
    no_regenerate: bool,
    dry_run: bool,
) -> None:
    """Tag HEAD as a release NAME@vX.Y.Z (GTO format), after checking everything.

    Refuses, listing every reason, unless the work tree and `dvc status` are clean; split and
    generate, re-run from the pinned inputs in a temporary worktree, give the committed bytes; the gate
    decision recomputed from the committed metrics and params.yaml approves and agrees with
    gate.json; the metrics are the ones dvc.lock records for the pinned data; the manifest's
    digest is intact; real data goes to a private DVC remote only; the verified approvals
    configured in params.yaml (release.approvals) are present; and the privacy budget (read
    from origin) has room. Pushes data to the DVC remotes, then the tag and the budget ledger
    ref to origin in one atomic push; no local tag exists until origin accepted it.
    """
    from sdops_dvc.config import load_params
    from sdops_dvc.output import warn
    from sdops_dvc.registry.releases import Proof, release as do_release

    params = load_params(params_path)
    res = do_release(
        params_path.resolve().parent,
        params,
        name,
        bump,
        budget_exception,
        proof=Proof(regenerate=not no_regenerate, reevaluate=reevaluate),
        dry_run=dry_run,
    )
    for line in res.repairs:
        info(f"repaired: {line}")
    if res.dry_run:
        info(f"dry run: every check passed; would release {res.tag} at {res.record.commit[:10]}")
    else:
        info(f"released {res.tag} at {res.record.commit[:10]}")
    for line in res.warnings:
        warn(line)
    if not res.record.gate.regenerated:
        warn(
            "UNPROVEN: released without regenerating the candidate (--no-regenerate); "
            "recorded in the tag, shown as unproven by `sdops list` and `show`"
        )
    elif not res.dry_run:
        info("  regenerated from the pinned inputs: the same bytes")
    after = res.record.budget.after if res.record.budget else None
    if after:
        info(
            f"  budget: epsilon {after['epsilon']:.4g} spent, {after['remaining_epsilon']:.4g} "
            "remaining (see `sdops budget`)"
        )
    for a in res.record.approvals:
        how = "verified" if a.verified else "UNVERIFIED"
        how = "not verified" if "first use" in (a.method or "") else how
        info(f"  approved by {a.by} ({a.role}, {a.method}, {how})")
    gov = res.record.governance or {}
    basis = gov.get("basis")
    info(
        f"  judged by the rules of {basis}"
        if basis
        else "  the repository's first release: judged by HEAD's rules (trust on first use)"
    )
    for c in gov.get("changes") or []:
        mark = " LOOSENED" if c["change"] == "loosened" else ""
        by = ", ".join(c["approved_by"]) or "no approval needed (the rules require none)"
        info(f"  changed since {basis}:{mark} {c['key']}: {c['old']!r} -> {c['new']!r}; by {by}")
    if res.dry_run:
        info("  nothing was pushed, tagged or recorded (--dry-run)")
    else:
        info(
            f"  data pushed to the DVC remote: {'yes' if res.pushed_data else 'no remote configured'}"
        )
        info(f"  tag pushed to origin: {'yes' if res.pushed_tag else 'no origin remote'}")
    result(
        {
            "dry_run": res.dry_run,
            "released": None if res.dry_run else res.tag,
            "would_release": res.tag if res.dry_run else None,
            "version": str(res.version),
            "record": res.record.as_json(),
            "pushed_data": res.pushed_data,
            "pushed_tag": res.pushed_tag,
            "warnings": res.warnings,
            "repairs": res.repairs,
        }
    )


@click.command(name="list", epilog="Example:\n\n  sdops list health-insurance --json")
@click.argument("name", required=False)
@JSON_OPTION
@click.option("--expired", is_flag=True, help="Only live releases past policy.retention_days.")
@REPO_OPTION
def list_(name: str | None, as_json: bool, expired: bool, location: str) -> None:
    """List releases: version, date, status (current / released / revoked / retired), gate."""
    from sdops_dvc.registry.releases import NotRelease, scan
    from sdops_dvc.registry.remote import open_repo
    from sdops_dvc.registry.retention import expired as find_expired

    rejected: list[NotRelease] = []
    if expired:
        rows = [r for r, _ in find_expired(location, name)]  # a URL is no Path
    else:
        rows, rejected = scan(open_repo(location), name)
    if as_json:
        result(
            [r.as_json() for r in rows]
            + [{**b.as_json(), "status": "not a release"} for b in rejected]
        )
        return
    if not rows and not rejected:
        info("no expired releases" if expired else "no releases yet (see `sdops release --help`)")
        return
    for r in rows:
        approved = "approved" if r.record.gate.approved else "?"
        when = r.record.released_at or "?"
        proven = "" if r.record.gate.regenerated else "  UNPROVEN (not regenerated)"
        proven += "" if r.verified else "  UNVERIFIED (unsigned tag or approvals not re-checkable)"
        info(f"{r.tag:<40} {r.status:<9} {when:<21} gate {approved}  {r.commit[:10]}{proven}")
    for b in rejected:
        info(f"{b.tag:<40} NOT A RELEASE: {b.reason}  {b.commit[:10]}")


@click.command(epilog="Example:\n\n  sdops show health-insurance@latest --json")
@click.argument("ref")
@JSON_OPTION
@REPO_OPTION
def show(ref: str, as_json: bool, location: str) -> None:
    """Show a release: its tag record and the manifest committed with it."""
    from sdops_dvc.registry.releases import release_manifest, resolve
    from sdops_dvc.registry.remote import open_location

    repo, root = open_location(location)
    rel = resolve(repo, ref, live_only=False)
    manifest = release_manifest(repo, rel, root)
    if as_json:
        result({"release": rel.as_json(), "manifest": manifest.doc if manifest else None})
        return
    info(f"{rel.tag}  [{rel.status}]  commit {rel.commit[:10]}  released {rel.record.released_at}")
    info(f"  releaser: {rel.record.releaser}")
    info(
        "  bytes: regenerated from the pinned inputs at release"
        if rel.record.gate.regenerated
        else "  bytes: UNPROVEN (released without regeneration; `sdops verify` re-runs it)"
    )
    for a in rel.record.approvals:
        info(f"  approved by {a.by} ({a.role})")
    if rel.revocation:
        info(f"  REVOKED ({rel.revocation.kind}): {rel.revocation.reason}")
    if manifest:
        src, gen = manifest.source, manifest.generator
        info(f"  source: {src.snapshot_id} md5 {src.md5}")
        info(f"  generator: {gen.family} seed {gen.seed} (sdv {gen.sdv_version})")
        for name, syn in manifest.tables.items():
            label = f"synthetic {name}" if manifest.multi_table else "synthetic"
            rows = f", {syn.rows} rows" if syn.rows is not None else ""
            info(f"  {label}: {syn.path} md5 {syn.md5}{rows}")
        info(f"  manifest sha256 {manifest.digest}")


@click.command(
    epilog="""\b
Example:
  sdops revoke health-insurance@v1.2.0 --kind privacy --reason "rare rows reproduced" """
)
@click.argument("ref")
@click.option("--reason", required=True, help="Why the release must not be served again.")
@click.option("--kind", required=True, type=click.Choice(["privacy", "schema", "utility", "other"]))
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete the release's own data objects from the release remote (objects "
    "another live release uses are kept), so nobody can fetch them by rev.",
)
def revoke(ref: str, reason: str, kind: str, purge: bool) -> None:
    """Revoke a release: a GTO deregistration tag NAME@vX.Y.Z!#N with reason, kind and actor."""
    from sdops_dvc.output import warn
    from sdops_dvc.registry.releases import revoke as do_revoke

    rv = do_revoke(Path.cwd(), ref, reason, kind, purge=purge)
    info(f"revoked {rv.release.tag} ({rv.tag}); `sdops get` and the API now refuse it")
    if rv.purged is None:
        warn(
            f"its data objects remain in the release remote: anyone who can read it can still "
            f"fetch them by rev (`dvc get ORIGIN PATH --rev {rv.release.tag}`); "
            f"`sdops retire {rv.release.tag}` deletes them (next time: `sdops revoke --purge`)"
        )
    else:
        info(
            f"  purged {len(rv.purged)} object(s) from the release remote; kept "
            f"{len(rv.kept_shared)} shared with a live release"
        )
    result(
        {
            "revoked": rv.release.tag,
            "tag": rv.tag,
            "kind": kind,
            "reason": reason,
            "purged": rv.purged,
            "kept_shared": rv.kept_shared,
        }
    )


@click.command(
    epilog="""\b
Examples:
  sdops get health-insurance@current -o synthetic.csv
  sdops get flights@v1.0.0 -o flights-synthetic/     # related tables: one file per table
  sdops get health-insurance@current --card -o hi/   # with croissant.json, provenance, datasheet"""
)
@click.argument("ref")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file; for related tables or --card, a new directory (one file per table).",
)
@click.option(
    "--card",
    is_flag=True,
    help="Also write the release's Croissant card (croissant.json), provenance statement "
    "(provenance.intoto.json) and datasheet (datasheet.md) beside the data, each checked "
    "against the signed tag record.",
)
@REPO_OPTION
def get(ref: str, out: Path | None, card: bool, location: str) -> None:
    """Download a release's synthetic table (or all its related tables); revoked releases
    are refused. Every file is verified against the manifest before any is written."""
    from sdops_dvc.api import read_release_files, read_table_bytes
    from sdops_dvc.errors import WouldOverwrite
    from sdops_dvc.fsutil import write_many_atomic

    if out is not None and out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise WouldOverwrite(f"{out} exists", hint="choose another -o path or remove it")
    evidence: dict[str, bytes] = {}
    if card:
        rel, tables, evidence = read_release_files(ref, location)
    else:
        rel, tables = read_table_bytes(ref, location)  # verified against the manifest's md5
    if len(tables) == 1 and not card:
        path, data = next(iter(tables.values()))
        targets = {out or Path(Path(path).name): data}
    else:
        base = out or Path(rel.name)
        targets = {base / Path(path).name: data for path, data in tables.values()}
        targets |= {base / name: data for name, data in evidence.items()}
    taken = [str(t) for t in targets if t.exists()]
    if taken:
        raise WouldOverwrite(f"{', '.join(taken)} exist(s)", hint="choose another -o path")
    write_many_atomic([(t, lambda p, d=d: p.write_bytes(d)) for t, d in targets.items()])  # type: ignore[misc]
    shown = str(out or next(iter(targets)).parent) if len(targets) > 1 else str(next(iter(targets)))
    checked = "md5 verified against the manifest" + (
        "; card and provenance checked against the signed tag" if card else ""
    )
    info(f"{rel.tag} -> {shown} ({len(targets)} file(s), {checked})")
    result(
        {
            "release": rel.as_json(),
            "path": shown,
            "bytes": sum(len(d) for d in targets.values()),
            "files": {str(t): len(d) for t, d in targets.items()},
        }
    )


@click.command(epilog="Example:\n\n  sdops diff health-insurance@v1.0.0 health-insurance@v1.1.0")
@click.argument("ref_a")
@click.argument("ref_b")
@JSON_OPTION
def diff(ref_a: str, ref_b: str, as_json: bool) -> None:
    """Compare two releases: params, generator, source snapshot, metric deltas, gates."""
    from sdops_dvc.registry.inspect import diff as do_diff

    d = do_diff(Path.cwd(), ref_a, ref_b)
    if as_json:
        result(d.as_json())
        return
    info(f"{d.a.tag} -> {d.b.tag}")
    info(f"  code: {d.a.commit[:10]} -> {d.b.commit[:10]}")
    src_a, src_b = d.source
    info(
        f"  source snapshot: {src_a.snapshot_id} ({src_a.md5[:10]})"
        + (f" -> {src_b.snapshot_id} ({src_b.md5[:10]})" if d.source_changed else ", unchanged")
    )
    info(f"  generator changed: {'yes' if d.generator_changed else 'no'}")
    info(f"  synthetic data changed: {'yes' if d.synthetic_changed else 'no'}")
    if d.params_changed:
        info("  params (thresholds first):")
    for c in d.params_changed:
        mark = f"  {c.change.upper()}" if c.marked else ""
        info(f"    {c.key}: {c.a!r} -> {c.b!r}{mark}")
    for key, m in d.metrics.items():
        if m.delta is not None:
            way = f"  {m.movement}" if m.movement else ""
            info(f"  {key:<32} {m.a:.4f} -> {m.b:.4f} ({m.delta:+.4f}){way}")
    for g, (a, b) in d.gates.items():
        info(f"  gate {g:<9} {a} -> {b}")


@click.command(epilog="Example:\n\n  sdops lineage health-insurance@latest")
@click.argument("ref")
@JSON_OPTION
@REPO_OPTION
def lineage(ref: str, as_json: bool, location: str) -> None:
    """Where a release came from: source snapshot, import, code commit, params, approvals."""
    from sdops_dvc.registry.inspect import lineage as do_lineage

    lin = do_lineage(location, ref)
    if as_json:
        result(lin.as_json())
        return
    rel, m = lin.release, lin.manifest
    info(f"{rel.tag} [{rel.status}]")
    src = m.source
    info(f"  source: {src.snapshot_id} ({src.path}, md5 {src.md5})")
    if src.imported:
        info(f"  imported from {src.imported.url} at {src.imported.rev_lock}")
    info(f"  code commit: {rel.commit}")
    g = m.generator
    info(
        f"  generator: {g.family} ({g.sdv_class}, sdv {g.sdv_version}) seed {g.seed} params {g.parameters}"
    )
    info(f"  split: ratio {m.split_ratio} seed {m.split_seed}")
    metrics = m.outputs.get("metrics")
    info(f"  manifest sha256 {m.digest}; metrics md5 {metrics.md5 if metrics else None}")
    info(f"  released {rel.record.released_at} by {rel.record.releaser}")
    for a in rel.record.approvals:
        info(f"  approved by {a.by} ({a.role}) in {(a.commit or '')[:10]}")


@click.command(
    epilog="""\b
Examples:
  sdops verify health-insurance@v1.0.0               # re-run the pipeline, compare bytes
  sdops verify health-insurance@v1.0.0 --signature   # signature and digests, no re-run"""
)
@click.argument("ref")
@click.option(
    "--signature",
    is_flag=True,
    help="Check the tag's signature against the allowed signers at the tagged commit and "
    "every digest it pins (tables in the release remote, card, provenance statement) "
    "instead of re-running the pipeline.",
)
def verify(ref: str, signature: bool) -> None:
    """Re-run a release from its inputs in a temporary worktree; exit 0 only when every
    output is byte-identical to the release and its card and provenance statement are made
    again byte for byte (otherwise list what differs). With --signature: check what the
    signed tag pins, without re-running."""
    from sdops_dvc.errors import IntegrityError, NotReproduced
    from sdops_dvc.registry.operations import verify as do_verify, verify_signature

    if signature:
        sig = verify_signature(Path.cwd(), ref)
        info(f"  signature: {sig.signature}")
        for what in sig.checked:
            info(f"  checked: {what}")
        if sig.problems:
            raise IntegrityError(
                f"{sig.release.tag} does NOT verify:\n"
                + "\n".join(f"  - {p}" for p in sig.problems),
                hint="do not use this release; report it to its owner (`sdops revoke`)",
            )
        info(f"{sig.release.tag}: signature and every digest verify")
        result({"release": sig.release.tag, "signature": sig.signature, "checked": sig.checked})
        return
    res = do_verify(Path.cwd(), ref)
    for where in res.stored:
        info(f"  stored object checked: {where}")
    for path, md5 in res.compared.items():
        info(f"  {path:<40} {md5}")
    for what in res.evidence:
        info(f"  evidence checked: {what}")
    if res.skipped:
        info(
            f"  not compared (they embed package versions or review state): {', '.join(res.skipped)}"
        )
    if not res.identical:
        raise NotReproduced(
            f"{res.release.tag} is NOT reproduced:\n"
            + "\n".join(f"  - {d}" for d in res.differences),
            hint="compare `environment` in the manifest with this machine (package versions, threads)",
        )
    info(f"{res.release.tag}: byte-identical ({len(res.compared)} outputs)")
    result(
        {
            "release": res.release.tag,
            "identical": True,
            "compared": res.compared,
            "skipped": res.skipped,
            "stored_checked": res.stored,
            "evidence_checked": res.evidence,
        }
    )


@click.command(epilog="Example:\n\n  sdops rollback health-insurance --to health-insurance@v1.0.0")
@click.argument("name")
@click.option(
    "--to",
    "to",
    default=None,
    help="Release to make current (default: the newest live release other than the one "
    "checked out).",
)
def rollback(name: str, to: str | None) -> None:
    """Make the last known-good release current again: restore its pointers and data in
    the work tree and record a GTO assignment NAME#prod#N (history is kept)."""
    from sdops_dvc.registry.operations import rollback as do_rollback

    tag, target = do_rollback(Path.cwd(), name, to)
    info(f"{target.tag} is current again ({tag}); review and commit the restored files")
    result({"current": target.tag, "tag": tag, "commit": target.commit})


@click.command(epilog="Example:\n\n  sdops consumers health-insurance --version v1.2.0")
@click.argument("name")
@click.option("--version", "version", default=None, help="Only consumers of this version (vX.Y.Z).")
@JSON_OPTION
def consumers(name: str, version: str | None, as_json: bool) -> None:
    """Who consumes a dataset (from the committed consumers.yaml)."""
    from sdops_dvc.registry.incidents import consumers_json, consumers_of

    found = consumers_of(Path.cwd(), name, version)
    if as_json:
        result(consumers_json(found))
        return
    if not found:
        info(f"no consumers of {name}{' ' + version if version else ''} in consumers.yaml")
    for c in found:
        info(f"{c.name:<30} {c.version:<10} {c.contact}")


@click.command(epilog="Example:\n\n  sdops incident health-insurance@v1.2.0")
@click.argument("ref")
@click.option(
    "--kind",
    type=click.Choice(["privacy", "schema", "utility", "other"]),
    default=None,
    help="Needed when the release is not revoked yet.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for the record (default: incidents/).",
)
def incident(ref: str, kind: str | None, out_dir: Path | None) -> None:
    """Write an incident record: class and severity, affected consumers, the diff against
    the last good release, the restore command and a corrective-action checklist."""
    from sdops_dvc.registry.incidents import incident as do_incident

    path = do_incident(Path.cwd(), ref, kind, out_dir)
    info(f"wrote {path}; commit it and work through its checklist")
    result({"record": str(path)})


@click.command(epilog="Example:\n\n  sdops retire health-insurance@v1.0.0")
@click.argument("ref")
@click.option("--reason", default="retention period ended", show_default=True)
def retire(ref: str, reason: str) -> None:
    """Retire a release: delete its data objects from the DVC remote and cache (unless a
    live release shares them), keep its manifest and tags, and record NAME#retired#N."""
    from sdops_dvc.registry.retention import retire as do_retire

    res = do_retire(Path.cwd(), ref, reason)
    info(
        f"retired {res.release.tag} ({res.tag}): deleted {len(res.deleted)} object(s), "
        f"kept {len(res.kept_shared)} shared with live releases"
    )
    result(
        {
            "retired": res.release.tag,
            "tag": res.tag,
            "deleted": res.deleted,
            "kept_shared": res.kept_shared,
        }
    )


@click.command(
    epilog="""\b
Examples:
  sdops monitor health-insurance@current --fresh exports/2026-06.csv --out monitoring/latest
  sdops monitor --history health-insurance"""
)
@click.argument("ref", required=False)
@click.option(
    "--fresh",
    "fresh",
    type=click.Path(path_type=Path),
    default=None,
    help="A fresh snapshot of the real source (related tables: a directory, one file per "
    "table as in the release's source).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("monitoring/latest"),
    show_default=True,
    help="Where monitor.json and monitor.md go.",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="params.yaml with monitor thresholds (default: ./params.yaml if present).",
)
@click.option(
    "--history", "history_name", default=None, help="Show the monitor history of NAME instead."
)
@JSON_OPTION
def monitor(
    ref: str | None,
    fresh: Path | None,
    out_dir: Path,
    params_path: Path | None,
    history_name: str | None,
    as_json: bool,
) -> None:
    """Check a release against fresh real data: source drift (PSI, KS, TV, categories,
    schema), utility decay (TSTR on fresh rows vs at release) and subgroups, worst first.

    Exit codes: 0 healthy, 1 warning, 2 action needed (retrain or revoke).
    """
    import sys

    from sdops_dvc.config import load_params
    from sdops_dvc.errors import ConfigError
    from sdops_dvc.monitor import history, run_monitor

    if history_name:
        runs = history(Path.cwd(), history_name)
        if as_json:
            result(runs)
            return
        if not runs:
            info(f"no monitor records for {history_name} under monitoring/{history_name}/")
        for r in runs:
            s = r["summary"]
            decay = s.get("utility_decay")
            info(
                f"{r['checked_at']}  {r['release']:<32} {r['status']:<8} max PSI {s['max_psi']:.3f}  "
                f"utility decay {decay if decay is None else round(decay, 4)}  worst group {s.get('worst_group_decay')}"
            )
        return
    if ref is None or fresh is None:
        raise ConfigError("give REF and --fresh PATH (or --history NAME)")
    if params_path is None and Path("params.yaml").exists():
        params_path = Path("params.yaml")
    params = load_params(params_path) if params_path else None
    res = run_monitor(Path.cwd(), ref, fresh, out_dir, params)
    if as_json:
        result(res.record)
    else:
        info(f"{res.release}: {res.status.upper()} — {res.record['recommendation']}")
        for f in res.findings:
            info(f"  {f.level}: {f.what}")
        info(f"record: {res.path}")
    sys.exit(res.exit_code)
