"""requirements.py in-process: what a user's CI installs is every distribution sdops-dvc
needs, pinned to the version installed here, with torch's local build label dropped."""

from __future__ import annotations

from importlib import metadata

from sdops_dvc.setup.requirements import closure, requirements_text, self_spec


def test_the_closure_holds_direct_and_transitive_dependencies_at_their_installed_versions() -> None:
    pins = closure()
    assert pins["sdv"] == metadata.version("sdv")
    assert pins["dvc"] == metadata.version("dvc")
    assert "numpy" in pins and "pandas" in pins  # transitive, through sdv
    assert "pytest" not in pins  # a test extra, not a runtime need


def test_the_file_pins_every_distribution_without_local_labels_and_says_how_to_get_sdops() -> None:
    text = requirements_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    line, note = self_spec("9.9.9")
    assert lines[0].startswith("sdops-dvc")
    assert f"sdv=={metadata.version('sdv')}" in lines
    assert not any("+" in ln.split("==", 1)[-1] for ln in lines[1:])  # 2.13.0+cpu -> 2.13.0
    torch = [ln for ln in lines if ln.startswith("torch==")]
    assert torch == [f"torch=={metadata.version('torch').split('+')[0]}"]
    if note is not None:  # installed from a local directory (as in this checkout)
        assert line == "sdops-dvc==9.9.9" and f"# NOTE: {note}" in text
