"""``sdops release``, ``revoke``, ``rollback``, ``retire``: the commands that change which
releases are served."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sdops_dvc.base.output import info, result, warn
from sdops_dvc.cli.setup import PARAMS_OPTION
from sdops_dvc.domain.config import load_params

if TYPE_CHECKING:
    from sdops_dvc.registry.releases import ReleaseResult


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
    _render_release(res)


def _render_release(res: ReleaseResult) -> None:
    """What the release did: repairs, the tag, warnings, proof, budget, approvals, the
    governing rules and their changes, what was pushed; the JSON result."""

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
    _render_governance(res.record.governance or {})
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


def _render_governance(gov: dict[str, Any]) -> None:
    """Whose rules judged the release, and each rule changed since then with its approvers."""
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
