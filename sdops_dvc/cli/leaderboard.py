"""The live leaderboard of a generator search (``sdops tune``, ``sdops init``'s measured
default): one line per candidate as it is judged, with the stage logs kept quiet."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sdops_dvc.base.output import status


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def trial_line(trial: Any, position: str) -> str:
    """One leaderboard line: a candidate's verdict on validation, key metrics and time."""
    m = trial.metrics
    verdict = "approved" if trial.approved else ("error" if trial.error else "blocked")
    return (
        f"  {position} {trial.candidate.name:<42} {verdict:<8} "
        f"detection {_fmt(m.get('quality.detection_auc'))}  "
        f"shapes {_fmt(m.get('quality.column_shapes'))}  "
        f"utility {_fmt(m.get('utility.ratio'))}  "
        f"DCR {_fmt(m.get('privacy.dcr_share'))}  {trial.seconds:.0f} s"
    )


def leaderboard(position: Callable[[int], str], header: str | None = None) -> Callable[[Any], None]:
    """Prints each trial's line as it finishes (the live leaderboard), numbered by
    ``position``; ``header`` before the first."""
    seen: list[Any] = []

    def on_trial(trial: Any) -> None:
        seen.append(trial)
        if header is not None and len(seen) == 1:
            status(header)
        status(trial_line(trial, position(len(seen))))

    return on_trial


@contextmanager
def quiet_stage_logs() -> Iterator[None]:
    """Each trial's stage logs (evaluating ..., took ...) would drown the leaderboard: the
    stages, metrics and synthesizers log warnings only while it runs (the search's own lines,
    one per validation split judged, stay)."""
    names = ("stages", "metrics", "synthesizers")
    noisy = [logging.getLogger(f"sdops_dvc.{n}") for n in names]
    levels = [lg.level for lg in noisy]
    for lg in noisy:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(noisy, levels, strict=True):
            lg.setLevel(level)
