"""Fit an SDV single-table synthesizer and sample from it, reproducibly."""

from __future__ import annotations

import inspect
import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdops_dvc.errors import ConfigError, DataError
from sdops_dvc.seeding import deterministic, seed_synthesizer
from sdops_dvc.synthesizers import FAMILIES

if TYPE_CHECKING:  # types only: config imports the family registry at run time
    import pandas as pd

    from sdops_dvc.config import GeneratorCfg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    data: pd.DataFrame
    sdv_class: str
    parameters: dict[str, Any] = field(default_factory=dict)


def effective_parameters(cfg: GeneratorCfg, *, progress: bool) -> dict[str, Any]:
    """The keyword arguments actually passed: params plus reproducibility defaults."""
    spec = FAMILIES[cfg.family]
    kwargs = dict(cfg.parameters)
    if "enable_gpu" in spec.parameters:
        # GPU kernels are not bit-reproducible; opt in explicitly.
        kwargs.setdefault("enable_gpu", False)
    if "verbose" in spec.parameters and "verbose" not in cfg.parameters:
        kwargs["verbose"] = progress
    return kwargs


def synthesize(
    train: pd.DataFrame,
    metadata: dict[str, Any],
    cfg: GeneratorCfg,
    num_rows: int,
    *,
    progress: bool = False,
) -> FitResult:
    from sdv import cag, single_table as st
    from sdv.metadata import Metadata

    spec = FAMILIES[cfg.family]
    cls = getattr(st, spec.sdv_class)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "metadata"}
    unknown = sorted(set(cfg.parameters) - accepted)
    if unknown:
        raise ConfigError(
            f"generator.parameters: {cls.__name__} takes no parameter(s) {', '.join(unknown)}",
            hint=f"valid: {', '.join(sorted(accepted))}",
        )
    kwargs = effective_parameters(cfg, progress=progress)
    table = next(iter(metadata["tables"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = Metadata.load_from_dict(metadata)
        with deterministic(cfg.seed, cfg.torch_threads):
            synth = cls(meta, **kwargs)
            if cfg.constraints:
                objs = []
                for c in cfg.constraints:
                    try:
                        objs.append(getattr(cag, c.type)(**c.args, table_name=table))
                    except Exception as exc:  # SDV validates arguments itself
                        raise ConfigError(f"generator.constraints: {c.type}: {exc}") from None
                try:
                    synth.add_constraints(objs)
                except Exception as exc:
                    raise ConfigError(f"generator.constraints: {exc}") from None
            log.info("fitting %s on %d rows", cls.__name__, len(train))
            try:
                synth.fit({table: train})
            except Exception as exc:
                name = type(exc).__name__
                if name in {"ConstraintNotMetError", "InvalidDataError", "ConstraintsNotMetError"}:
                    # SDV's message lists offending rows: real data must not reach the logs
                    raise DataError(
                        "the train table violates the model's rules: "
                        + "; ".join(violations(train, cfg.constraints) or [name]),
                        hint="fix the constraints in params.yaml or the source (SDV's own "
                        "message is withheld: it prints real rows)",
                    ) from None
                raise
            seed_synthesizer(synth, cfg.seed)
            log.info("sampling %d rows", num_rows)
            out = synth.sample(num_rows=num_rows)
    if isinstance(out, dict):
        out = out[table]
    out = out[list(train.columns)].reset_index(drop=True)
    return FitResult(out, cls.__name__, kwargs)


def violations(train: pd.DataFrame, constraints: Any) -> list[str]:
    """Per constraint: the columns it names and how many train rows break it (counts only,
    never rows)."""
    from sdops_dvc.synthesizers import constraint_columns

    out = []
    for c in constraints:
        cols = [col for col in constraint_columns(c.type, c.args) if col in train.columns]
        bad: Any = None
        strict = bool(c.args.get("strict_boundaries", False))
        if c.type == "Inequality" and len(cols) == 2:
            lo, hi = train[cols[0]], train[cols[1]]
            bad = (lo >= hi) if strict else (lo > hi)
        elif c.type == "Range" and len(cols) == 3:
            lo, mid, hi = (train[x] for x in cols)
            bad = ((lo >= mid) | (mid >= hi)) if strict else ((lo > mid) | (mid > hi))
        count = f"{int(bad.sum())} of {len(train)} rows" if bad is not None else "some rows"
        out.append(f"{c.type} on {', '.join(cols)}: {count} break it")
    return out


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
