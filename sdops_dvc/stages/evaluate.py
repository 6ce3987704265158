"""``evaluate``: compute every metric of a synthetic table against the real splits.

Writes ``metrics.json`` (DVC metrics: numbers only, no real values), ``details.json``
(per column, pair, group and attack; sizes and seeds of every subsample; timings) and
DVC plot data under ``plots/`` (aggregated histograms, never rows). Works inside the
pipeline (``--params``) and stand-alone on data made by any generator.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sdops_dvc.config import EvaluationCfg, Params
from sdops_dvc.fsutil import write_json_atomic
from sdops_dvc.metadata import (
    CATEGORICAL_SDTYPES,
    NUMERIC_SDTYPES,
    check_against_table,
    column_sdtypes,
    parse_datetimes,
    read_metadata,
)
from sdops_dvc.tables import read_table, require_columns

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# OpenMP threads that spin while they wait collapse when another process holds the cores
# (a shared CI runner): sleep instead. Read when the OpenMP runtime starts, so set before
# sklearn loads it; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class EvaluateResult:
    metrics_path: Path
    metrics: dict[str, Any]
    details: dict[str, Any]
    seconds: dict[str, float]  # timings per metric family: logged, never written (not reproducible)


def _metadata_for(params: Params | None, root: Path, train: Any) -> dict[str, Any]:
    if params is not None:
        path = root / params.source.metadata
        meta = read_metadata(path)
        check_against_table(meta, train, path)
        return meta
    from sdops_dvc.metadata import detect

    return detect(train, "table")


def _r(x: float | None, nd: int = 12) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd)


FAMILIES = ("schema", "quality", "utility", "privacy", "anonymity", "subgroups")


class _Timer:
    """Times each metric family (to the log) and, on a terminal, shows a progress bar."""

    def __init__(self, progress: bool = False) -> None:
        self.seconds: dict[str, float] = {}
        self._bar: Any = None
        if progress:
            import sys

            from tqdm import tqdm

            self._bar = tqdm(total=len(FAMILIES), desc="evaluate", file=sys.stderr, leave=False)

    def __call__(self, name: str) -> _Timer:
        self._name = name
        return self

    def __enter__(self) -> None:
        self._t0 = time.perf_counter()
        log.info("evaluating %s", self._name)
        if self._bar is not None:
            self._bar.set_description(f"evaluate: {self._name}")

    def __exit__(self, *exc: object) -> None:
        self.seconds[self._name] = round(time.perf_counter() - self._t0, 3)
        log.info("%s took %.1f s", self._name, self.seconds[self._name])
        if self._bar is not None:
            self._bar.update(1)
            if self._bar.n >= len(FAMILIES):
                self._bar.close()


def _privacy_columns(
    cfg: EvaluationCfg, columns: list[str], target: str | None
) -> tuple[list[str], list[str], tuple[list[str], list[str]]]:
    # only columns the synthetic table has (a missing one is the schema gate's finding)
    sensitive = [c for c in cfg.privacy.sensitive if c in columns] or (
        [target] if target in columns else []
    )
    qi = [c for c in cfg.privacy.quasi_identifiers if c in columns] or [
        c for c in columns if c not in sensitive
    ]
    aux_cfg = cfg.privacy.linkability_aux
    if aux_cfg and all(any(c in columns for c in part) for part in aux_cfg):
        aux = ([c for c in aux_cfg[0] if c in columns], [c for c in aux_cfg[1] if c in columns])
    else:
        half = max(1, len(qi) // 2)
        aux = (qi[:half], qi[half:] or qi[:half])
    return qi, sensitive, aux


def _bounded_threads(func: Callable[..., _T]) -> Callable[..., _T]:
    """Run ``func`` with every OpenMP and BLAS pool, and our own chunked kernels, bounded by
    ``evaluation.threads`` (:mod:`sdops_dvc.parallel`)."""

    signature = inspect.signature(func)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> _T:
        from sdops_dvc.parallel import bounded

        params = signature.bind(*args, **kwargs).arguments.get("params")
        cfg = params.evaluation if params is not None else EvaluationCfg()
        threads = cfg.thread_count()
        log.info("evaluate: %d thread(s)", threads)
        with bounded(threads):
            return func(*args, **kwargs)

    return run


@_bounded_threads
def compute_metrics(
    train: Any,
    holdout: Any,
    synthetic: Any,
    metadata: dict[str, Any],
    params: Params | None,
    *,
    target: str | None = None,
    progress: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, float]]:
    """(metrics, details, plot data, seconds per metric family)."""
    import numpy as np
    import pandas as pd

    from sdops_dvc.metrics import anonymity, learning, privacy, subgroup
    from sdops_dvc.metrics.fidelity import column_pair_trends, column_shapes
    from sdops_dvc.metrics.schema import check_schema

    cfg = params.evaluation if params is not None else EvaluationCfg()
    task = params.dataset.task if params is not None else "auto"
    if params is not None:
        target = params.dataset.target
    seed = cfg.seed
    timer = _Timer(progress)
    sdtypes = column_sdtypes(metadata)
    train, holdout, synthetic = (parse_datetimes(f, metadata) for f in (train, holdout, synthetic))
    # ids, PII and free text are faked or not modelled by SDV: like SDMetrics, measure the
    # modelable columns only (a copied row with a new fake id is still a copy)
    columns = [
        c
        for c in train.columns
        if c in synthetic.columns and sdtypes.get(c) in (*NUMERIC_SDTYPES, *CATEGORICAL_SDTYPES)
    ]
    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {"samples": {}}
    plots: dict[str, Any] = {}

    with timer("schema"):
        expected = (params.generator.num_rows or len(train)) if params is not None else None
        dp = params.generator.privacy if params is not None else None
        if dp is not None and params is not None and params.generator.num_rows is None:
            expected = None  # a DP model's row count is its noisy total, not the train size
        constraints = list(params.generator.constraints) if params is not None else []
        real = pd.concat([train, holdout], ignore_index=True)
        schema = check_schema(
            real,
            synthetic,
            metadata,
            expected,
            constraints,
            declared_bounds=dict(dp.bounds) if dp else None,
            declared_categories=dict(dp.categories) if dp else None,
        )
    metrics["rows"] = {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)}
    metrics["schema"] = {
        **{k: _r(v) if isinstance(v, float) else v for k, v in schema.as_metrics().items()},
        "failures": schema.failures,
    }
    details["schema"] = {
        "columns": {
            col: {k: _r(v) if isinstance(v, float) else v for k, v in spec.items()}
            for col, spec in sorted(schema.columns.items())
        }
    }

    with timer("quality"):
        shapes, by_col = column_shapes(train[columns], synthetic[columns], sdtypes)
        cpt, cpt_all, pairs = column_pair_trends(train[columns], synthetic[columns], sdtypes)
        det = learning.detection_auc(
            train[columns],
            synthetic[columns],
            seed=seed,
            max_rows=cfg.max_model_rows,
            folds=cfg.detection_folds,
        )
    metrics["quality"] = {
        "column_shapes": _r(shapes),
        "column_shapes_min": _r(min(by_col.values())) if by_col else None,
        "column_pair_trends": _r(cpt),
        "column_pair_trends_all_pairs": _r(cpt_all),
        "column_pairs_counted": sum(p.counted for p in pairs),
        "detection_auc": _r(det.auc),
    }
    details["column_shapes"] = {k: _r(v) for k, v in sorted(by_col.items())}
    details["column_pairs"] = [
        {"columns": list(p.columns), "metric": p.metric, "score": _r(p.score), "counted": p.counted}
        for p in pairs
    ]
    if det.auc > DRIVERS_ABOVE_AUC:  # name what gives the synthetic rows away
        drivers = learning.detection_drivers(
            train[columns], synthetic[columns], seed=seed, max_rows=cfg.max_model_rows
        )
        details["detection_drivers"] = [
            {"column": col, "auc_drop": _r(drop, 4), "hint": _driver_hint(train[col], sdtypes)}
            for col, drop in drivers
        ]
    details["samples"]["detection"] = {
        "rows_per_side": det.rows_per_side,
        "folds": det.folds,
        "seed": seed,
    }

    util = None
    with timer("utility"):
        if target is not None and target in train.columns and target in synthetic.columns:
            util = learning.utility(
                train, holdout, synthetic, target, task, seed=seed, max_rows=cfg.max_model_rows
            )
    metrics["utility"] = {
        "target": target,
        "task": util.task if util else None,
        "metric": util.metric if util else None,
        "tstr": _r(util.tstr) if util else None,
        "trtr": _r(util.trtr) if util else None,
        "ratio": _r(util.ratio) if util else None,
    }
    if util:
        details["samples"]["utility"] = {**util.rows, "seed": seed}

    with timer("privacy"):
        tr_s, ho_s, sample_info = privacy.equal_size_samples(
            train[columns], holdout[columns], seed, cfg.max_nn_reference
        )
        syn_q, q_info = privacy.query_sample(synthetic[columns], cfg.max_nn_queries, seed)
        details["samples"]["privacy_real"] = sample_info
        details["samples"]["privacy_queries"] = q_info
        copies = privacy.exact_copies(synthetic, tr_s, ho_s, columns)
        em_full = privacy.exact_match_rate(synthetic, train, columns)
        d = privacy.dcr_share(syn_q, tr_s, ho_s, sdtypes)
        ratio = d.nndr
        mia = privacy.membership_inference(syn_q, tr_s, ho_s, sdtypes, seed)
    with timer("anonymity"):
        qi, sensitive, aux = _privacy_columns(cfg, columns, target)
        n_att = cfg.privacy.n_attacks
        so = anonymity.singling_out(
            tr_s,
            syn_q,
            ho_s,
            n_attacks=n_att,
            seed=seed,
            max_column_sets=cfg.privacy.max_column_sets,
        )
        lk = anonymity.linkability(tr_s, syn_q, ho_s, aux, n_attacks=n_att, seed=seed)
        inf = []
        for secret in sensitive:
            reg = learning.infer_task(train[secret], "auto") == "regression"
            aux_cols = [c for c in qi if c != secret]
            if aux_cols:
                inf.append(
                    anonymity.inference(
                        tr_s,
                        syn_q,
                        ho_s,
                        aux_cols,
                        secret,
                        regression=reg,
                        n_attacks=n_att,
                        seed=seed,
                    )
                )
        worst_inf = max(inf, key=lambda r: r.value) if inf else None
    metrics["privacy"] = {
        "exact_match_train": _r(copies.train),
        "exact_match_holdout": _r(copies.holdout),
        "exact_match_p_value": _r(copies.p_value),
        "exact_match_train_full": _r(em_full),
        "dcr_share": _r(d.share),
        "dcr_p_value": _r(d.p_value),
        "nndr_median": _r(float(np.median(ratio))) if len(ratio) else None,
        "mia_auc": _r(mia.auc),
        "mia_tpr_at_1pct_fpr": _r(mia.tpr_at_1pct_fpr),
        "singling_out_risk": _r(so.value),
        "singling_out_p_value": _r(so.p_value),
        "linkability_risk": _r(lk.value),
        "linkability_p_value": _r(lk.p_value),
        "inference_risk": _r(worst_inf.value) if worst_inf else None,
        "inference_p_value": _r(worst_inf.p_value) if worst_inf else None,
    }
    details["privacy"] = {
        "quasi_identifiers": qi,
        "sensitive": sensitive,
        "singling_out": so.as_json(),
        "linkability": lk.as_json(),
        "inference": [r.as_json() for r in inf],
        "mia": {
            "members": mia.members,
            "non_members": mia.non_members,
            "reference": mia.reference,
            "seed": seed,
        },
        "dcr": {
            "train_quantiles": _quantiles(d.dcr_train),
            "holdout_quantiles": _quantiles(d.dcr_holdout),
        },
    }

    with timer("subgroups"):
        groups = subgroup.subgroups(
            train,
            holdout,
            synthetic,
            list(cfg.subgroups.columns),
            sdtypes,
            min_size=cfg.subgroups.min_size,
            util=util,
            target=target,
            seed=seed,
        )
    shapes_real = None
    if groups:  # the same score between two real samples: the noise a group's score carries
        from sdops_dvc.metrics.fidelity import column_shapes as _shapes

        real_cs, _ = _shapes(train[columns], holdout[columns], sdtypes)
        shapes_real = real_cs if real_cs == real_cs else None
    overall_tstr = util.tstr if util else None
    overall_trtr = util.trtr if util else None
    rows: list[dict[str, Any]] = []
    for g in groups:
        gaps = g.gaps(shapes if shapes == shapes else None, overall_tstr, overall_trtr, shapes_real)
        rows.append(
            {
                "column": g.column,
                "group": g.group,
                "gated": g.gated,
                "real_rows": g.real_rows,
                "synthetic_rows": g.synthetic_rows,
                "holdout_rows": g.holdout_rows,
                "real_share": _r(g.real_share),
                "synthetic_share": _r(g.synthetic_share),
                "column_shapes": _r(g.column_shapes),
                "column_shapes_real": _r(g.column_shapes_real),
                "tstr": _r(g.tstr),
                "trtr": _r(g.trtr),
                **{k: _r(v) for k, v in gaps.items()},
                "representation_p_value": _r(g.representation_p_value(len(train), len(synthetic))),
                "tstr_gap_p_value": _r(g.tstr_gap_p_value(gaps["tstr_gap"])),
                "notes": g.notes,
            }
        )
    rows.sort(
        key=lambda r: (
            -max(r["column_shapes_gap"] or 0, r["tstr_gap"] or 0, r["representation_gap"] or 0)
        )
    )
    gated = [r for r in rows if r["gated"]]

    def worst(key: str) -> float | None:
        vals = [r[key] for r in gated if r[key] is not None]
        return _r(max(vals)) if vals else None

    cs_gap, ts_gap = worst("column_shapes_gap"), worst("tstr_gap")
    metrics["subgroup"] = {
        "worst_group_gap": _r(max(v for v in (cs_gap, ts_gap) if v is not None))
        if (cs_gap is not None or ts_gap is not None)
        else None,
        "worst_column_shapes_gap": cs_gap,
        "worst_tstr_gap": ts_gap,
        "worst_representation_gap": worst("representation_gap"),
        "groups_gated": len(gated),
        "groups_reported": len(rows),
    }
    details["subgroups"] = rows

    min_bin = params.report.min_bin_count if params is not None else 10
    plots["marginals"] = _marginals(train[columns], synthetic[columns], sdtypes, min_bin)
    plots["dcr"] = _dcr_hist(d.dcr_train, d.dcr_holdout)
    plots["subgroups"] = [
        {
            "group": f"{r['column']}={r['group']}",
            "real_share": r["real_share"],
            "synthetic_share": r["synthetic_share"],
            "column_shapes": r["column_shapes"],
            "tstr": r["tstr"],
        }
        for r in rows
    ]
    return metrics, details, plots, timer.seconds


DRIVERS_ABOVE_AUC = 0.75


def _driver_hint(col: Any, sdtypes: dict[str, str]) -> str:
    """The change most likely to make a column stop giving the synthetic rows away."""
    sd = sdtypes.get(str(col.name))
    distinct = int(col.nunique(dropna=True))
    if sd == "numerical" and distinct <= 50:
        return (
            f"it takes only {distinct} distinct values: make it categorical in metadata.json "
            "so the generator reproduces them instead of filling the gaps between them"
        )
    if sd == "numerical":
        return (
            "its distribution is not reproduced: try another generator family or its "
            "parameters (generator.family, generator.parameters), or generator.decimals "
            "when its values are float32-stored decimals"
        )
    return "its categories or their mix are not reproduced: try another generator family"


def _quantiles(values: Any) -> dict[str, float | None]:
    import numpy as np

    if len(values) == 0:
        return {}
    qs = np.quantile(values, [0.01, 0.05, 0.5])
    return {"p01": _r(qs[0]), "p05": _r(qs[1]), "p50": _r(qs[2])}


def _round_edge(x: float) -> float:
    """An edge rounded to 3 significant digits, so it is not a real record's exact value."""
    return float(f"{x:.3g}")


