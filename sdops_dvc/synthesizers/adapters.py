"""Generator families behind one Protocol.

The generate stage, the manifest and the privacy-budget ledger ask a family's
:class:`Generator` what to do rather than branching on whether it is differentially
private: it fits and samples (writing its measurement file, which DVC persists), says what
a fit spent of the privacy budget (:class:`Measurement`, None for no formal guarantee), and
what the manifest says of its privacy mechanism.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sdops_dvc.base.errors import BudgetExceeded, ConfigError, DataError
from sdops_dvc.domain.families import FAMILIES, FamilySpec
from sdops_dvc.domain.metadata import column_sdtypes, pii_columns
from sdops_dvc.domain.relationships import null_orphan_keys, tables_below

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.config import GeneratorCfg
    from sdops_dvc.domain.tableset import TableSet
    from sdops_dvc.synthesizers.conditions import GroupPlan

log = logging.getLogger(__name__)

# the problems a new DP measurement would cause against the privacy budget (the registry
# knows them; the CLI passes its check in): an empty list lets the measurement be drawn
BudgetCheck = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Generated:
    data: pd.DataFrame  # the entity table's rows (a single table's own)
    sdv_class: str  # the class or algorithm that made the rows
    parameters: dict[str, Any] = field(default_factory=dict)
    # rebalanced generation: the unconditioned sample from the same fit (the model, which
    # the gates judge); ``data`` is then the rows drawn group by group (what is released)
    unconditioned: pd.DataFrame | None = None
    # the set's other tables: generated with it (hma) or passed through (cart's public
    # reference tables); none for a set of one
    others: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def model_sample(self) -> pd.DataFrame:
        return self.data if self.unconditioned is None else self.unconditioned

    def tables_of(self, train: TableSet) -> dict[str, pd.DataFrame]:
        """Every table of ``train``'s set as generated, in the set's order: the entity's
        rows, the others as the family made them or passed them through."""
        return {n: self.data if n == train.entity else self.others[n] for n in train.names}


@dataclass(frozen=True)
class Measurement:
    """What one fit spent of the privacy budget (zCDP rho and the key-discovery delta)."""

    mechanism: str
    rho: float
    delta0: float
    epsilon: float | None
    delta: float | None
    measurement_id: str | None
    header: dict[str, Any]  # the measurement file's header, as written


class Generator(Protocol):
    spec: FamilySpec
    measures: bool  # its fit file is a privacy measurement (recorded in the manifest)

    def generate(
        self,
        train: TableSet,
        train_md5: str,
        metadata: dict[str, Any],
        cfg: GeneratorCfg,
        fit_path: Path,
        *,
        budget_check: BudgetCheck | None,
        progress: bool,
        discrete: tuple[str, ...] = (),
        groups: tuple[GroupPlan, ...] = (),
    ) -> Generated:
        """Fit on the table set ``train`` and sample its entity table (and, for a family that
        models related tables, every table). A single-table family is given a set of one
        (config refuses it related tables). ``discrete``: numeric columns whose values the
        stage has already put on their disclosure-controlled support
        (:mod:`sdops_dvc.synthesizers.columns`), to be generated as those values only.
        ``groups``: rebalanced generation (:mod:`sdops_dvc.synthesizers.conditions`), for
        the families that condition (config.CONDITIONAL_FAMILIES; config refuses others)."""
        ...

    def measurement(self, fit_path: Path) -> Measurement | None:
        """The fit's spend; None for a family without formal guarantee."""
        ...

    def privacy(self, fit_path: Path) -> dict[str, Any]:
        """The manifest's account of the privacy mechanism (before scope and lineage)."""
        ...


class SdvGenerator:
    """SDV's single-table synthesizers: no formal privacy guarantee."""

    measures = False
    # what the manifest says of a family without formal guarantee (None: the class's name)
    privacy_note: str | None = None

    def __init__(self, spec: FamilySpec) -> None:
        self.spec = spec

    def generate(
        self,
        train: TableSet,
        train_md5: str,
        metadata: dict[str, Any],
        cfg: GeneratorCfg,
        fit_path: Path,
        *,
        budget_check: BudgetCheck | None,
        progress: bool,
        discrete: tuple[str, ...] = (),
        groups: tuple[GroupPlan, ...] = (),
    ) -> Generated:
        from sdops_dvc.synthesizers.sdv_adapter import as_float32_decimals, synthesize

        write_no_fit(fit_path, cfg.family)
        result = synthesize(
            train.rows,
            metadata,
            cfg,
            cfg.num_rows or len(train.rows),
            progress=progress,
            discrete=discrete,
            groups=groups,
        )
        data = as_float32_decimals(result.data, cfg.decimals)
        if result.conditioned is None:
            return Generated(data, result.sdv_class, result.parameters)
        released = as_float32_decimals(result.conditioned, cfg.decimals)
        return Generated(released, result.sdv_class, result.parameters, unconditioned=data)

    def measurement(self, fit_path: Path) -> Measurement | None:
        return None

    def privacy(self, fit_path: Path) -> dict[str, Any]:
        note = self.privacy_note or (
            f"{self.spec.sdv_class} gives no formal (differential) privacy guarantee"
        )
        return {"mechanism": "none", "formal_guarantee": False, "note": note}


