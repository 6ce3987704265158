"""``generate``: fit the configured synthesizer on the train split and sample."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

import logging

from sdops_dvc.config import Params
from sdops_dvc.fsutil import md5_file
from sdops_dvc.layout import DP_FIT, Layout
from sdops_dvc.metadata import check_against_table, read_metadata
from sdops_dvc.tables import read_table, require_columns, write_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateResult:
    output: Path
    rows: int
    sdv_class: str
    parameters: dict[str, Any]


BudgetCheck = Callable[[dict[str, Any]], list[str]]


def run_generate(
    params: Params,
    layout: Layout,
    train_path: Path,
    out: Path,
    *,
    budget_check: BudgetCheck | None,
    progress: bool = False,
    fit_path: Path | None = None,
) -> GenerateResult:
    """Fit and sample. ``budget_check(metadata)``: the problems a new DP measurement would
    cause against the privacy budget of every release so far (the registry knows them: the
    caller passes its check in); a DP measurement is drawn only when it finds none. None:
    no budget to respect (non-DP callers)."""
    from sdops_dvc.synthesizers import FAMILIES

    train = read_table(train_path, what="train split")
    require_columns(train, params.named_columns(), "the train split")
    meta_path = layout.path(params.source.metadata)
    metadata = read_metadata(meta_path)
    check_against_table(metadata, train, meta_path)
    fit_path = fit_path or layout.path(DP_FIT)
    if FAMILIES[params.generator.family].dp:
        return _generate_dp(params, train, train_path, metadata, out, fit_path, budget_check)
    _write_no_fit(fit_path, params.generator.family)
    from sdops_dvc.synthesizers.sdv_adapter import synthesize

    num_rows = params.generator.num_rows or len(train)
    result = synthesize(train, metadata, params.generator, num_rows, progress=progress)
    write_table(as_float32_decimals(result.data, params.generator.decimals), out)
    return GenerateResult(out, len(result.data), result.sdv_class, result.parameters)


def as_float32_decimals(data: Any, decimals: dict[str, int]) -> Any:
    """Each column of ``decimals`` rounded to them and stored as the real table stores it:
    the float32 image of the decimal (39.15 -> 39.150001525878906)."""
    import numpy as np

    if not decimals:
        return data
    out = data.copy()
    for col, k in decimals.items():
        if col in out.columns:
            v = np.round(out[col].to_numpy(dtype=float), k)
            out[col] = v.astype(np.float32).astype(float)
    return out


def _write_no_fit(fit_path: Path, family: str) -> None:
    """Non-DP families measure nothing; the stage's persistent output records that."""
    import numpy as np

    from sdops_dvc.synthesizers.dp_adapter import FIT_FORMAT, save_fit

    header = {"format": FIT_FORMAT, "family": family, "dp": False}
    if fit_path.exists():
        from sdops_dvc.synthesizers.dp_adapter import load_fit

        try:
            if load_fit(fit_path)[0] == header:
                return
        except Exception:  # an unreadable old file is simply replaced
            pass
    save_fit(fit_path, header, {"none": np.zeros(0)})


def _generate_dp(
    params: Params,
    train: pd.DataFrame,
    train_path: Path,
    metadata: dict[str, Any],
    out: Path,
    fit_path: Path,
    budget_check: BudgetCheck | None,
) -> GenerateResult:
    """Measure once (spends budget), then sample from the saved fit (free, seeded)."""
    from sdops_dvc.synthesizers import dp_adapter as dpa

    cfg = params.generator
    fit_id = dpa.fingerprint(md5_file(train_path), cfg)
    header: dict[str, Any] | None = None
    if fit_path.exists():
        try:
            header, arrays = dpa.load_fit(fit_path)
        except Exception:
            header = None
        if header is not None and header.get("fingerprint") != fit_id:
            header = None
    if header is None:
        from sdops_dvc.errors import BudgetExceeded

        if budget_check is None:
            raise BudgetExceeded(
                "no DP measurement was drawn: no budget check was given to the generate stage",
                hint="run it as `sdops generate` (it checks the privacy budget first)",
            )
        problems = budget_check(metadata)
        if problems:
            raise BudgetExceeded(
                "no DP measurement was drawn: " + "; ".join(problems),
                hint="lower generator.privacy.epsilon, or raise budget.epsilon in its own "
                "reviewed change",
            )
        new_header, new_arrays = dpa.measure(train, metadata, cfg, fit_id)
        dpa.save_fit(fit_path, new_header, new_arrays)
        log.info("new DP measurement saved to %s (this spends budget when released)", fit_path)
    else:
        log.info("reusing the DP measurement in %s (no new spend)", fit_path)
    # always sample from the file, so a fresh fit and a reused one give the same bytes
    header, arrays = dpa.load_fit(fit_path)
    data = dpa.sample(
        header,
        arrays,
        cfg.num_rows,
        cfg.seed,
        list(train.columns),
        dict(train.dtypes),
    )
    write_table(data, out)
    return GenerateResult(out, len(data), header["algorithm"], dict(cfg.parameters))
