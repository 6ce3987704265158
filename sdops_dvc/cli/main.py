"""Entry point: the ``sdops`` group, logging setup and the one top-level error handler.

Subcommands are imported lazily so ``sdops --help`` never imports SDV, torch or sklearn.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from typing import Any

import click

from sdops_dvc import __version__
from sdops_dvc.base.errors import SdopsError
from sdops_dvc.base.output import error, error_document, json_param, set_json_mode
from sdops_dvc.base.parallel import set_wait_policy

# command name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("sdops_dvc.cli.setup", "init", "Add a governed synthetic-data pipeline to a repo."),
    "snapshot": ("sdops_dvc.cli.setup", "snapshot", "Re-pin the source after a reviewed change."),
    "private-remote": (
        "sdops_dvc.cli.setup",
        "private_remote",
        "Send the real data to a private DVC remote.",
    ),
    "demo": ("sdops_dvc.cli.setup", "demo", "Run the whole flow in a throwaway repo."),
    "split": (
        "sdops_dvc.cli.stages",
        "split",
        "Stage: verify the source pin, split train/holdout.",
    ),
    "generate": ("sdops_dvc.cli.stages", "generate", "Stage: fit the synthesizer and sample."),
    "evaluate": ("sdops_dvc.cli.stages", "evaluate", "Stage: compute metrics.json."),
    "gate": ("sdops_dvc.cli.stages", "gate", "Stage: decide from metrics; exit 1 if a gate fails."),
    "manifest": ("sdops_dvc.cli.stages", "manifest", "Stage: write the manifest, or --check one."),
    "tune": (
        "sdops_dvc.cli.tune",
        "tune",
        "Search generator candidates on validation; apply the best approved one.",
    ),
    "runtime": (
        "sdops_dvc.cli.runtime",
        "runtime",
        "Show or build the isolated runtimes of generator families.",
    ),
    "release": ("sdops_dvc.cli.releases", "release", "Tag HEAD as a release, after every check."),
    "list": ("sdops_dvc.cli.inspect", "list_", "List releases and their status."),
    "show": ("sdops_dvc.cli.inspect", "show", "Show a release's record and manifest."),
    "revoke": ("sdops_dvc.cli.releases", "revoke", "Revoke a release (never served again)."),
    "get": ("sdops_dvc.cli.inspect", "get", "Download a live release's synthetic table."),
    "diff": ("sdops_dvc.cli.inspect", "diff", "Compare two releases."),
    "lineage": ("sdops_dvc.cli.inspect", "lineage", "Show where a release came from."),
    "verify": ("sdops_dvc.cli.inspect", "verify", "Re-run a release and compare its bytes."),
    "rollback": ("sdops_dvc.cli.releases", "rollback", "Make the last good release current again."),
    "consumers": ("sdops_dvc.cli.aftercare", "consumers", "Who consumes a dataset or version."),
    "incident": ("sdops_dvc.cli.aftercare", "incident", "Write an incident record for a release."),
    "retire": ("sdops_dvc.cli.releases", "retire", "Retire a release and delete its data."),
    "monitor": ("sdops_dvc.cli.aftercare", "monitor", "Check a release against fresh real data."),
    "budget": ("sdops_dvc.cli.budget", "budget", "Privacy budget: spend per release, remaining."),
    "catalog": ("sdops_dvc.cli.catalog", "catalog", "Write the release catalog as a static site."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        cmd: click.Command = getattr(module, entry[1])
        if not any(p.name == "as_json" for p in cmd.params):  # every command takes --json
            cmd.params.append(json_param())
        return cmd

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, entry[2]) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "sdops: " if record.levelno < logging.WARNING else "sdops: warning: "
        return prefix + record.getMessage()


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("sdops_dvc")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Example:
  sdops init --source data/claims.csv --name claims --target fraud
  dvc repro
Exit codes: 0 ok, 1 gate failed, 2 usage, 3 bad params, 4 bad data,
5 source changed, 6 git/DVC, 7 would overwrite, 8 invalid manifest,
9 release refused, 10 release revoked or missing, 11 budget exceeded,
12 integrity (bytes or signature differ from the release),
13 a generator's isolated runtime cannot be installed or run.""",
)
@click.version_option(__version__, prog_name="sdops")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(quiet: bool, verbose: bool) -> None:
    """sdops: governed, reproducible synthetic-data releases on DVC, git and SDV."""

    set_json_mode(False)  # per invocation: the command's own --json turns it on
    _setup_logging(-1 if quiet else 1 if verbose else 0)


def main(argv: list[str] | None = None) -> Any:

    # before any OpenMP runtime starts: on a busy machine waiting threads sleep rather than
    # spin, so pools stay fast when other processes share the cores (parallel.py)

    set_wait_policy()

    try:
        return cli.main(args=argv, prog_name="sdops", standalone_mode=False)
    except SdopsError as exc:
        error(str(exc))
        error_document(type(exc).__name__, exc.message, exc.hint, exc.exit_code)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        error("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        error_document("UsageError", exc.format_message(), None, exc.exit_code)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error("interrupted; nothing was half-written (outputs are written atomically)")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SDOPS_DEBUG"):
            traceback.print_exc()
        error(
            f"unexpected {type(exc).__name__}: {exc}\n"
            "  this is a bug in sdops-dvc; rerun with SDOPS_DEBUG=1 for a traceback and report it"
        )
        error_document(type(exc).__name__, str(exc), "rerun with SDOPS_DEBUG=1 and report it", 70)
        sys.exit(70)
