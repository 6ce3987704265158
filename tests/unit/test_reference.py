"""Our metrics give the reference libraries' numbers on the same rows.

- Column Shapes / Column Pair Trends: SDMetrics QualityReport, to 1e-9.
- DCR: SDMetrics ``calculate_dcr`` row for row and DCROverfittingProtection's share, to 1e-9.
- Singling out, linkability, inference: anonymeter 1.1, within its 95% confidence interval,
  on the same rows and seed.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from sdops_dvc.base.templates import demo_table
from sdops_dvc.domain.metadata import column_sdtypes, detect
from tests.conftest import CREDIT

warnings.filterwarnings("ignore")


def _perturbed(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A stand-in synthetic table: real rows with numbers scaled and categories swapped."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c] * rng.uniform(0.7, 1.4, len(out))
        elif out[c].dtype == object:
            swap = rng.random(len(out)) < 0.2
            out.loc[swap, c] = rng.choice(out[c].unique(), swap.sum())
    return out


@pytest.fixture(scope="module", params=["credit", "health", "credit-with-nulls"])
def table(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, dict]:  # type: ignore[type-arg]
    df = pd.read_csv(CREDIT if request.param.startswith("credit") else demo_table())
    if request.param == "credit-with-nulls":  # pairwise-complete correlations, null codes
        rng = np.random.default_rng(4)
        numbers = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])][:3]
        categories = [c for c in df.columns if df[c].dtype == object][:2]
        for col in numbers + categories:
            df.loc[rng.random(len(df)) < 0.12, col] = np.nan
    return df, detect(df, "t")


def test_column_shapes_and_pair_trends_match_sdmetrics(table: tuple[pd.DataFrame, dict]) -> None:  # type: ignore[type-arg]
    from sdmetrics.reports import QualityReport

    from sdops_dvc.metrics.fidelity import column_pair_trends, column_shapes

    real, meta = table
    syn = _perturbed(real.sample(frac=0.6, random_state=1).reset_index(drop=True), 2)
    sdtypes = column_sdtypes(meta)
    shapes, by_col = column_shapes(real, syn, sdtypes)
    cpt, cpt_all, pairs = column_pair_trends(real, syn, sdtypes)

    report = QualityReport()
    report.generate({"t": real}, {"t": syn}, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    assert abs(shapes - props["Column Shapes"]) < 1e-9
    assert cpt is not None and abs(cpt - props["Column Pair Trends"]) < 1e-9
    details = report.get_details("Column Shapes").set_index("Column")["Score"]
    for col, score in by_col.items():
        assert abs(score - details[col]) < 1e-9, col
    pair_details = report.get_details("Column Pair Trends")
    mine = {p.columns: p for p in pairs}
    for _, row in pair_details.iterrows():
        p = mine[(row["Column 1"], row["Column 2"])]
        assert bool(row["Meets Threshold?"]) == p.counted
        if p.counted:
            assert abs(p.score - row["Score"]) < 1e-9
    assert cpt_all is not None and 0 < cpt_all <= 1


def _dcr_frames(
    real: pd.DataFrame, seed: int, n: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(real))
    train = real.iloc[perm[:n]].reset_index(drop=True)
    holdout = real.iloc[perm[n : 2 * n]].reset_index(drop=True)
    copies = train.sample(n // 3, random_state=seed)
    syn = pd.concat([copies, _perturbed(holdout.head(n // 2), seed)], ignore_index=True)
    num = [c for c in syn.columns if pd.api.types.is_float_dtype(syn[c])]
    syn.loc[syn.index[:5], num[0]] = syn[num[0]].max() * 3  # far outside the range: the cap binds
    syn.loc[syn.index[5:8], num[-1]] = np.nan  # nulls take the exact path
    return train, holdout, syn


def test_dcr_matches_sdmetrics_row_for_row_and_share(table: tuple[pd.DataFrame, dict]) -> None:  # type: ignore[type-arg]
    from sdmetrics.single_table import DCROverfittingProtection
    from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

    from sdops_dvc.metrics.distance import dcr, encode_shared, nearest
    from sdops_dvc.metrics.privacy import dcr_share

    real, meta = table
    train, holdout, syn = _dcr_frames(real, 3, 600)
    tmeta = meta["tables"]["t"]
    sdtypes = column_sdtypes(meta)
    ours = dcr(syn, train, sdtypes)
    ref = calculate_dcr(syn, train, tmeta).to_numpy()
    assert np.abs(ours - ref).max() < 1e-12
    breakdown = DCROverfittingProtection.compute_breakdown(
        real_training_data=train,
        synthetic_data=syn,
        real_validation_data=holdout,
        metadata={"tables": {"t": tmeta}},
        table_name="t",
    )
    # SDMetrics scales each distance by its own reference's range: the same search, each
    # reference scaled by itself, gives its share exactly
    q, tr, ho = encode_shared([syn, train, holdout], sdtypes)
    own = float((nearest(q, tr)[0] < nearest(q, ho)[0]).mean())
    assert abs(own - breakdown["synthetic_data_percentages"]["closer_to_training"]) < 1e-9
    # the gate's share scales both by one range (train and holdout together), so the sample
    # holding the wider extreme does not look closer; checked against a brute force
    res = dcr_share(syn, train, holdout, sdtypes)
    both = pd.concat([train, holdout])
    d_tr = _brute_dcr(syn, train, both, sdtypes)
    d_ho = _brute_dcr(syn, holdout, both, sdtypes)
    assert np.abs(res.dcr_train - d_tr).max() < 1e-12
    assert np.abs(res.dcr_holdout - d_ho).max() < 1e-12
    assert res.share == float((d_tr < d_ho).mean())
    assert res.share > 0.3  # the copies are closer to train: the case is not trivial


def _brute_dcr(
    query: pd.DataFrame, ref: pd.DataFrame, scale_rows: pd.DataFrame, sdtypes: dict[str, str]
) -> np.ndarray:  # type: ignore[type-arg]
    """SDMetrics' per-column arithmetic, every pair of rows, ranges of ``scale_rows``."""
    result: np.ndarray = _brute_pairs(query, ref, scale_rows, sdtypes).min(axis=1)  # type: ignore[type-arg]
    return result


