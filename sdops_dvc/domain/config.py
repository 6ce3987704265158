"""Typed model of ``params.yaml``: load, validate, and explain what is wrong.

Every section forbids unknown keys, so a typo (``generator.sed``) is an error that names
the key and suggests the closest valid one, rather than a setting silently ignored.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sdops_dvc.base.errors import ConfigError
from sdops_dvc.domain.families import CONSTRAINTS, FAMILIES, check_parameters
from sdops_dvc.domain.metric_table import Threshold, thresholds_of

MAX_SEED = 2**32 - 1  # numpy's and torch's seeds are 32-bit here
MAX_TORCH_THREADS = 256
MAX_ROWS = 10_000_000  # generator.num_rows ceiling unless generator.allow_large_runs


def _number(v: Any) -> Any:
    """A float field takes numbers only: not ``true`` (YAML's boolean) and not a string."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"must be a number, not {type(v).__name__} {v!r}")
    if not math.isfinite(v):
        raise ValueError(f"must be a finite number, not {v}")
    return v


Int = Annotated[int, Strict()]  # refuses true/false and "100": an integer written as one
Num = Annotated[float, BeforeValidator(_number)]
Seed = Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]
Bool = Annotated[bool, Strict()]
PLACEHOLDER = "TODO"  # what `sdops init` writes where only a person can decide
# the families that sample a group on request (SDV's conditional sampling; cart by rejection)
CONDITIONAL_FAMILIES = ("gaussian_copula", "cart", "ctgan", "tvae", "copula_gan")

NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$")
ACCESS_CLASSES = ("public", "internal", "confidential", "restricted")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetCfg(_Model):
    name: str
    target: str | None = None
    task: Literal["auto", "classification", "regression"] = "auto"

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(
                "must be letters, digits, '-' or '_', starting and ending with a letter or "
                "digit (it becomes the git tag prefix NAME@vX.Y.Z)"
            )
        return v


def _md5_pin(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"[0-9a-f]{32}", v):
        raise ValueError("must be a 32-character lowercase hex md5 (run `sdops snapshot`)")
    return v


class TableSourceCfg(_Model):
    """One table of a relational source: its file in the source directory and its pin."""

    file: str
    md5: str | None = None

    _pin = field_validator("md5")(classmethod(lambda cls, v: _md5_pin(v)))

    @field_validator("file")
    @classmethod
    def _file(cls, v: str) -> str:
        if not v or "/" in v or "\\" in v or v.startswith("."):
            raise ValueError("must be a file name inside source.path (no directories)")
        return v


class SourceCfg(_Model):
    path: str  # the table; for related tables, the directory holding one file per table
    snapshot_id: str
    md5: str | None = None  # related tables: the digest of the tables' pins (sdops snapshot)
    metadata: str = "metadata.json"
    # related tables (SDV multi-table metadata in `metadata`): name -> file and pin
    tables: dict[str, TableSourceCfg] = Field(default_factory=dict)

    _pin = field_validator("md5")(classmethod(lambda cls, v: _md5_pin(v)))

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: dict[str, TableSourceCfg]) -> dict[str, TableSourceCfg]:
        bad = [name for name in v if not NAME_RE.match(name)]
        if bad:
            raise ValueError(f"table names must be letters, digits, '-' or '_': {bad}")
        if len(v) == 1:
            raise ValueError("a relational source has at least two tables (one: use source.path)")
        return v

    @property
    def multi_table(self) -> bool:
        return bool(self.tables)


class SplitCfg(_Model):
    ratio: Num = 0.8
    seed: Seed = 0
    # related tables: the table whose rows are the privacy unit (null: the single root table)
    entity: str | None = None

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: float) -> float:
        if not 0.0 < v < 1.0:
            raise ValueError("must be strictly between 0 and 1 (share of rows used for training)")
        return v


class ConstraintCfg(_Model):
    type: str
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> ConstraintCfg:
        spec = CONSTRAINTS.get(self.type)
        if spec is None:
            raise ValueError(
                f"unknown constraint type {self.type!r}{_suggest(self.type, CONSTRAINTS)}; "
                f"valid: {', '.join(CONSTRAINTS)}"
            )
        for key in self.args:
            if key not in spec:
                raise ValueError(
                    f"constraint {self.type} takes no argument {key!r}{_suggest(key, spec)}; "
                    f"valid: {', '.join(spec)}"
                )
        missing = [k for k, req in spec.items() if req and k not in self.args]
        if missing:
            raise ValueError(f"constraint {self.type} needs {', '.join(missing)}")
        return self


