"""cli/tune.py in-process: a search that cannot run honestly is refused before anything is
fitted (a DP family would spend budget on every fit uncounted; a family that does not fit
the source; an empty candidates file), each reason named, params.yaml untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