class CartGenerator(SdvGenerator):
    """Sequential CART synthesis (:mod:`sdops_dvc.synthesizers.cart`): no formal privacy
    guarantee, as SDV's; leaves of at least ``min_samples_leaf`` records and smoothed
    continuous values keep it from copying rows, and the privacy gate judges what it makes."""

    privacy_note = (
        "sequential CART synthesis gives no formal (differential) privacy guarantee; "
        "leaves hold at least min_samples_leaf records and continuous values are "
        "smoothed within them"
    )

    def generate(
        self,
        train: TableSet,
        train_md5: str,
        metadata: dict[str, Any],
        cfg: GeneratorCfg,
        fit_path: Path,
        *,
        budget_check: BudgetCheck | None,
        progress: bool,
        discrete: tuple[str, ...] = (),
        groups: tuple[GroupPlan, ...] = (),
    ) -> Generated:
        from sdops_dvc.synthesizers.cart import fit_cart
        from sdops_dvc.synthesizers.sdv_adapter import as_float32_decimals, effective_parameters

        order = list(train.rows.columns)
        rows, metadata = _entity_rows(train, metadata, cfg)
        others = {t: df for t, df in train.tables.items() if t != train.entity}
        pii = pii_columns(metadata)
        if pii:
            raise ConfigError(
                f"family cart draws every value from real records, and {', '.join(pii)} "
                "are identifiers or PII in metadata.json",
                hint="drop those columns from the source, or use an SDV family (it replaces "
                "them with fake values)",
            )
        parameters = effective_parameters(cfg, progress=False)
        numeric = {c for c, t in column_sdtypes(metadata).items() if t == "numerical"}
        leaf, selection = _cart_leaf(rows, numeric, discrete, parameters, cfg.seed)
        write_no_fit(fit_path, cfg.family, selection=selection)
        log.info("fitting sequential CART on %d rows, leaves of %d", len(rows), leaf)
        model = fit_cart(
            rows,
            numeric,
            set(discrete),
            min_samples_leaf=int(leaf),
            seed=cfg.seed,
            progress=progress,
        )
        cols = list(rows.columns)
        data = model.sample(cfg.num_rows or len(rows), cfg.seed)
        data = as_float32_decimals(data[cols], cfg.decimals)
        if not groups:
            return Generated(data[order], self.spec.sdv_class, parameters, others=others)
        from sdops_dvc.synthesizers.conditions import reject_sample

        drawn = reject_sample(lambda n, s: model.sample(n, s)[cols], list(groups), cfg.seed)
        released = as_float32_decimals(drawn, cfg.decimals)
        return Generated(released[order], self.spec.sdv_class, parameters, data[order], others)


class ArgnGenerator(SdvGenerator):
    """MOSTLY AI's TabularARGN in its isolated runtime (:mod:`sdops_dvc.synthesizers.argn`):
    no formal privacy guarantee, as SDV's; the privacy gate judges what it makes."""

    privacy_note = (
        "TabularARGN gives no formal (differential) privacy guarantee; the engine's "
        "value protection keeps rare categories and extreme values out of the model"
    )

    def generate(
        self,
        train: TableSet,
        train_md5: str,
        metadata: dict[str, Any],
        cfg: GeneratorCfg,
        fit_path: Path,
        *,
        budget_check: BudgetCheck | None,
        progress: bool,
        discrete: tuple[str, ...] = (),
        groups: tuple[GroupPlan, ...] = (),
    ) -> Generated:
        from sdops_dvc.synthesizers.argn import fit_sample
        from sdops_dvc.synthesizers.sdv_adapter import as_float32_decimals

        data, params, record = fit_sample(
            train.rows,
            metadata,
            cfg,
            runtime_name=self.spec.runtime or cfg.family,
            discrete=discrete,
        )
        write_no_fit(fit_path, cfg.family, runtime=record)
        return Generated(as_float32_decimals(data, cfg.decimals), self.spec.sdv_class, params)