class DPCfg(_Model):
    """``generator.privacy``: the differential-privacy settings of a DP family (aim, mst)."""

    epsilon: Num | None = None  # target epsilon of this release at `delta` ...
    rho: Num | None = None  # ... or its native zCDP loss directly (exactly one of the two)
    delta: Num = 1e-6  # total delta of this release (half goes to private key discovery)
    contributions: Int = 1  # privacy unit: rows one person contributes at most
    bins: Int = 16  # equal-width bins between the declared bounds of a numerical column
    bounds: dict[str, tuple[Num, Num]] = Field(default_factory=dict)  # public, not from data
    categories: dict[str, list[Any]] = Field(default_factory=dict)  # public keys per column
    # false: a missing value the noise puts into the output is redrawn from the column's other
    # synthetic values (post-processing); true when the source's missing values matter
    keep_missing: Bool = False

    @field_validator("bounds", mode="before")
    @classmethod
    def _placeholders(cls, v: Any) -> Any:
        if isinstance(v, dict):
            todo = [str(c) for c, b in v.items() if b is None or b == PLACEHOLDER]
            if todo:
                raise ValueError(
                    f"the public bounds of {', '.join(todo)} are placeholders ({PLACEHOLDER}): "
                    "write [low, high] from public knowledge (never from the data itself)"
                )
        return v

    @model_validator(mode="after")
    def _valid(self) -> DPCfg:
        if (self.epsilon is None) == (self.rho is None):
            raise ValueError("set exactly one of epsilon (with delta) or rho (zCDP)")
        if self.epsilon is not None and self.epsilon <= 0:
            raise ValueError("epsilon must be positive")
        if self.rho is not None and self.rho <= 0:
            raise ValueError("rho must be positive")
        if not 0.0 < self.delta < 1e-2:
            raise ValueError("delta must be in (0, 0.01); 1e-6 or less is usual")
        if self.contributions < 1:
            raise ValueError("contributions must be >= 1")
        if not 2 <= self.bins <= 1000:
            raise ValueError("bins must be between 2 and 1000")
        for col, (lo, hi) in self.bounds.items():
            if not lo < hi:
                raise ValueError(f"bounds.{col}: low ({lo}) must be below high ({hi})")
        for col, keys in self.categories.items():
            if not keys or len({str(k) for k in keys}) != len(keys):
                raise ValueError(f"categories.{col}: needs distinct values")
        return self


class ConditionGroupCfg(_Model):
    """One group of rebalanced generation: the categorical values that define it and the
    share of output rows (or the number of rows) it gets."""

    values: dict[str, str | bool | int]
    share: Num | None = None
    rows: Int | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ConditionGroupCfg:
        if not self.values:
            raise ValueError("a group names at least one column and its value")
        if (self.share is None) == (self.rows is None):
            raise ValueError("a group takes one target: share (of output rows) or rows")
        if self.share is not None and not 0.0 <= self.share <= 1.0:
            raise ValueError("share must be between 0 and 1")
        if self.rows is not None and self.rows < 0:
            raise ValueError("rows must be 0 or more")
        return self

    def label(self) -> str:
        return ", ".join(f"{c}={v}" for c, v in self.values.items())


class ConditionsCfg(_Model):
    """Rebalanced (conditional) generation: a mitigation step, reviewed as such. The
    released rows are drawn group by group to the declared targets; the quality and privacy
    gates judge an unconditioned sample from the same fit (the model)."""

    rationale: str
    groups: list[ConditionGroupCfg]

    @model_validator(mode="after")
    def _groups(self) -> ConditionsCfg:
        if not self.rationale.strip() or self.rationale.strip() == PLACEHOLDER:
            raise ValueError("rationale: say why the output is rebalanced (it is recorded)")
        if not self.groups:
            raise ValueError("groups: declare at least one group")
        cols = list(self.groups[0].values)
        if any(list(g.values) != cols for g in self.groups):
            raise ValueError(f"every group names the same columns, in one order ({cols})")
        labels = [g.label() for g in self.groups]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"group(s) declared twice: {'; '.join(twice)}")
        shares = [g.share for g in self.groups]
        if any(x is None for x in shares) and any(x is not None for x in shares):
            raise ValueError("give every group a share, or every group rows, not a mix")
        if shares[0] is not None and abs(sum(x or 0.0 for x in shares) - 1.0) > 1e-6:
            total = sum(x or 0.0 for x in shares)
            raise ValueError(f"the shares sum to {total:.6g}; they must sum to 1")
        if shares[0] is None and not sum(g.rows or 0 for g in self.groups):
            raise ValueError("the groups' rows sum to 0")
        return self

    @property
    def columns(self) -> list[str]:
        return list(self.groups[0].values)

    def counts(self, total: int) -> list[int]:
        """Rows per group: declared rows, or ``total`` split by the shares (largest
        remainder, ties to the group declared first)."""
        if self.groups[0].rows is not None:
            return [g.rows or 0 for g in self.groups]
        exact = [(g.share or 0.0) * total for g in self.groups]
        out = [math.floor(x) for x in exact]
        by_remainder = sorted(range(len(exact)), key=lambda i: (out[i] - exact[i], i))
        for i in by_remainder[: total - sum(out)]:
            out[i] += 1
        return out

    def total(self) -> int | None:
        """The rows the groups' declared counts add up to (None: shares)."""
        return sum(g.rows or 0 for g in self.groups) if self.groups[0].rows is not None else None


