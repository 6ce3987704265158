"""cli/tune.py in-process: a search that cannot run honestly is refused before anything is
fitted (a DP family would spend budget on every fit uncounted; a family that does not fit
the source; an empty candidates file), each reason named, params.yaml untouched; and the live
leaderboard tune and init's measured default print (cli/leaderboard.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.cli import tune as cli_tune
from tests.unit.conftest import Ran


def test_candidates_that_cannot_run_are_refused_before_any_fit(
    project: Path, run_cli: Callable[..., Ran]
) -> None:
    before = (project / "params.yaml").read_bytes()
    candidates = project / "candidates.yaml"
    candidates.write_text(
        "- {family: mst, parameters: {}}\n"
        "- {family: hma}\n"
        "- {family: cart, parameters: {min_samples_leaf: 50}}\n"
        "- {family: nope}\n"
    )
    ran = run_cli("tune", "--candidates", str(candidates), "--no-repro")
    assert ran.code == ConfigError.exit_code
    assert "candidate 1: mst is differentially private" in ran.err
    assert "candidate 2: hma is not searched" in ran.err
    assert "candidate 4: unknown family 'nope'" in ran.err and "candidate 3" not in ran.err
    assert (project / "params.yaml").read_bytes() == before
    assert not (project / "tune").exists()  # no library of a search that did not run
    candidates.write_text("[]\n")
    empty = run_cli("tune", "--candidates", str(candidates))
    assert empty.code == ConfigError.exit_code and "non-empty list" in empty.err
    assert cli_tune.tune.name == "tune"


def test_the_built_in_ladder_ends_with_tabular_argn_for_one_table(project: Path) -> None:
    """The slowest candidate last, so a time budget spends itself on the cheap ones first;
    a related-tables source leaves it out (it fits one table)."""
    from sdops_dvc.domain.config import load_params
    from sdops_dvc.tune import default_candidates

    params = load_params(project / "params.yaml")
    ladder = default_candidates(params)
    families = [c.family for c in ladder]
    assert families[-1] == "tabular_argn" and families[0] == "cart"
    assert params.family_problem("tabular_argn") is None
    related = params.model_copy(
        update={"source": params.source.model_copy(update={"tables": {"a": "a.csv"}})}
    )
    assert related.source.multi_table
    assert [c.family for c in default_candidates(related)] == ["cart"] * 4


def test_the_leaderboard_numbers_each_trial_and_heads_the_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sdops_dvc.cli.leaderboard import leaderboard, trial_line
    from sdops_dvc.tune import Candidate, Trial

    blocked = Trial(Candidate("cart", {"min_samples_leaf": 50}), False, ["privacy: x"],
                    {"quality.detection_auc": 0.71234, "privacy.dcr_share": None}, 0.71, 3.4)  # fmt: skip
    error = Trial(Candidate("tabular_argn"), False, [], {}, None, 1.0, "runtime missing")
    approved = Trial(Candidate("gaussian_copula"), True, [], {"utility.ratio": 0.9}, 0.8, 2.0)
    line = trial_line(blocked, " 1/3")
    assert "cart(min_samples_leaf=50)" in line and "blocked" in line
    assert "detection 0.712" in line and "DCR -" in line and "3 s" in line
    assert " error " in trial_line(error, "x") and " approved " in trial_line(approved, "x")
    show = leaderboard(lambda n: f"[{n}]", "HEADER")
    for t in (blocked, error, approved):
        show(t)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "HEADER" and err.count("HEADER") == 1
    assert [e.split()[0] for e in err[1:]] == ["[1]", "[2]", "[3]"]


def test_stage_logs_are_quiet_during_a_search_and_restored_after() -> None:
    import logging

    from sdops_dvc.cli.leaderboard import quiet_stage_logs

    stages, search = logging.getLogger("sdops_dvc.stages"), logging.getLogger("sdops_dvc.tune")
    stages.setLevel(logging.INFO)
    search.setLevel(logging.INFO)
    with quiet_stage_logs():
        assert stages.level == logging.WARNING
        assert search.level == logging.INFO  # one line per validation split judged stays
    assert stages.level == logging.INFO
