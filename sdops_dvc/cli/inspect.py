"""``sdops list``, ``show``, ``get``, ``diff``, ``lineage``, ``verify``: reading releases
(the registry's read side)."""

from __future__ import annotations

from pathlib import Path

import click

from sdops_dvc.base.errors import IntegrityError, NotReproduced, WouldOverwrite
from sdops_dvc.base.fsutil import write_many_atomic
from sdops_dvc.base.output import JSON_OPTION, info, result
from sdops_dvc.cli.setup import REPO_OPTION


@click.command(name="list", epilog="Example:\n\n  sdops list health-insurance --json")
@click.argument("name", required=False)
@JSON_OPTION
@click.option("--expired", is_flag=True, help="Only live releases past policy.retention_days.")
@REPO_OPTION
def list_(name: str | None, as_json: bool, expired: bool, location: str) -> None:
    """List releases: version, date, status (current / released / revoked / retired), gate."""
    from sdops_dvc.registry.reader import NotRelease, Registry
    from sdops_dvc.registry.retention import expired as find_expired

    rejected: list[NotRelease] = []
    if expired:
        rows = [r for r, _ in find_expired(location, name)]  # a URL is no Path
    else:
        rows, rejected = Registry.at(location).scan(name)
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
    from sdops_dvc.registry.reader import Registry

    registry = Registry.at(location)
    rel = registry.resolve(ref, live_only=False)
    manifest = registry.manifest(rel)
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
        info(f"  manifest sha256 {manifest.digest.value}")


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
    info(f"  split: ratio {m.split.ratio} seed {m.split.seed}")
    metrics = m.outputs.get("metrics")
    info(f"  manifest sha256 {m.digest.value}; metrics md5 {metrics.md5 if metrics else None}")
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
