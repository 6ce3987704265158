"""How a generator sees each column: discrete numeric columns on their real support.

A numeric column that takes few distinct values (a count, a code, a level, a grade, the
float32 image of a short decimal) is generated on the values real rows hold, in their order,
never as free continuous values between them: a continuous model fills the gaps, and any
classifier tells real from synthetic by them (credit_card's ``reports``: detection AUC 0.99).

Disclosure control: the support is read from the train split at fit time (never committed),
and a value held by fewer than ``min_count`` train records (``report.min_bin_count``) is not
copied out as a value of its own. Such values are pooled with their neighbours in order
until the pool holds at least ``min_count`` records, and every value of a pool is generated
as the pool's count-weighted median (top- and bottom-coding, the usual statistical
disclosure control for tails). What was done is counted per column for the manifest, never
with the values themselves.

Pure pandas and numpy: no SDV here, so ``init`` and the manifest use it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# numeric columns with at most this many distinct values, each held by this many rows on
# average, are discrete: integers up to MAX_INTEGER_SUPPORT (counts, levels, grades, family
# size), other numbers up to MAX_SUPPORT (float32 images of short decimals, grids). An integer
# with more values (age in years) stays continuous, smoothed within its leaf by cart
MAX_INTEGER_SUPPORT = 20
MAX_SUPPORT = 100
MIN_ROWS_PER_VALUE = 10


def detect_discrete(
    df: pd.DataFrame, sdtypes: dict[str, str], *, integers: bool = True
) -> list[str]:
    """The numerical columns of ``df`` that take few distinct values (see module doc).
    ``integers`` False: non-integer columns only, for the SDV families, whose learnt
    rounding already keeps integers integers and whose copula lost utility when counts were
    encoded by their quantiles (health_insurance's ``family``: TSTR/TRTR 0.78 < 0.80)."""
    import pandas as pd

    out = []
    for name, sdtype in sdtypes.items():
        if sdtype != "numerical" or name not in df.columns:
            continue
        s = pd.to_numeric(df[name], errors="coerce").dropna()
        n = int(s.nunique())
        integer = bool((s == s.round()).all())
        if integer and not integers:
            continue
        cap = MAX_INTEGER_SUPPORT if integer else MAX_SUPPORT
        if s.empty or n > cap or len(s) < MIN_ROWS_PER_VALUE * n:
            continue
        out.append(str(name))
    return out


def pools(values: list[float], counts: list[int], min_count: int) -> list[list[int]]:
    """Indices of ``values`` (sorted ascending, with their record counts) grouped so that
    each group holds at least ``min_count`` records: a value with enough records of its own
    stays alone; rarer values join the next ones in order until the group is large enough,
    and a short last group joins the one before it. One group when the column as a whole
    holds fewer than ``min_count`` records."""
    groups: list[list[int]] = []
    current: list[int] = []
    held = 0
    for i, c in enumerate(counts):
        current.append(i)
        held += c
        if held >= min_count:
            groups.append(current)
            current, held = [], 0
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def _weighted_median(values: list[float], counts: list[int]) -> float:
    half = sum(counts) / 2
    run = 0
    for v, c in zip(values, counts, strict=True):
        run += c
        if run >= half:
            return v
    return values[-1]


@dataclass(frozen=True)
class DiscreteColumn:
    """One discrete column as the generator sees it: the value each real value becomes,
    and counts for the manifest."""

    name: str
    mapping: dict[float, float]  # real value -> the value generated in its place
    support: int  # distinct real values (nulls aside)
    pooled_values: int  # real values held by fewer than min_count records, pooled
    pools: int  # pools they went into (each generated as one value)
    min_count: int
    nulls: bool

    @property
    def order(self) -> list[float]:
        """The values the generator may write, ascending."""
        return sorted(set(self.mapping.values()))

    def record(self) -> dict[str, Any]:
        """What the manifest says of this column (counts only, never values)."""
        return {
            "handling": "discrete",
            "support_values": self.support,
            "generated_values": len(self.order),
            "pooled_values": self.pooled_values,
            "pools": self.pools,
            "min_count": self.min_count,
            "rule": (
                "generated on the train split's own values, in order; values held by fewer "
                f"than {self.min_count} records pooled with their neighbours and generated as "
                "the pool's weighted median"
            ),
        }


def plan_discrete(train: pd.DataFrame, columns: list[str], min_count: int) -> list[DiscreteColumn]:
    """The discrete handling of ``columns`` as the train split dictates it."""
    import pandas as pd

    out = []
    for name in columns:
        s = pd.to_numeric(train[name], errors="coerce")
        vc = s.dropna().value_counts().sort_index()
        values = [float(v) for v in vc.index]
        counts = [int(c) for c in vc.to_numpy()]
        mapping: dict[float, float] = {}
        pooled = n_pools = 0
        for group in pools(values, counts, max(1, min_count)) if values else []:
            vs = [values[i] for i in group]
            cs = [counts[i] for i in group]
            rep = _weighted_median(vs, cs) if len(group) > 1 else vs[0]
            mapping.update(dict.fromkeys(vs, rep))
            if len(group) > 1:
                n_pools += 1
                pooled += sum(1 for c in cs if c < min_count)
        out.append(
            DiscreteColumn(
                name=name,
                mapping=mapping,
                support=len(values),
                pooled_values=pooled,
                pools=n_pools,
                min_count=min_count,
                nulls=bool(s.isna().any()),
            )
        )
    return out


def apply_discrete(train: pd.DataFrame, plan: list[DiscreteColumn]) -> pd.DataFrame:
    """``train`` with each planned column's values replaced by the values generated for
    them (the pool's value for a pooled one); other columns untouched."""
    import pandas as pd

    if not plan:
        return train
    out = train.copy()
    for col in plan:
        s = pd.to_numeric(out[col.name], errors="coerce")
        mapped = s.map(col.mapping)
        out[col.name] = mapped.astype(s.dtype) if not col.nulls else mapped
    return out


def restore_dtype(s: pd.Series, dtype: Any) -> pd.Series:
    """A sampled column given back the train split's dtype where its values allow it
    (integers with nulls as nullable integers; as it came when the values do not fit)."""
    import pandas as pd

    if dtype is None:
        return s
    try:
        if pd.api.types.is_integer_dtype(dtype) and s.isna().any():
            return s.astype("Int64")
        return s.astype(dtype)
    except (TypeError, ValueError):
        return s


def restore_dtypes(
    data: pd.DataFrame, like: pd.DataFrame, plan: list[DiscreteColumn]
) -> pd.DataFrame:
    """Sampled discrete columns back in the train split's own dtype (integers stay integers;
    a column with nulls stays float)."""
    import pandas as pd

    if not plan:
        return data
    out = data.copy()
    for col in plan:
        s = pd.to_numeric(out[col.name], errors="coerce")
        dtype = like[col.name].dtype
        if pd.api.types.is_integer_dtype(dtype) and not s.isna().any():
            out[col.name] = s.astype(dtype)
        else:
            out[col.name] = s.astype(float)
    return out


def columns_record(plan: list[DiscreteColumn], decimals: dict[str, int]) -> dict[str, Any]:
    """The manifest's per-column account of how the generator saw the columns."""
    out: dict[str, Any] = {c.name: c.record() for c in plan}
    for name, k in decimals.items():
        out.setdefault(name, {"handling": "continuous"})["float32_decimals"] = k
    return dict(sorted(out.items()))
