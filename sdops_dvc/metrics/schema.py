"""Schema conformance of a synthetic table against the real table and metadata.

Findings name columns and counts, never real values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdops_dvc.metadata import column_sdtypes, primary_key

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SchemaReport:
    checks: dict[str, bool] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def record(self, check: str, ok: bool, failure: str | None = None) -> None:
        self.checks[check] = self.checks.get(check, True) and ok
        if not ok and failure:
            self.failures.append(failure)

    def as_metrics(self) -> dict[str, Any]:
        return {
            "passed": not self.failures,
            "checks": dict(sorted(self.checks.items())),
            "violations": len(self.failures),
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
    import pandas as pd

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
    shared = [c for c in real_cols if c in syn_cols]
    for col in shared:
        r, s = real[col], synthetic[col]
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
        sd = sdtypes.get(col)
        if sd in ("categorical", "boolean", "ordinal"):
            known = set(r.dropna().astype(str))
            if declared_categories and col in declared_categories:
                known |= {str(v) for v in declared_categories[col]}
            unseen = sorted(set(s.dropna().astype(str)) - known)
            rep.record(
                "category_domains",
                not unseen,
                f"column {col!r}: {len(unseen)} categories the real data lacks "
                f"(synthetic values: {', '.join(unseen[:5])}{', ...' if len(unseen) > 5 else ''})",
            )
        elif sd == "numerical" and rk == "numeric" and sk == "numeric":
            lo, hi = r.min(), r.max()
            what = "the real range"
            if declared_bounds and col in declared_bounds:
                lo, hi = declared_bounds[col]
                what = "the declared bounds"
            outside = int(((s < lo) | (s > hi)).sum())
            rep.record(
                "numeric_ranges",
                outside == 0,
                f"column {col!r}: {outside} values outside {what}",
            )
    pk = primary_key(metadata)
    if pk and pk in syn_cols:
        dup = int(synthetic[pk].duplicated().sum())
        rep.record("primary_key_unique", dup == 0, f"primary key {pk!r}: {dup} duplicate values")
    if expected_rows is not None:
        rep.record(
            "row_count",
            len(synthetic) == expected_rows,
            f"synthetic table has {len(synthetic)} rows, expected {expected_rows}",
        )
    for i, c in enumerate(constraints or []):
        bad = constraint_violations(real, synthetic, c.type, c.args)
        if bad is not None:
            rep.record(
                "constraints",
                bad == 0,
                f"constraint {i} ({c.type}): {bad} synthetic rows violate it",
            )
    rep.counts["rows_synthetic"] = len(synthetic)
    for check in (
        "columns_present",
        "no_extra_columns",
        "column_order",
        "types",
        "nullability",
        "category_domains",
        "numeric_ranges",
        "constraints",
    ):
        rep.checks.setdefault(check, True)
    return rep


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
