"""One thread budget for evaluate: native pools (OpenMP, BLAS via threadpoolctl) and the
worker threads of our own chunked kernels read the same bound.

A pool sized to every core collapses when other processes share them (a CI runner): one
detection model took 75-116 s instead of 6.5 s, measured. ``bounded(n)`` sets the budget
for the code it wraps; ``threads()`` reads it (1 outside any ``bounded``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")
_THREADS: ContextVar[int] = ContextVar("sdops_threads", default=1)


def set_wait_policy() -> str | None:
    """Let OpenMP's waiting threads sleep (``OMP_WAIT_POLICY=PASSIVE``) only when other
    processes already keep half the cores busy; on an idle machine keep the runtime's
    default (spin briefly, then sleep). Measured on 2 cores, a 5-fold detection model: alone,
    0.7 s on 320 rows and 3.9 s on 27,004 by default against 7.6 s and 20.3 s passive;
    beside a CPU-bound process, 17.0 s by default against 8.8 s passive on 27,004 rows. Read
    when the OpenMP runtime starts, so call it before sklearn loads; a value the user set
    wins. Returns the policy set, or None when left as it was."""
    import os

    if "OMP_WAIT_POLICY" in os.environ:
        return None
    try:
        cores = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Linux: keep the runtime's default
        return None
    if load < cores / 2:
        return None
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"


def free_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count: a
    shared runner or a container gives fewer), less those the 1-minute load average says
    other processes keep busy, at least 1; never more than ``OMP_NUM_THREADS`` when that is
    set. Measured on 2 cores, two evaluations of 1,319 rows side by side: 11.4 s each on 2
    threads, 6.2 s with passive waiting, 4.9 s on 1 thread (alone: 4.8 s on 2, 5.1 s on 1)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):
        busy = 0
    free = max(1, cores - busy)
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    if limit.isdigit() and int(limit) > 0:
        free = min(free, int(limit))
    return free


@contextmanager
def bounded(threads: int) -> Iterator[None]:
    """Every OpenMP/BLAS pool and :func:`map_chunks` limited to ``threads``."""
    from threadpoolctl import threadpool_limits

    token = _THREADS.set(max(1, threads))
    try:
        with threadpool_limits(limits=max(1, threads)):
            yield
    finally:
        _THREADS.reset(token)


def threads() -> int:
    return _THREADS.get()


def map_chunks(func: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """``[func(x) for x in items]`` on at most :func:`threads` threads, in order. For
    kernels that release the GIL (scipy's distance kernels, numpy on large arrays)."""
    work = list(items)
    n = min(threads(), len(work))
    if n <= 1:
        return [func(x) for x in work]
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    # the workers share the budget: each one's BLAS calls run on one thread
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(func, work))
