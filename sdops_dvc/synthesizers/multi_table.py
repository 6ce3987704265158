"""Related tables with SDV's HMASynthesizer (issue 15; not yet a pipeline family).

Seeding, measured: like the single-table synthesizers, HMA ignores numpy's global seed. Its
sampler seeds itself with a fixed ``_numpy_seed`` (73251) and each table's synthesizer with
its own fixed state, so a seed in params would be silently ignored. After ``fit`` the seed
is set on both (``_numpy_seed`` and every table synthesizer's random state); torch and BLAS
threads are pinned as for the single-table families.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdops_dvc.seeding import deterministic

if TYPE_CHECKING:
    import pandas as pd


def seed_hma(synthesizer: Any, seed: int) -> None:
    """Make a fitted HMASynthesizer's sampling follow ``seed``."""
    synthesizer._numpy_seed = seed % (2**32)
    for table in synthesizer._table_synthesizers.values():
        setter = getattr(table, "_set_random_state", None)
        if callable(setter):
            setter(seed)


def generate_tables(
    tables: dict[str, pd.DataFrame],
    metadata: dict[str, Any],
    seed: int,
    *,
    scale: float = 1.0,
    threads: int = 1,
) -> dict[str, pd.DataFrame]:
    """Fit HMA on the tables and sample ``scale`` times their size, reproducibly: the same
    tables, metadata and seed give the same rows in any process."""
    import warnings

    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    with deterministic(seed, threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer = HMASynthesizer(Metadata.load_from_dict(metadata), verbose=False)
        synthesizer.fit(tables)
        seed_hma(synthesizer, seed)
        # SDV 2.0: `sample(num_rows, main_table_name)`; the scale of every table is
        # `sample_scale(scale)`
        sampled: dict[str, pd.DataFrame] = synthesizer.sample_scale(scale=scale)
    return sampled
