"""Distance to closest record, exactly as SDMetrics defines it, in a fraction of the time.

SDMetrics (``dcr_utils.calculate_dcr``): for each column, ``min(|a - b| / range, 1)`` for
numbers and datetimes (range of the *reference* table; 0/1 when the range is 0; 1 when
exactly one side is null, 0 when both are), 0/1 mismatch for categories and booleans
(ordinal, id and text columns are ignored), averaged over the columns. It compares every
pair of rows in pandas (minutes for 7k rows).

Here: rows are deduplicated (with counts), categories are one-hot encoded with weight
0.5 (a mismatch costs exactly 1), numbers are scaled by the reference range, and a
kd-tree finds the nearest reference under the L1 metric. The cap at 1 can only bind for
a query value outside the reference range, so those queries (and any reference with a
null number) are answered by an exact chunked brute force. The distance of the neighbour
found is then recomputed with SDMetrics' arithmetic, so ties resolve as in SDMetrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.parallel import map_chunks

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DCR_SDTYPES_NUMERIC = ("numerical", "datetime")
DCR_SDTYPES_CATEGORICAL = ("categorical", "boolean")
_CHUNK = 2048


@dataclass(frozen=True)
class Encoded:
    numeric: Any  # float array (n, p), raw values (datetimes as seconds)
    categorical: Any  # int array (n, q), shared codes; -1 for null
    n_num: int
    n_cat: int


def dcr_columns(sdtypes: dict[str, str], columns: list[str]) -> tuple[list[str], list[str]]:
    num = [c for c, t in sdtypes.items() if t in DCR_SDTYPES_NUMERIC and c in columns]
    cat = [c for c, t in sdtypes.items() if t in DCR_SDTYPES_CATEGORICAL and c in columns]
    return num, cat


def _to_float(col: pd.Series) -> Any:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col):
        out = col.astype("int64").to_numpy(dtype=float) / 1e9
        out[col.isna().to_numpy()] = np.nan
        return out
    if pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=float)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def encode(frames: list[pd.DataFrame], num: list[str], cat: list[str]) -> list[Encoded]:
    """Encode several tables with shared category codes."""
    import numpy as np
    import pandas as pd

    out_num = [
        np.column_stack([_to_float(f[c]) for c in num]) if num else np.zeros((len(f), 0))
        for f in frames
    ]
    cat_cols: list[list[Any]] = [[] for _ in frames]
    for c in cat:
        joined = pd.concat([f[c] for f in frames], ignore_index=True)
        codes, _ = pd.factorize(joined, use_na_sentinel=True)
        start = 0
        for i, f in enumerate(frames):
            cat_cols[i].append(codes[start : start + len(f)])
            start += len(f)
    out_cat = [
        np.column_stack(cols).astype(np.int64) if cols else np.zeros((len(f), 0), dtype=np.int64)
        for cols, f in zip(cat_cols, frames, strict=True)
    ]
    return [Encoded(n, k, len(num), len(cat)) for n, k in zip(out_num, out_cat, strict=True)]


def encode_shared(frames: list[pd.DataFrame], sdtypes: dict[str, str]) -> list[Encoded]:
    """Encode the DCR columns (numbers, datetimes, categories, booleans) every frame has."""
    shared = [c for c in frames[0].columns if all(c in f.columns for f in frames[1:])]
    num, cat = dcr_columns(sdtypes, shared)
    return encode(frames, num, cat)


def _numeric_term(a: Any, b: Any, rng: float) -> Any:
    """SDMetrics' per-column term: min(|b - a| / range, 1), 0/1 for a zero range, 1 when
    exactly one side is null, 0 when both are (arrays broadcast)."""
    import numpy as np

    diff = np.abs(b - a)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (diff > 0).astype(float) if rng == 0 else np.minimum(diff / rng, 1.0)
    an, bn = np.isnan(a), np.isnan(b)
    t = np.where(an ^ bn, 1.0, t)
    return np.where(an & bn, 0.0, t)


def _exact_terms(q_num: Any, r_num: Any, ranges: Any, q_cat: Any, r_cat: Any) -> Any:
    """Per-column distance terms for aligned rows, in SDMetrics' arithmetic."""
    terms = [_numeric_term(q_num[:, j], r_num[:, j], ranges[j]) for j in range(q_num.shape[1])]
    for j in range(q_cat.shape[1]):
        terms.append((q_cat[:, j] != r_cat[:, j]).astype(float))
    return terms


