"""Differentially private generators: OpenDP's AIM and MST (``opendp.extras.mbi``).

Two steps, kept apart on purpose:

1. **measure** (:func:`measure`): OpenDP releases noisy marginals of the train split and fits
   a graphical model to them (Private-PGM). This is the only step that touches the data and
   the only one that spends privacy budget. OpenDP draws its noise from a cryptographically
   secure source that cannot be seeded, by design: a seed that sits in params.yaml would let
   anyone subtract the noise. The result (keys, bins, model potentials, spend) is saved as
   ``model/dp_fit.npz``, a DVC output that persists, so ``dvc repro`` reuses it instead of
   drawing (and spending) again while its inputs are unchanged.
2. **sample** (:func:`sample`): post-processing of the saved fit with ``generator.seed``;
   byte-identical for the same fit and seed, and free: post-processing spends nothing.

Every column is handed to OpenDP as a string category: numerical columns are cut into
``privacy.bins`` equal-width bins between *declared* public bounds (never bounds read from
the data), categorical columns use the declared ``privacy.categories`` as public keys, and
undeclared categories are discovered privately by OpenDP (which costs delta).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, DataError
from sdops_dvc.base.fsutil import atomic_path
from sdops_dvc.domain.budget import zcdp_epsilon, zcdp_rho_for
from sdops_dvc.synthesizers.columns import restore_dtype

if TYPE_CHECKING:  # types only: config imports the family registry at run time
    import pandas as pd

    from sdops_dvc.domain.config import DPCfg, GeneratorCfg

log = logging.getLogger(__name__)

FIT_FORMAT = "sdops-dp-fit/1"
NULL = None


def opendp_version() -> str:
    return importlib_metadata.version("opendp")


@dataclass(frozen=True)
class ColumnCode:
    name: str
    kind: str  # categorical | numerical | id
    keys: list[Any]  # categorical: public or discovered keys (strings); numerical: bin labels
    values: list[Any]  # categorical: the value each key decodes to
    edges: list[float]  # numerical: bin edges between the declared bounds
    integer: bool


@dataclass(frozen=True)
class Allocation:
    """Budget for one DP fit, in zCDP (native) and converted to (epsilon, delta)."""

    rho: float
    delta0: float  # approximate-zCDP delta for private key discovery (0: all keys public)
    epsilon: float
    delta: float
    discovery: list[str]  # columns whose categories OpenDP discovers privately

    def as_json(self) -> dict[str, Any]:
        return {
            "rho": self.rho,
            "delta0": self.delta0,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "discovery_columns": self.discovery,
        }


def columns_of(metadata: dict[str, Any]) -> dict[str, str]:
    table = next(iter(metadata["tables"].values()))
    return {c: str(spec.get("sdtype")) for c, spec in table["columns"].items()}


def allocate(cfg: DPCfg, sdtypes: dict[str, str]) -> Allocation:
    """Split the release's (epsilon, delta) or rho between key discovery and conversion."""
    discovery = [
        c for c, t in sdtypes.items() if t in ("categorical", "ordinal") and c not in cfg.categories
    ]
    delta0 = cfg.delta / 2 if discovery else 0.0
    conv = cfg.delta - delta0
    if cfg.rho is not None:
        rho = cfg.rho
        eps = zcdp_epsilon(rho, conv)
    else:
        assert cfg.epsilon is not None
        eps = cfg.epsilon
        rho = zcdp_rho_for(eps, conv)
    return Allocation(rho, delta0, eps, cfg.delta, discovery)


