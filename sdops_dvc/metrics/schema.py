"""Schema conformance of a synthetic table against the real table and metadata.

Findings name columns and counts, never real values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdops_dvc.domain.metadata import column_sdtypes, primary_key

if TYPE_CHECKING:
    import pandas as pd


FLOAT_TOLERANCE = 1e-9  # relative: values this close to a bound are on it


def canonical_categories(values: pd.Series) -> pd.Series:
    """Category values as comparable text: numbers by value (3, 3.0 and 3.0000000001 alike;
    float32 artifacts such as 24.89999961853028 read as 24.9), everything else as text."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return values.astype(str)
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64").astype(str)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float).map(_number_text)
    return values.astype(str)


def _number_text(v: float) -> str:
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.7g}"  # float32 keeps ~7 significant digits


def exceedance_p_value(k: int, m: int, n: int) -> float:
    """P(at least ``k`` of ``m`` new values fall outside the [min, max] of ``n`` real values)
    when all are exchangeable draws of one continuous distribution, as rows of the same
    population the generator never saw would be. With R(j) = P(the j most extreme of all
    n + m values on one side are new) = prod_{i<j} (m - i) / (n + m - i), the chance is
    (k + 1)(R(k) - R(k + 1)) + R(k + 1) over both sides. Ties (discrete values) only make
    exceedances rarer, so the figure is conservative."""
    import math

    if k <= 0:
        return 1.0
    if k > m:
        return 0.0

    def r(j: int) -> float:
        if j > m:
            return 0.0
        return math.exp(sum(math.log((m - i) / (n + m - i)) for i in range(j)))

    return min(1.0, (k + 1) * (r(k) - r(k + 1)) + r(k + 1))


def unseen_category_p_value(k: int, m: int, singles: int, n: int) -> float:
    """P(at least ``k`` of ``m`` new values in categories absent from ``n`` real values), with
    the Good-Turing rate (share of real values whose category occurs once) as the chance
    that a new real value is of an unseen category."""
    from scipy.stats import binom

    if k <= 0:
        return 1.0
    rate = max(singles, 1) / (n + 1)
    return float(binom.sf(k - 1, m, rate))


def _unknown_p_value(unknown: pd.Series, real: pd.Series, m: int) -> float:
    """How often real rows would show so many values in categories absent from ``real``.
    Codes and counts (categories that are all numbers) take values beyond the real ones the
    way numbers do: those beyond the real range are tested as exceedances, the rest with the
    Good-Turing rate; each part Bonferroni-corrected. Other categories: Good-Turing."""
    import pandas as pd

    if len(unknown) == 0:
        return 1.0
    singles = int((real.value_counts() == 1).sum())
    real_num = pd.to_numeric(real, errors="coerce")
    if len(real_num) and real_num.notna().all():
        unk = pd.to_numeric(unknown, errors="coerce")
        beyond = int(((unk < real_num.min()) | (unk > real_num.max())).sum())
        inside = len(unknown) - beyond
        p_out = exceedance_p_value(beyond, m, len(real))
        p_in = unseen_category_p_value(inside, m, singles, len(real))
        return min(1.0, 2 * min(p_out, p_in))
    return unseen_category_p_value(len(unknown), m, singles, len(real))


@dataclass
class SchemaReport:
    checks: dict[str, bool] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # per column: out_of_range_share (numbers) or unknown_category_share (categories),
    # thresholded by the schema gate (gates.schema.max_*_share)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)

    def worst(self, key: str) -> float | None:
        vals = [c[key] for c in self.columns.values() if key in c]
        return max(vals) if vals else None

    def record(self, check: str, ok: bool, failure: str | None = None) -> None:
        self.checks[check] = self.checks.get(check, True) and ok
        if not ok and failure:
            self.failures.append(failure)

    def as_metrics(self) -> dict[str, Any]:
        return {
            "passed": not self.failures,
            "checks": dict(sorted(self.checks.items())),
            "violations": len(self.failures),
            "worst_out_of_range_share": self.worst("out_of_range_share"),
            "worst_unknown_category_share": self.worst("unknown_category_share"),
            **{k: v for k, v in sorted(self.counts.items())},
        }


