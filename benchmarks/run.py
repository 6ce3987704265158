"""Side-by-side timings: sdops-dvc vs SDMetrics and anonymeter on the same rows.

Usage: python benchmarks/run.py [--only dcr,anonymeter,scale] [--datasets DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent


def _synthesize(real, n_rows: int, seed: int):  # type: ignore[no-untyped-def]
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    meta = Metadata.detect_from_dataframes({"t": real})
    synth = GaussianCopulaSynthesizer(meta)
    synth.fit({"t": real})
    synth._set_random_state(seed)
    out = synth.sample(num_rows=n_rows)
    return out["t"] if isinstance(out, dict) else out


def _health(datasets: Path):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    real = pd.read_csv(datasets / "health_insurance.csv")
    perm = np.random.default_rng(42).permutation(len(real))
    n = round(0.8 * len(real))
    train = real.iloc[np.sort(perm[:n])].reset_index(drop=True)
    holdout = real.iloc[np.sort(perm[n:])].reset_index(drop=True)
    return train, holdout, _synthesize(train, len(train), 7)


def bench_dcr(datasets: Path) -> None:
    from sdmetrics.single_table import DCROverfittingProtection

    from sdops_dvc.domain.metadata import column_sdtypes, detect
    from sdops_dvc.metrics.privacy import dcr_share

    train, holdout, syn = _health(datasets)
    meta = detect(train, "t")
    t0 = time.perf_counter()
    ours = dcr_share(syn, train, holdout, column_sdtypes(meta))
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = DCROverfittingProtection.compute_breakdown(
        real_training_data=train,
        synthetic_data=syn,
        real_validation_data=holdout,
        metadata=meta,
        table_name="t",
    )
    t_ref = time.perf_counter() - t0
    ref_share = ref["synthetic_data_percentages"]["closer_to_training"]
    print(
        f"\n== DCR share, health_insurance {len(train)} train / {len(holdout)} holdout / {len(syn)} synthetic"
    )
    print(f"  sdops-dvc   {t_ours:8.2f} s   share {ours.share:.12f}")
    print(f"  SDMetrics   {t_ref:8.2f} s   share {ref_share:.12f}")
    print(f"  speed-up    {t_ref / t_ours:8.0f}x   |difference| {abs(ours.share - ref_share):.1e}")


def bench_anonymeter(datasets: Path) -> None:
    import numpy as np
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    from sdops_dvc.metrics.anonymity import inference, linkability, singling_out
    from sdops_dvc.metrics.privacy import equal_size_samples

    train, holdout, syn = _health(datasets)
    ori, control, _ = equal_size_samples(train, holdout, 0)
    qi = ["age", "gender", "region", "ethnicity", "married", "education", "family"]
    aux = (qi[:3], qi[3:])
    print(
        f"\n== anonymeter-method risks, health_insurance ori {len(ori)} / control {len(control)} / synthetic {len(syn)}, 500 attacks"
    )
    rows = []
    t0 = time.perf_counter()
    ours = singling_out(ori, syn, control, n_attacks=500, seed=0)
    t1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = (
        SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=500, seed=0)
        .evaluate(mode="multivariate")
        .risk()
    )
    t2 = time.perf_counter() - t0
    rows.append(("singling out", t1, ours.value, t2, ref.value, ref.ci))
    np.random.seed(0)
    t0 = time.perf_counter()
    ours = linkability(ori, syn, control, aux, n_attacks=500, seed=0)
    t1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = (
        LinkabilityEvaluator(ori=ori, syn=syn, control=control, aux_cols=aux, n_attacks=500)
        .evaluate(n_jobs=2)
        .risk()
    )
    t2 = time.perf_counter() - t0
    rows.append(("linkability", t1, ours.value, t2, ref.value, ref.ci))
    np.random.seed(0)
    t0 = time.perf_counter()
    ours = inference(ori, syn, control, qi, "health", regression=False, n_attacks=500, seed=0)
    t1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = (
        InferenceEvaluator(
            ori=ori, syn=syn, control=control, aux_cols=qi, secret="health", n_attacks=500
        )
        .evaluate(n_jobs=2)
        .risk()
    )
    t2 = time.perf_counter() - t0
    rows.append(("inference (health)", t1, ours.value, t2, ref.value, ref.ci))
    print(
        f"  {'attack':<20}{'ours s':>9}{'risk':>8}{'anonymeter s':>14}{'risk':>8}{'  its 95% CI':>18}{'speed-up':>10}"
    )
    for name, a, va, b, vb, ci in rows:
        print(
            f"  {name:<20}{a:9.2f}{va:8.4f}{b:14.2f}{vb:8.4f}   [{ci[0]:.4f}, {ci[1]:.4f}]{b / a:9.0f}x"
        )


SCALE_CHILD = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
from sdops_dvc.domain.config import parse_params
from sdops_dvc.stages.evaluate import run_evaluate
from sdops_dvc.stages.gate import run_gate
root = Path(sys.argv[1])
params = parse_params(json.loads((root / "params.json").read_text()), root / "params.json")
t0 = time.perf_counter()
res = run_evaluate(params, root, root / "train.parquet", root / "holdout.parquet", root / "synthetic.parquet", root / "out")
gate = run_gate(res.metrics_path, params, root / "out" / "gate.json")
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak, "parts": res.seconds,
                  "approved": gate.approved, "queries": res.details["samples"]["privacy_queries"]}))
"""


