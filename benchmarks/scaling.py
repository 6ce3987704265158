"""How `evaluate` scales: time and peak memory per metric family as rows and columns grow,
alone and beside a CPU-bound process.

Tables are built from cps_sw8 (61k x 5, real): rows are resampled to the size asked for and
columns widened by repeating real columns with noise (numbers) or shuffled blocks
(categories), so the values stay realistic. Train, holdout and "synthetic" are disjoint
resamples; every run is `compute_metrics` in its own process (peak RSS from the kernel).

Usage:
  python benchmarks/scaling.py                         # rows 10k/100k/1M x 20, cols 10/50/100 x 100k
  python benchmarks/scaling.py --rows 10000 --cols 20  # one configuration
  python benchmarks/scaling.py --busy                  # each run again beside a CPU-bound process
Targets on 2 cores: 100 columns x 100k rows < 2 min; 1M x 20 < 5 min; peak < 4 GiB; beside a
CPU-bound process no more than 2.5x slower than alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"
PLAN = [(10_000, 20), (100_000, 20), (1_000_000, 20), (100_000, 10), (100_000, 50), (100_000, 100)]


def table(rows: int, cols: int, seed: int, datasets: Path):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    base = pd.read_csv(datasets / "cps_sw8.csv")
    rng = np.random.default_rng(seed)
    df = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    out = {}
    i = 0
    while len(out) < cols:
        for c in base.columns:
            if len(out) >= cols:
                break
            name = c if i == 0 else f"{c}_{i}"
            s = df[c]
            if i and pd.api.types.is_numeric_dtype(s):
                s = s + rng.normal(0, 0.05 * float(s.std()), rows)
            elif i:
                s = s.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).to_numpy()
            out[name] = s
        i += 1
    return pd.DataFrame(out)


def one(rows: int, cols: int, datasets: str, queue) -> None:  # type: ignore[no-untyped-def]
    import warnings

    warnings.simplefilter("ignore")
    from sdops_dvc.domain.metadata import detect
    from sdops_dvc.stages.evaluate import compute_metrics

    train = table(rows, cols, 1, Path(datasets))
    holdout = table(rows // 4, cols, 2, Path(datasets))
    syn = table(rows, cols, 3, Path(datasets))
    meta = detect(train.head(5000), "t")
    t0 = time.perf_counter()
    _, _, _, seconds = compute_metrics(train, holdout, syn, meta, None, target="earnings")
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    queue.put(
        {
            "rows": rows,
            "cols": cols,
            "seconds": round(total, 1),
            "peak_mib": round(peak),
            "families": seconds,
        }
    )


def burn(stop) -> None:  # type: ignore[no-untyped-def]
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def run(rows: int, cols: int, datasets: Path, busy: bool) -> dict:  # type: ignore[type-arg]
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    burner = ctx.Process(target=burn, args=(stop,)) if busy else None
    if burner:
        burner.start()
    proc = ctx.Process(target=one, args=(rows, cols, str(datasets), queue))
    proc.start()
    result = queue.get()
    proc.join()
    if burner:
        stop.set()
        burner.join()
    result["beside_cpu_bound_process"] = busy
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--cols", type=int, default=None)
    ap.add_argument("--busy", action="store_true", help="also run beside a CPU-bound process")
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    plan = [(args.rows, args.cols)] if args.rows and args.cols else PLAN
    results = []
    print("| rows | columns | beside a busy process | seconds | peak MiB | per family (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rows, cols in plan:
        for busy in (False, True) if args.busy else (False,):
            r = run(rows, cols, args.datasets, busy)
            fam = ", ".join(f"{k} {v:.0f}" for k, v in r["families"].items())
            print(
                f"| {rows:,} | {cols} | {'yes' if busy else 'no'} | {r['seconds']} | "
                f"{r['peak_mib']} | {fam} |",
                flush=True,
            )
            results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
