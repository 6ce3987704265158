"""``tabular_argn``: MOSTLY AI's TabularARGN (``mostlyai-engine``, Apache-2.0) from an
isolated runtime.

mostlyai-engine needs numpy >= 2 and a transformers stack this environment cannot hold
(README, "Generators"), so the fit runs in a virtualenv of its own
(:mod:`sdops_dvc.synthesizers.runtime`), built on first use from a shipped lock; the job
(:mod:`sdops_dvc.synthesizers.argn_job`) gets the train rows as parquet and returns the
sample as parquet.

What it is told, and why:
- the columns in a fixed order (``column_order``: the table's own by default, or a list),
  with flexible generation off: an autoregressive model generates them in that order, and
  the order changes what it learns (README);
- an encoding for every column: numeric columns holding non-integer values digit by digit
  (``numeric_encoding: digits``, the default; the engine's own choice bins them, and its
  bins gave detection AUC 0.93-0.95 on credit_card), the columns the stage put on their
  disclosure-controlled support (``generator.discrete``) as those values only, datetimes
  as datetimes, the rest as the engine picks;
- the seed and the torch thread count (``generator.torch_threads``): with both fixed the
  bytes repeat across processes; a wall-clock cap is never the stopping rule (the engine's
  ``max_training_time`` is left at its ten days, ``max_epochs`` and its early stopping on its
  own validation split end the fit), so a busy machine gives the same model;
- ``value_protection`` (on by default): the engine's own disclosure control, rare categories
  and extreme numeric values kept out of the model; rare categories are sampled from the
  others, never emitted as a placeholder.

No formal privacy guarantee, as SDV's families; the privacy gate judges what it makes.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.domain.metadata import column_sdtypes, pii_columns
from sdops_dvc.synthesizers import runtime
from sdops_dvc.synthesizers.columns import restore_dtype

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.config import GeneratorCfg

log = logging.getLogger(__name__)

JOB = Path(__file__).with_name("argn_job.py")
DEFAULTS: dict[str, Any] = {
    "model": "MOSTLY_AI/Large",
    "max_epochs": 100,
    "value_protection": True,
    "sampling_temperature": 1.0,
    "column_order": "table",
    "numeric_encoding": "digits",
}
MAX_TRAINING_MINUTES = 14400.0  # the engine's own default: never the rule that stops a fit


def parameters(cfg: GeneratorCfg) -> dict[str, Any]:
    """The parameters the fit runs with: params.yaml's over :data:`DEFAULTS`."""
    return {**DEFAULTS, **cfg.parameters}


def column_order(rows: pd.DataFrame, chosen: Any) -> list[str]:
    """The order the model generates the columns in."""
    cols = [str(c) for c in rows.columns]
    if chosen == "table":
        return cols
    order = [str(c) for c in chosen]
    missing, unknown = sorted(set(cols) - set(order)), sorted(set(order) - set(cols))
    if missing or unknown or len(order) != len(set(order)):
        raise ConfigError(
            "generator.parameters.column_order must name every column of the table once"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not in the table: {', '.join(unknown)}" if unknown else ""),
            hint="list each column once, or write column_order: table",
        )
    return order


def encodings(
    rows: pd.DataFrame, metadata: dict[str, Any], discrete: tuple[str, ...], numeric: str
) -> dict[str, str]:
    """The engine's encoding of each column (see the module's docstring)."""
    import pandas as pd

    sdtypes = column_sdtypes(metadata)
    out: dict[str, str] = {}
    for col in rows.columns:
        kind = sdtypes.get(str(col))
        values = rows[col].dropna()
        if col in discrete:
            out[str(col)] = "TABULAR_NUMERIC_DISCRETE"
        elif kind == "datetime":
            out[str(col)] = "TABULAR_DATETIME"
        elif (
            kind == "numerical"
            and numeric == "digits"
            and pd.api.types.is_numeric_dtype(values)
            and not (values % 1 == 0).all()
        ):
            out[str(col)] = "TABULAR_NUMERIC_DIGIT"
        elif kind == "numerical":
            out[str(col)] = "TABULAR_NUMERIC_AUTO"
        else:
            out[str(col)] = "TABULAR_CATEGORICAL"
    return out


def _refuse_pii(metadata: dict[str, Any]) -> None:
    pii = pii_columns(metadata)
    if pii:
        raise ConfigError(
            f"family tabular_argn learns every column's values from the real rows, and "
            f"{', '.join(pii)} are identifiers or PII in metadata.json",
            hint="drop those columns from the source, or use an SDV family (it replaces "
            "them with fake values)",
        )


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    """The engine's keyword arguments (never a wall-clock cap: see the module's docstring)."""
    settings = {
        "model": params["model"],
        "max_epochs": int(params["max_epochs"]),
        "max_training_time": MAX_TRAINING_MINUTES,
        "value_protection": bool(params["value_protection"]),
        "sampling_temperature": float(params["sampling_temperature"]),
    }
    if "batch_size" in params:
        settings["batch_size"] = int(params["batch_size"])
    return settings