def plan_columns(train: pd.DataFrame, metadata: dict[str, Any], cfg: DPCfg) -> list[ColumnCode]:
    """How each column is coded for OpenDP; raises ConfigError for what DP cannot take."""

    sdtypes = columns_of(metadata)
    table = next(iter(metadata["tables"].values()))
    problems: list[str] = []
    codes: list[ColumnCode] = []
    for col in train.columns:
        sdtype = sdtypes.get(col, "categorical")
        spec = table["columns"].get(col, {})
        if sdtype == "id":
            codes.append(ColumnCode(col, "id", [], [], [], True))
        elif sdtype == "numerical":
            if col not in cfg.bounds:
                problems.append(
                    f"{col}: numerical, needs public bounds: generator.privacy.bounds.{col}: [low, high]"
                )
                continue
            codes.append(_numeric_code(train[col], spec, cfg))
        elif sdtype in ("categorical", "boolean", "ordinal"):
            codes.append(_category_code(train[col], sdtype, cfg, problems))
        else:
            problems.append(
                f"{col}: sdtype {sdtype!r} is not supported by the DP families "
                "(numerical, categorical, ordinal, boolean and id are); drop the column or recode it"
            )
    for col in list(cfg.bounds) + list(cfg.categories):
        if col not in train.columns:
            problems.append(f"generator.privacy names column {col!r}, which the table lacks")
    if problems:
        raise ConfigError(
            "the DP generator cannot take this table as configured:\n"
            + "\n".join(f"  - {p}" for p in problems),
            hint="declare bounds and categories from domain knowledge, not from the data "
            "(bounds read from the data leak it)",
        )
    return codes


def _numeric_code(column: pd.Series, spec: dict[str, Any], cfg: DPCfg) -> ColumnCode:
    """A numerical column as ``cfg.bins`` equal bins of its declared bounds; integer when
    its representation, dtype or whole-number bounds and values say so."""
    import numpy as np

    lo, hi = cfg.bounds[str(column.name)]
    edges = [float(x) for x in np.linspace(lo, hi, cfg.bins + 1)]
    rep = str(spec.get("computer_representation", ""))
    integer = (
        rep.startswith("Int")
        or bool(np.issubdtype(column.dtype, np.integer))
        or bool(float(lo).is_integer() and float(hi).is_integer() and _integral(column))
    )
    labels = [str(i) for i in range(cfg.bins)]
    return ColumnCode(str(column.name), "numerical", labels, labels, edges, integer)


def _category_code(column: pd.Series, sdtype: str, cfg: DPCfg, problems: list[str]) -> ColumnCode:
    """A categorical, boolean or ordinal column: its declared categories (an ordinal's order
    is the declared list's, public; booleans are False, True), or none, to be discovered
    privately. Declared categories of which none occur are a problem."""
    col = str(column.name)
    declared = cfg.categories.get(col)
    if declared is None and sdtype == "boolean":
        declared = [False, True]
    if declared is not None and col in cfg.categories:
        present = {_key(v) for v in column.dropna().unique()}
        if present and not present & {_key(v) for v in declared}:
            problems.append(
                f"{col}: none of the declared categories {declared} occur in the column "
                "(YAML reads unquoted yes/no/on/off as booleans: quote them)"
            )
    if declared is None:
        return ColumnCode(col, "categorical", [], [], [], False)
    return ColumnCode(col, "categorical", [_key(v) for v in declared], list(declared), [], False)


def _integral(s: pd.Series) -> bool:
    """Whether a float column holds whole numbers only (a schema fact, like its dtype)."""
    import numpy as np

    v = s.dropna().to_numpy(dtype=float)
    return bool(len(v)) and bool(np.all(np.floor(v) == v))


def _key(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _encode(train: pd.DataFrame, codes: list[ColumnCode]) -> dict[str, list[str | None]]:
    import numpy as np
    import pandas as pd

    out: dict[str, list[str | None]] = {}
    for c in codes:
        s = train[c.name]
        if c.kind == "numerical":
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            inner = np.asarray(c.edges[1:-1])
            idx = np.searchsorted(inner, x, side="right")  # values outside the bounds clip
            out[c.name] = [None if np.isnan(v) else str(i) for v, i in zip(x, idx, strict=True)]
        elif c.kind == "categorical":
            out[c.name] = [None if pd.isna(v) else _key(v) for v in s.tolist()]
    return out


def _algorithm(family: str, parameters: dict[str, Any]) -> Any:

    from opendp.extras import mbi as dp_mbi

    cls = dp_mbi.AIM if family == "aim" else dp_mbi.MST
    try:
        return cls(**parameters)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"generator.parameters for {family}: {exc}") from None


