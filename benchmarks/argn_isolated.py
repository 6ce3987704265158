"""MOSTLY AI's TabularARGN (mostlyai-engine, Apache-2.0) judged by sdops' own gates, from an
environment of its own.

mostlyai-engine 2.7.3 cannot join sdops' environment: it needs numpy >= 2 (the pinned stack
holds 1.26) and declares transformers, datasets, torchvision, torchaudio and more. Its tabular
model needs only torch, transformers and datasets at import, so it runs in a second
virtualenv built without its other declared dependencies:

    python -m venv /tmp/argn
    /tmp/argn/bin/pip install torch==2.13.0 "numpy>=2" pandas scikit-learn pyarrow \\
        "psutil<6,>=5.9.5" joblib opacus pydantic python-dateutil "transformers>=5.5.3" \\
        "datasets>=3.0.0"
    /tmp/argn/bin/pip install --no-deps mostlyai-engine==2.7.3

Then, for a project ``sdops init`` made and ``dvc repro`` ran (its train split and metadata
are read; the holdout is only read by the gate, as always):

    python benchmarks/argn_isolated.py --argn-python /tmp/argn/bin/python PROJECT [PROJECT...]

For each project: TabularARGN is fitted on ``data/split/train.parquet`` in the second
environment (one torch thread: the bytes then repeat across processes, as for SDV's neural
families; two threads give other bytes), numeric columns holding non-integer values encoded
digit by digit (``TABULAR_NUMERIC_DIGIT``), the rest as the engine picks; as many rows as the
train split are sampled, in the table's column order. A copy of the project then gets that
sample as its synthetic table and runs ``sdops evaluate`` and ``sdops gate`` with the
thresholds init wrote. One row per project: fit seconds, verdict, the gate's key figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

JOB = r"""
import json, sys, pandas as pd, torch
torch.set_num_threads(1)
from mostlyai.engine import TabularARGN
job = json.loads(sys.argv[1])
train = pd.read_parquet(job["train"])
model = TabularARGN(random_state=job["seed"], verbose=0, **job["settings"],
                    tgt_encoding_types={c: "TABULAR_NUMERIC_DIGIT" for c in job["digits"]})
model.fit(train)
model.sample(n_samples=len(train))[list(train.columns)].to_csv(job["out"], index=False)
"""

SETTINGS = {"model": "MOSTLY_AI/Large", "enable_flexible_generation": False}


def digit_columns(project: Path) -> list[str]:
    """Numeric columns (metadata sdtype numerical) holding non-integer values."""
    import pandas as pd

    meta = json.loads((project / "metadata.json").read_text())
    columns = meta.get("columns") or next(iter(meta["tables"].values()))["columns"]
    train = pd.read_parquet(project / "data/split/train.parquet")
    numeric = {c for c, spec in columns.items() if spec.get("sdtype") == "numerical"}
    # in the table's order: with flexible generation off, the engine generates the columns
    # in the order this mapping names them first (credit_card: DCR share 0.514 in table
    # order, 0.561 in the metadata's)
    return [c for c in train.columns if c in numeric and not (train[c].dropna() % 1 == 0).all()]


def _unconditioned(params: Path) -> None:
    """The candidate is the plain sample: generator.conditions (a rebalanced release)
    is taken out of the copy's params.yaml."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(params.read_text())
    if data["generator"].get("conditions"):
        data["generator"]["conditions"] = None
        with params.open("w") as fh:
            yaml.dump(data, fh)


def run(project: Path, argn_python: str, seed: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="argn-")) / project.name
    shutil.copytree(project, work, symlinks=True)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=work, check=False)
    _unconditioned(work / "params.yaml")
    out = work / "data/synthetic/synthetic.csv"
    job = {
        "train": str(work / "data/split/train.parquet"),
        "out": str(out),
        "seed": seed,
        "settings": SETTINGS,
        "digits": digit_columns(work),
    }
    start = time.perf_counter()
    subprocess.run([argn_python, "-c", JOB, json.dumps(job)], check=True)
    seconds = time.perf_counter() - start
    for args in (["evaluate", "--synthetic", str(out)], ["gate"]):
        done = subprocess.run(["sdops", *args], cwd=work, capture_output=True, text=True)
        if args[0] == "evaluate" and done.returncode != 0:
            raise SystemExit(f"{project}: sdops evaluate failed:\n{done.stderr[-2000:]}")
    gate = json.loads((work / "reports/gate.json").read_text())
    m = json.loads((work / "reports/metrics.json").read_text())
    return {
        "project": str(project),
        "fit_sample_s": round(seconds, 1),
        "approved": gate["approved"],
        "detection_auc": m["quality"]["detection_auc"],
        "column_pair_trends": m["quality"].get("column_pair_trends"),
        "utility_ratio": (m.get("utility") or {}).get("ratio"),
        "dcr_share": m["privacy"]["dcr_share"],
        "dcr_p_value": m["privacy"].get("dcr_p_value"),
        "failures": gate["failures"],
        "digit_columns": job["digits"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("projects", nargs="+", type=Path)
    ap.add_argument("--argn-python", required=True, help="python of the TabularARGN venv")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()
    rows = [run(p, args.argn_python, args.seed) for p in args.projects]
    for r in rows:
        verdict = (
            "approved"
            if r["approved"]
            else "blocked: "
            + "; ".join(
                str(f)[:90]
                for f in r["failures"]  # type: ignore[attr-defined]
            )
        )
        print(
            f"{r['project']}: {r['fit_sample_s']} s, detection {r['detection_auc']:.3f}, "
            f"pair trends {r['column_pair_trends']}, utility {r['utility_ratio']}, "
            f"DCR {r['dcr_share']:.3f} (p {r['dcr_p_value']}), {verdict}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