def _kind(s: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "text"


def check_schema(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: dict[str, Any],
    expected_rows: int | None,
    constraints: list[Any] | None = None,
    declared_bounds: dict[str, tuple[float, float]] | None = None,
    declared_categories: dict[str, list[Any]] | None = None,
) -> SchemaReport:
    """``declared_*``: a DP generator's public domains, which replace the real data's observed
    ranges and categories (a DP model may use any value of its declared domain)."""
    rep = SchemaReport()
    real_cols = [str(c) for c in real.columns]
    syn_cols = [str(c) for c in synthetic.columns]
    missing = [c for c in real_cols if c not in syn_cols]
    extra = [c for c in syn_cols if c not in real_cols]
    rep.record("columns_present", not missing, f"missing columns: {', '.join(missing)}")
    rep.record("no_extra_columns", not extra, f"unexpected columns: {', '.join(extra)}")
    order_ok = not missing and not extra and real_cols == syn_cols
    rep.record(
        "column_order",
        order_ok or bool(missing or extra),
        "columns are in a different order than the real table",
    )
    sdtypes = column_sdtypes(metadata)
    for col in (c for c in real_cols if c in syn_cols):
        r, s = real[col], synthetic[col]
        rk, sk = _check_column_type(rep, col, r, s)
        sd = sdtypes.get(col)
        if sd in ("categorical", "boolean", "ordinal"):
            declared = (declared_categories or {}).get(col)
            rep.columns[col] = _category_check(r, s, declared)
        elif sd == "numerical" and rk == "numeric" and sk == "numeric":
            rep.columns[col] = _range_check(r, s, (declared_bounds or {}).get(col))
    _check_rows(rep, real, synthetic, metadata, expected_rows, constraints or [])
    for check in (
        "columns_present",
        "no_extra_columns",
        "column_order",
        "types",
        "nullability",
        "constraints",
    ):
        rep.checks.setdefault(check, True)
    return rep


def _check_column_type(rep: SchemaReport, col: str, r: pd.Series, s: pd.Series) -> tuple[str, str]:
    """The column's type against the real one's, and no nulls where the real data has none;
    returns the kinds of the real and synthetic columns."""
    import pandas as pd

    rk, sk = _kind(r), _kind(s)
    compatible = rk == sk or {rk, sk} <= {"numeric", "boolean"}
    if sk == "text" and rk == "datetime":
        compatible = bool(pd.to_datetime(s, errors="coerce").notna().sum() == s.notna().sum())
    rep.record("types", compatible, f"column {col!r}: type {sk}, real data has {rk}")
    if not r.isna().any():
        n_null = int(s.isna().sum())
        rep.record(
            "nullability",
            n_null == 0,
            f"column {col!r}: {n_null} null values where the real data has none",
        )
    return rk, sk


def _category_check(r: pd.Series, s: pd.Series, declared: list[Any] | None) -> dict[str, Any]:
    """The share of synthetic values that are no known category (a declared domain's
    categories count as known), its p-value, and a few of them."""
    import pandas as pd

    n = int(s.notna().sum())
    real_vals = canonical_categories(r.dropna())
    known = set(real_vals)
    if declared is not None:
        known |= set(canonical_categories(pd.Series(declared)))
    values = canonical_categories(s.dropna())
    unknown = ~values.isin(known)
    return {
        "unknown_category_share": float(unknown.sum()) / n if n else 0.0,
        "unknown_category_p_value": (
            0.0
            if declared is not None and unknown.any()
            else _unknown_p_value(values[unknown], real_vals, n)
        ),
        "unknown_categories": int(values[unknown].nunique()),
        # synthetic values only, canonically formatted (never a real record's value)
        "unknown_examples": sorted(values[unknown].unique())[:5],
    }


def _range_check(
    r: pd.Series, s: pd.Series, declared: tuple[float, float] | None
) -> dict[str, Any]:
    """The share of synthetic values outside the real range (or the declared bounds) and
    its p-value."""
    n = int(s.notna().sum())
    lo, hi = float(r.min()), float(r.max())
    what = "real range"
    if declared is not None:
        lo, hi = (float(b) for b in declared)
        what = "declared bounds"
    # float representation is not a violation: 1.404160022735596 vs 1.4041600227355957
    tol = FLOAT_TOLERANCE * max(abs(lo), abs(hi), hi - lo, 1e-300)
    sv = s.astype(float)
    outside = int(((sv < lo - tol) | (sv > hi + tol)).sum())
    return {
        "out_of_range_share": outside / n if n else 0.0,
        "out_of_range_p_value": (
            (0.0 if outside else 1.0)
            if what == "declared bounds"
            else exceedance_p_value(outside, n, int(r.notna().sum()))
        ),
        "range": what,
    }


def _check_rows(
    rep: SchemaReport,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: dict[str, Any],
    expected_rows: int | None,
    constraints: list[Any],
) -> None:
    """A unique primary key, the row count, and every constraint held."""
    pk = primary_key(metadata)
    if pk and pk in {str(c) for c in synthetic.columns}:
        dup = int(synthetic[pk].duplicated().sum())
        rep.record("primary_key_unique", dup == 0, f"primary key {pk!r}: {dup} duplicate values")
    if expected_rows is not None:
        rep.record(
            "row_count",
            len(synthetic) == expected_rows,
            f"synthetic table has {len(synthetic)} rows, expected {expected_rows}",
        )
    for i, c in enumerate(constraints):
        bad = constraint_violations(real, synthetic, c.type, c.args)
        if bad is not None:
            rep.record(
                "constraints",
                bad == 0,
                f"constraint {i} ({c.type}): {bad} synthetic rows violate it",
            )
    rep.counts["rows_synthetic"] = len(synthetic)


def constraint_violations(
    real: pd.DataFrame, synthetic: pd.DataFrame, kind: str, args: dict[str, Any]
) -> int | None:
    """Rows of ``synthetic`` violating an sdv.cag constraint; None if columns are absent."""
    import numpy as np

    cols = set(synthetic.columns)
    if kind == "Inequality":
        lo, hi = args["low_column_name"], args["high_column_name"]
        if not {lo, hi} <= cols:
            return None
        a, b = synthetic[lo], synthetic[hi]
        ok = (a < b) if args.get("strict_boundaries", False) else (a <= b)
        return int((~ok & a.notna() & b.notna()).sum())
    if kind == "Range":
        lo, mid, hi = args["low_column_name"], args["middle_column_name"], args["high_column_name"]
        if not {lo, mid, hi} <= cols:
            return None
        a, m, b = synthetic[lo], synthetic[mid], synthetic[hi]
        strict = args.get("strict_boundaries", True)
        ok = ((a < m) & (m < b)) if strict else ((a <= m) & (m <= b))
        return int((~ok & a.notna() & m.notna() & b.notna()).sum())
    if kind == "FixedIncrements":
        col, inc = args["column_name"], args["increment_value"]
        if col not in cols:
            return None
        v = synthetic[col].dropna().astype(float)
        return int((~np.isclose(np.mod(v, inc), 0) & ~np.isclose(np.mod(v, inc), inc)).sum())
    if kind == "OneHotEncoding":
        names = list(args["column_names"])
        if not set(names) <= cols:
            return None
        block = synthetic[names]
        return int((~(block.isin([0, 1]).all(axis=1) & (block.sum(axis=1) == 1))).sum())
    if kind == "FixedCombinations":
        names = list(args["column_names"])
        if not set(names) <= cols or not set(names) <= set(real.columns):
            return None
        seen = set(map(tuple, real[names].astype(str).itertuples(index=False)))
        rows = synthetic[names].astype(str).itertuples(index=False)
        return int(sum(tuple(r) not in seen for r in rows))
    return None