def family_problem(family: str, *, related: bool) -> str | None:
    """Why ``family`` cannot generate a source of one table (``related`` False) or of related
    tables (None: it can): a single-table family cannot fit related tables, nor a
    related-tables family one table."""
    spec = FAMILIES[family]
    if related and not spec.fits_tables:
        fams = ", ".join(n for n, f in FAMILIES.items() if f.fits_tables)
        return f"{family} fits one table, not related tables; related tables need {fams}"
    if not related and spec.multi_table:
        return f"{family} fits related tables, not one table"
    return None


class GeneratorCfg(_Model):
    family: str = "gaussian_copula"
    seed: Seed = 0
    num_rows: Int | None = None
    torch_threads: Int = 1
    # lift the documented ceilings on epochs and num_rows (a deliberate, reviewed choice)
    allow_large_runs: Bool = False
    parameters: dict[str, Any] = Field(default_factory=dict)
    constraints: list[ConstraintCfg] = Field(default_factory=list)
    # decimals per float32-stored column (written by init): output is the float32 image of
    # the value rounded to them, as in the real table
    decimals: dict[str, Int] = Field(default_factory=dict)
    # numeric columns generated on their own (pooled) values, in order (detected by init;
    # synthesizers/columns.py): counts, codes, levels, grades
    discrete: list[str] = Field(default_factory=list)
    # written by `sdops tune`: how many candidates were tried and how the winner was chosen
    tuning: dict[str, Any] | None = None
    # related tables: tables released as they are (public reference data, reviewed as such);
    # a family that generates the entity table only (cart) needs every other table here
    public_tables: list[str] = Field(default_factory=list)
    privacy: DPCfg | None = None  # DP families only
    # rebalanced generation: target shares or rows per group (SDV families)
    conditions: ConditionsCfg | None = None

    @field_validator("family")
    @classmethod
    def _family_known(cls, v: str) -> str:
        if v not in FAMILIES:
            raise ValueError(
                f"unknown generator family {v!r}{_suggest(v, FAMILIES)}; "
                f"valid: {', '.join(FAMILIES)}"
            )
        return v

    @model_validator(mode="after")
    def _family(self) -> GeneratorCfg:
        spec = FAMILIES[self.family]
        for key in self.parameters:
            if key not in spec.parameters:
                raise ValueError(
                    f"family {self.family} takes no parameter {key!r}"
                    f"{_suggest(key, spec.parameters)}; valid: {', '.join(sorted(spec.parameters))}"
                )
        if self.num_rows is not None and self.num_rows < 1:
            raise ValueError("num_rows must be a positive integer, or null for the train size")
        if self.num_rows is not None and self.num_rows > MAX_ROWS and not self.allow_large_runs:
            raise ValueError(
                f"num_rows {self.num_rows} is above the ceiling {MAX_ROWS:,}; set "
                "generator.allow_large_runs: true to lift it"
            )
        if not 1 <= self.torch_threads <= MAX_TORCH_THREADS:
            raise ValueError(f"torch_threads must be between 1 and {MAX_TORCH_THREADS}")
        problems = check_parameters(self.family, self.parameters, self.allow_large_runs)
        if problems:
            raise ValueError("; ".join(problems))
        if spec.dp and self.privacy is None:
            raise ValueError(
                f"family {self.family} is differentially private: set generator.privacy "
                "(epsilon and delta, or rho) and the public bounds of numerical columns"
            )
        if not spec.dp and self.privacy is not None:
            dp = ", ".join(n for n, f in FAMILIES.items() if f.dp)
            raise ValueError(
                f"generator.privacy applies to the DP families ({dp}) only; "
                f"{self.family} gives no formal guarantee"
            )
        if spec.dp and self.discrete:
            raise ValueError(
                f"family {self.family} bins numerical columns between public bounds; "
                "generator.discrete reads a column's values from the data, so it must be [] "
                "(declare the values as generator.privacy.categories instead)"
            )
        if len(set(self.discrete)) != len(self.discrete):
            raise ValueError("generator.discrete names a column twice")
        if spec.dp and self.constraints:
            raise ValueError(f"family {self.family} takes no constraints (they are SDV's)")
        if self.conditions is not None:
            self._check_conditions(self.conditions)
        return self

    def _check_conditions(self, cond: ConditionsCfg) -> None:
        if self.family not in CONDITIONAL_FAMILIES:
            why = (
                "a differentially private model is measured once from noisy marginals and "
                "samples no group on request"
                if FAMILIES[self.family].dp
                else "it runs in its own runtime, which samples no group on request"
                if FAMILIES[self.family].runtime
                else "it generates related tables"
            )
            raise ValueError(
                f"family {self.family} cannot condition generation (generator.conditions): "
                f"{why}; families that can: {', '.join(CONDITIONAL_FAMILIES)}"
            )
        total = cond.total()
        if total is not None and self.num_rows is not None and total != self.num_rows:
            raise ValueError(
                f"generator.conditions: the groups' rows sum to {total}, generator.num_rows is "
                f"{self.num_rows}; set num_rows to null (or to their sum)"
            )


