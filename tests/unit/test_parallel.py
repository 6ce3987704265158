"""The OpenMP wait policy follows how busy the machine is (in-process). The load average is
replaced by a fixed reading here: a test cannot make the machine idle or busy on demand."""

from __future__ import annotations

import os

import pytest

from sdops_dvc.base.parallel import set_wait_policy


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


def _threads_env(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "unset-by-the-test")
    if value is None:
        monkeypatch.delenv("OMP_NUM_THREADS")
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", value)


def test_free_cores_leave_out_what_others_keep_busy(
    monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    from sdops_dvc.base.parallel import free_cores
    from sdops_dvc.domain.config import EvaluationCfg

    _threads_env(monkeypatch, None)
    _load(monkeypatch, 0.4)
    assert free_cores() == cores == EvaluationCfg().thread_count()
    _load(monkeypatch, 0.9)  # less than one core's worth: nobody else holds a core
    assert free_cores() == cores
    _load(monkeypatch, cores - 0.5)  # all but one core busy
    assert free_cores() == 1
    _load(monkeypatch, float(cores))
    assert free_cores() == 1  # never none
    _load(monkeypatch, cores * 3.0)
    assert free_cores() == 1
    assert EvaluationCfg(threads=3).thread_count() == 3  # a number in params.yaml wins


def test_free_cores_never_exceed_omp_num_threads(
    monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    from sdops_dvc.base.parallel import free_cores

    _load(monkeypatch, 0.0)
    _threads_env(monkeypatch, "1")
    assert free_cores() == 1
    _threads_env(monkeypatch, "not a number")  # the runtime ignores it; so do we
    assert free_cores() == cores
    _threads_env(monkeypatch, str(cores + 8))
    assert free_cores() == cores