def fingerprint(train_md5: str, cfg: GeneratorCfg) -> str:
    """What a DP fit depends on: the train split and every privacy-relevant setting."""
    body = {
        "train": train_md5,
        "family": cfg.family,
        "parameters": cfg.parameters,
        "privacy": cfg.privacy.model_dump(mode="json") if cfg.privacy else None,
        "opendp": opendp_version(),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# Relative shrinks of rho tried in turn. At epsilon 1.0 on the HealthInsurance columns, 1e-12
# and 1e-10 were still refused and 1e-8 passed: each refused attempt costs a full measurement
# (~11 s there), so the steps are coarse. 1e-8 of the budget is left unspent, and recorded.
ROUNDING_RETRIES = (0.0, 1e-8, 1e-6)


def _opendp_reason(exc: Exception) -> str:
    """The innermost reason of an OpenDP error, without its nested tracebacks."""
    import re

    found: list[str] = re.findall(r'FailedFunction\("([^"]*)"\)', str(exc))
    if found:
        return found[-1]
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1][:300] if lines else type(exc).__name__


def measure(
    train: pd.DataFrame, metadata: dict[str, Any], cfg: GeneratorCfg, fit_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run OpenDP's AIM or MST on the train split: (header, model arrays)."""
    import numpy as np
    import opendp.prelude as dp
    import polars as pl

    assert cfg.privacy is not None
    if len(train) == 0:
        raise DataError("the train split is empty: nothing to measure")
    dp.enable_features("contrib")  # opendp.extras.mbi is in OpenDP's contrib tier
    codes = plan_columns(train, metadata, cfg.privacy)
    alloc = allocate(cfg.privacy, columns_of(metadata))
    measured = [c for c in codes if c.kind != "id"]
    if not measured:
        raise ConfigError("the DP generator needs at least one non-id column")
    lf = pl.LazyFrame(_encode(train, measured), schema={c.name: pl.String for c in measured})
    algorithm = _algorithm(cfg.family, cfg.parameters)
    log.info(
        "measuring %s (rho=%g, delta0=%g) on %d rows",
        cfg.family,
        alloc.rho,
        alloc.delta0,
        len(train),
    )
    table, alloc = _release_table(lf, measured, algorithm, alloc, cfg.privacy.contributions)
    model = table.model
    arrays: dict[str, Any] = {}
    cliques = []
    for i, cl in enumerate(model.potentials.cliques):
        arrays[f"clique{i}"] = np.asarray(model.potentials.arrays[cl].values)
        cliques.append(list(cl))
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(arrays[key].tobytes())
    header = {
        "format": FIT_FORMAT,
        "fingerprint": fit_id,
        # unique per draw of noise: two releases sampled from one measurement spend once
        "measurement_id": digest.hexdigest(),
        "family": cfg.family,
        "algorithm": type(algorithm).__name__,
        "library": f"opendp {opendp_version()} (opendp.extras.mbi, contrib)",
        "mbi": importlib_metadata.version("mbi"),
        "parameters": cfg.parameters,
        "columns": [c.__dict__ for c in _released_codes(codes, table)],
        "domain": {"attributes": list(model.domain.attributes), "shape": list(model.domain.shape)},
        "cliques": cliques,
        "total": float(model.total),
        "spend": {**alloc.as_json(), "split": _split(cfg.family, algorithm, alloc)},
        "contributions": cfg.privacy.contributions,
        "keep_missing": cfg.privacy.keep_missing,
    }
    return header, arrays


def _release_table(
    lf: Any, measured: list[ColumnCode], algorithm: Any, alloc: Allocation, contributions: int
) -> tuple[Any, Allocation]:
    """OpenDP's contingency table of the measured columns, released under ``alloc`` (and
    the allocation actually spent).

    OpenDP 0.16's MST/AIM split rho among their steps in floating point, and for some rho
    the parts add up to one ulp more than the whole ("insufficient budget for query:
    0.0011468723344361092 > 0.0011468723344361088" at epsilon 1.0). The check is on the
    privacy parameters only, not the data, and nothing of a refused run is released; a rho
    smaller by a relative 1e-8 avoids it. The manifest records the rho actually used."""
    import opendp.prelude as dp

    keys = {c.name: c.keys for c in measured if c.keys}
    for shrink in ROUNDING_RETRIES:
        rho = alloc.rho * (1.0 - shrink)
        query_loss: dict[str, float] = {"rho": rho}
        if alloc.delta0 > 0:
            query_loss["delta"] = alloc.delta0
        context = dp.Context.compositor(
            data=lf,
            privacy_unit=dp.unit_of(contributions=contributions),
            privacy_loss=dp.loss_of(**query_loss),
        )
        try:
            table = (
                context.query(**query_loss)
                .select(*[c.name for c in measured])
                .contingency_table(keys=keys, algorithm=algorithm)
                .release()
            )
        except dp.OpenDPException as exc:
            reason = _opendp_reason(exc)
            if "insufficient budget for query" in reason and shrink != ROUNDING_RETRIES[-1]:
                log.info("OpenDP's budget split rounded up (%s); retrying a hair below", reason)
                continue
            raise ConfigError(
                f"OpenDP refused the measurement: {reason}",
                hint="check generator.privacy and generator.parameters (README: Privacy budget)",
            ) from None
        if shrink:
            conv = alloc.delta - alloc.delta0
            alloc = Allocation(
                rho, alloc.delta0, zcdp_epsilon(rho, conv), alloc.delta, alloc.discovery
            )
        return table, alloc
    raise AssertionError("ROUNDING_RETRIES is empty")


def _released_codes(codes: list[ColumnCode], table: Any) -> list[ColumnCode]:
    """Each column's code with the keys OpenDP released (it appends a null key to every
    keyset; categories without public keys are the ones it discovered)."""
    final_codes = []
    for c in codes:
        if c.kind == "categorical" and not c.keys:
            found = [None if v is None else str(v) for v in table.keys[c.name].to_list()]
            final_codes.append(ColumnCode(c.name, c.kind, found, found, [], False))
        elif c.kind != "id":
            found = [None if v is None else str(v) for v in table.keys[c.name].to_list()]
            values = [None if k is None else c.values[c.keys.index(k)] for k in found]
            final_codes.append(ColumnCode(c.name, c.kind, found, values, c.edges, c.integer))
        else:
            final_codes.append(c)
    return final_codes


def _split(family: str, algorithm: Any, alloc: Allocation) -> dict[str, float]:
    """How OpenDP's contingency_table divides rho (its defaults, restated for the manifest)."""
    oneway_split = algorithm.oneway_split if algorithm.oneway_split is not None else 0.5
    oneway = alloc.rho * oneway_split
    multiway = alloc.rho - oneway
    return {
        "oneway_and_key_discovery_rho": oneway,
        "selection_rho": multiway * (1 - algorithm.measure_split),
        "measurement_rho": multiway * algorithm.measure_split,
    }


def save_fit(path: Path, header: dict[str, Any], arrays: dict[str, Any]) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, header=np.array(json.dumps(header, sort_keys=True)), **arrays)


