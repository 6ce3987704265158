"""Fit an SDV single-table synthesizer and sample from it, reproducibly."""

from __future__ import annotations

import inspect
import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, DataError
from sdops_dvc.base.seeding import deterministic, seed_synthesizer
from sdops_dvc.domain.families import FAMILIES, constraint_columns

if TYPE_CHECKING:  # types only: config imports the family registry at run time
    import pandas as pd

    from sdops_dvc.domain.config import GeneratorCfg
    from sdops_dvc.synthesizers.conditions import GroupPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    data: pd.DataFrame
    sdv_class: str
    parameters: dict[str, Any] = field(default_factory=dict)
    conditioned: pd.DataFrame | None = None  # rows drawn group by group after ``data``


def effective_parameters(cfg: GeneratorCfg, *, progress: bool) -> dict[str, Any]:
    """The keyword arguments actually passed: params plus reproducibility defaults."""
    spec = FAMILIES[cfg.family]
    if spec.runtime is not None:
        from sdops_dvc.synthesizers.argn import parameters

        return parameters(cfg)
    kwargs = dict(cfg.parameters)
    if "enable_gpu" in spec.parameters:
        # GPU kernels are not bit-reproducible; opt in explicitly.
        kwargs.setdefault("enable_gpu", False)
    if "verbose" in spec.parameters and "verbose" not in cfg.parameters:
        kwargs["verbose"] = progress
    if "min_samples_leaf" in spec.parameters:
        from sdops_dvc.synthesizers.cart import DEFAULT_MIN_LEAF

        kwargs.setdefault("min_samples_leaf", DEFAULT_MIN_LEAF)
    return kwargs


def synthesize(
    train: pd.DataFrame,
    metadata: dict[str, Any],
    cfg: GeneratorCfg,
    num_rows: int,
    *,
    progress: bool = False,
    discrete: tuple[str, ...] = (),
    groups: tuple[GroupPlan, ...] = (),
) -> FitResult:
    """Fit and sample (and, for ``groups``, sample each group after the unconditioned
    rows, from the same fit and random state: :mod:`sdops_dvc.synthesizers.conditions`). ``discrete``: numeric columns generated on their own values, in order
    (:mod:`sdops_dvc.synthesizers.columns`): categorical for SDV, and for the copula families
    encoded by their ordered quantiles (``OrderedUniformEncoder``), so the copula keeps their
    order and correlations while sampling only values the column holds."""
    from sdv import single_table as st
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
        meta = Metadata.load_from_dict(_discrete_metadata(metadata, discrete))
        with deterministic(cfg.seed, cfg.torch_threads):
            synth = cls(meta, **kwargs)
            _add_constraints(synth, cfg, table)
            log.info("fitting %s on %d rows", cls.__name__, len(train))
            _fit(synth, train, table, cfg, discrete)
            seed_synthesizer(synth, cfg.seed)
            log.info("sampling %d rows", num_rows)
            out = synth.sample(num_rows=num_rows)
            conditioned = None
            if groups:
                from sdops_dvc.synthesizers.conditions import sample_groups

                log.info("sampling %d group(s) to their targets", len(groups))
                conditioned = sample_groups(synth, list(groups), table, cfg.seed, progress=progress)
                conditioned = conditioned[list(train.columns)]
    if isinstance(out, dict):
        out = out[table]
    out = out[list(train.columns)].reset_index(drop=True)
    return FitResult(out, cls.__name__, kwargs, conditioned)


def _add_constraints(synth: Any, cfg: GeneratorCfg, table: str) -> None:
    """generator.constraints as SDV's CAG objects (SDV validates their arguments)."""
    from sdv import cag

    if not cfg.constraints:
        return
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


def _fit(
    synth: Any, train: pd.DataFrame, table: str, cfg: GeneratorCfg, discrete: tuple[str, ...]
) -> None:
    """The fit, with the discrete columns' ordered encoders; a train table that breaks the
    model's rules is a DataError naming the rules, never SDV's message (it prints rows)."""
    try:
        _ordered_encoders(synth, {table: train}, discrete, FAMILIES[cfg.family].name)
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


def _discrete_metadata(metadata: dict[str, Any], discrete: tuple[str, ...]) -> dict[str, Any]:
    """The metadata the synthesizer is fitted with: discrete columns categorical (the
    committed metadata.json keeps them numerical, as the evaluation reads them)."""
    if not discrete:
        return metadata
    import copy

    out = copy.deepcopy(metadata)
    cols = next(iter(out["tables"].values()))["columns"]
    for name in discrete:
        cols[name] = {"sdtype": "categorical"}
    return out


COPULA_FAMILIES = ("gaussian_copula", "copula_gan")


def _ordered_encoders(
    synth: Any, data: dict[str, Any], discrete: tuple[str, ...], family: str
) -> None:
    """Discrete columns of the copula families encoded in their numeric order: SDV's default
    (UniformEncoder) orders categories by first appearance, which scrambles a count's order
    and with it every correlation the copula learns."""
    if not discrete or family not in COPULA_FAMILIES:
        return
    from rdt.transformers import OrderedUniformEncoder

    synth.auto_assign_transformers(data)
    synth.update_transformers({name: OrderedUniformEncoder() for name in discrete})


def violations(train: pd.DataFrame, constraints: Any) -> list[str]:
    """Per constraint: the columns it names and how many train rows break it (counts only,
    never rows)."""

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
