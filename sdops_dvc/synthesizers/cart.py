"""Sequential CART synthesis (the synthpop method), on scikit-learn's decision trees.

Columns are generated one after another in table order. The first is drawn from its own
values; each later column is drawn from the real values that share its leaf in a decision
tree grown on the columns before it (Reiter 2005; Nowok, Raab and Dibben, synthpop, 2016).
Deterministic relations (a departure hour from the scheduled time, a distance from the
destination) and point masses (zero expenditure) come out as the data has them, where a
copula smooths them away.

What keeps it from copying rows:
- every leaf holds at least ``min_samples_leaf`` real records (``auto``, the default:
  chosen on the train split by :func:`choose_leaf`), so a generated value is one of at least
  that many records' values given what came before it;
- continuous columns (numeric and not in ``generator.discrete``) are smoothed within the
  leaf: a Gaussian kernel of Silverman's bandwidth over the leaf's values, clipped to their
  range and rounded to the column's own decimals (synthpop's ``smoothing = "density"``), so
  a continuous value is a real record's value only where the rounding lands on one;
- discrete columns come from their disclosure-controlled support
  (:mod:`sdops_dvc.synthesizers.columns`); categories are the table's own.
The privacy gate still judges the output like any other (copies, DCR, MIA, attacks).

Reproducible: the trees are grown with fixed random states and sampling uses one numpy
Generator seeded by ``generator.seed``; no thread pool is involved, so the bytes do not
depend on the core count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdops_dvc.domain.tableio import row_hashes

if TYPE_CHECKING:
    import pandas as pd

Array = Any  # numpy arrays (numpy is imported where it runs: `sdops --help` stays light)

log = logging.getLogger(__name__)

DEFAULT_MIN_LEAF = "auto"  # or a number of records
MAX_CLASSES = 32  # a categorical target with more categories is split by a regressor on its
#                   codes ordered by frequency (a classifier's cost grows with the classes)
MAX_DECIMALS = 6


@dataclass(frozen=True)
class _Column:
    name: str
    numeric: bool
    smooth: bool
    categories: list[Any]  # categorical: its values in sorted order (codes index them)
    decimals: int | None  # numeric: the decimals every train value has (None: more)


@dataclass(frozen=True)
class _Donors:
    """The real values of one column grouped by the leaf their row fell in."""

    leaves: Array  # sorted leaf ids
    starts: Array
    sizes: Array
    values: Array  # encoded values, grouped by leaf
    bandwidth: Array  # per leaf (0 where not smoothed)
    low: Array
    high: Array


def _decimals(v: Array) -> int | None:
    import numpy as np

    v = v[~np.isnan(v)]
    for k in range(MAX_DECIMALS + 1):
        if np.array_equal(np.round(v, k), v):
            return k
    return None


def _describe(df: pd.DataFrame, numeric: set[str], discrete: set[str]) -> list[_Column]:
    import pandas as pd

    cols = []
    for name in df.columns:
        s = df[name]
        if name in numeric:
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            cols.append(_Column(str(name), True, name not in discrete, [], _decimals(v)))
        else:
            cats = sorted({x for x in s.dropna().tolist()}, key=lambda x: (str(type(x)), x))
            cols.append(_Column(str(name), False, False, cats, None))
    return cols


def _encode(s: pd.Series, col: _Column) -> Array:
    import numpy as np
    import pandas as pd

    if col.numeric:
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    index = {v: i for i, v in enumerate(col.categories)}
    return np.array([index.get(x, np.nan) if x == x else np.nan for x in s], dtype=float)


def _silverman(v: Array) -> float:
    """R's bw.nrd0: 0.9 * min(sd, IQR / 1.34) * n^(-1/5), over the non-null values."""
    import numpy as np

    v = v[~np.isnan(v)]
    if len(v) < 2:
        return 0.0
    sd = float(np.std(v, ddof=1))
    q75, q25 = np.percentile(v, [75, 25])
    spread = min(sd, float(q75 - q25) / 1.34) or sd
    return float(0.9 * spread * len(v) ** -0.2)


