"""Everything it takes for byte-identical synthetic output across processes.

Measured (see README): GaussianCopula ignores numpy's global seed (SDV seeds its first
sample with a fixed value), so the synthesizer's own random state is set after ``fit``;
CTGAN/TVAE/CopulaGAN need numpy and torch seeded before ``fit`` and before ``sample``;
the GAN output depends on torch's thread count, which is pinned and recorded.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any


def seed_global(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seed python/numpy/torch, pin torch and BLAS threads, deterministic algorithms."""
    import torch
    from threadpoolctl import threadpool_limits

    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    seed_global(seed)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)


def seed_synthesizer(synthesizer: Any, seed: int) -> None:
    """Set the fitted synthesizer's sampling state from the seed, then reseed globals."""
    setter = getattr(synthesizer, "_set_random_state", None)
    if callable(setter):
        setter(seed)
    seed_global(seed)