def fit_sample(
    rows: pd.DataFrame,
    metadata: dict[str, Any],
    cfg: GeneratorCfg,
    *,
    runtime_name: str,
    discrete: tuple[str, ...],
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Fit on ``rows`` and sample in the runtime: (the sample with the train rows' columns
    and dtypes, the parameters it ran with, the runtime's record for the fit file). Each
    epoch's losses are logged as the fit goes (its progress)."""
    import pandas as pd

    _refuse_pii(metadata)
    params = parameters(cfg)
    order = column_order(rows, params["column_order"])
    enc = encodings(rows, metadata, discrete, str(params["numeric_encoding"]))
    settings = _settings(params)
    rt = runtime.ensure(runtime_name)
    log.info(
        "fitting TabularARGN (%s) on %d rows x %d columns in the %s runtime, %d torch thread(s)",
        settings["model"],
        len(rows),
        len(order),
        rt.name,
        cfg.torch_threads,
    )
    with tempfile.TemporaryDirectory(prefix="sdops-argn-") as tmp:
        paths = {name: str(Path(tmp) / name) for name in ("train.parquet", "sample.parquet")}
        info_path = Path(tmp) / "info.json"
        job: dict[str, Any] = {
            "train": paths["train.parquet"],
            "out": paths["sample.parquet"],
            "info": str(info_path),
            "workspace": str(Path(tmp) / "workspace"),
            "seed": cfg.seed,
            "threads": cfg.torch_threads,
            "rows": cfg.num_rows or len(rows),
            "columns": order,
            "encodings": enc,
            "settings": settings,
        }
        texts = _text_datetimes(rows, metadata)
        _as_datetimes(rows[order], texts).to_parquet(paths["train.parquet"], index=False)
        runtime.run_job(rt, JOB, job, threads=cfg.torch_threads, what="tabular_argn")
        sample = pd.read_parquet(paths["sample.parquet"])
        info = json.loads(info_path.read_text(encoding="utf-8"))
    record = rt.record()
    fit_record = {
        "name": rt.name,
        "lock_sha256": record["lock_sha256"],
        "python": record["python"],
        "packages": info["versions"],
        "column_order": order,
        "encodings": enc,
    }
    sample = _as_texts(sample[list(rows.columns)], texts)
    return as_train_dtypes(sample, rows), params, fit_record


def _text_datetimes(rows: pd.DataFrame, metadata: dict[str, Any]) -> dict[str, str | None]:
    """Datetime columns the table holds as text: column -> the metadata's format (None: the
    values' own ISO form)."""
    import pandas as pd

    out: dict[str, str | None] = {}
    for col, spec in next(iter(metadata["tables"].values()))["columns"].items():
        if (
            spec.get("sdtype") == "datetime"
            and col in rows.columns
            and not pd.api.types.is_datetime64_any_dtype(rows[col])
        ):
            out[col] = spec.get("datetime_format")
    return out


def _as_datetimes(rows: pd.DataFrame, texts: dict[str, str | None]) -> pd.DataFrame:
    """Text datetimes parsed with their format, as the evaluation reads them; zoned values
    in UTC wall time (the model learns one clock)."""
    import pandas as pd

    out = rows.copy()
    for col, fmt in texts.items():
        parsed = pd.to_datetime(rows[col], format=fmt, errors="coerce", utc=True)
        out[col] = parsed.dt.tz_localize(None)
    return out


def _as_texts(sample: pd.DataFrame, texts: dict[str, str | None]) -> pd.DataFrame:
    """The sample's datetimes written back as the table writes them (the metadata's
    format; a zoned format in UTC), so the evaluation parses them as it parses the real
    rows (a naive ISO rendering read as all missing under a zoned format)."""
    import pandas as pd

    out = sample.copy()
    for col, fmt in texts.items():
        when = pd.to_datetime(sample[col], errors="coerce")
        if fmt and ("%z" in fmt or "%Z" in fmt):
            when = when.dt.tz_localize("UTC")
        shown = when.dt.strftime(fmt) if fmt else when.map(lambda t: t.isoformat())
        out[col] = shown.astype(object).where(when.notna(), None)
    return out


def as_train_dtypes(sample: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """The sample with the train split's dtypes (it crossed a pandas 3 process): integer
    columns stay integers (nullable where the sample holds nulls), strings are objects."""
    return sample.assign(**{c: restore_dtype(sample[c], train[c].dtype) for c in train.columns})