def load_fit(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            arrays = {k: z[k] for k in z.files if k != "header"}
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{path} is not a readable DP fit ({exc})", hint="delete it and rerun"
        ) from None
    if header.get("format") != FIT_FORMAT:
        raise DataError(f"{path} has format {header.get('format')!r}, expected {FIT_FORMAT}")
    return header, arrays


def sample(
    header: dict[str, Any],
    arrays: dict[str, Any],
    num_rows: int | None,
    seed: int,
    columns: list[str],
    dtypes: dict[str, Any],
) -> pd.DataFrame:
    """Post-process a saved fit into rows: seeded, byte-identical for the same fit and seed."""
    import numpy as np
    import pandas as pd

    model, total = _model_of(header, arrays)
    rows = num_rows if num_rows is not None else max(1, round(total))
    np.random.seed(seed % 2**32)  # mbi samples with numpy's global generator
    idx = model.synthetic_data(rows).df
    rng = np.random.default_rng([seed, 1])
    data: dict[str, Any] = {}
    for spec in header["columns"]:
        name = spec["name"]
        if spec["kind"] == "id":
            data[name] = np.arange(rows)
            continue
        values = np.array(spec["values"], dtype=object)[idx[name].to_numpy()]
        data[name] = _numbers(spec, values, rng) if spec["kind"] == "numerical" else values
    if not header.get("keep_missing", False):
        _fill_missing(data, rng)
    perm = rng.permutation(rows)
    frame = pd.DataFrame({c: data[c] for c in columns}).iloc[perm].reset_index(drop=True)
    for c in columns:
        frame[c] = restore_dtype(frame[c], dtypes.get(c))
    return frame