def numeric_bins(values: Any, k: int, n_bins: int = 20) -> list[float]:
    """Interior bin edges for a numeric column such that every bin holds at least ``k`` of
    ``values``: equal-width edges between the k-th smallest and k-th largest value (so no
    edge sits on a real extreme, and the open first and last bins hold at least k), rounded
    to 3 significant digits, then adjacent bins merged until each has k. An empty list means
    one bin (fewer than 2k values)."""
    import numpy as np

    v = np.sort(np.asarray(values, dtype=float))
    if len(v) < 2 * k:
        return []
    lo, hi = v[k - 1], v[len(v) - k]
    if not hi > lo:
        return []
    edges = sorted({_round_edge(e) for e in np.linspace(lo, hi, n_bins + 1)})
    edges = [e for e in edges if v[0] < e < v[-1]]
    # merge: drop an edge while the bin it closes holds fewer than k values
    # bins are [a, b) as np.histogram counts them
    kept: list[float] = []
    start = 0
    for e in edges:
        below = int(np.searchsorted(v, e, side="left"))
        if below - start >= k and len(v) - below >= k:
            kept.append(e)
            start = below
    return kept


def _marginals(
    real: Any, synthetic: Any, sdtypes: dict[str, str], k: int
) -> dict[str, list[dict[str, Any]]]:
    """Per column: shares of real and synthetic rows per bin. Numbers: bins that each hold at
    least ``k`` real records, with edges off the real extremes (:func:`numeric_bins`);
    categories: those held by at least ``k`` real records, the rest pooled as "(other)" (itself
    grown until it holds k). No bin describes fewer than k real records."""
    import numpy as np
    import pandas as pd

    from sdops_dvc.metrics.schema import canonical_categories

    out: dict[str, list[dict[str, Any]]] = {}
    for col, sd in sdtypes.items():
        if col not in real.columns:
            continue
        r, s = real[col].dropna(), synthetic[col].dropna()
        if sd in ("numerical", "datetime") and pd.api.types.is_numeric_dtype(r) and len(r):
            edges = numeric_bins(r.to_numpy(), k)
            bounds = [-np.inf, *edges, np.inf]
            rc = np.histogram(r.to_numpy(dtype=float), bounds)[0]
            sc = np.histogram(
                pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float), bounds
            )[0]
            rows = []
            for i in range(len(bounds) - 1):
                a, b = bounds[i], bounds[i + 1]
                label = (
                    f"< {b:g}"
                    if not np.isfinite(a) and np.isfinite(b)
                    else f">= {a:g}"
                    if np.isfinite(a) and not np.isfinite(b)
                    else "all"
                    if not np.isfinite(a)
                    else f"[{a:g}, {b:g})"
                )
                rows.append(
                    {
                        "bin": label,
                        "real": round(float(rc[i] / max(1, len(r))), 6),
                        "synthetic": round(float(sc[i] / max(1, len(s))), 6),
                    }
                )
            out[col] = rows
        elif sd in ("categorical", "boolean", "ordinal"):
            counts = canonical_categories(r).value_counts()
            sv = canonical_categories(s).value_counts(normalize=True)
            keep = [c for c in counts.index[:30] if counts[c] >= k]
            # the pooled rest must hold k real records too: fold the smallest kept ones in
            while keep and 0 < counts.drop(keep).sum() < k:
                keep.pop()
            keep = _by_value(keep)
            rows = [
                {
                    "bin": str(c),
                    "real": round(float(counts[c] / max(1, len(r))), 6),
                    "synthetic": round(float(sv.get(c, 0.0)), 6),
                }
                for c in keep
            ]
            other_r = float(counts.drop(keep).sum()) / max(1, len(r))
            other_s = float(sv.drop([c for c in keep if c in sv.index]).sum())
            if other_r > 0 or other_s > 1e-4:
                rows.append(
                    {"bin": "(other)", "real": round(other_r, 6), "synthetic": round(other_s, 6)}
                )
            out[col] = rows
    return out


