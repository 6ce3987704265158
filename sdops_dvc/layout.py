"""Where a pipeline's files live, relative to the directory holding params.yaml.

``templates/dvc.yaml`` uses the same paths; stage commands accept overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PARAMS = "params.yaml"
DVC_YAML = "dvc.yaml"
DVC_LOCK = "dvc.lock"
METADATA = "metadata.json"
TRAIN = "data/split/train.parquet"
HOLDOUT = "data/split/holdout.parquet"
SYNTHETIC_STEM = "data/synthetic/synthetic"
REPORTS = "reports"
METRICS = "reports/metrics.json"
GATE = "reports/gate.json"
MANIFEST = "release/manifest.json"
DP_FIT = "model/dp_fit.npz"  # the DP measurement (noisy marginals, fitted model); persists


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def for_params(cls, params_path: Path) -> Layout:
        return cls(params_path.resolve().parent)

    def path(self, rel: str | Path) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def synthetic(self, fmt: str) -> Path:
        return self.root / f"{SYNTHETIC_STEM}.{fmt}"