def write_no_fit(fit_path: Path, family: str, **record: dict[str, Any] | None) -> None:
    """Non-DP families measure nothing; the stage's persistent output records that (and
    what else the family records: cart's ``selection``, how its leaf size was chosen;
    tabular_argn's ``runtime``, the environment and encodings it ran with)."""
    import numpy as np

    from sdops_dvc.synthesizers.dp_adapter import FIT_FORMAT, load_fit, save_fit

    header: dict[str, Any] = {"format": FIT_FORMAT, "family": family, "dp": False}
    header.update({k: v for k, v in record.items() if v is not None})
    if fit_path.exists():
        try:
            if load_fit(fit_path)[0] == header:
                return
        except Exception:  # an unreadable old file is simply replaced
            pass
    save_fit(fit_path, header, {"none": np.zeros(0)})


class DpGenerator:
    """OpenDP's AIM and MST (Private-PGM over noisy marginals): measure once, which spends
    budget, then sample from the saved measurement, which is free and seeded."""

    measures = True

    def __init__(self, spec: FamilySpec) -> None:
        self.spec = spec

    def generate(
        self,
        train: TableSet,
        train_md5: str,
        metadata: dict[str, Any],
        cfg: GeneratorCfg,
        fit_path: Path,
        *,
        budget_check: BudgetCheck | None,
        progress: bool,
        discrete: tuple[str, ...] = (),
        groups: tuple[GroupPlan, ...] = (),
    ) -> Generated:
        from sdops_dvc.synthesizers import dp_adapter as dpa

        fit_id = dpa.fingerprint(train_md5, cfg)
        if self._reusable(fit_path, fit_id):
            log.info("reusing the DP measurement in %s (no new spend)", fit_path)
        else:
            _refuse_over_budget(metadata, budget_check)
            header, arrays = dpa.measure(train.rows, metadata, cfg, fit_id)
            dpa.save_fit(fit_path, header, arrays)
            log.info("new DP measurement saved to %s (this spends budget when released)", fit_path)
        # always sample from the file, so a fresh fit and a reused one give the same bytes
        header, arrays = dpa.load_fit(fit_path)
        rows = train.rows
        data = dpa.sample(
            header, arrays, cfg.num_rows, cfg.seed, list(rows.columns), dict(rows.dtypes)
        )
        return Generated(data, header["algorithm"], dict(cfg.parameters))

    @staticmethod
    def _reusable(fit_path: Path, fit_id: str) -> bool:
        """A saved measurement of this very train split and configuration."""
        from sdops_dvc.synthesizers import dp_adapter as dpa

        if not fit_path.exists():
            return False
        try:
            header, _ = dpa.load_fit(fit_path)
        except Exception:
            return False
        return bool(header.get("fingerprint") == fit_id)

    def measurement(self, fit_path: Path) -> Measurement:
        from sdops_dvc.synthesizers.dp_adapter import load_fit

        header, _ = load_fit(fit_path)
        sp = header.get("spend") or {}
        return Measurement(
            mechanism=self.spec.sdv_class,
            rho=float(sp["rho"]),
            delta0=float(sp.get("delta0", 0.0)),
            epsilon=sp.get("epsilon"),
            delta=sp.get("delta"),
            measurement_id=header.get("measurement_id"),
            header=header,
        )

    def privacy(self, fit_path: Path) -> dict[str, Any]:

        if not fit_path.exists():
            raise DataError(f"{fit_path} does not exist", hint="run `sdops generate` first")
        header = self.measurement(fit_path).header
        spend = header.get("spend") or {}
        k = int(header.get("contributions", 1))
        approx = float(spend.get("delta0", 0.0)) > 0
        return {
            "mechanism": f"{header['algorithm']} (Private-PGM over OpenDP marginals)",
            "formal_guarantee": True,
            "library": header["library"],
            "privacy_unit": f"one person, contributing at most {k} row(s) of the source",
            "neighbouring": (
                f"add/remove: datasets differing in at most {k} row(s) "
                "(symmetric distance, OpenDP unit_of(contributions))"
            ),
            "measure": "approximate zCDP" if approx else "zCDP",
            "native": {"rho": float(spend["rho"]), "delta": float(spend.get("delta0", 0.0))},
            "epsilon": float(spend["epsilon"]),
            "delta": float(spend["delta"]),
            "accountant": (
                "OpenDP compositor (adaptive composition in zCDP); (epsilon, delta) by the "
                "conversion of Canonne, Kamath and Steinke 2020 at delta minus the "
                "key-discovery delta"
            ),
            "preprocessing": {
                "key_discovery_columns": list(spend.get("discovery_columns", [])),
                "key_discovery_delta": float(spend.get("delta0", 0.0)),
                **{k2: float(v) for k2, v in (spend.get("split") or {}).items()},
                "bounds": "declared in params (generator.privacy.bounds), not read from the data",
            },
            "measurement_id": header["measurement_id"],
            "covers": (
                "the synthetic rows; the evaluation metrics in this manifest are computed on "
                "the real train and holdout splits without differential privacy"
            ),
        }


def _refuse_over_budget(metadata: dict[str, Any], budget_check: BudgetCheck | None) -> None:
    """A new measurement is drawn only when the budget check finds no problem."""

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


