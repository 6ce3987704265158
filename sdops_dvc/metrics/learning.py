"""Model-based metrics: detection AUC and train-on-synthetic utility (TSTR vs TRTR).

HistGradientBoosting (native categorical support) for both: SDMetrics' logistic
detection is weak (AUC 0.50-0.58 where gradient boosting finds 0.72-0.86).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


MAX_CATEGORIES = 255  # sklearn's HistGradientBoosting limit (its max_bins)
OTHER = "\x00(other)"  # the pooled rare categories; sorts before any real value


MIN_VALUES = 20  # a numeric feature with fewer values than this enters as its missingness


def model_frames(frames: list[pd.DataFrame], columns: list[str]) -> list[pd.DataFrame]:
    """Features for sklearn: numbers as float, datetimes as seconds, everything else as a
    pandas category with categories shared across the frames."""
    import pandas as pd

    out: list[dict[str, Any]] = [{} for _ in frames]
    for c in columns:
        first = frames[0][c]
        if pd.api.types.is_bool_dtype(first) or not (
            pd.api.types.is_numeric_dtype(first) or pd.api.types.is_datetime64_any_dtype(first)
        ):
            texts = [f[c].astype("string").astype(object).where(f[c].notna()) for f in frames]
            counts = pd.concat([t.dropna() for t in texts]).value_counts()
            if len(counts) > MAX_CATEGORIES:
                # HistGradientBoosting takes at most 255 categories per feature: keep the most
                # frequent (ties by name, so the choice is deterministic) and pool the rest
                order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                keep = {k for k, _ in order[: MAX_CATEGORIES - 1]}
                texts = [t.where(t.isna() | t.isin(keep), OTHER) for t in texts]
                cats = pd.Index(sorted([*keep, OTHER]))
            else:
                cats = pd.Index(sorted(counts.index))
            for i, t in enumerate(texts):
                out[i][c] = pd.Categorical(t, categories=cats)
        elif pd.api.types.is_datetime64_any_dtype(first):
            for i, f in enumerate(frames):
                col = pd.to_datetime(f[c], errors="coerce")
                out[i][c] = col.astype("int64").astype(float).where(col.notna()) / 1e9
        else:
            nums = [pd.to_numeric(f[c], errors="coerce").astype(float) for f in frames]
            if sum(int(n.notna().sum()) for n in nums) < MIN_VALUES:
                # nearly all missing (a parent's column few rows reach): a training fold may
                # hold none of its values, which the histogram binning cannot take; whether
                # it is missing is what it tells a model
                nums = [n.notna().astype(float) for n in nums]
            for i, n in enumerate(nums):
                out[i][c] = n
    return [pd.DataFrame(o, index=f.index) for o, f in zip(out, frames, strict=True)]


def _clf(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=seed, max_iter=100
    )


def _cap(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    return df.sample(n=n, random_state=seed) if len(df) > n else df


@dataclass(frozen=True)
class DetectionResult:
    auc: float
    rows_per_side: int
    folds: int
    seed: int


def detection_auc(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int, max_rows: int, folds: int = 5
) -> DetectionResult:
    """Cross-validated AUC of a classifier telling real from synthetic (0.5 = cannot)."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    n = min(len(real), len(synthetic), max_rows)
    r = _cap(real, n, seed)
    s = _cap(synthetic, n, seed + 1)
    cols = [c for c in real.columns if c in synthetic.columns]
    xr, xs = model_frames([r, s], cols)
    x = pd.concat([xr, xs], ignore_index=True)
    y = np.concatenate([np.zeros(len(xr)), np.ones(len(xs))])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(_clf(seed), x, y, cv=cv, method="predict_proba")[:, 1]
    return DetectionResult(float(roc_auc_score(y, proba)), n, folds, seed)


