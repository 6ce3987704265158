"""Generator families: an explicit registry, no discovery.

The parameter tables are static so that ``params.yaml`` is validated without importing
SDV (which takes seconds). ``tests/test_synthesizers.py`` checks them against the
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