class OutputCfg(_Model):
    format: Literal["csv", "parquet"] = "csv"


def _unit_interval(v: float) -> float:
    if not 0.0 <= v <= 1.0:
        raise ValueError("must be between 0 and 1")
    return v


def _significance(v: float) -> float:
    if not 0.0 < v <= 0.5:
        raise ValueError("must be in (0, 0.5]: at 0 the check could never fail")
    return v


class GateSection(_Model):
    """A gate section of ``gates:``. Its thresholds come from the metric table
    (:mod:`sdops_dvc.domain.metric_table`); the gate reads one through its
    :class:`~sdops_dvc.domain.metric_table.Threshold` (:meth:`value`), and a tested gate's
    significance level as :attr:`significance`."""

    enabled: Bool = True
    gate: ClassVar[str] = ""  # the gate this section configures (its key under gates:)

    def value(self, threshold: Threshold) -> float:
        """The value params.yaml gives ``threshold`` (one of this gate's, from the metric
        table); KeyError for another gate's threshold."""
        value = getattr(self, threshold.name, None) if threshold.gate == self.gate else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise KeyError(f"gates.{self.gate} has no threshold {threshold.name!r}")
        return float(value)

    @property
    def significance(self) -> float:
        """``alpha``: a finding of this gate fails only when also significant at it."""
        alpha = getattr(self, "alpha", None)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool):
            raise KeyError(f"gates.{self.gate} tests nothing: it has no alpha")
        return float(alpha)


def _limit(key: str) -> Any:
    """A threshold's field, ``key`` being ``GATE.NAME``: its default and the comment init
    writes beside it come from the metric table (KeyError at import for a threshold the
    table does not have; ``test_config`` checks that each section declares exactly its
    gate's thresholds, in the table's order)."""
    gate, name = key.split(".")
    t = next((t for t in thresholds_of(gate) if t.name == name), None)
    if t is None:
        raise KeyError(f"the metric table has no threshold gates.{key}")
    return Field(default=t.default, description=t.doc)


class _ThresholdSection(GateSection):
    """A section of thresholds, each a number in [0, 1]; ``alpha``, where a gate has one, in
    (0, 0.5]. Fields are listed as params.yaml, gate.json and manifests have always listed
    them: ``alpha`` after the threshold ``metric_table.ALPHA_AFTER`` names."""

    @field_validator("*")
    @classmethod
    def _bounded(cls, v: Any, info: ValidationInfo) -> Any:
        if info.field_name == "alpha":
            return _significance(v)
        if info.field_name != "enabled":
            return _unit_interval(v)
        return v


class SchemaGateCfg(_ThresholdSection):
    gate: ClassVar[str] = "schema"
    max_out_of_range_share: Num = _limit("schema.max_out_of_range_share")
    max_unknown_category_share: Num = _limit("schema.max_unknown_category_share")
    alpha: Num = 0.01
    max_duplicate_key_share: Num = _limit("schema.max_duplicate_key_share")
    max_orphan_excess: Num = _limit("schema.max_orphan_excess")
    min_cardinality_bounds: Num = _limit("schema.min_cardinality_bounds")


