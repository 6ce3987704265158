"""``sdops tune``: parse, call :mod:`sdops_dvc.tune`, render the leaderboard."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from sdops_dvc.base.errors import GateFailed
from sdops_dvc.base.output import JSON_OPTION, alert, info, result, status
from sdops_dvc.cli.leaderboard import leaderboard, quiet_stage_logs
from sdops_dvc.cli.setup import PARAMS_OPTION

if TYPE_CHECKING:
    from sdops_dvc.domain.config import Params
    from sdops_dvc.domain.layout import Layout
    from sdops_dvc.tune import Candidate, TuneResult


@click.command(
    epilog="""\b
Examples:
  sdops tune                                  # the built-in candidates
  sdops tune --candidates tune.yaml --max-seconds 1200
  sdops tune --objective utility.ratio --no-repro --json"""
)
@PARAMS_OPTION
@click.option(
    "--candidates",
    "candidates_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="YAML list of {family, parameters, discrete}; default: the built-in ladder.",
)
@click.option(
    "--objective",
    default="quality.detection_auc",
    show_default=True,
    help="Metric that ranks approved candidates (its direction comes from the metric table).",
)
@click.option("--max-candidates", type=click.IntRange(min=1), default=None, help="Count budget.")
@click.option("--max-seconds", type=click.FloatRange(min=1), default=None, help="Time budget.")
@click.option(
    "--validation-splits",
    "splits",
    type=click.IntRange(min=1, max=20),
    default=None,
    help="Seeded validation splits of the train split a candidate must pass, each in turn "
    "[default: 5]. Fewer is faster and lets a candidate near a threshold through by luck "
    "more often; the number is recorded with the choice.",
)
@click.option(
    "--library",
    "library_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("tune/library.yaml"),
    show_default=True,
    help="Where every tried configuration and its reasons are written, for review.",
)
@click.option(
    "--repro/--no-repro",
    default=True,
    show_default=True,
    help="After applying the winner, run `dvc repro`: the release gate judges it once.",
)
@JSON_OPTION
def tune(
    params_path: Path,
    candidates_path: Path | None,
    objective: str,
    max_candidates: int | None,
    max_seconds: float | None,
    splits: int | None,
    library_path: Path,
    repro: bool,
    as_json: bool,
) -> None:
    """Search generator candidates on validation parts of the train split (the holdout is
    never read), apply the best approved one to params.yaml with the number tried, and let
    the release gate judge it once. Exit 1 when no candidate is approved on validation."""
    from sdops_dvc.pipeline import open_project
    from sdops_dvc.tune import apply_winner, default_candidates, read_candidates, write_library

    params, layout = open_project(params_path)
    candidates = read_candidates(candidates_path) if candidates_path else default_candidates(params)
    res = _search(params, layout, candidates, objective, max_candidates, max_seconds, splits)
    library = layout.path(str(library_path))
    write_library(library, params.dataset.name, res)
    doc = res.as_json()
    if res.stopped:
        info(f"stopped early: {res.stopped}")
    info(f"every trial and its reasons: {layout.rel(library)}")
    if res.winner is None:
        _no_winner(doc, len(res.trials), layout.rel(library), as_json)
    apply_winner(params_path, res)
    info(
        f"applied {res.winner.candidate.name} to {params_path} "
        f"(best {objective} of {len(res.trials)} tried; generator.tuning records it)"
    )
    if repro:
        doc["release_gate"] = _judge_once(layout)
    else:
        info("run `dvc repro`: the release gate judges it once on the holdout")
    result(doc)


def _search(
    params: Params,
    layout: Layout,
    candidates: list[Candidate],
    objective: str,
    max_candidates: int | None,
    max_seconds: float | None,
    splits: int | None,
) -> TuneResult:
    """:func:`sdops_dvc.tune.run_tune` with the live leaderboard, stage logs quiet."""
    from sdops_dvc.tune import VALIDATION_SPLITS, run_tune

    splits = splits or VALIDATION_SPLITS
    total = min(len(candidates), max_candidates or len(candidates))
    status(
        f"tune: {total} candidate(s), each judged on {splits} validation parts of the train split"
    )
    with quiet_stage_logs(), tempfile.TemporaryDirectory(prefix="sdops-tune-") as tmp:
        return run_tune(
            params,
            layout,
            candidates,
            objective=objective,
            max_candidates=max_candidates,
            max_seconds=max_seconds,
            on_trial=leaderboard(lambda n: f"{n:>2}/{total}"),
            work_dir=Path(tmp),
            splits=splits,
        )


def _no_winner(doc: dict[str, Any], tried: int, library: str, as_json: bool) -> NoReturn:
    """No candidate approved on validation: the gate's exit code (with --json, after the
    trials as one document on stdout)."""

    if as_json:
        result(doc)
        raise SystemExit(GateFailed.exit_code)
    raise GateFailed(
        f"none of the {tried} candidate(s) was approved on validation",
        hint=f"read the reasons in {library}; add candidates with "
        "--candidates FILE (thresholds stay as they are)",
    )


def _judge_once(layout: Layout) -> dict[str, Any]:
    """``dvc repro`` with the winner applied: the release gate's verdict on the holdout."""
    from sdops_dvc.tune import judge_once

    approved, failures = judge_once(layout)
    if approved:
        info("the release gate approved it on the holdout: review and commit the change")
    else:
        alert("RELEASE BLOCKED", "on the holdout: " + "; ".join(failures))
    return {"approved": approved, "failures": failures}
