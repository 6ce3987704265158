"""seeding.py in-process: a seeded block draws the same numbers twice, pins torch's threads
inside, and leaves torch as it found it, also when the block raises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdops_dvc.base.seeding import deterministic


def test_a_seeded_block_draws_the_same_numbers_and_restores_torch() -> None:
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    draws = []
    for _ in range(2):
        with deterministic(11, 1):
            assert torch.get_num_threads() == 1
            assert torch.are_deterministic_algorithms_enabled()
            draws.append((np.random.rand(3).tolist(), torch.rand(2).tolist()))
    assert draws[0] == draws[1]
    with deterministic(12, 1):
        assert np.random.rand(3).tolist() != draws[0][0]
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


def test_torch_is_restored_when_the_block_raises() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), deterministic(1, 1):
        raise RuntimeError("fit failed")
    assert torch.get_num_threads() == before
