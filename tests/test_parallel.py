"""The OpenMP wait policy follows how busy the machine is (in-process). The load average is
replaced by a fixed reading here: a test cannot make the machine idle or busy on demand."""

from __future__ import annotations

import os

import pytest

from sdops_dvc.parallel import set_wait_policy


@pytest.fixture
def cores() -> int:
    return len(os.sched_getaffinity(0))


def _load(monkeypatch: pytest.MonkeyPatch, one_minute: float) -> None:
    # recorded by monkeypatch either way, so whatever the test sets is undone after it
    monkeypatch.setenv("OMP_WAIT_POLICY", "unset-by-the-test")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setattr(os, "getloadavg", lambda: (one_minute, one_minute, one_minute))


def test_an_idle_machine_keeps_the_runtime_default(
    monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    _load(monkeypatch, 0.1)
    assert set_wait_policy() is None and "OMP_WAIT_POLICY" not in os.environ


def test_a_busy_machine_lets_waiting_threads_sleep(
    monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    _load(monkeypatch, cores / 2)
    assert set_wait_policy() == "PASSIVE" and os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_a_policy_the_user_set_wins(monkeypatch: pytest.MonkeyPatch, cores: int) -> None:
    _load(monkeypatch, cores * 4.0)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert set_wait_policy() is None and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
