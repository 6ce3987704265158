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
    from sdops_dvc.synthesizers import runtime as rt

    names = [name] if name else sorted(rt.PROBES)
    if action == "install":
        if not name:
            raise click.UsageError("name the runtime to install, e.g. tabular_argn")
        built = rt.install(name, force=force)
        info(f"{name}: {built.python}")
    rows = []
    for n in names:
        found = rt.locate(n)
        row = {
            "name": n,
            "lock": found.digest,
            "path": str(found.path),
            "installed": found.installed,
        }
        if found.installed:
            row["packages"] = found.record()["packages"]
        rows.append(row)
        state = "installed" if found.installed else "not installed (built on first use)"
        info(f"{n} [{found.digest}]: {state}, {found.path}")
    result({"runtimes": rows})
