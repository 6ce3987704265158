"""``sdops init``, ``sdops snapshot`` and ``sdops demo``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sdops_dvc.base.output import info, result, status, warn
from sdops_dvc.domain.config import ACCESS_CLASSES

if TYPE_CHECKING:
    from sdops_dvc.setup.project import Charter, InitResult

PARAMS_OPTION = click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default="params.yaml",
    show_default=True,
    help="The pipeline's params.yaml.",
)


@click.command(
    epilog="""\b
Example:
  sdops init --source data/claims.csv --name claims --target fraud \\
             --snapshot-id warehouse://claims/2026-04-01 \\
             --intended-use "fraud model prototyping" --audience data-science \\
             --classification internal --retention-days 365 --owner claims-data@example.com"""
)
@click.option(
    "--source",
    "sources",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path),
    help="The real table (csv, tsv or parquet); a directory of related tables, or repeat "
    "--source for several related tables.",
)
@click.option(
    "--relationship",
    "relationships",
    multiple=True,
    metavar="PARENT.KEY=CHILD.COLUMN",
    help="Related tables: declare (or correct) a foreign key; repeatable. Others are proposed "
    "from the values for review.",
)
@click.option(
    "--entity",
    default=None,
    help="Related tables: the table whose rows are the privacy unit (split.entity; default: "
    "the single root table).",
)
@click.option("--name", required=True, help="Release name (tags become NAME@vX.Y.Z).")
@click.option("--target", default=None, help="Target column for utility checks.")
@click.option("--snapshot-id", default=None, help="Human id of this source snapshot.")
@click.option(
    "--family",
    default=None,
    help="Generator family: cart, gaussian_copula, tabular_argn, ctgan, tvae, copula_gan, "
    "aim, mst (default: chosen by measurement, see --measure; gaussian_copula when a column "
    "is an identifier or PII); related tables: hma (default).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=".",
    help="Repository directory.",
)
@click.option(
    "--force", is_flag=True, help="Overwrite existing params.yaml, dvc.yaml, metadata.json."
)
@click.option(
    "--privacy-owners",
    default="@your-org/privacy-reviewers",
    show_default=True,
    help="CODEOWNERS entry for the privacy role.",
)
@click.option(
    "--data-owners",
    default="@your-org/data-owners",
    show_default=True,
    help="CODEOWNERS entry for the data-owner role.",
)
@click.option("--intended-use", default=None, help="policy.intended_use: what the release is for.")
@click.option(
    "--audience", "audiences", multiple=True, help="policy.audiences (repeatable): who receives it."
)
@click.option(
    "--classification",
    type=click.Choice(["public", "internal", "confidential", "restricted"]),
    default=None,
    help="policy.access_classification.",
)
@click.option(
    "--retention-days", type=click.IntRange(min=1), default=None, help="policy.retention_days."
)
@click.option("--owner", default=None, help="policy.owner: the accountable owner.")
@click.option(
    "--private-remote",
    metavar="URL",
    default=None,
    help="DVC remote for the real data (source, train, holdout); the default remote is the "
    "release remote consumers read, and real data is never pushed there.",
)
@click.option(
    "--from-library",
    "library",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="A reviewed `sdops tune` library (tune/library.yaml): start from its winner's family, "
    "parameters and discrete columns.",
)
@click.option(
    "--measure/--no-measure",
    default=True,
    show_default=True,
    help="Without --family: choose the generator by measurement, the first candidate of "
    "`sdops tune`'s ladder (sequential CART first) the release gates approve on each of five "
    "validation parts of the train split (the holdout is never read), each trial in "
    "tune/library.yaml. --no-measure: sequential CART, unmeasured.",
)
def init(
    sources: tuple[Path, ...],
    relationships: tuple[str, ...],
    entity: str | None,
    name: str,
    target: str | None,
    snapshot_id: str | None,
    family: str | None,
    directory: Path,
    force: bool,
    privacy_owners: str,
    data_owners: str,
    private_remote: str | None,
    intended_use: str | None,
    audiences: tuple[str, ...],
    classification: str | None,
    retention_days: int | None,
    owner: str | None,
    library: Path | None,
    measure: bool,
) -> None:
    """Add a synthetic-data pipeline to a git + DVC repository (created if missing).

    Tracks the source with DVC (or accepts an existing .dvc pointer or `dvc import`),
    detects SDV metadata into metadata.json for review, and writes params.yaml (with the
    source pinned by md5), dvc.yaml and .gitignore entries, and the pull-request workflow
    (PR template, CODEOWNERS, GitHub Actions and GitLab CI jobs). Never overwrites without
    --force.
    """
    from sdops_dvc.setup.project import Charter, init_project

    charter = Charter(intended_use, tuple(audiences), classification, retention_days, owner)
    if charter.missing() and sys.stdin.isatty() and sys.stdout.isatty():
        charter = _ask_charter(charter)
    from sdops_dvc.cli.leaderboard import leaderboard, quiet_stage_logs

    with quiet_stage_logs():
        res = init_project(
            directory,
            list(sources),
            name,
            relationships=list(relationships),
            entity=entity,
            target=target,
            snapshot_id=snapshot_id,
            family=family,
            force=force,
            privacy_owners=privacy_owners,
            data_owners=data_owners,
            charter=charter,
            library=library,
            measure=measure,
            on_trial=leaderboard(lambda n: f"  {n:>2}", MEASURING),
        )
    actions = list(res.actions)
    if private_remote:
        from sdops_dvc.setup.project import set_private_remote

        actions += set_private_remote(res.root, private_remote)
    _render_init(res, actions, charter.missing())


MEASURING = "  measuring the default generator on validation parts of the train split:"
NEXT_STEPS = (
    "\nNext steps:\n"
    "  1. Review metadata.json: sdtypes and PII columns (it is committed to git; SDV's\n"
    "     per-record min/max and category lists were left out).\n"
    "  2. Edit params.yaml: generator family/parameters, gate thresholds, policy\n"
    "     (replace every TODO placeholder).\n"
    "  3. Put your reviewer teams in .github/CODEOWNERS (or --privacy-owners/--data-owners),\n"
    "     approval roles under release.approvals in params.yaml, and each approver's SSH\n"
    "     public key in .sdops/allowed_signers (EMAIL ssh-ed25519 KEY).\n"
    "  4. Real data goes to a private DVC remote (`sdops private-remote URL`); the\n"
    "     default DVC remote is the release remote consumers read.\n"
    "  5. git add -A && git commit -m 'Add sdops-dvc pipeline'\n"
    "  6. dvc repro      # split, generate, evaluate, gate, manifest"
)


def _render_init(res: InitResult, actions: list[str], todo: list[str]) -> None:
    """What init did, what to review (PII columns, the policy placeholders ``todo``) and the
    next steps; the JSON result."""
    for action in actions:
        info(f"  {action}")
    info(f"  wrote {', '.join(res.created)}")
    info(f"  pinned source {res.source.relative_to(res.root)} at md5 {res.source_md5}")
    if res.entity is not None:
        info(f"  privacy unit (split.entity): {res.entity}; review metadata.json's relationships")
    if res.pii_columns:
        warn(
            "metadata.json marks these columns as ids/PII (SDV will fake them, not learn "
            f"them): {', '.join(res.pii_columns)}"
        )
    if todo:
        warn(
            f"policy: in params.yaml holds TODO placeholders for {', '.join(todo)}: the policy "
            "gate blocks every release until a person fills them in"
        )
    info(NEXT_STEPS)
    result(
        {
            "root": str(res.root),
            "created": res.created,
            "actions": actions,
            "source": str(res.source.relative_to(res.root)),
            "source_md5": res.source_md5,
            "pii_columns": res.pii_columns,
            "policy_placeholders": todo,
        }
    )


def _ask_charter(charter: Charter) -> Charter:
    """On a terminal, ask for each charter field the command line left out (empty answer:
    keep the placeholder)."""
    from dataclasses import replace

    info("The release charter (policy: in params.yaml); press Enter to leave a TODO.")
    if charter.intended_use is None:
        text = click.prompt("Intended use", default="", show_default=False, err=True).strip()
        charter = replace(charter, intended_use=text or None)
    if not charter.audiences:
        text = click.prompt("Audiences (comma-separated)", default="", show_default=False, err=True)
        charter = replace(charter, audiences=tuple(a.strip() for a in text.split(",") if a.strip()))
    if charter.classification is None:
        text = click.prompt(
            "Classification",
            type=click.Choice(["", *ACCESS_CLASSES]),
            default="",
            show_default=False,
            err=True,
        )
        charter = replace(charter, classification=text or None)
    if charter.retention_days is None:
        days = click.prompt(
            "Retention (days)", type=click.IntRange(min=0), default=0, show_default=False, err=True
        )
        charter = replace(charter, retention_days=days or None)
    if charter.owner is None:
        text = click.prompt("Owner", default="", show_default=False, err=True).strip()
        charter = replace(charter, owner=text or None)
    return charter


@click.command(
    name="private-remote",
    epilog="""\b