def _sum_terms(terms: list[Any], n_cols: int) -> Any:
    import numpy as np

    total = np.zeros_like(terms[0])
    for t in terms:
        total = total + t
    return total / n_cols


def _brute_min(q: Encoded, r: Encoded, ranges: Any, rows: Any) -> tuple[Any, Any]:
    """Exact nearest reference for the query rows ``rows`` (chunked brute force)."""
    import numpy as np

    n_cols = q.n_num + q.n_cat
    best = np.full(len(rows), np.inf)
    arg = np.zeros(len(rows), dtype=np.int64)
    step = max(1, 4_000_000 // max(1, len(r.numeric) * max(1, n_cols)))
    for s in range(0, len(rows), step):
        idx = rows[s : s + step]
        qn = q.numeric[idx][:, None, :]
        rn = r.numeric[None, :, :]
        total = np.zeros((len(idx), len(r.numeric)))
        for j in range(q.n_num):
            total = total + _numeric_term(qn[..., j], rn[..., j], ranges[j])
        for j in range(q.n_cat):
            total = total + (q.categorical[idx][:, None, j] != r.categorical[None, :, j])
        total = total / n_cols
        arg[s : s + step] = np.argmin(total, axis=1)
        best[s : s + step] = total[np.arange(len(idx)), arg[s : s + step]]
    return best, arg


def _unique_key(e: Encoded) -> Any:
    import numpy as np

    num = np.where(np.isnan(e.numeric), np.inf, e.numeric)  # nulls compare equal
    return np.concatenate([num.view(np.int64), e.categorical], axis=1)


def stacked(a: Encoded, b: Encoded) -> Encoded:
    """The rows of ``a`` then those of ``b`` (encoded together, so codes agree)."""
    import numpy as np

    return Encoded(
        np.concatenate([a.numeric, b.numeric]),
        np.concatenate([a.categorical, b.categorical]),
        a.n_num,
        a.n_cat,
    )


def duplicate_groups(e: Encoded) -> Any:
    """Per row, the id of its group of identical rows (ids 0..distinct-1)."""
    return _unique_rows(e)[2]


def _unique_rows(e: Encoded) -> tuple[Encoded, Any, Any]:
    """Distinct rows, the index of each one's first occurrence, and the inverse index."""
    import numpy as np

    _, first, inverse = np.unique(_unique_key(e), axis=0, return_index=True, return_inverse=True)
    u = Encoded(e.numeric[first], e.categorical[first], e.n_num, e.n_cat)
    return u, first, inverse.reshape(-1)


def _features(e: Encoded, lo: Any, safe_ranges: Any, widths: list[int]) -> Any:
    """L1 features: scaled numbers, and 0.5-weighted one-hot categories (nulls included)."""
    import numpy as np

    parts = [(e.numeric - lo) / safe_ranges] if e.n_num else []
    if widths:  # weight 1/2: a mismatch costs exactly 1
        parts.append(0.5 * _onehot(e, list(enumerate(widths))))
    return np.hstack(parts) if parts else np.zeros((len(e.numeric), 0))


def _brute_all(q: Encoded, r: Encoded, ranges: Any, row: int) -> Any:
    import numpy as np

    n = len(r.numeric)
    terms = _exact_terms(
        np.repeat(q.numeric[row : row + 1], n, axis=0),
        r.numeric,
        ranges,
        np.repeat(q.categorical[row : row + 1], n, axis=0),
        r.categorical,
    )
    return _sum_terms(terms, q.n_num + q.n_cat)


MAX_NULL_PATTERN_PAIRS = 256  # beyond this, every pair of rows is scanned
MAX_TREE_FEATURES = 48  # beyond this many L1 features (numbers + one-hot), scan every pair
_NULL = 1e6  # a scaled null: |null - x| >= 1 caps to 1 against any in-range number


def _scan_features(e: Encoded, lo: Any, ranges: Any) -> Any:
    """Scaled numbers where min(|a - b|, 1) is SDMetrics' term: nulls far away (1 against a
    number, 0 against a null); a zero-range column 0 on its value and far off it."""
    import numpy as np

    safe = np.where(ranges == 0, 1.0, ranges)
    x = (e.numeric - lo) / safe
    zero = ranges == 0
    if zero.any():
        v = e.numeric[:, zero]
        x[:, zero] = np.where(np.isnan(v), np.nan, np.where(v == lo[zero], 0.0, 2 * _NULL))
    return np.where(np.isnan(x), _NULL, x)


def _exact_scan_knn(q: Encoded, r: Encoded, lo: Any, ranges: Any, k: int) -> Any:
    """Indices of the k nearest references of every query by scanning all pairs in numpy
    chunks, the cap included (any query; slow: for the rows :func:`_scan_knn` cannot embed).
    Their exact distances are recomputed in SDMetrics' arithmetic by :func:`_exact_sorted`."""
    import numpy as np

    qx, rx = _scan_features(q, lo, ranges), _scan_features(r, lo, ranges)
    n_ref = len(rx)
    step = max(1, 2_000_000 // max(1, n_ref))
    idx = np.empty((len(qx), k), dtype=np.int64)
    for s in range(0, len(qx), step):
        e = min(len(qx), s + step)
        total = np.zeros((e - s, n_ref))
        for j in range(qx.shape[1]):
            total += np.minimum(np.abs(qx[s:e, j, None] - rx[None, :, j]), 1.0)
        for j in range(q.n_cat):
            total += q.categorical[s:e, j, None] != r.categorical[None, :, j]
        idx[s:e] = _smallest(total, k)
    return idx


def _smallest(total: Any, k: int) -> Any:
    """Column indices of the k smallest values per row, in increasing order."""
    import numpy as np

    if k == 1:
        return np.argmin(total, axis=1)[:, None]
    part = np.argpartition(total, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(total, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


ONEHOT_MAX_CATEGORIES = 16  # wider categorical columns count matches with a sparse product
SCAN_MARGIN = 2  # extra candidates re-ranked exactly, against rounding in the kernel
_CELLS_PER_CHUNK = 4_000_000  # query rows x references per kernel call (32 MB of float64)


def _in_range(e: Encoded, lo: Any, ranges: Any) -> Any:
    """Rows whose every number lies within the scale (on the value of a zero-range column),
    where SDMetrics' cap min(|a - b| / range, 1) cannot bind and an L1 search is exact:
    nulls allowed. The others take a brute force."""
    import numpy as np

    if not e.n_num:
        return np.ones(len(e.numeric), dtype=bool)
    safe = np.where(ranges == 0, 1.0, ranges)
    with np.errstate(invalid="ignore"):
        x = (e.numeric - lo) / safe
        bad = (x < 0) | (x > 1) | ((ranges == 0) & (x != 0))
    return ~(bad & ~np.isnan(x)).any(axis=1)


def _subset(e: Encoded, rows: Any) -> Encoded:
    return Encoded(e.numeric[rows], e.categorical[rows], e.n_num, e.n_cat)


def _l1_embedding(e: Encoded, lo: Any, ranges: Any, with_nulls: Any) -> Any:
    """Numbers (of rows within the scale) as vectors whose L1 distance is SDMetrics' summed
    terms over the numeric columns: a number scaled to x in [0, 1] is (x) when its column
    has no nulls, else (x/2, (1-x)/2), and a null is (-1/4, -1/4): |x - y| between numbers,
    exactly 1 between a number and a null, 0 between two nulls."""
    import numpy as np

    n = len(e.numeric)
    safe = np.where(ranges == 0, 1.0, ranges)
    x = np.clip((e.numeric - lo) / safe, 0.0, 1.0) if e.n_num else np.zeros((n, 0))
    parts = [np.nan_to_num(x[:, ~with_nulls])]
    if with_nulls.any():
        xn = x[:, with_nulls]
        nulls = np.isnan(xn)
        parts += [np.where(nulls, -0.25, xn / 2), np.where(nulls, -0.25, (1 - xn) / 2)]
    return np.ascontiguousarray(np.hstack(parts))


def _onehot(e: Encoded, cols: list[tuple[int, int]]) -> Any:
    """Dense one-hot of the narrow categorical columns (column, width), null its own
    category: ``A @ B.T`` counts, per pair of rows, the columns on which they agree."""
    import numpy as np

    n = len(e.categorical)
    out = np.zeros((n, sum(w for _, w in cols)))
    start = 0
    for j, width in cols:
        out[np.arange(n), start + e.categorical[:, j] + 1] = 1.0
        start += width
    return out


def _match_counts(e: Encoded, sparse_cols: list[tuple[int, int]]) -> Any:
    """A sparse one-hot matrix of the wide categorical columns (null its own category):
    ``A @ B.T`` counts, per pair of rows, the columns on which they agree."""
    import numpy as np
    from scipy.sparse import csr_matrix

    n = len(e.categorical)
    offsets = np.cumsum([0] + [w for _, w in sparse_cols])
    cols = np.column_stack(
        [e.categorical[:, j] + 1 + offsets[i] for i, (j, _) in enumerate(sparse_cols)]
    )
    data = np.ones(cols.size)
    indptr = np.arange(0, cols.size + 1, len(sparse_cols))
    return csr_matrix((data, cols.reshape(-1), indptr), shape=(n, int(offsets[-1])))


def _scan_knn(q: Encoded, r: Encoded, lo: Any, ranges: Any, k: int) -> Any:
    """Candidate nearest references of every query (k + SCAN_MARGIN of them, to be re-ranked
    in SDMetrics' arithmetic by :func:`_exact_sorted`), by scanning every pair.

    Queries within the scale (nearly all, when the scale covers the real rows) are summed
    exactly in compiled kernels: numbers by scipy's cityblock distance on an L1 embedding
    (:func:`_l1_embedding`), category mismatches as the number of columns minus the matches,
    counted by a one-hot matrix product (a sparse one for wide columns). Chunks run on
    :func:`sdops_dvc.base.parallel.threads` threads (the kernels release the GIL). Others, where
    the cap may bind, take the numpy scan. Cost: queries x references x columns, memory
    bounded by the chunk."""
    import numpy as np
    from scipy.spatial.distance import cdist

    n_ref = len(r.numeric)
    kk = min(k + SCAN_MARGIN, n_ref)
    fast = _in_range(q, lo, ranges)
    if not _in_range(r, lo, ranges).all():  # a reference outside the scale: no embedding
        fast[:] = False
    idx = np.empty((len(q.numeric), kk), dtype=np.int64)
    slow = np.flatnonzero(~fast)
    if len(slow):
        idx[slow] = _exact_scan_knn(_subset(q, slow), r, lo, ranges, kk)
    rows = np.flatnonzero(fast)
    if not len(rows):
        return idx
    f = _subset(q, rows)  # every block below is built for these query rows only
    with_nulls = np.isnan(f.numeric).any(axis=0) | np.isnan(r.numeric).any(axis=0)
    widths = [
        (j, int(max(f.categorical[:, j].max(), r.categorical[:, j].max())) + 2)
        for j in range(q.n_cat)
    ]
    narrow = [(j, w) for j, w in widths if w <= ONEHOT_MAX_CATEGORIES + 1]
    wide = [(j, w) for j, w in widths if w > ONEHOT_MAX_CATEGORIES + 1]
    qe, re_ = _l1_embedding(f, lo, ranges, with_nulls), _l1_embedding(r, lo, ranges, with_nulls)
    qo, ro_t = _onehot(f, narrow), np.ascontiguousarray(_onehot(r, narrow).T)
    qs = _match_counts(f, wide) if wide else None
    rs_t = _match_counts(r, wide).T.tocsc() if wide else None
    step = max(1, _CELLS_PER_CHUNK // max(1, n_ref))

    def chunk(s: int) -> Any:
        e = s + step
        total = cdist(qe[s:e], re_, "cityblock") if qe.shape[1] else np.zeros((len(qe[s:e]), n_ref))
        total += q.n_cat
        if narrow:
            total -= qo[s:e] @ ro_t
        if qs is not None:
            total -= (qs[s:e] @ rs_t).toarray()
        return _smallest(total, kk)

    starts = range(0, len(rows), step)
    idx[rows] = np.vstack(map_chunks(chunk, starts))
    return idx


def _exact_sorted(q: Encoded, r: Encoded, ranges: Any, cand: Any, n_cols: int) -> tuple[Any, Any]:
    """Distances of the candidate references in SDMetrics' arithmetic, sorted per query."""
    import numpy as np

    dist = np.column_stack(
        [
            _sum_terms(
                _exact_terms(
                    q.numeric,
                    r.numeric[cand[:, c]],
                    ranges,
                    q.categorical,
                    r.categorical[cand[:, c]],
                ),
                n_cols,
            )
            for c in range(cand.shape[1])
        ]
    )
    order = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(cand, order, axis=1)


def _patterns(nulls: Any) -> Any:
    """One id per distinct null pattern (row of ``nulls``)."""
    import numpy as np

    if nulls.shape[1] == 0:
        return np.zeros(len(nulls), dtype=np.int64)
    _, inv = np.unique(nulls, axis=0, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def _merge(dist: Any, idx: Any, rows: Any, d: Any, cand: Any) -> None:
    """Insert candidates (distance ``d``, reference ``cand``) for ``rows`` into the sorted
    k-best arrays, keeping the earlier of equal distances."""
    import numpy as np

    k = dist.shape[1]
    all_d = np.column_stack([dist[rows], d])
    all_i = np.column_stack([idx[rows], cand])
    order = np.argsort(all_d, axis=1, kind="stable")[:, :k]
    dist[rows] = np.take_along_axis(all_d, order, axis=1)
    idx[rows] = np.take_along_axis(all_i, order, axis=1)


def value_range(*tables: Encoded) -> tuple[Any, Any]:
    """Per numeric column (min, max) over all rows of ``tables`` (nan for an all-null column)."""
    import warnings

    import numpy as np

    stacked = np.vstack([t.numeric for t in tables])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)


def nearest(
    query: Encoded, ref: Encoded, *, k: int = 1, scale: tuple[Any, Any] | None = None
) -> tuple[Any, Any]:
    """Distances (SDMetrics' DCR definition) and reference row indices of the k nearest
    references of every query row; shape (n,) for k=1, else (n, k), sorted by distance.

    ``scale``: the (min, max) per numeric column that distances are scaled by; default the
    reference's own range, as SDMetrics does. Two distances that are compared with each other
    must share one scale (:func:`value_range` of both references)."""
    import numpy as np

    n_cols = query.n_num + query.n_cat
    if n_cols == 0:
        raise ValueError("no numerical or categorical columns to measure distances on")
    ref_u, ref_first, _ = _unique_rows(ref)
    q_u, _, q_inv = _unique_rows(query)
    lo, hi = scale if scale is not None else value_range(ref)
    ranges = np.where(np.isnan(hi - lo), 0.0, hi - lo)
    lo = np.where(np.isnan(lo), 0.0, lo)
    k_eff = min(k, len(ref_u.numeric))

    widths = [
        int(max(ref_u.categorical[:, j].max(), q_u.categorical[:, j].max())) + 2
        for j in range(ref_u.n_cat)
    ]
    q_null, r_null = np.isnan(q_u.numeric), np.isnan(ref_u.numeric)
    q_pat, r_pat = _patterns(q_null), _patterns(r_null)
    if (
        len(np.unique(q_pat)) * len(np.unique(r_pat)) > MAX_NULL_PATTERN_PAIRS
        or q_u.n_num + sum(widths) > MAX_TREE_FEATURES
    ):
        # a kd-tree degrades to worse than a scan in many dimensions (one-hot categories
        # with hundreds of values): scan every pair, vectorised
        cand = _scan_knn(q_u, ref_u, lo, ranges, k_eff)
        dist, idx = _exact_sorted(q_u, ref_u, ranges, cand, n_cols)
        dist, idx = dist[:, :k_eff], idx[:, :k_eff]
    else:
        dist, idx = _tree_knn(q_u, ref_u, lo, ranges, widths, (q_pat, r_pat), k_eff)
    dist, idx = dist[q_inv], ref_first[idx][q_inv]
    if k == 1:
        return dist[:, 0], idx[:, 0]
    return dist, idx


def _tree_knn(
    q_u: Encoded,
    ref_u: Encoded,
    lo: Any,
    ranges: Any,
    widths: list[int],
    patterns: tuple[Any, Any],
    k_eff: int,
) -> tuple[Any, Any]:
    """k nearest references of the (distinct) query rows by kd-tree searches on the L1
    embedding, exact distances, sorted per query.

    Rows where the L1 search is not exact go to the brute force: a value outside the
    reference range (the cap may bind) or off a zero-range column. Nulls are exact in the
    search: rows are grouped by null pattern, and between a query pattern and a reference
    pattern the null terms are a constant (1 per column null on one side only), so each
    pair of patterns is one L1 search on the columns both have."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    nq = len(q_u.numeric)
    q_pat, r_pat = patterns
    q_null, r_null = np.isnan(q_u.numeric), np.isnan(ref_u.numeric)
    safe = np.where(ranges == 0, 1.0, ranges)
    brute = ~_in_range(q_u, lo, ranges)
    tree_rows = np.flatnonzero(~brute)
    brute_rows = np.flatnonzero(brute)

    dist = np.full((nq, k_eff), np.inf)
    idx = np.zeros((nq, k_eff), dtype=np.int64)
    if len(tree_rows):
        q_feat = _features(q_u, lo, safe, widths)
        r_feat = _features(ref_u, lo, safe, widths)
        for qp in np.unique(q_pat[tree_rows]):
            rows = tree_rows[q_pat[tree_rows] == qp]
            for rp in np.unique(r_pat):
                refs = np.flatnonzero(r_pat == rp)
                both = ~(q_null[rows[0]] | r_null[refs[0]])  # numbers present on both sides
                cols = np.r_[np.flatnonzero(both), np.arange(q_u.n_num, q_feat.shape[1])]
                kk = min(k_eff, len(refs))
                nn = NearestNeighbors(n_neighbors=kk, metric="manhattan", algorithm="kd_tree")
                nn.fit(r_feat[np.ix_(refs, cols)] if len(cols) else np.zeros((len(refs), 1)))
                ind = nn.kneighbors(
                    q_feat[np.ix_(rows, cols)] if len(cols) else np.zeros((len(rows), 1)),
                    return_distance=False,
                )
                for col in range(kk):
                    _merge_exact(q_u, ref_u, ranges, rows, refs[ind[:, col]], dist, idx)
    if len(brute_rows):
        _brute_knn(q_u, ref_u, ranges, brute_rows, dist, idx)
    if k_eff > 1:  # order neighbours by the exact distance
        order = np.argsort(dist, axis=1, kind="stable")
        dist = np.take_along_axis(dist, order, axis=1)
        idx = np.take_along_axis(idx, order, axis=1)
    return dist, idx


def _merge_exact(
    q_u: Encoded, ref_u: Encoded, ranges: Any, rows: Any, cand: Any, dist: Any, idx: Any
) -> None:
    """The exact distances of ``rows`` to their candidates ``cand``, merged into the k best."""
    terms = _exact_terms(
        q_u.numeric[rows],
        ref_u.numeric[cand],
        ranges,
        q_u.categorical[rows],
        ref_u.categorical[cand],
    )
    _merge(dist, idx, rows, _sum_terms(terms, q_u.n_num + q_u.n_cat), cand)


def _brute_knn(q_u: Encoded, ref_u: Encoded, ranges: Any, rows: Any, dist: Any, idx: Any) -> None:
    """The k nearest references of ``rows`` by brute force, into ``dist`` and ``idx``."""
    import numpy as np

    k_eff = dist.shape[1]
    if k_eff == 1:
        d, a = _brute_min(q_u, ref_u, ranges, rows)
        dist[rows, 0], idx[rows, 0] = d, a
        return
    for row in rows:
        d_all = _brute_all(q_u, ref_u, ranges, int(row))
        order = np.argsort(d_all, kind="stable")[:k_eff]
        dist[row], idx[row] = d_all[order], order


def dcr(query: pd.DataFrame, ref: pd.DataFrame, sdtypes: dict[str, str]) -> np.ndarray:  # type: ignore[type-arg]
    """Distance of each query row to its closest reference row (SDMetrics' definition)."""
    q, r = encode_shared([query, ref], sdtypes)
    d, _ = nearest(q, r)
    result: np.ndarray = d  # type: ignore[type-arg]
    return result
