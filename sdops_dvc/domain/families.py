"""Generator families: an explicit registry, no discovery.

The parameter tables are static so that ``params.yaml`` is validated without importing
SDV (which takes seconds). ``tests/unit/test_synthesizers.py`` checks them against the
installed SDV's signatures, and ``generate`` checks again against the real class.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FamilySpec:
    name: str
    sdv_class: str
    parameters: frozenset[str]
    neural: bool
    dp: bool = False  # differentially private (OpenDP); needs generator.privacy
    multi_table: bool = False  # fits related tables (source.tables), and only those
    # also fits related tables: the entity table, every other table declared public
    # (generator.public_tables) and released as it is
    entity_only: bool = False
    # runs in an isolated runtime of that name (synthesizers/runtime.py): its dependencies
    # cannot join sdops' environment
    runtime: str | None = None

    @property
    def fits_tables(self) -> bool:
        return self.multi_table or self.entity_only


_COMMON = {"enforce_min_max_values", "enforce_rounding"}
_GAN = {
    "embedding_dim",
    "generator_dim",
    "discriminator_dim",
    "generator_lr",
    "generator_decay",
    "discriminator_lr",
    "discriminator_decay",
    "batch_size",
    "discriminator_steps",
    "log_frequency",
    "verbose",
    "epochs",
    "pac",
    "enable_gpu",
}
_COPULA = {"numerical_distributions", "default_distribution"}

FAMILIES: dict[str, FamilySpec] = {
    "gaussian_copula": FamilySpec(
        "gaussian_copula",
        "GaussianCopulaSynthesizer",
        frozenset(_COMMON | {"locales"} | _COPULA),
        neural=False,
    ),
    "ctgan": FamilySpec(
        "ctgan", "CTGANSynthesizer", frozenset(_COMMON | {"locales"} | _GAN), neural=True
    ),
    "tvae": FamilySpec(
        "tvae",
        "TVAESynthesizer",
        frozenset(
            _COMMON
            | {
                "embedding_dim",
                "compress_dims",
                "decompress_dims",
                "l2scale",
                "batch_size",
                "verbose",
                "epochs",
                "loss_factor",
                "enable_gpu",
            }
        ),
        neural=True,
    ),
    "copula_gan": FamilySpec(
        "copula_gan",
        "CopulaGANSynthesizer",
        frozenset(_COMMON | {"locales"} | _GAN | _COPULA),
        neural=True,
    ),
    # OpenDP's opendp.extras.mbi algorithms (the class name sits where SDV's would)
    "aim": FamilySpec(
        "aim",
        "AIM",
        frozenset({"queries", "measure_split", "max_size", "rounds", "oneway", "oneway_split"}),
        neural=False,
        dp=True,
    ),
    "mst": FamilySpec(
        "mst",
        "MST",
        frozenset({"measure_split", "num_selections", "oneway", "oneway_split"}),
        neural=False,
        dp=True,
    ),
    # sequential CART synthesis (synthpop's method) on scikit-learn trees: ours, not SDV's
    "cart": FamilySpec(
        "cart", "CartSynthesizer", frozenset({"min_samples_leaf"}), neural=False, entity_only=True
    ),
    # MOSTLY AI's TabularARGN (mostlyai-engine, Apache-2.0), from a virtualenv of its own
    "tabular_argn": FamilySpec(
        "tabular_argn",
        "TabularARGN",
        frozenset(
            {
                "model",
                "max_epochs",
                "batch_size",
                "value_protection",
                "sampling_temperature",
                "column_order",
                "numeric_encoding",
            }
        ),
        neural=True,
        runtime="tabular_argn",
    ),
    # related tables (issue 15): sdv.multi_table.HMASynthesizer
    "hma": FamilySpec(
        "hma", "HMASynthesizer", frozenset({"locales", "verbose"}), neural=False, multi_table=True
    ),
}
DP_FAMILIES = tuple(name for name, spec in FAMILIES.items() if spec.dp)

# sdv.cag constraint classes and their keyword arguments (``table_name`` is set by us).
CONSTRAINTS: dict[str, dict[str, bool]] = {
    # name -> {argument: required}
    "Inequality": {"low_column_name": True, "high_column_name": True, "strict_boundaries": False},
    "Range": {
        "low_column_name": True,
        "middle_column_name": True,
        "high_column_name": True,
        "strict_boundaries": False,
    },
    "FixedCombinations": {"column_names": True},
    "FixedIncrements": {"column_name": True, "increment_value": True},
    "OneHotEncoding": {"column_names": True, "learning_strategy": False},
}


def constraint_columns(kind: str, args: dict[str, object]) -> list[str]:
    """The table columns a constraint declaration names."""
    cols: list[str] = []
    for key, value in args.items():
        if key.endswith("column_name") and isinstance(value, str):
            cols.append(value)
        elif key == "column_names" and isinstance(value, list):
            cols.extend(str(v) for v in value)
    return cols


# -- values of generator.parameters, checked before any library sees them -------------------

MAX_EPOCHS = 10_000  # ceiling unless generator.allow_large_runs (a neural fit runs for hours)
# sdv.single_table.copulas.GaussianCopulaSynthesizer._DISTRIBUTIONS (SDV 2.0; tested)
DISTRIBUTIONS = ("norm", "beta", "truncnorm", "gamma", "uniform", "gaussian_kde")
ONEWAY = ("all", "unkeyed")  # opendp.extras.mbi oneway options
ARGN_MODELS = ("MOSTLY_AI/Small", "MOSTLY_AI/Medium", "MOSTLY_AI/Large")
ARGN_NUMERIC = ("digits", "auto")  # non-integer numeric columns: digit by digit, or engine's


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v  # not NaN


def _positive_int(name: str, v: object, ceiling: int | None = None) -> str | None:
    if not _is_int(v) or int(v) < 1:  # type: ignore[call-overload]
        return f"{name} must be a positive integer, not {v!r}"
    if ceiling is not None and int(v) > ceiling:  # type: ignore[call-overload]
        return (
            f"{name} {v} is above the ceiling {ceiling:,}; set generator.allow_large_runs: true "
            "to lift it"
        )
    return None


def _dims(name: str, v: object) -> str | None:
    if not isinstance(v, (list, tuple)) or not v or not all(_is_int(x) and x > 0 for x in v):
        return f"{name} must be a list of positive integers (layer sizes), not {v!r}"
    return None


def _fraction(name: str, v: object, *, open_low: bool = True) -> str | None:
    if not _is_num(v) or not (0 < float(v) < 1 if open_low else 0 <= float(v) < 1):  # type: ignore[arg-type]
        return f"{name} must be a number strictly between 0 and 1, not {v!r}"
    return None


def _nonneg(name: str, v: object, *, strict: bool = False) -> str | None:
    if not _is_num(v) or float(v) < 0 or (strict and float(v) == 0):  # type: ignore[arg-type]
        return f"{name} must be a {'positive' if strict else 'non-negative'} number, not {v!r}"
    return None


def _flag(name: str, v: object) -> str | None:
    return None if isinstance(v, bool) else f"{name} must be true or false, not {v!r}"


def _distribution(name: str, v: object) -> str | None:
    if v not in DISTRIBUTIONS:
        return f"{name}: {v!r} is not one of SDV's distributions ({', '.join(DISTRIBUTIONS)})"
    return None


_DP_COUNTS = ("rounds", "num_selections", "queries")
_ARGN_KEYS = frozenset(
    {"max_epochs", "sampling_temperature", "value_protection", "model"}
    | {"numeric_encoding", "column_order"}
)


def _argn_problem(name: str, key: str, v: object, ceiling: int | None) -> str | None:
    """tabular_argn's own parameters (synthesizers/argn.py)."""
    if key == "max_epochs":
        return _positive_int(name, v, ceiling)
    if key == "sampling_temperature":
        return _nonneg(name, v, strict=True)
    if key == "value_protection":
        return _flag(name, v)
    if key == "model" and v not in ARGN_MODELS:
        return f"{name} must be one of {', '.join(ARGN_MODELS)}, not {v!r}"
    if key == "numeric_encoding" and v not in ARGN_NUMERIC:
        return f"{name} must be one of {', '.join(ARGN_NUMERIC)}, not {v!r}"
    if key == "column_order" and not (
        v == "table" or (isinstance(v, list) and v and all(isinstance(x, str) for x in v))
    ):
        return f"{name} must be 'table' or a list of column names, not {v!r}"
    return None


