"""``sdops runtime``: the isolated runtimes some generator families run in (parse, call,
render)."""

from __future__ import annotations

import click

from sdops_dvc.base.output import info, result


@click.command(
    epilog="""\b
Examples:
  sdops runtime show
  sdops runtime install tabular_argn       # once per machine; CI runs it before the tests
  sdops runtime install tabular_argn --force"""
)
@click.argument("action", type=click.Choice(["show", "install"]))
@click.argument("name", required=False)
@click.option("--force", is_flag=True, help="install: build it again even if it is there.")
def runtime(action: str, name: str | None, force: bool) -> None:
    """Show or build the virtualenvs that generator families with dependencies of their own
    run in (tabular_argn: mostlyai-engine, numpy 2). Built from a lock shipped with sdops,
    under $SDOPS_RUNTIME_DIR (default ~/.cache/sdops-dvc/runtimes); generate builds a
    missing one on first use."""
    from sdops_dvc.pipeline import runtimes

    if action == "install" and not name:
        raise click.UsageError("name the runtime to install, e.g. tabular_argn")
    if action == "show" and force:
        raise click.UsageError("--force goes with install")
    rows = runtimes(name if action == "install" else None, force=force)
    for row in rows:
        if action == "show" and name and row["name"] != name:
            continue
        state = "installed" if row["installed"] else "not installed (built on first use)"
        info(f"{row['name']} [{row['lock']}]: {state}, {row['path']}")
    result({"runtimes": rows})
