"""Rebalanced generation (``generator.conditions``): rows drawn group by group.

A mitigation step, not a new model: the synthesizer is fitted once, its unconditioned
sample is drawn first (the model, which the quality and privacy gates judge, byte for byte
what it would be without conditions), then each declared group's rows from the same fit by
SDV's conditional sampling (``sample_from_conditions``; cart by rejection from batches
drawn with seeds derived from the generator's), shuffled with the generator's seed
so that no reader sees the groups in blocks.

Checked against the train split before anything is fitted: the columns are categorical,
every declared value is one the train split holds, every group the train split holds is
declared (a group left out would silently get no rows; give it 0 to drop it on purpose),
and a group given rows holds at least ``report.min_bin_count`` train records (oversampling
a handful of people multiplies their exposure). Errors name groups by their labels and
counts, never rows.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, DataError
from sdops_dvc.domain.metadata import CATEGORICAL_SDTYPES

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.domain.config import ConditionsCfg, Params


@dataclass(frozen=True)
class GroupPlan:
    label: str  # "gender=female"
    values: dict[str, Any]  # column -> the value as the train split holds it
    rows: int  # rows to generate
    train_rows: int  # train records in the group


# YAML 1.1 reads these unquoted words as booleans: `{owner: yes}` arrives as True
_YAML_BOOL = {True: {"yes", "y", "true", "on"}, False: {"no", "n", "false", "off"}}


def _as_held(column: pd.Series, declared: Any) -> Any:
    """The train split's own value equal to a declared one (YAML gives 1 where a csv column
    holds "1", and True where it holds "yes"); None when the column holds no such value."""
    held_values = list(column.dropna().unique())
    for held in held_values:
        if held == declared or str(held) == str(declared):
            return held
    if isinstance(declared, bool):
        spelled = [h for h in held_values if str(h).lower() in _YAML_BOOL[declared]]
        if len(spelled) == 1:
            return spelled[0]
    return None


def plan_groups(
    cond: ConditionsCfg,
    train: pd.DataFrame,
    sdtypes: dict[str, str],
    total: int,
    min_count: int,
) -> list[GroupPlan]:
    """The rows each group gets, checked against the train split (module doc)."""
    cols = cond.columns
    missing = [c for c in cols if c not in train.columns]
    if missing:
        raise ConfigError(f"generator.conditions names column(s) not in the train split: {missing}")
    wrong = [c for c in cols if sdtypes.get(c) not in CATEGORICAL_SDTYPES]
    if wrong:
        raise ConfigError(
            f"generator.conditions: {', '.join(wrong)} are not categorical in the metadata",
            hint="condition on categorical or boolean columns (groups), not numbers",
        )
    counts = cond.counts(total)
    plans = []
    for group, rows in zip(cond.groups, counts, strict=True):
        held = {c: _as_held(train[c], v) for c, v in group.values.items()}
        absent = [f"{c}={group.values[c]}" for c, v in held.items() if v is None]
        if absent:
            raise ConfigError(
                f"generator.conditions: the train split holds no {', '.join(absent)}",
                hint="name values the column holds (`sdops init` wrote the metadata)",
            )
        mask = (train[cols] == [held[c] for c in cols]).all(axis=1)
        label = ", ".join(f"{c}={v}" for c, v in held.items())  # as the data holds it
        plans.append(GroupPlan(label, held, rows, int(mask.sum())))
    small = [p for p in plans if p.rows and p.train_rows < min_count]
    if small:
        raise ConfigError(
            "generator.conditions: "
            + "; ".join(f"{p.label} holds {p.train_rows} train record(s)" for p in small)
            + f", fewer than report.min_bin_count ({min_count}): generating rows for so few "
            "people multiplies their exposure",
            hint="give such a group 0 rows, or merge it with another in the source",
        )
    declared = {tuple(str(v) for v in p.values.values()) for p in plans}
    held_groups = train[cols].dropna().astype(str).drop_duplicates()
    undeclared = [
        ", ".join(f"{c}={v}" for c, v in zip(cols, row, strict=True))
        for row in held_groups.itertuples(index=False)
        if tuple(row) not in declared
    ]
    if undeclared:
        raise ConfigError(
            f"generator.conditions: the train split holds group(s) not declared: "
            f"{'; '.join(sorted(undeclared)[:10])}",
            hint="declare every group; give one 0 rows (or share 0) to drop it on purpose",
        )
    return plans


def plan_of(
    params: Params, train: pd.DataFrame, sdtypes: dict[str, str], *, check_counts: bool = True
) -> list[GroupPlan]:
    """params' groups (none without generator.conditions) with their rows: the declared
    rows, or generator.num_rows (else the train split's size) split by the shares.
    ``check_counts``: refuse a group with too few train records (generate; evaluate reads
    the plan generate accepted)."""
    cond = params.generator.conditions
    if cond is None:
        return []
    total = params.generator.num_rows or cond.total() or len(train)
    min_count = params.report.min_bin_count if check_counts else 0
    return plan_groups(cond, train, sdtypes, total, min_count)


@contextlib.contextmanager
def _quiet(progress: bool) -> Iterator[None]:
    """SDV's conditional sampling always draws a progress bar on stderr: shown on request
    only (our log handler keeps the stream it was given)."""
    if progress:
        yield
        return
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def sample_groups(
    synth: Any, plans: list[GroupPlan], table: str, seed: int, *, progress: bool
) -> pd.DataFrame:
    """Each group's rows from the fitted SDV synthesizer, checked and shuffled."""
    import pandas as pd
    from sdv.sampling import Condition

    wanted = [p for p in plans if p.rows]
    conditions = [Condition(num_rows=p.rows, column_values=p.values) for p in wanted]
    with _quiet(progress):
        try:
            out = synth.sample_from_conditions(conditions=conditions)
        except Exception as exc:  # SDV's message names the condition, never a row
            raise DataError(
                f"conditional sampling failed: {type(exc).__name__}: {exc}",
                hint="a neural family samples groups by rejection and may not find enough "
                "rows of a rare group: lower its share, or use family gaussian_copula "
                "(which conditions exactly)",
            ) from None
    if isinstance(out, dict):
        out = out[table]
    short = []
    for p in wanted:
        got = int(in_group(out, p).sum())
        if got != p.rows:
            short.append(f"{p.label}: {got} of {p.rows}")
    if short or len(out) != sum(p.rows for p in wanted):
        raise DataError(
            "conditional sampling did not give the declared rows: " + "; ".join(short),
            hint="a neural family samples groups by rejection: lower the share of a rare "
            "group, or use family gaussian_copula (which conditions exactly)",
        )
    return _shuffled(pd.DataFrame(out), seed)


def _shuffled(data: pd.DataFrame, seed: int) -> pd.DataFrame:
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(data))
    return data.iloc[order].reset_index(drop=True)