def _brute_pairs(
    query: pd.DataFrame, ref: pd.DataFrame, scale_rows: pd.DataFrame, sdtypes: dict[str, str]
) -> np.ndarray:  # type: ignore[type-arg]
    """Every pair's distance in SDMetrics' arithmetic (queries x references)."""
    total = np.zeros((len(query), len(ref)))
    cols = [c for c, t in sdtypes.items() if t in ("numerical", "categorical", "boolean")]
    for c in cols:
        a = query[c].to_numpy()[:, None]
        b = ref[c].to_numpy()[None, :]
        if sdtypes[c] == "numerical":
            a, b = a.astype(float), b.astype(float)
            rng = float(scale_rows[c].max() - scale_rows[c].min())
            t = np.minimum(np.abs(a - b) / rng, 1.0) if rng else (a != b).astype(float)
            an, bn = np.isnan(a), np.isnan(b)
            t = np.where(an ^ bn, 1.0, np.where(an & bn, 0.0, t))
        else:
            t = (a.astype(str) != b.astype(str)).astype(float)
        total += t
    result: np.ndarray = total / len(cols)  # type: ignore[type-arg]
    return result


def _attack_rows(case: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """credit_card in thirds: the real table, the train rows, the control, and the
    "synthetic" rows: copies of the train rows, or the third the generator never saw."""
    real = pd.read_csv(CREDIT)
    perm = np.random.default_rng(0).permutation(len(real))
    n = len(real) // 3
    ori, control, other = (
        real.iloc[perm[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3)
    )
    syn = ori.sample(frac=1.0, random_state=1).reset_index(drop=True) if case == "copies" else other
    return real, ori, control, syn


@pytest.mark.parametrize("case", ["copies", "unseen"])
def test_anonymeter_risks_agree_within_its_confidence_interval(case: str) -> None:
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    from sdops_dvc.metrics.anonymity import inference, linkability, singling_out

    real, ori, control, syn = _attack_rows(case)
    cols = list(real.columns)
    aux = (cols[: len(cols) // 2], cols[len(cols) // 2 :])

    def within(ours: float, ref: object) -> None:
        lo, hi = ref.ci  # type: ignore[attr-defined]
        assert lo - 1e-9 <= ours <= hi + 1e-9, (ours, ref)

    ev_so = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=200, seed=3)
    within(
        singling_out(ori, syn, control, n_attacks=200, seed=3).value,
        ev_so.evaluate(mode="multivariate").risk(),
    )
    np.random.seed(3)
    ev_lk = LinkabilityEvaluator(
        ori=ori, syn=syn, control=control, aux_cols=aux, n_attacks=300
    ).evaluate(n_jobs=1)
    within(linkability(ori, syn, control, aux, n_attacks=300, seed=3).value, ev_lk.risk())
    np.random.seed(3)
    ev_in = InferenceEvaluator(
        ori=ori, syn=syn, control=control, aux_cols=cols[1:], secret="card", n_attacks=300
    ).evaluate(n_jobs=1)
    ours_in = inference(
        ori, syn, control, cols[1:], "card", regression=False, n_attacks=300, seed=3
    )
    within(ours_in.value, ev_in.risk())
    # same targets and 1-NN guesses: the inference counts agree exactly
    assert (ours_in.n_success, ours_in.n_control) == (ev_in._n_success, ev_in._n_control)
    if case == "copies":
        assert ours_in.value > 0.5 and ev_lk.risk().value > 0.5


def test_singling_out_shortcut_equals_counting() -> None:
    """The skyline test that finds every singling-out query equals counting each query."""
    from sdops_dvc.metrics.anonymity import _tables, _unique_under_own_query, own_query

    rng = np.random.default_rng(1)
    for trial in range(25):
        n = int(rng.integers(5, 250))
        df = pd.DataFrame(
            {
                "a": rng.integers(0, 6, n).astype(float),
                "b": rng.integers(0, 4, n).astype(float),
                "c": rng.normal(size=n).round(1),
                "d": rng.choice(list("xyz"), n),
                "e": rng.choice(list("pq"), n),
            }
        )
        if trial % 3 == 0:
            df.loc[rng.integers(0, n, 3), "c"] = np.nan
        df = df.drop_duplicates().reset_index(drop=True)
        (t,) = _tables([df], list(df.columns))
        med = [float(np.nanmedian(c)) if t.numeric[j] else np.nan for j, c in enumerate(t.cols)]
        for combo in itertools.combinations(range(5), 3):
            fast = _unique_under_own_query(t, list(combo), med)
            for r in range(t.n):
                assert fast[r] == (t.count(own_query(t, r, combo, med)) == 1), (trial, combo, r)


@pytest.mark.parametrize("search", ["kd-tree", "scan"])
def test_nearest_with_nulls_on_both_sides_equals_a_brute_force(
    search: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nulls are searched exactly: grouped by null pattern in the kd-tree, or by the
    vectorised scan that wide one-hot tables take."""
    from sdops_dvc.metrics import distance
    from sdops_dvc.metrics.distance import encode_shared, nearest

    if search == "scan":
        monkeypatch.setattr(distance, "MAX_TREE_FEATURES", 0)

    rng = np.random.default_rng(5)
    n = 400

    def frame(m: int) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "a": rng.normal(size=m),
                "b": rng.integers(0, 20, m).astype(float),
                "c": rng.choice(["x", "y", "z"], m),
                "d": rng.exponential(size=m),
            }
        )
        for col, share in (("a", 0.2), ("b", 0.1), ("d", 0.3)):
            df.loc[rng.random(m) < share, col] = np.nan
        return df

    query, ref = frame(n), frame(n)
    sdtypes = {"a": "numerical", "b": "numerical", "c": "categorical", "d": "numerical"}
    q, r = encode_shared([query, ref], sdtypes)
    d1, _ = nearest(q, r)
    brute = _brute_dcr(query, ref, ref, sdtypes)
    assert np.abs(d1 - brute).max() < 1e-12
    d2, _ = nearest(q, r, k=2)
    assert np.abs(d2[:, 0] - brute).max() < 1e-12 and (d2[:, 1] >= d2[:, 0]).all()


@pytest.mark.parametrize("threads", [1, 2])
def test_scan_is_exact_out_of_range_with_wide_categories(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded scan wide tables take equals SDMetrics' arithmetic on every pair: queries
    beyond the reference range (the cap binds; the numpy scan answers them), nulls on both
    sides, a zero-range column, a category too wide for one-hot (sparse match counts), many
    chunks on one or two threads."""
    from sdops_dvc.base import parallel
    from sdops_dvc.metrics import distance
    from sdops_dvc.metrics.distance import encode_shared, nearest, value_range

    monkeypatch.setattr(distance, "MAX_TREE_FEATURES", 0)
    monkeypatch.setattr(distance, "_CELLS_PER_CHUNK", 5_000)  # ~16 query rows a chunk
    rng = np.random.default_rng(11)

    def frame(m: int, spread: float) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "a": rng.normal(scale=spread, size=m),
                "b": rng.integers(0, 8, m).astype(float),
                "w": rng.choice([f"c{i}" for i in range(40)], m),
                "c": rng.choice(["x", "y", "z"], m),
                "z": np.where(rng.random(m) < 0.05 * (spread - 1), 7.0, 3.0),
            }
        )
        for col, share in (("a", 0.15), ("b", 0.1), ("w", 0.1)):
            df.loc[rng.random(m) < share, col] = np.nan
        return df

    ref, query = frame(300, 1.0), frame(250, 1.6)
    far = (query["a"].abs() > ref["a"].abs().max()) & (query.index >= 50)  # numpy-scan rows
    query.loc[far, "c"] = "only-in-far-rows"  # a category (the highest code) no embedded row has
    assert far.any()
    sdtypes = {"a": "numerical", "b": "numerical", "w": "categorical", "c": "categorical"}
    sdtypes["z"] = "numerical"
    q, r = encode_shared([query, ref], sdtypes)
    assert not distance._in_range(q, *_lo_range(value_range(r))).all()  # the cap binds somewhere
    pairs = np.sort(_brute_pairs(query, ref, ref, sdtypes), axis=1)
    with parallel.bounded(threads):
        d1, i1 = nearest(q, r)
        d3, _ = nearest(q, r, k=3)
    assert np.abs(d1 - pairs[:, 0]).max() < 1e-12
    assert np.abs(d3 - pairs[:, :3]).max() < 1e-12
    brute_at_index = _brute_pairs(query, ref, ref, sdtypes)[np.arange(len(query)), i1]
    assert np.abs(brute_at_index - d1).max() < 1e-12  # the index names a nearest row


def _lo_range(scale: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    lo, hi = scale
    return lo, hi - lo


def test_singling_out_queries_with_nulls_match_counting() -> None:
    """The vectorised uniqueness test equals counting each row's own query, nulls included."""
    from sdops_dvc.metrics.anonymity import _tables, _unique_under_own_query, own_query

    rng = np.random.default_rng(2)
    m = 600
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 30, m).astype(float),
            "b": rng.integers(0, 10, m).astype(float),
            "c": rng.choice(["x", "y"], m),
            "d": rng.integers(0, 5, m).astype(float),
        }
    )
    for col in ("a", "b", "d"):
        df.loc[rng.random(m) < 0.25, col] = np.nan
    (t,) = _tables([df], list(df.columns))
    medians = [
        float(np.nanmedian(c)) if t.numeric[j] else float("nan") for j, c in enumerate(t.cols)
    ]
    found, with_null = 0, 0
    for cols in ([0, 1, 2], [0, 1, 3], [1, 2], [0]):
        fast = _unique_under_own_query(t, cols, medians)
        slow = [t.count(own_query(t, r, cols, medians)) == 1 for r in range(m)]
        assert fast.tolist() == slow, cols
        found += sum(slow)
        with_null += sum(slow[r] and df.iloc[r, cols].isna().any() for r in range(m))
    assert found > 20 and with_null > 5  # not trivial: rows with nulls are singled out too


@pytest.mark.parametrize("case", ["copies", "unseen"])
def test_outside_linkage_agrees_with_anonymeter(case: str) -> None:
    """The outside table holds the public columns of real people; the attacker links it
    through the release to the rest of their record: anonymeter's LinkabilityEvaluator with
    aux_cols = (public, rest), on the same rows, within its confidence interval. Copies of
    the train rows are linked almost always; real rows the generator never saw are not."""
    from anonymeter.evaluators import LinkabilityEvaluator

    from sdops_dvc.metrics.anonymity import linkability

    real, ori, control, syn = _attack_rows(case)
    public = ["age", "income", "owner"]
    aux = (public, [c for c in real.columns if c not in public])
    np.random.seed(4)
    ref = (
        LinkabilityEvaluator(ori=ori, syn=syn, control=control, aux_cols=aux, n_attacks=300)
        .evaluate(n_jobs=1)
        .risk()
    )
    ours = linkability(ori, syn, control, aux, n_attacks=300, seed=4)
    assert ref.ci[0] - 1e-9 <= ours.value <= ref.ci[1] + 1e-9, (ours.value, ref)
    if case == "copies":
        assert ours.value > 0.9 and ours.p_value < 1e-6
    else:
        assert ours.value < 0.05