def detection_drivers(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int, max_rows: int, top: int = 5
) -> list[tuple[str, float]]:
    """The columns a real-vs-synthetic classifier leans on most: the AUC lost on a held-out
    fifth when one column is shuffled (permutation importance), largest first."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    n = min(len(real), len(synthetic), max_rows)
    cols = [c for c in real.columns if c in synthetic.columns]
    xr, xs = model_frames([_cap(real, n, seed), _cap(synthetic, n, seed + 1)], cols)
    x = pd.concat([xr, xs], ignore_index=True)
    y = np.concatenate([np.zeros(len(xr)), np.ones(len(xs))])
    x_fit, x_test, y_fit, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    model = _clf(seed).fit(x_fit, y_fit)
    base = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    rng = np.random.default_rng(seed)
    drops = []
    for col in x.columns:
        shuffled = x_test.copy()
        shuffled[col] = shuffled[col].to_numpy()[rng.permutation(len(shuffled))]
        drops.append(
            (str(col), float(base - roc_auc_score(y_test, model.predict_proba(shuffled)[:, 1])))
        )
    drops.sort(key=lambda d: -d[1])
    return [d for d in drops[:top] if d[1] > 0.005]


@dataclass(frozen=True)
class UtilityResult:
    task: str
    metric: str
    tstr: float | None
    trtr: float | None
    ratio: float | None
    model_tstr: Any
    model_trtr: Any
    x_holdout: Any  # holdout features encoded as the models saw them (for subgroups)
    y_holdout: Any
    x_also: Any  # features of ``score_also`` rows, encoded the same way (or None)
    y_also: Any
    rows: dict[str, int]
    seed: int


def infer_task(col: pd.Series, declared: str) -> str:
    import pandas as pd

    if declared != "auto":
        return declared
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        return "classification"
    return "classification" if col.nunique(dropna=True) <= 10 else "regression"


def score_model(model: Any, task: str, x: pd.DataFrame, y: pd.Series) -> float | None:
    """AUC (one-vs-rest macro for several classes) or R^2 on (x, y); None if undefined."""
    import numpy as np
    from sklearn.metrics import r2_score, roc_auc_score

    if model is None or len(y) == 0:
        return None
    if task == "regression":
        if len(y) < 2:
            return None
        return float(r2_score(y.astype(float), model.predict(x)))
    y = y.astype(str)
    present = sorted(y.unique())
    if len(present) < 2:
        return None
    proba = model.predict_proba(x)
    classes = [str(c) for c in model.classes_]
    if len(present) == 2:
        pos = present[1]
        p = proba[:, classes.index(pos)] if pos in classes else np.zeros(len(y))
        return float(roc_auc_score((y == pos).to_numpy(), p))
    full = np.zeros((len(y), len(present)))
    for j, cls in enumerate(present):
        if cls in classes:
            full[:, j] = proba[:, classes.index(cls)]
    sums = full.sum(axis=1, keepdims=True)
    full = np.where(sums > 0, full / np.where(sums == 0, 1, sums), 1.0 / len(present))
    return float(
        roc_auc_score(y.to_numpy(), full, multi_class="ovr", average="macro", labels=present)
    )


def _fittable(x: pd.DataFrame) -> pd.DataFrame:
    """``x`` with every numeric feature that holds no value at all made a constant:
    histogram binning cannot take an all-missing feature (sklearn raises "window shape
    cannot be larger than input array shape"), and a synthetic table can hold one (a
    datetime column in another format, a generator that emitted only nulls). A constant
    is never split on, so the model is the one it would be without the feature."""
    empty = [c for c in x.columns if x[c].dtype.kind == "f" and not x[c].notna().any()]
    return x.assign(**{c: 0.0 for c in empty}) if empty else x


def _fit_model(task: str, x: pd.DataFrame, y: pd.Series, seed: int) -> Any:
    """The utility model fitted on ``x``, ``y`` (None for a classification with one class:
    nothing can be learned)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    x = _fittable(x)
    if task == "regression":
        m = HistGradientBoostingRegressor(
            categorical_features="from_dtype", random_state=seed, max_iter=100
        )
        return m.fit(x, y.astype(float))
    y = y.astype(str)
    if y.nunique() < 2:
        return None
    return _clf(seed).fit(x, y)


def utility(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    task: str,
    *,
    seed: int,
    max_rows: int,
    score_also: pd.DataFrame | None = None,
) -> UtilityResult:
    """TSTR and TRTR on the holdout; ``score_also`` rows are encoded alongside (monitoring
    scores the same models on other real rows)."""
    task = infer_task(train[target], task)
    feats = [c for c in train.columns if c != target and c in synthetic.columns]
    tr = _cap(train.dropna(subset=[target]), max_rows, seed)
    sy = _cap(synthetic.dropna(subset=[target]), max_rows, seed)
    ho = holdout.dropna(subset=[target])
    also = score_also.dropna(subset=[target]) if score_also is not None else None
    frames = model_frames([tr, sy, ho] + ([also] if also is not None else []), feats)
    xtr, xsy, xho = frames[:3]
    x_also = frames[3] if also is not None else None

    m_syn = _fit_model(task, xsy, sy[target], seed)
    m_real = _fit_model(task, xtr, tr[target], seed)
    tstr = score_model(m_syn, task, xho, ho[target])
    if m_syn is None and task == "classification":
        tstr = 0.5
    trtr = score_model(m_real, task, xho, ho[target])
    metric = "r2" if task == "regression" else "auc"
    ratio = None
    if tstr is not None and trtr is not None and trtr > 0 and not math.isnan(trtr):
        ratio = tstr / trtr
    return UtilityResult(
        task,
        metric,
        tstr,
        trtr,
        ratio,
        m_syn,
        m_real,
        xho,
        ho[target],
        x_also,
        also[target] if also is not None else None,
        {"train": len(tr), "synthetic": len(sy), "holdout": len(ho)},
        seed,
    )