def _scale_case(label: str, train, holdout, syn, target: str, subgroups: list[str]) -> None:  # type: ignore[no-untyped-def]
    from sdops_dvc.base.fsutil import write_json_atomic
    from sdops_dvc.domain.metadata import detect

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train.to_parquet(root / "train.parquet")
        holdout.to_parquet(root / "holdout.parquet")
        syn.to_parquet(root / "synthetic.parquet")
        write_json_atomic(root / "metadata.json", detect(train.head(20_000), "t"))
        params = {
            "dataset": {"name": "bench", "target": target},
            "source": {"path": "unused", "snapshot_id": "bench", "md5": "0" * 32},
            "generator": {"num_rows": len(syn)},
            "evaluation": {"subgroups": {"columns": subgroups}},
            "policy": {
                "intended_use": "benchmark",
                "audiences": ["dev"],
                "access_classification": "internal",
                "retention_days": 1,
                "owner": "dev",
            },
        }
        (root / "params.json").write_text(json.dumps(params))
        proc = subprocess.run(
            [sys.executable, "-c", SCALE_CHILD, str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            raise SystemExit(f"{label}: evaluate failed")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in r["parts"].items())
    print(
        f"  {label:<34}{r['seconds']:8.1f} s  peak {r['peak_mib']:7.0f} MiB  ({parts}; "
        f"{r['queries']['size']} NN queries)"
    )


def bench_scale(datasets: Path) -> None:
    import numpy as np
    import pandas as pd

    print("\n== evaluate + gate, whole (subprocess; peak resident memory)")
    cps = pd.read_csv(datasets / "cps_sw8.csv")
    perm = np.random.default_rng(42).permutation(len(cps))
    n = round(0.8 * len(cps))
    train = cps.iloc[np.sort(perm[:n])].reset_index(drop=True)
    holdout = cps.iloc[np.sort(perm[n:])].reset_index(drop=True)
    syn = _synthesize(train, len(train), 7)
    _scale_case(f"cps_sw8 {len(cps)} rows", train, holdout, syn, "earnings", ["gender", "region"])
    # A 250k-row table: the cps_sw8 population, drawn from a copula fitted on it (as the real
    # table), split 80/20; the synthetic table comes from a second copula fitted on its train.
    big = _synthesize(cps, 250_000, 11)
    perm = np.random.default_rng(7).permutation(len(big))
    n = round(0.8 * len(big))
    train = big.iloc[np.sort(perm[:n])].reset_index(drop=True)
    holdout = big.iloc[np.sort(perm[n:])].reset_index(drop=True)
    syn = _synthesize(train, len(train), 13)
    _scale_case(
        f"250k rows ({len(train)} train)", train, holdout, syn, "earnings", ["gender", "region"]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default="dcr,anonymeter,scale")
    ap.add_argument("--datasets", type=Path, default=HERE.parent.parent / "shared" / "datasets")
    args = ap.parse_args()
    os.environ.setdefault("SDOPS_NO_PROGRESS", "1")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    parts = args.only.split(",")
    if "dcr" in parts:
        bench_dcr(args.datasets)
    if "anonymeter" in parts:
        bench_anonymeter(args.datasets)
    if "scale" in parts:
        bench_scale(args.datasets)


if __name__ == "__main__":
    main()