def check_parameters(family: str, params: dict[str, object], allow_large: bool) -> list[str]:
    """Every problem with the values of ``generator.parameters`` (an empty list: fine).

    Unknown names are reported by the caller; this checks types and ranges the way the
    libraries would fail on them later (CTGAN's ``assert batch_size % pac == 0``, SDV's list
    of distributions), so a bad value is a clear ConfigError at load, never exit 70."""
    problems: list[str | None] = []
    ceiling = None if allow_large else MAX_EPOCHS
    for key, v in params.items():
        name = f"parameters.{key}"
        if key == "epochs":
            problems.append(_positive_int(name, v, ceiling))
        elif key in ("batch_size", "pac", "embedding_dim", "discriminator_steps"):
            problems.append(_positive_int(name, v))
        elif key in ("generator_dim", "discriminator_dim", "compress_dims", "decompress_dims"):
            problems.append(_dims(name, v))
        elif key in ("generator_lr", "discriminator_lr", "loss_factor"):
            problems.append(_nonneg(name, v, strict=True))
        elif key in ("generator_decay", "discriminator_decay", "l2scale"):
            problems.append(_nonneg(name, v))
        elif (
            key in ("enforce_min_max_values", "enforce_rounding", "log_frequency", "verbose")
            or key == "enable_gpu"
        ):
            problems.append(_flag(name, v))
        elif key == "locales":
            ok = isinstance(v, str) or (
                isinstance(v, list) and v and all(isinstance(x, str) for x in v)
            )
            problems.append(None if ok else f"{name} must be a locale or a list of locales")
        elif key == "default_distribution":
            problems.append(_distribution(name, v))
        elif key == "numerical_distributions":
            if not isinstance(v, dict):
                problems.append(f"{name} must map column names to distributions")
            else:
                problems += [_distribution(f"{name}.{col}", d) for col, d in v.items()]
        elif key in ("measure_split", "oneway_split"):
            problems.append(_fraction(name, v))
        elif (key == "min_samples_leaf" and v != "auto") or key in _DP_COUNTS:
            problems.append(_positive_int(name, v))
        elif key == "max_size":
            problems.append(_nonneg(name, v, strict=True))
        elif key in _ARGN_KEYS:
            problems.append(_argn_problem(name, key, v, ceiling))
        elif key == "oneway" and v not in ONEWAY:
            problems.append(f"{name} must be one of {', '.join(ONEWAY)}, not {v!r}")
    batch, pac = params.get("batch_size", 500), params.get("pac", 10)
    if isinstance(batch, int) and isinstance(pac, int) and batch > 0 and pac > 0:
        if family in ("ctgan", "copula_gan") and (batch % 2 or batch % pac):
            problems.append(
                f"parameters.batch_size {batch} must be even and a multiple of pac ({pac}), "
                "as CTGAN requires"
            )
        if family == "tvae" and batch % 2:
            problems.append(f"parameters.batch_size {batch} must be even for tvae")
    return [p for p in problems if p]