class QualityGateCfg(_ThresholdSection):
    gate: ClassVar[str] = "quality"
    min_column_shapes: Num = _limit("quality.min_column_shapes")
    min_column_shape_per_column: Num = _limit("quality.min_column_shape_per_column")
    min_column_pair_trends: Num = _limit("quality.min_column_pair_trends")
    max_detection_auc: Num = _limit("quality.max_detection_auc")
    min_utility_ratio: Num = _limit("quality.min_utility_ratio")
    min_cardinality: Num = _limit("quality.min_cardinality")
    min_intertable_trends: Num = _limit("quality.min_intertable_trends")


class PrivacyGateCfg(_ThresholdSection):
    gate: ClassVar[str] = "privacy"
    max_exact_match_excess: Num = _limit("privacy.max_exact_match_excess")
    max_real_match_excess: Num = _limit("privacy.max_real_match_excess")
    max_rare_match_excess: Num = _limit("privacy.max_rare_match_excess")
    max_dcr_share: Num = _limit("privacy.max_dcr_share")
    alpha: Num = 0.01
    max_mia_auc: Num = _limit("privacy.max_mia_auc")
    max_mia_tpr_at_1pct_fpr: Num = _limit("privacy.max_mia_tpr_at_1pct_fpr")
    max_singling_out_risk: Num = _limit("privacy.max_singling_out_risk")
    max_linkability_risk: Num = _limit("privacy.max_linkability_risk")
    max_outside_linkage_risk: Num = _limit("privacy.max_outside_linkage_risk")
    max_inference_risk: Num = _limit("privacy.max_inference_risk")
    max_table_copy_excess: Num = _limit("privacy.max_table_copy_excess")
    max_group_exact_match_excess: Num = _limit("privacy.max_group_exact_match_excess")
    max_group_dcr_share: Num = _limit("privacy.max_group_dcr_share")


class SubgroupGateCfg(_ThresholdSection):
    gate: ClassVar[str] = "subgroup"
    max_column_shapes_gap: Num = _limit("subgroup.max_column_shapes_gap")
    max_tstr_gap: Num = _limit("subgroup.max_tstr_gap")
    max_representation_gap: Num = _limit("subgroup.max_representation_gap")
    alpha: Num = 0.01


class FairnessGateCfg(_ThresholdSection):
    gate: ClassVar[str] = "fairness"
    max_demographic_parity_increase: Num = _limit("fairness.max_demographic_parity_increase")
    max_equalized_odds_increase: Num = _limit("fairness.max_equalized_odds_increase")
    max_error_gap_increase: Num = _limit("fairness.max_error_gap_increase")
    alpha: Num = 0.01


class PolicyGateCfg(GateSection):
    gate: ClassVar[str] = "policy"


