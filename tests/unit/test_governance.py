"""In-process checks of the pure parts of issue 25: which governing settings changed and who
owns each, the Markdown and CSV escaping of values from the data."""

from __future__ import annotations

from pathlib import Path

from sdops_dvc.base.fsutil import csv_cell
from sdops_dvc.domain.config import parse_params
from sdops_dvc.registry.governance import changes_between
from sdops_dvc.report import md

BASE = {
    "dataset": {"name": "credit"},
    "source": {"path": "x.csv", "snapshot_id": "s"},
    "release": {"approvals": {"roles": {"privacy": ["ana@example.com"], "owner": ["bo@x.io"]}}},
}


def _params(**over: object) -> object:
    doc = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE.items()}
    for dotted, value in over.items():
        cur = doc
        *parents, last = dotted.split("__")
        for part in parents:
            cur = cur.setdefault(part, {})  # type: ignore[assignment]
        cur[last] = value  # type: ignore[index]
    return parse_params(doc, Path("params.yaml"))


def test_changes_name_their_direction_and_owner() -> None:
    old = _params()
    new = _params(
        gates__privacy__max_dcr_share=0.7,
        gates__quality__min_utility_ratio=0.9,
        budget__epsilon=3.0,
        generator__seed=11,  # data, not governance
    )
    got = {c.key: (c.change, c.owners) for c in changes_between(old, new, ("gates", "budget"))}  # type: ignore[arg-type]
    assert got == {
        "gates.privacy.max_dcr_share": ("loosened", ("privacy",)),
        "gates.quality.min_utility_ratio": ("tightened", ("owner", "privacy")),
        "budget.epsilon": ("changed", ("privacy",)),
    }


def test_a_leaf_setting_and_a_default_written_out_are_read_as_values() -> None:
    old, same = _params(), _params(release__sign_tags=True)
    assert changes_between(old, same, ("release.sign_tags",)) == []  # type: ignore[arg-type]
    off = _params(release__sign_tags=False)
    [c] = changes_between(old, off, ("release.approvals", "release.sign_tags"))  # type: ignore[arg-type]
    assert (c.key, c.old, c.new) == ("release.sign_tags", True, False)


def test_values_from_the_data_are_text_in_reports_and_csvs() -> None:
    assert md("<script>alert(1)</script> | x") == "&lt;script>alert(1)&lt;/script> \\| x"
    assert csv_cell('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("-cmd") == "'-cmd"
    assert csv_cell("-1.5") == "-1.5" and csv_cell(-1.5) == -1.5 and csv_cell("yes") == "yes"