Example:
  sdops private-remote s3://acme-private/claims-dvc
  dvc remote add -d releases s3://acme-releases/claims   # what consumers read
  git commit -am 'Real data goes to the private remote'""",
)
@click.argument("url")
@click.option("--name", default="private", show_default=True, help="Name of the DVC remote.")
@PARAMS_OPTION
def private_remote(url: str, name: str, params_path: Path) -> None:
    """Send the real data (source, train, holdout) to a private DVC remote.

    Adds the remote and sets `remote: NAME` on those outputs in dvc.yaml and the source's
    .dvc file. The default remote is the release remote that consumers read; `sdops release`
    refuses to push real data there.
    """
    from sdops_dvc.setup.project import set_private_remote

    actions = set_private_remote(params_path.resolve().parent, url, name)
    for action in actions:
        info(f"  {action}")
    result({"remote": name, "url": url, "actions": actions})


@click.command(
    epilog="""\b
Example:
  dvc update data/source/claims.csv.dvc
  sdops snapshot --id warehouse://claims/2026-05-01
  git commit -am 'Source snapshot 2026-05-01'"""
)
@PARAMS_OPTION
@click.option("--id", "snapshot_id", default=None, help="New human id for the snapshot.")
def snapshot(params_path: Path, snapshot_id: str | None) -> None:
    """Pin the source's current content in params.yaml (source.md5).

    The split stage refuses a source whose md5 differs from the pin, so a source change
    is always a reviewed change to params.yaml.
    """
    from sdops_dvc.setup.project import snapshot as do_snapshot

    res = do_snapshot(params_path, snapshot_id)
    if res.changed:
        info(f"pinned {res.source.name}: md5 {res.old_md5} -> {res.new_md5}")
        if res.new_id != res.old_id:
            info(f"snapshot id: {res.old_id} -> {res.new_id}")
    else:
        info(f"pin unchanged: {res.source.name} md5 {res.new_md5}")
    if res.stale_pointer:
        warn(f"the DVC pointer lags the file; run `{res.stale_pointer}` and commit it")
    result(
        {
            "source": res.source.name,
            "changed": res.changed,
            "md5": {"old": res.old_md5, "new": res.new_md5},
            "snapshot_id": {"old": res.old_id, "new": res.new_id},
            "stale_pointer": res.stale_pointer,
        }
    )


@click.command(
    epilog="""\b
