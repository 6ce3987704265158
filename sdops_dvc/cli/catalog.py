"""``sdops catalog``: the release catalog as a static site (parse, call, render)."""

from __future__ import annotations

from pathlib import Path

import click

from sdops_dvc.base.output import info, result, warn


@click.command(
    epilog="""\b
Example:
  sdops catalog --out public/      # then open public/index.html, or publish it as Pages"""
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Directory of the site: new, empty, or a catalog sdops made (replaced whole).",
)
def catalog(out: Path) -> None:
    """Write every dataset and release of this repository as a static HTML site (no server,
    no network): status, gates and key metrics across versions, budget per lineage,
    revocations, monitoring, consumers, incidents, and each release's card, provenance
    statement and report."""
    from sdops_dvc.registry.site import build

    res = build(Path.cwd(), out)
    for m in res.missing:
        warn(f"not copied: {m}")
    info(f"catalog of {res.releases} release(s) -> {res.out}/index.html ({res.pages} pages)")
    result(
        {"out": str(res.out), "pages": res.pages, "releases": res.releases, "missing": res.missing}
    )
