"""``sdops budget``: the privacy-budget ledger of a source lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sdops_dvc.base.output import JSON_OPTION, info, result, warn
from sdops_dvc.cli.setup import PARAMS_OPTION
from sdops_dvc.domain.config import load_params


@click.command(
    epilog="""\b
Examples:
  sdops budget
  sdops budget health-insurance --json"""
)
@click.argument("name", required=False)
@PARAMS_OPTION
@JSON_OPTION
@click.option("--offline", is_flag=True, help="Do not fetch tags and the ledger from origin.")
def budget(name: str | None, params_path: Path, as_json: bool, offline: bool) -> None:
    """Show each release's privacy spend in the budget scope, the total and what remains.

    The scope is the source lineage of params.yaml, or that of NAME's latest release. Revoked
    and retired releases stay in the ledger: spent budget stays spent. The cap comes from
    params.yaml (budget.epsilon, budget.delta); every change of it is listed.
    """
    from sdops_dvc.registry.budget import ledger_report

    params = load_params(params_path)
    report = ledger_report(params_path.resolve().parent, params, name, fetch=not offline)
    if as_json:
        result(report)
        return
    for w in report["warnings"]:
        warn(w)
    cap = report["cap"]
    info(f"budget scope {report['scope']}")
    if not report["entries"]:
        info("  no releases in this scope yet")
    for e in report["entries"]:
        spend = _spend_text(e)
        counted = "" if e["counted"] else "  [same measurement as an earlier release: not counted]"
        info(f"  {e['tag']:<32} {e['status']:<9} {e['mechanism']:<10} {spend}{counted}")
    t = report["total"]
    info(f"total: rho {t['rho']:.4g}, key-discovery delta {t['delta0']:.3g}")
    if cap["epsilon"] is None:
        info("cap: none (budget.epsilon is null): spends are recorded, not limited")
    else:
        info(
            f"as (epsilon, delta): epsilon {t['epsilon']:.4g} of the cap {cap['epsilon']:g} at "
            f"delta {cap['delta']:g}; remaining epsilon {t['remaining_epsilon']:.4g} "
            f"(rho {t['remaining_rho']:.4g})"
        )
    for c in report["cap_changes"]:
        info(f"  {c['date'][:10]}  {c['summary']}")


def _spend_text(e: dict[str, Any]) -> str:
    """One entry's spend; an entry only the ledger holds (its tag gone) has no epsilon."""
    if not e["formal_guarantee"]:
        return "no formal guarantee" + (" (approved exception)" if e["budget_exception"] else "")
    text = f"rho {e['rho']:.4g}  delta0 {e['delta0']:.3g}"
    if e["epsilon"] is not None and e["delta"] is not None:
        text += f"  (epsilon {e['epsilon']:.4g} at delta {e['delta']:g} alone)"
    return text