Example:
  sdops demo /tmp/sdops-demo
  sdops list --repo /tmp/sdops-demo/origin.git"""
)
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--family", default="gaussian_copula", show_default=True, help="Generator family.")
def demo(directory: Path | None, family: str) -> None:
    """The whole lifecycle in a throwaway directory on the bundled HealthInsurance table:
    init, remotes (a bare origin, a release and a private DVC remote), dvc repro, a reviewer's
    approval, sdops release, then list, show and get as a consumer with only origin's path.
    Each step is a commit; the steps and every path are printed as it goes."""
    from sdops_dvc.setup.demo import run_demo

    res = run_demo(directory, family, progress=status)
    info(f"demo directory: {res.root}")
    width = max(len(k) for k in res.paths)
    for key, path in res.paths.items():
        info(f"  {key:<{width}}  {path}")
    info(f"gate: {'approved' if res.approved else 'NOT approved'}")
    info(f"commits: {len(res.commits)} (git -C {res.root / 'repo'} log --oneline)")
    if res.release:
        info(f"released: {res.release}")
        for r in res.listed:
            info(f"  as the consumer lists it: {r['tag']} [{r['status']}]")
        if res.shown:
            gen = res.shown["generator"]
            info(
                f"  as the consumer shows it: {gen['family']} seed {gen['seed']}, gate "
                f"{'approved' if res.shown['gates']['approved'] else 'blocked'}, manifest "
                f"sha256 {res.shown['digest']['value'][:16]}"
            )
        info(f"  the consumer got {res.got} (md5 checked against the manifest)")
    origin = res.root / "origin.git"
    info(
        "\nTry:\n"
        f"  sdops list --repo {origin}\n"
        f"  sdops show health-insurance@current --repo {origin}\n"
        f"  cd {res.root / 'repo'} && dvc exp run -S generator.seed=11 && dvc exp show"
    )
    result(
        {
            "root": str(res.root),
            "paths": res.paths,
            "approved": res.approved,
            "release": res.release,
            "commits": res.commits,
            "listed": res.listed,
            "got": res.got,
        }
    )


REPO_OPTION = click.option(
    "--repo",
    "location",
    default=".",
    show_default=True,
    help="Where the releases are: a work tree, a bare repository or a git URL (no clone needed).",
)