class GatesCfg(_Model):
    schema_: SchemaGateCfg = Field(default_factory=SchemaGateCfg, alias="schema")
    quality: QualityGateCfg = Field(default_factory=QualityGateCfg)
    privacy: PrivacyGateCfg = Field(default_factory=PrivacyGateCfg)
    subgroup: SubgroupGateCfg = Field(default_factory=SubgroupGateCfg)
    fairness: FairnessGateCfg = Field(default_factory=FairnessGateCfg)
    policy: PolicyGateCfg = Field(default_factory=PolicyGateCfg)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PrivacyEvalCfg(_Model):
    quasi_identifiers: list[str] = Field(default_factory=list)  # default: all but sensitive
    sensitive: list[str] = Field(default_factory=list)  # default: the target
    n_attacks: Int = 500
    max_column_sets: Int = 200  # singling out: column triples tried (sampled when more)
    linkability_aux: list[list[str]] | None = None  # two column lists; default: QI halves
    # rare combinations: a numeric quasi-identifier is known to an attacker in bins of this
    # width (public, not read from the data); without one, its exact value
    qi_bins: dict[str, float] = Field(default_factory=dict)
    rare_k: Int = 1  # a combination held by at most this many real records is rare
    # outside linkage: the columns of an outside table an attacker holds about real people
    # (a register, a voter file); linked through the release to the other columns
    public_columns: list[str] = Field(default_factory=list)

    @field_validator("qi_bins")
    @classmethod
    def _bins(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [c for c, w in v.items() if not w > 0]
        if bad:
            raise ValueError(f"bin widths must be positive: {', '.join(bad)}")
        return v

    @field_validator("rare_k")
    @classmethod
    def _k(cls, v: int) -> int:
        if not 1 <= v <= 100:
            raise ValueError("must be between 1 and 100")
        return v

    @field_validator("n_attacks")
    @classmethod
    def _attacks(cls, v: int) -> int:
        if v < 10:
            raise ValueError("must be at least 10")
        return v

    @field_validator("linkability_aux")
    @classmethod
    def _aux(cls, v: list[list[str]] | None) -> list[list[str]] | None:
        if v is not None and (len(v) != 2 or not v[0] or not v[1]):
            raise ValueError("must be two non-empty lists of columns")
        return v


class SubgroupEvalCfg(_Model):
    columns: list[str] = Field(default_factory=list)
    min_size: Int = 50


class FairnessEvalCfg(_Model):
    """``evaluation.fairness``: protected columns whose groups a model trained on the release
    must not treat less fairly than one trained on real data (see metrics/fairness.py)."""

    columns: list[str] = Field(default_factory=list)
    intersections: Bool = False  # also the groups of all declared columns together
    min_size: Int = 50  # smaller groups (holdout rows) are reported, not gated
    positive_label: str | None = None  # binary target: the favourable outcome (default: the
    #                                    second class in sorted order)
    bootstrap: Int = 200  # paired resamples of the holdout rows for the standard error

    @model_validator(mode="after")
    def _valid(self) -> FairnessEvalCfg:
        if self.min_size < 2:
            raise ValueError("min_size must be at least 2")
        if not 20 <= self.bootstrap <= 10_000:
            raise ValueError("bootstrap must be between 20 and 10000")
        return self


class EvaluationCfg(_Model):
    seed: Seed = 0  # every subsample and model is seeded from this
    max_nn_queries: Int = 10_000  # synthetic rows used as nearest-neighbour queries
    max_nn_reference: Int = 50_000  # train and holdout rows each, as nearest-neighbour references
    max_model_rows: Int = 100_000  # rows per side for detection and utility models
    detection_folds: Int = 5
    # OpenMP/BLAS threads in evaluate (threadpoolctl); null: the cores this process may use
    # that other processes leave free (see parallel.free_cores)
    threads: Int | None = None
    privacy: PrivacyEvalCfg = Field(default_factory=PrivacyEvalCfg)
    subgroups: SubgroupEvalCfg = Field(default_factory=SubgroupEvalCfg)
    fairness: FairnessEvalCfg = Field(default_factory=FairnessEvalCfg)

    def thread_count(self) -> int:
        """``threads``, or the cores this process may run on that other processes leave
        free (:func:`sdops_dvc.base.parallel.free_cores`). The metrics do not depend on it."""
        from sdops_dvc.base.parallel import free_cores

        return self.threads if self.threads is not None else free_cores()

    @model_validator(mode="after")
    def _positive(self) -> EvaluationCfg:
        if min(self.max_nn_queries, self.max_nn_reference, self.max_model_rows) < 1000:
            raise ValueError(
                "max_nn_queries, max_nn_reference and max_model_rows must be at least 1000"
            )
        if self.threads is not None and not 1 <= self.threads <= MAX_TORCH_THREADS:
            raise ValueError(f"threads must be between 1 and {MAX_TORCH_THREADS} (or null)")
        if not 2 <= self.detection_folds <= 10:
            raise ValueError("detection_folds must be between 2 and 10")
        return self


class PolicyCfg(_Model):
    intended_use: str | None = None
    audiences: list[str] = Field(default_factory=list)
    access_classification: str | None = None
    retention_days: Int | None = None
    owner: str | None = None
    # the terms the release is shared under (SPDX id or URL), shown in its data card; null:
    # the card says it is not openly licensed, under the access classification
    license: str | None = None


class MonitorCfg(_Model):
    """Thresholds of ``sdops monitor``: warn at the first, action needed at the second."""

    fresh: str | None = None  # fresh real snapshot for the monitoring pipeline
    psi_warn: Num = 0.10
    psi_action: Num = 0.25
    ks_warn: Num = 0.10
    ks_action: Num = 0.20
    tv_warn: Num = 0.10
    tv_action: Num = 0.20
    utility_decay_warn: Num = 0.03  # recorded TSTR minus TSTR on fresh real data
    utility_decay_action: Num = 0.08
    min_group_size: Int = 50
    # related tables: a relationship's orphan share in the fresh tables minus the release's
    orphan_drift_warn: Num = 0.02
    orphan_drift_action: Num = 0.05

    @model_validator(mode="after")
    def _ordered(self) -> MonitorCfg:
        for a, b in (
            ("psi_warn", "psi_action"),
            ("ks_warn", "ks_action"),
            ("tv_warn", "tv_action"),
            ("utility_decay_warn", "utility_decay_action"),
        ):
            if getattr(self, a) > getattr(self, b):
                raise ValueError(f"{a} must not exceed {b}")
        return self


class ReportCfg(_Model):
    """``report``: what reports and plots may show of the real data."""

    # every histogram bin and category shown holds at least this many real records
    min_bin_count: Int = 10

    @field_validator("min_bin_count")
    @classmethod
    def _k(cls, v: int) -> int:
        if v < 2:
            raise ValueError("must be at least 2: a bin of one record discloses that record")
        return v


class ApprovalsCfg(_Model):
    # git: signed Approved-by:/Reviewed-by: trailers; github: PR reviews; gitlab: MR approvals
    provider: Literal["git", "github", "gitlab"] = "git"
    repository: str | None = None  # owner/name (github) or group/project (gitlab); default: origin
    # false: release without any approval; a declared choice, recorded in the release tag
    required: Bool = True
    roles: dict[str, list[str]] = Field(default_factory=dict)  # role -> holders (email or name)
    # git provider: ssh allowed-signers file (git's gpg.ssh.allowedSignersFile format), committed
    # and owned in CODEOWNERS; keys are read from it as it was at the last release
    allowed_signers: str = ".sdops/allowed_signers"
    allow_unverified: Bool = False  # true: unsigned trailers count too (recorded as unverified)
    forbid_self_approval: Bool = True  # an author of the approved changes cannot approve them
    require_signed: Bool | None = None  # replaced by allow_unverified (kept to explain so)

    @field_validator("roles")
    @classmethod
    def _holders(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, holders in v.items():
            if not holders:
                raise ValueError(f"role {role!r} has no holders")
        return v

    @model_validator(mode="after")
    def _valid(self) -> ApprovalsCfg:
        if self.require_signed is not None:
            raise ValueError(
                "require_signed is replaced by allow_unverified: approvals are verified "
                "(signed, or forge reviews) by default; remove require_signed"
            )
        return self


class ReleaseCfg(_Model):
    approvals: ApprovalsCfg = Field(default_factory=ApprovalsCfg)
    # release tags are signed with git's signing key (user.signingkey, gpg.format); false: an
    # explicit, recorded choice, and readers list such releases as unverified
    sign_tags: Bool = True


class BudgetCfg(_Model):
    """``budget``: the privacy-budget cap shared by every release of one source lineage."""

    epsilon: Num | None = None  # cap on the composed total; null: no budget policy
    delta: Num = 1e-5  # the total's delta (the cap is (epsilon, delta)-DP)
    scope: str | None = None  # null: the fingerprint of the source lineage
    # who may approve releasing a generator without formal guarantee under the cap
    exception_approvers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> BudgetCfg:
        if self.epsilon is not None and self.epsilon <= 0:
            raise ValueError("epsilon must be positive, or null for no budget policy")
        if not 0.0 < self.delta < 1e-2:
            raise ValueError("delta must be in (0, 0.01)")
        if self.scope is not None and not self.scope.strip():
            raise ValueError("scope must be a non-empty string or null")
        return self


class Params(_Model):
    dataset: DatasetCfg
    source: SourceCfg
    split: SplitCfg = Field(default_factory=SplitCfg)
    generator: GeneratorCfg = Field(default_factory=GeneratorCfg)
    output: OutputCfg = Field(default_factory=OutputCfg)
    evaluation: EvaluationCfg = Field(default_factory=EvaluationCfg)
    gates: GatesCfg = Field(default_factory=GatesCfg)
    policy: PolicyCfg = Field(default_factory=PolicyCfg)
    release: ReleaseCfg = Field(default_factory=ReleaseCfg)
    monitor: MonitorCfg = Field(default_factory=MonitorCfg)
    budget: BudgetCfg = Field(default_factory=BudgetCfg)
    report: ReportCfg = Field(default_factory=ReportCfg)

    @model_validator(mode="after")
    def _tables_and_family(self) -> Params:
        multi = self.source.multi_table
        problem = self.family_problem(self.generator.family)
        if problem is not None:
            raise ValueError(f"generator.family {problem}")
        if not multi and self.split.entity is not None:
            raise ValueError("split.entity applies to related tables (source.tables) only")
        if multi and self.split.entity is not None and self.split.entity not in self.source.tables:
            raise ValueError(
                f"split.entity {self.split.entity!r} is not one of source.tables "
                f"({', '.join(self.source.tables)})"
            )
        if multi and self.generator.constraints:
            raise ValueError("generator.constraints apply to single tables only")
        if multi and self.generator.conditions is not None:
            raise ValueError(
                "generator.conditions applies to single tables only: related tables cannot "
                "be generated group by group (their gates would judge the rebalanced rows)"
            )
        unknown = [t for t in self.generator.public_tables if t not in self.source.tables]
        if unknown:
            raise ValueError(
                f"generator.public_tables names {', '.join(unknown)}, not among source.tables"
            )
        return self

    def family_problem(self, family: str) -> str | None:
        """Why ``family`` cannot generate this project's source (None: it can)."""
        return family_problem(family, related=self.source.multi_table)

    def named_columns(self) -> dict[str, list[str]]:
        """Every column that params.yaml names, keyed by the key that names it."""
        named: dict[str, list[str]] = {}
        if self.dataset.target:
            named["dataset.target"] = [self.dataset.target]
        ev = self.evaluation
        for key, cols in (
            ("evaluation.privacy.quasi_identifiers", ev.privacy.quasi_identifiers),
            ("evaluation.privacy.sensitive", ev.privacy.sensitive),
            ("evaluation.subgroups.columns", ev.subgroups.columns),
        ):
            if cols:
                named[key] = list(cols)
        dists = self.generator.parameters.get("numerical_distributions")
        if isinstance(dists, dict) and dists:
            named["generator.parameters.numerical_distributions"] = [str(c) for c in dists]
        if self.generator.discrete:
            named["generator.discrete"] = list(self.generator.discrete)
        if self.generator.conditions is not None:
            named["generator.conditions"] = self.generator.conditions.columns
        if ev.privacy.linkability_aux:
            named["evaluation.privacy.linkability_aux"] = [
                c for part in ev.privacy.linkability_aux for c in part
            ]
        for i, c in enumerate(self.generator.constraints):
            from sdops_dvc.domain.families import constraint_columns

            cols = constraint_columns(c.type, c.args)
            if cols:
                named[f"generator.constraints[{i}] ({c.type})"] = cols
        return named


def _suggest(word: str, options: Any) -> str:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


_SECTION_FIELDS: dict[str, type[BaseModel]] = {
    "": Params,
    "dataset": DatasetCfg,
    "source": SourceCfg,
    "split": SplitCfg,
    "generator": GeneratorCfg,
    "output": OutputCfg,
    "gates": GatesCfg,
    "gates.schema": SchemaGateCfg,
    "gates.quality": QualityGateCfg,
    "gates.privacy": PrivacyGateCfg,
    "gates.subgroup": SubgroupGateCfg,
    "gates.fairness": FairnessGateCfg,
    "gates.policy": PolicyGateCfg,
    "evaluation": EvaluationCfg,
    "evaluation.privacy": PrivacyEvalCfg,
    "evaluation.subgroups": SubgroupEvalCfg,
    "evaluation.fairness": FairnessEvalCfg,
    "policy": PolicyCfg,
    "release": ReleaseCfg,
    "monitor": MonitorCfg,
    "release.approvals": ApprovalsCfg,
    "generator.privacy": DPCfg,
    "budget": BudgetCfg,
    "report": ReportCfg,
}


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _format_errors(exc: ValidationError, path: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        dotted = ".".join(p for p in loc if p)
        # collapse list indices: generator.constraints.0 -> generator.constraints[0]
        dotted = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", dotted)
        if err["type"] == "extra_forbidden":
            parent = re.sub(r"\[\d+\]", "", ".".join(loc[:-1]))
            model = _SECTION_FIELDS.get(parent)
            hint = _suggest(loc[-1], _field_names(model)) if model else ""
            lines.append(f"  {dotted}: unknown key{hint}")
        elif err["type"] == "missing":
            lines.append(f"  {dotted}: required key is missing")
        elif err["type"] in ("int_type", "bool_type", "int_from_float"):
            kind = "true or false" if err["type"] == "bool_type" else "a whole number"
            lines.append(f"  {dotted}: must be {kind}, not {err.get('input')!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {dotted or '(top level)'}: {msg}")
    return f"{path}: invalid parameters\n" + "\n".join(lines)


def parse_params(data: Any, path: Path) -> Params:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (dataset, source, generator, ...), "
            f"got {type(data).__name__}",
            hint="see the params.yaml reference in README.md",
        )
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            _format_errors(exc, path), hint="edit params.yaml; README.md has the reference"
        ) from None


def load_params(path: Path) -> Params:
    """Read and validate ``params.yaml``; raise ConfigError naming every bad key."""
    if not path.exists():
        raise ConfigError(
            f"{path}: no such file", hint="run `sdops init --source PATH --name NAME` first"
        )
    from sdops_dvc.base.yamlio import load_file

    data = load_file(path, what="params file")
    return parse_params(data, path)


def params_dict(params: Params) -> dict[str, Any]:
    """Plain-data view of the params (for the manifest), keys as written in YAML."""
    return params.model_dump(mode="json", by_alias=True)