def _donors(leaves: Array, values: Array, smooth: bool) -> _Donors:
    import numpy as np

    order = np.argsort(leaves, kind="stable")
    leaves_sorted, grouped = leaves[order], values[order]
    ids, starts, sizes = np.unique(leaves_sorted, return_index=True, return_counts=True)
    bw = np.zeros(len(ids))
    low = np.full(len(ids), np.nan)
    high = np.full(len(ids), np.nan)
    if smooth:
        for i, (a, n) in enumerate(zip(starts, sizes, strict=True)):
            part = grouped[a : a + n]
            bw[i] = _silverman(part)
            if not np.isnan(part).all():
                low[i], high[i] = np.nanmin(part), np.nanmax(part)
    return _Donors(ids, starts, sizes, grouped, bw, low, high)


def _tree_target(y: Array, col: _Column) -> tuple[Array, bool]:
    """What the tree for ``col`` is grown on, and whether it is a classifier."""
    import numpy as np

    if col.numeric:
        lo = np.nanmin(y) if not np.isnan(y).all() else 0.0
        hi = np.nanmax(y) if not np.isnan(y).all() else 0.0
        return np.where(np.isnan(y), lo - (hi - lo) - 1.0, y), False  # nulls: a value apart
    codes = np.where(np.isnan(y), -1, y).astype(int)
    if len(col.categories) <= MAX_CLASSES:
        return codes, True
    freq = np.bincount(codes + 1, minlength=len(col.categories) + 1)
    rank = np.argsort(np.argsort(-freq, kind="stable"), kind="stable")
    return rank[codes + 1].astype(float), False


@dataclass
class CartModel:
    columns: list[_Column]
    trees: list[Any]  # None for the first column
    donors: list[_Donors]
    dtypes: dict[str, Any]

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        x = np.empty((n, len(self.columns)))
        for j, (col, tree, d) in enumerate(zip(self.columns, self.trees, self.donors, strict=True)):
            leaves = np.zeros(n, dtype=np.int64) if tree is None else tree.apply(x[:, :j])
            pos = np.searchsorted(d.leaves, leaves)
            v = d.values[_balanced_picks(pos, d, rng)]
            if col.smooth:
                noise = rng.standard_normal(n) * d.bandwidth[pos]
                with np.errstate(invalid="ignore"):
                    v = np.clip(v + noise, d.low[pos], d.high[pos])
                if col.decimals is not None:
                    v = np.round(v, col.decimals)
            x[:, j] = v
        out = {}
        for j, col in enumerate(self.columns):
            v = x[:, j]
            if col.numeric:
                s = pd.Series(v)
                dtype = self.dtypes[col.name]
                if pd.api.types.is_integer_dtype(dtype) and not s.isna().any():
                    s = s.round().astype(dtype)
                out[col.name] = s
            else:
                cats = np.array([*col.categories, None], dtype=object)
                codes = np.where(np.isnan(v), len(col.categories), v).astype(int)
                out[col.name] = pd.Series(cats[codes], dtype=self.dtypes[col.name])
        return pd.DataFrame(out)


def _balanced_picks(pos: Array, d: _Donors, rng: Any) -> Array:
    """A donor for each row of leaf ``pos``: within a leaf, rows go through a random
    permutation of its donors in turn (each donor drawn once before any twice), not
    independently. The first column's counts then equal the train split's when as many rows
    are drawn (a parent's number of children stays inside the real range, where independent
    draws push the rarest and the commonest parent out half the time), and every leaf's mix
    of values has less sampling noise."""
    import numpy as np

    donor_leaf = np.repeat(np.arange(len(d.sizes)), d.sizes)
    permuted = np.lexsort((rng.random(len(donor_leaf)), donor_leaf))
    order = np.lexsort((rng.random(len(pos)), pos))
    counts = np.bincount(pos, minlength=len(d.sizes))
    first = np.cumsum(counts) - counts
    turn = np.empty(len(pos), dtype=np.int64)
    turn[order] = np.arange(len(pos)) - first[pos[order]]
    return permuted[d.starts[pos] + turn % d.sizes[pos]]