def _model_of(header: dict[str, Any], arrays: dict[str, Any]) -> tuple[Any, float]:
    """The saved fit as mbi's Markov random field, and its total."""
    import jax.numpy as jnp
    from mbi import CliqueVector, Domain, Factor, MarkovRandomField, marginal_oracles

    dom = Domain(tuple(header["domain"]["attributes"]), tuple(header["domain"]["shape"]))
    cliques = [tuple(c) for c in header["cliques"]]
    factors = {
        cl: Factor(dom.project(cl), jnp.asarray(arrays[f"clique{i}"]))
        for i, cl in enumerate(cliques)
    }
    potentials = CliqueVector(dom, cliques, factors)
    total = float(header["total"])
    marginals = marginal_oracles.message_passing_stable(potentials, total)
    return MarkovRandomField(potentials=potentials, marginals=marginals, total=total), total


def _numbers(spec: dict[str, Any], values: Any, rng: Any) -> Any:
    """A numerical column's values drawn uniformly inside each sampled bin (whole numbers
    for an integer column); a missing bin stays missing."""
    import numpy as np

    edges = np.asarray(spec["edges"])
    x = np.full(len(values), np.nan)
    ok = np.array([v is not None for v in values], dtype=bool)
    b = np.array([int(v) for v in values[ok]], dtype=int)
    lo, hi = edges[b], edges[b + 1]
    if spec["integer"]:
        # the whole numbers inside [lo, hi), and hi itself in the top bin
        first = np.ceil(lo)
        stop = np.where(b == len(edges) - 2, np.floor(hi) + 1, np.ceil(hi))
        stop = np.maximum(stop, first + 1)
        x[ok] = np.floor(first + rng.uniform(0.0, 1.0, len(b)) * (stop - first))
        x[ok] = np.clip(x[ok], math.ceil(edges[0]), math.floor(edges[-1]))
    else:
        x[ok] = rng.uniform(lo, hi)
    return x


def _fill_missing(data: dict[str, Any], rng: Any) -> None:
    """Missing values (generator.privacy.keep_missing false) drawn from the column's
    sampled values, in column order."""
    import numpy as np
    import pandas as pd

    for name in list(data):
        col = np.asarray(data[name])
        values = col.astype(object)
        missing = pd.isna(values)
        if missing.any() and not missing.all():
            pool = values[~missing]
            values[missing] = pool[rng.integers(0, len(pool), int(missing.sum()))]
            data[name] = values if col.dtype == object else values.astype(col.dtype)