def _entity_rows(
    train: TableSet, metadata: dict[str, Any], cfg: GeneratorCfg
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The entity table of a set as one table to fit (a set of one: the table and its
    metadata as they are). For related tables, every other table must be declared public
    (generator.public_tables: released as it is) and none may sit below the entity; the
    foreign key into the smallest parent comes first, so it is drawn with the train split's
    own counts and each parent's number of children stays inside the real range; foreign
    keys are categories (the keys real rows hold, orphans included, at their own rate)."""

    rels = list(train.relationships)
    entity = train.entity
    below = tables_below(entity, rels)
    private = [t for t in train.names if t != entity and t not in cfg.public_tables]
    if below or private:
        raise ConfigError(
            f"family {cfg.family} generates the entity table {entity!r} only"
            + (f"; {', '.join(below)} sit below it" if below else "")
            + (f"; {', '.join(private)} are not declared public" if private else ""),
            hint="list reference tables under generator.public_tables (they are released as "
            "they are), or use family hma",
        )
    rows = train.rows
    keys = sorted((len(train.tables[r.parent]), r.child_key) for r in rels if r.child == entity)
    first = [keys[0][1]] if keys else []
    return rows[first + [c for c in rows.columns if c not in first]], _entity_metadata(
        metadata, entity, rels
    )


def _entity_metadata(metadata: dict[str, Any], entity: str, rels: list[Any]) -> dict[str, Any]:
    """The entity table as single-table metadata: its foreign keys are categories (the keys
    of public tables), its own primary key is refused (rows below it would need new keys).
    A set of one's metadata is that already."""
    import copy

    if not rels:
        return metadata
    table = copy.deepcopy(metadata["tables"][entity])
    if table.get("primary_key"):
        raise ConfigError(
            f"the entity table {entity!r} has a primary key ({table['primary_key']}); cart "
            "cannot mint keys for it",
            hint="use family hma",
        )
    for r in rels:
        if r.child == entity:
            table["columns"][r.child_key] = {"sdtype": "categorical"}
    return {"tables": {entity: table}}


class HmaGenerator(SdvGenerator):
    """SDV's HMASynthesizer (:mod:`sdops_dvc.synthesizers.multi_table`): models every table
    of a related set together; orphan foreign keys are made null for the fit (HMA refuses
    them; the manifest counts them). No formal privacy guarantee."""

    def generate(
        self,
        train: TableSet,
        train_md5: str,
        metadata: dict[str, Any],
        cfg: GeneratorCfg,
        fit_path: Path,
        *,
        budget_check: BudgetCheck | None,
        progress: bool,
        discrete: tuple[str, ...] = (),
        groups: tuple[GroupPlan, ...] = (),
    ) -> Generated:
        from sdops_dvc.synthesizers.multi_table import generate_tables

        fit_on, nulled = null_orphan_keys(train.tables, list(train.relationships))
        for label, n in nulled.items():
            if n:
                log.info("%s: %d orphan key(s) made null for the fit", label, n)
        scale = cfg.num_rows / len(train.rows) if cfg.num_rows else 1.0
        sampled = generate_tables(
            fit_on,
            metadata,
            cfg.seed,
            scale=scale,
            threads=cfg.torch_threads,
            parameters=cfg.parameters,
        )
        out = {n: sampled[n][list(df.columns)] for n, df in train.tables.items()}
        data = out.pop(train.entity)
        return Generated(data, self.spec.sdv_class, dict(cfg.parameters), others=out)


def _cart_leaf(
    rows: pd.DataFrame,
    numeric: set[str],
    discrete: tuple[str, ...],
    parameters: dict[str, Any],
    seed: int,
) -> tuple[int, dict[str, Any]]:
    """The leaf size: the configured one, or ``auto``'s choice on the train split with the
    record of how it was chosen (every trial)."""
    from sdops_dvc.synthesizers.cart import choose_leaf

    leaf = parameters["min_samples_leaf"]
    if leaf != "auto":
        return int(leaf), {}
    leaf, trials = choose_leaf(rows, numeric, set(discrete), seed=seed)
    return int(leaf), {
        "min_samples_leaf": leaf,
        "rule": "smallest leaf whose model, fitted on 80% of the train split, copies "
        "those rows no more often than the other 20% (holdout never read)",
        "trials": [t.as_json() for t in trials],
    }


def generator_for(family: str) -> Generator:
    """The adapter of a registered family."""
    spec = FAMILIES[family]
    if spec.runtime is not None:
        return ArgnGenerator(spec)
    if spec.dp:
        return DpGenerator(spec)
    if spec.multi_table:
        return HmaGenerator(spec)
    return CartGenerator(spec) if family == "cart" else SdvGenerator(spec)