def in_group(data: pd.DataFrame, plan: GroupPlan) -> Any:
    """The rows of ``data`` in the group (a boolean mask)."""
    return (data[list(plan.values)] == list(plan.values.values())).all(axis=1)


MAX_BATCHES = 100  # as SDV's max_tries_per_batch
MIN_BATCH = 10_000


def reject_sample(
    draw: Callable[[int, int], pd.DataFrame], plans: list[GroupPlan], seed: int
) -> pd.DataFrame:
    """Each group's rows by rejection from a family that samples only unconditioned
    (``draw(rows, seed)``): batches drawn with seeds derived from ``seed`` until every
    group has its rows; the exact conditional distribution of the same fit."""
    import numpy as np
    import pandas as pd

    need = [p.rows for p in plans]
    parts: list[list[pd.DataFrame]] = [[] for _ in plans]
    batch = max(MIN_BATCH, sum(need))
    for k in range(MAX_BATCHES):
        if not any(need):
            break
        state = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        rows = draw(batch, state)
        for i, p in enumerate(plans):
            if need[i]:
                took = rows[in_group(rows, p)].iloc[: need[i]]
                parts[i].append(took)
                need[i] -= len(took)
    short = [f"{p.label}: {p.rows - n} of {p.rows}" for p, n in zip(plans, need, strict=True) if n]
    if short:
        raise DataError(
            f"conditional sampling found too few rows in {MAX_BATCHES} batches of {batch}: "
            + "; ".join(short),
            hint="the model makes such rows rarely: lower the group's share, or use family "
            "gaussian_copula (which conditions exactly)",
        )
    frames = [f for group in parts for f in group]
    return _shuffled(pd.concat(frames, ignore_index=True), seed)


def achieved(data: pd.DataFrame, plans: list[GroupPlan]) -> list[dict[str, Any]]:
    """Per group: declared rows and the rows the data holds (the data view's first table)."""
    n = max(1, len(data))
    rows = []
    for p in plans:
        got = int(in_group(data, p).sum())
        rows.append({"group": p.label, "target_rows": p.rows, "rows": got, "share": got / n})
    return rows
