"""demo.py in-process: the demo never writes into a directory that holds anything, and tells
each step as it starts, numbered against the total. (The whole demo runs as a user runs
it in tests/flows/test_demo.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from sdops_dvc.base.errors import WouldOverwrite
from sdops_dvc.setup.demo import STEPS, run_demo


def test_the_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    told: list[str] = []
    with pytest.raises(WouldOverwrite, match="not empty"):
        run_demo(tmp_path, progress=told.append)
    assert told == [] and sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
    assert STEPS >= 5
