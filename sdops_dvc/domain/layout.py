"""Where a pipeline's files live, relative to the directory holding params.yaml.

``templates/dvc.yaml`` uses the same paths; stage commands accept overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdops_dvc.domain.config import Params

PARAMS = "params.yaml"
DVC_YAML = "dvc.yaml"
DVC_LOCK = "dvc.lock"
METADATA = "metadata.json"
TRAIN = "data/split/train.parquet"
HOLDOUT = "data/split/holdout.parquet"
SYNTHETIC_STEM = "data/synthetic/synthetic"
# related tables (source.tables): one file per table in each of these directories
TRAIN_DIR = "data/split/train"
HOLDOUT_DIR = "data/split/holdout"
SYNTHETIC_DIR = "data/synthetic"
SOURCE_DIR = "data/source"  # where init copies a source from outside the project
REPORTS = "reports"
METRICS = "reports/metrics.json"
GATE = "reports/gate.json"
MANIFEST = "release/manifest.json"
MODEL_SAMPLE_STEM = "model/sample"  # the unconditioned sample the gates judge (+ .<format>)
DP_FIT = "model/dp_fit.npz"  # the DP measurement (noisy marginals, fitted model); persists


@dataclass(frozen=True)
class Layout:
    root: Path
    related: bool = False  # the project's source is related tables (source.tables)

    @classmethod
    def for_params(cls, params_path: Path, params: Params | None = None) -> Layout:
        """The layout of the project whose params.yaml is ``params_path`` (given its loaded
        params, the split and synthetic paths follow its kind of source)."""
        related = params is not None and params.source.multi_table
        return cls(params_path.resolve().parent, related)

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

    def model_sample(self, fmt: str) -> Path:
        return self.root / f"{MODEL_SAMPLE_STEM}.{fmt}"

    def train(self) -> Path:
        """The train split: a file, or for related tables a directory of files."""
        return self.path(TRAIN_DIR if self.related else TRAIN)

    def holdout(self) -> Path:
        return self.path(HOLDOUT_DIR if self.related else HOLDOUT)

    def synthetic_out(self, fmt: str) -> Path:
        """What generate writes: the synthetic table, or the directory of related tables."""
        return self.path(SYNTHETIC_DIR) if self.related else self.synthetic(fmt)

    def fit_file(self, tables: list[str]) -> Path | None:
        """The family's fit file a pipeline persists (a DP measurement): a single table's;
        related tables keep none (the DP families fit one table)."""
        return self.path(DP_FIT) if len(tables) == 1 else None

    def table_files(self, where: str | Path, tables: list[str], suffix: str) -> dict[str, Path]:
        """Where each table of a set lives: a set of one is the file ``where`` itself (the
        single-table paths above, any format); a set of related tables is one file per
        table in the directory ``where``, ``NAME.suffix``. The one place that tells them
        apart: every stage reads and writes table sets through it."""
        base = self.path(where)
        if len(tables) == 1:
            return {tables[0]: base}
        return {name: base / f"{name}.{suffix}" for name in tables}

    def source_place(
        self, given: tuple[Path, ...], files: dict[str, Path], name: str
    ) -> tuple[Path, dict[str, Path]]:
        """Where ``sdops init`` keeps the source (the one path DVC tracks) and each table's
        file there. A source already inside the project stays where it is; otherwise a single
        table is copied to data/source/ under its own file name, and related tables' files
        into data/source/NAME/."""
        inside = len(given) == 1 and given[0].resolve().is_relative_to(self.root.resolve())
        if self.related:
            dest = given[0].resolve() if inside else self.root / SOURCE_DIR / name
            return dest, {t: dest / f.name for t, f in files.items()}
        dest = given[0].resolve() if inside else self.root / SOURCE_DIR / given[0].name
        return dest, {t: dest for t in files}

    def pipeline(self, tables: list[str]) -> str:
        """The dvc.yaml ``sdops init`` writes: the single-table pipeline, or for related tables
        every table's split and synthetic file a named output."""
        from sdops_dvc.base.templates import read_template, render

        if not self.related:
            return read_template("dvc.yaml")

        def lines(paths: list[str]) -> str:
            return "".join(f"      - {p}\n" for p in paths)

        split = split_outputs(tables)  # train files, then holdout files
        blocks = {
            "split_files": lines(split),
            "train_files": lines(split[: len(tables)]),
            "synthetic_files": lines(synthetic_outputs(tables, "csv")),
        }
        return render("dvc-tables.yaml", {}, blocks=blocks)


def synthetic_outputs(tables: list[str], fmt: str) -> list[str]:
    """The synthetic files a pipeline releases, relative to its root: one table, or one file
    per related table."""
    if not tables:
        return [f"{SYNTHETIC_STEM}.{fmt}"]
    return [f"{SYNTHETIC_DIR}/{name}.{fmt}" for name in tables]


def split_outputs(tables: list[str]) -> list[str]:
    """The train and holdout files, relative to the pipeline root."""
    if not tables:
        return [TRAIN, HOLDOUT]
    return [f"{d}/{name}.parquet" for d in (TRAIN_DIR, HOLDOUT_DIR) for name in tables]