def _by_value(labels: list[Any]) -> list[Any]:
    """Category labels in value order when every label is a number (education 12 < 13 < 14,
    not the order of appearance or of frequency), else as given."""
    try:
        return sorted(labels, key=lambda v: float(v))
    except (TypeError, ValueError):
        return labels


def _dcr_hist(d_tr: Any, d_ho: Any) -> list[dict[str, Any]]:
    import numpy as np

    hi = float(max(np.max(d_tr) if len(d_tr) else 0, np.max(d_ho) if len(d_ho) else 0, 1e-9))
    edges = np.linspace(0, hi, 31)
    a, _ = np.histogram(d_tr, edges)
    b, _ = np.histogram(d_ho, edges)
    return [
        {
            "distance": round(float((edges[i] + edges[i + 1]) / 2), 6),
            "synthetic_to_train": round(float(a[i] / max(1, len(d_tr))), 6),
            "synthetic_to_holdout": round(float(b[i] / max(1, len(d_ho))), 6),
        }
        for i in range(30)
    ]


def write_plots(out_dir: Path, plots: dict[str, Any]) -> None:
    import csv
    import io
    import shutil

    from sdops_dvc.fsutil import write_text_atomic

    def to_csv(rows: list[dict[str, Any]]) -> str:
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        return buf.getvalue()

    marg = out_dir / "plots" / "marginals"
    if marg.exists():
        shutil.rmtree(marg)  # columns may have been removed since the last run
    for col, rows in plots["marginals"].items():
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in col)
        write_text_atomic(marg / f"{safe}.csv", to_csv(rows))
    write_text_atomic(out_dir / "plots" / "dcr.csv", to_csv(plots["dcr"]))
    write_text_atomic(
        out_dir / "plots" / "subgroups.csv",
        to_csv(
            plots["subgroups"]
            or [
                {
                    "group": "",
                    "real_share": "",
                    "synthetic_share": "",
                    "column_shapes": "",
                    "tstr": "",
                }
            ][:0]
        )
        or "group,real_share,synthetic_share,column_shapes,tstr\n",
    )


def run_evaluate(
    params: Params | None,
    root: Path,
    train_path: Path,
    holdout_path: Path,
    synthetic_path: Path,
    out_dir: Path,
    *,
    target: str | None = None,
    progress: bool = False,
) -> EvaluateResult:
    import warnings

    train = read_table(train_path, what="train table")
    holdout = read_table(holdout_path, what="holdout table")
    synthetic = read_table(synthetic_path, what="synthetic table")
    if params is not None:
        require_columns(train, params.named_columns(), "the train table")
    elif target is not None:
        require_columns(train, {"--target": [target]}, "the train table")
    metadata = _metadata_for(params, root, train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, details, plots, seconds = compute_metrics(
            train, holdout, synthetic, metadata, params, target=target, progress=progress
        )
    write_plots(out_dir, plots)
    write_json_atomic(out_dir / "details.json", details)
    path = out_dir / "metrics.json"
    write_json_atomic(path, metrics)
    return EvaluateResult(path, metrics, details, seconds)