def fit_cart(
    train: pd.DataFrame,
    numeric: set[str],
    discrete: set[str],
    *,
    min_samples_leaf: int = 20,
    seed: int = 0,
    progress: bool = False,
) -> CartModel:
    """Grow one tree per column after the first on the columns before it (see module doc)."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    columns = _describe(train, numeric, discrete)
    x = np.column_stack([_encode(train[c.name], c) for c in columns])
    trees: list[Any] = []
    donors = []
    bar = _bar(progress, len(columns))
    for j, col in enumerate(columns):
        if j == 0:
            trees.append(None)
            leaves = np.zeros(len(x), dtype=np.int64)
        else:
            target, classify = _tree_target(x[:, j], col)
            cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
            tree = cls(min_samples_leaf=min_samples_leaf, random_state=seed + j)
            tree.fit(x[:, :j], target)
            trees.append(tree)
            leaves = tree.apply(x[:, :j])
        donors.append(_donors(leaves, x[:, j], col.smooth))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return CartModel(columns, trees, donors, dict(train.dtypes))


def _bar(progress: bool, total: int) -> Any:
    if not progress:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc="cart: columns", file=sys.stderr, leave=False)


# -- choosing the leaf size on the train split alone -------------------------------------------

LEAF_LADDER = (20, 50, 100, 200, 400)
MAX_COPY_EXCESS = 0.005  # half the privacy gate's default (privacy.max_exact_match_excess)
VALIDATION_QUERIES = 10_000
VALIDATION_FIT_SHARE = 0.8  # the train split divided as the default split divides the source


@dataclass(frozen=True)
class LeafTrial:
    leaf: int
    copy_excess: float
    passed: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "min_samples_leaf": self.leaf,
            "copy_excess": round(self.copy_excess, 4),
            "passed": self.passed,
        }


def choose_leaf(
    train: pd.DataFrame, numeric: set[str], discrete: set[str], *, seed: int
) -> tuple[int, list[LeafTrial]]:
    """The smallest leaf size of :data:`LEAF_LADDER` whose model does not copy the rows it
    was fitted on more often than rows it never saw, judged on the train split alone, the
    way the privacy gate judges the release: the train split is divided 80/20 (seeded), a
    model is fitted on the larger part per leaf size, and its rows are matched against
    equal-size samples of both parts (exact-copy excess at most :data:`MAX_COPY_EXCESS`, half
    the gate's default). The holdout is never read, so the release gate that follows judges
    the chosen model once, at its stated error rate. When no size passes, the largest the
    table allows (at most a tenth of the fitted rows per leaf) is used.

    Measured (README, "Generators"): low-entropy tables whose real rows often repeat need
    larger leaves (health_insurance: a copy excess of 0.025 at 20 records, none at 100);
    tables with deterministic structure keep small ones (flights: detection AUC 0.86 at 20,
    0.91 at 50). The DCR share hardly moves with the leaf size (flights 0.54 at 20, 50 and
    100; credit_card 0.56-0.59 from 20 to 300), so it does not choose it.

    Returns the chosen leaf size (used as is on the whole train split, where each leaf then
    holds at least as many records) and every trial, for the manifest."""
    import numpy as np

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    n_fit = int(len(train) * VALIDATION_FIT_SHARE)
    fit_part = train.iloc[order[:n_fit]].reset_index(drop=True)
    unseen = train.iloc[order[n_fit:]].reset_index(drop=True)
    # equal-size samples of both parts, as the gate draws train and holdout; hashed once
    n_ref = min(len(unseen), 5000)
    cols = list(train.columns)
    seen_ref = row_hashes(fit_part.iloc[rng.permutation(len(fit_part))[:n_ref]], cols)
    unseen_ref = row_hashes(unseen.iloc[:n_ref], cols)
    trials: list[LeafTrial] = []
    ladder = [leaf for leaf in LEAF_LADDER if leaf <= max(LEAF_LADDER[0], n_fit // 10)]
    for leaf in ladder:
        model = fit_cart(fit_part, numeric, discrete, min_samples_leaf=leaf, seed=seed)
        rows = model.sample(min(n_fit, VALIDATION_QUERIES), seed)
        hashed = row_hashes(rows, cols)
        # copies of fitted rows beyond copies of unseen ones (rows copying both cancel)
        seen, other = np.isin(hashed, seen_ref), np.isin(hashed, unseen_ref)
        excess = (int(seen.sum()) - int(other.sum())) / len(rows)
        ok = excess <= MAX_COPY_EXCESS
        trials.append(LeafTrial(leaf, excess, ok))
        log.info("cart: leaf %d on validation: copy excess %.4f", leaf, excess)
        if ok:
            break
    return trials[-1].leaf, trials
