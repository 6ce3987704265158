"""The data view of rebalanced generation (``generator.conditions``): privacy per group.

Oversampling a group draws more rows near its few real records, so the rebalanced output
is judged group by group: within each declared group, its synthetic rows against equal-size
samples of the group's train and holdout records, the same two tests the privacy gate runs
on the whole table (exact copies of train rows beyond holdout copies, McNemar; DCR share,
references exchanged). Real rows passed off as synthetic are judged on the released rows as
a whole (copies of holdout rows beyond the holdout's own duplicates, the whole-table test):
per group, the duplicates of a low-entropy table made that test fail on unseen real rows.
Groups with fewer holdout records than ``min_size`` are reported, not gated; the gate
corrects alpha for the number of groups gated (Bonferroni).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sdops_dvc.synthesizers.conditions import GroupPlan


@dataclass(frozen=True)
class GroupPrivacy:
    group: str
    target_rows: int
    rows: int  # rebalanced rows in the group
    train_rows: int
    holdout_rows: int
    gated: bool
    copies_train: float | None = None
    copies_holdout: float | None = None
    copies_p_value: float | None = None
    dcr_share: float | None = None
    dcr_p_value: float | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def group_privacy(
    released: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    plans: list[GroupPlan],
    columns: list[str],
    sdtypes: dict[str, str],
    *,
    min_size: int,
    seed: int,
    max_queries: int,
    max_reference: int,
) -> list[GroupPrivacy]:
    """Each group's copies and DCR share on the rebalanced rows (module doc)."""
    from sdops_dvc.metrics import privacy
    from sdops_dvc.synthesizers.conditions import in_group

    out = []
    for p in plans:
        syn, tr, ho = (df[in_group(df, p)] for df in (released, train, holdout))
        base = GroupPrivacy(p.label, p.rows, len(syn), len(tr), len(ho), False)
        if len(syn) == 0 or len(ho) < min_size or len(tr) == 0:
            out.append(base)
            continue
        tr_s, ho_s, _ = privacy.equal_size_samples(tr[columns], ho[columns], seed, max_reference)
        q, _ = privacy.query_sample(syn[columns], max_queries, seed)
        copies = privacy.exact_copies(syn, tr_s, ho_s, columns)
        d = privacy.dcr_share(q, tr_s, ho_s, sdtypes, seed=seed)
        out.append(
            GroupPrivacy(
                p.label,
                p.rows,
                len(syn),
                len(tr),
                len(ho),
                True,
                copies.train,
                copies.holdout,
                copies.p_value,
                d.share,
                d.p_value,
            )
        )
    return out
