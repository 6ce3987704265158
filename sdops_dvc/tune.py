"""``sdops tune``: a bounded search over generator candidates that cannot cheat its gates.

Choosing the best of N candidates by their gate on the holdout would spend the holdout N
times: a leaky candidate that passes by luck at the gate's false-pass rate a would be picked
with probability up to N x a. So the search never reads the holdout. The train split is
divided (seeded) into a fitting part and a validation part, :data:`VALIDATION_SPLITS` times
with successive seeds; each candidate is fitted on a fitting part, evaluated against it and
its validation part exactly as ``sdops evaluate`` does, and judged by the release gate's own
thresholds, split after split: it is approved on validation when no split blocks it. The
best candidate so approved, by the declared objective (or, for init's measured default, the
first in the ladder's order: :func:`choose_at_init`), is written into params.yaml with the
number of candidates tried (``generator.tuning``, carried into the manifest and the report);
the pipeline then fits it on the whole train split and the release gate judges it once on
the untouched holdout, at its stated error rate.

Differentially private families are refused: every fit spends privacy budget, and a search
would spend it N times without the ledger counting the fits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, DataError, RuntimeUnavailable
from sdops_dvc.base.fsutil import write_text_atomic
from sdops_dvc.base.scm import run_dvc
from sdops_dvc.base.yamlio import dump_round_trip, load_file, round_trip
from sdops_dvc.domain.config import GeneratorCfg
from sdops_dvc.domain.families import FAMILIES
from sdops_dvc.domain.metric_table import BY_KEY, Goal, get as metric_get
from sdops_dvc.domain.relationships import split_by_entity
from sdops_dvc.domain.tableset import read_set, set_metadata

if TYPE_CHECKING:
    from sdops_dvc.domain.config import Params
    from sdops_dvc.domain.layout import Layout
    from sdops_dvc.domain.tableset import TableSet

log = logging.getLogger(__name__)

VALIDATION_SHARE = 0.2
# A candidate is approved on validation when the gates approve it on each of this many
# seeded validation splits (the train split divided again with seeds split.seed,
# split.seed + 1, ...), judged in turn until one blocks. One split is a fifth of the train
# split, so a candidate near a threshold passes or fails it by the luck of the draw: on
# credit_card, sequential CART at leaves of 100 passed one split and was blocked on the
# holdout (DCR share 0.559); across five, every CART leaf size was blocked at least once and
# TabularARGN on none, and the gate approved it. A leak that slips through one split at the
# gate's false-pass rate must slip through all of them.
VALIDATION_SPLITS = 5


DEFAULT_OBJECTIVE = "quality.detection_auc"


@dataclass(frozen=True)
class Candidate:
    """One generator configuration: a family, its parameters and the discrete columns
    (None: keep params.yaml's)."""

    family: str
    parameters: dict[str, Any] = field(default_factory=dict)
    discrete: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.parameters.items()))
        disc = "" if self.discrete is None else f" discrete={len(self.discrete)}"
        return f"{self.family}" + (f"({extra})" if extra else "") + disc

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family, "parameters": dict(self.parameters)}
        if self.discrete is not None:
            out["discrete"] = list(self.discrete)
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> Candidate:
        if not isinstance(data, dict) or "family" not in data:
            raise ConfigError(f"{where}: a candidate is a mapping with a family, not {data!r}")
        unknown = set(data) - {"family", "parameters", "discrete"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        disc = data.get("discrete")
        return cls(
            str(data["family"]),
            dict(data.get("parameters") or {}),
            None if disc is None else tuple(str(c) for c in disc),
        )


def default_candidates(params: Params) -> list[Candidate]:
    """The built-in ladder: sequential CART at the chosen and at larger leaves, the
    Gaussian copula with and without init's column handling, and TabularARGN at its
    defaults (last: the slowest, its runtime built on first use); those whose family can
    generate the project's source (related tables: cart)."""
    ladder = [
        *(Candidate("cart", {"min_samples_leaf": leaf}) for leaf in ("auto", 50, 100, 200)),
        Candidate("gaussian_copula", {}, tuple(params.generator.discrete)),
        Candidate("gaussian_copula", {}, ()),
        Candidate("tabular_argn", {}),
    ]
    return [c for c in ladder if params.family_problem(c.family) is None]


@dataclass(frozen=True)
class Trial:
    candidate: Candidate
    approved: bool
    failures: list[str]
    metrics: dict[str, float | None]  # the key metrics, on validation
    objective: float | None
    seconds: float
    error: str | None = None
    splits_judged: int = 0  # validation splits judged (the search stops at the first block)

    def as_json(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.as_json(),
            "name": self.candidate.name,
            "approved_on_validation": self.approved,
            "failures": self.failures,
            "metrics": self.metrics,  # means over the splits judged
            "objective": self.objective,
            "validation_splits_judged": self.splits_judged,
            "seconds": round(self.seconds, 1),
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class TuneResult:
    trials: list[Trial]
    winner: Trial | None
    objective: str
    stopped: str | None  # why the search stopped before the last candidate
    splits: int = VALIDATION_SPLITS  # validation splits a candidate must pass

    def as_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "candidates_tried": len(self.trials),
            "selection": "validation parts of the train split; the holdout is never read",
            "validation_splits": self.splits,
            "winner": None if self.winner is None else self.winner.candidate.name,
            "stopped": self.stopped,
            "trials": [t.as_json() for t in self.trials],
        }


KEY_METRICS = (
    "quality.detection_auc",
    "quality.column_shapes",
    "quality.column_pair_trends",
    "utility.ratio",
    "privacy.dcr_share",
    "privacy.exact_match_train",
    "privacy.exact_match_holdout",
    "relational.intertable_trends",  # related tables only
)


def _lookup(metrics: dict[str, Any], key: str) -> float | None:
    """A number of metrics.json, or None (absent, or not a number)."""
    value = metric_get(metrics, key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def check_candidates(params: Params, candidates: list[Candidate], objective: str) -> None:
    """Every problem with the search's declaration, before anything is fitted."""

    if objective not in BY_KEY or BY_KEY[objective].goal is Goal.IGNORE:
        ranked = [k for k, m in BY_KEY.items() if m.goal is not Goal.IGNORE]
        raise ConfigError(
            f"--objective {objective!r} is not a metric with a direction",
            hint="one of " + ", ".join(ranked),
        )
    problems = []
    for i, c in enumerate(candidates):
        spec = FAMILIES.get(c.family)
        if spec is None:
            problems.append(f"candidate {i + 1}: unknown family {c.family!r}")
            continue
        if spec.dp:
            problems.append(
                f"candidate {i + 1}: {c.family} is differentially private: every fit spends "
                "budget, and a search is not counted in the ledger"
            )
            continue
        if spec.multi_table:
            problems.append(
                f"candidate {i + 1}: {c.family} is not searched (a fit takes minutes); "
                "related tables search families that generate the entity table (cart)"
            )
            continue
        problem = params.family_problem(c.family)
        if problem is not None:
            problems.append(f"candidate {i + 1}: {problem}")
            continue
        try:
            GeneratorCfg.model_validate(_generator_values(params, c))
        except ValueError as exc:
            problems.append(f"candidate {i + 1} ({c.name}): {exc}")
    if problems:
        raise ConfigError(
            "the tune candidates cannot run:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="fix them in the candidates file (sdops tune --candidates FILE)",
        )


def _generator_values(params: Params, c: Candidate) -> dict[str, Any]:
    values = params.generator.model_dump(mode="python")
    values.update(family=c.family, parameters=dict(c.parameters), tuning=None)
    if c.discrete is not None:
        values["discrete"] = list(c.discrete)
    return values


def validation_split(
    train: TableSet, seed: int, share: float = VALIDATION_SHARE
) -> tuple[TableSet, TableSet]:
    """(fitting part, validation part) of the train set, seeded: split again by entity with
    the split stage's own rule (a single table, a set of one: by row). Refused, in the
    search's words, when the train set is too small to divide again."""

    try:
        parts = split_by_entity(
            train.tables, list(train.relationships), train.entity, 1 - share, seed
        )
    except DataError as exc:  # the split's rule speaks of split.ratio and the holdout
        raise DataError(
            f"the train split is too small to divide again for validation: {exc.message}",
            hint="candidates are searched on a larger source; `dvc repro` judges this one",
        ) from exc
    return train.replace(parts.train), train.replace(parts.holdout)


Judge = Callable[["Params", int, int], tuple[dict[str, Any], dict[str, Any]]]


def _judge(
    params: Params, layout: Layout, work_dir: Path, where: Path | None = None, splits: int = 1
) -> Judge:
    """The train set (the split stage's output, or ``where``) split again by entity (80/20,
    the split's own rule; a single table is a set of one) with ``splits`` seeds; ``judge(
    tried, i, k)`` fits candidate ``i`` on the larger part of split ``k`` (:func:`generate_set`,
    as the generate stage fits) and evaluates it against that part and its validation part
    as ``sdops evaluate`` does."""
    from sdops_dvc.stages.evaluate import compute_set_metrics
    from sdops_dvc.stages.generate import generate_set

    meta = set_metadata(params, layout)
    where = where or layout.train()  # the layout of params' project (Layout.for_params)
    if not where.exists():
        raise DataError(f"{layout.rel(where)} does not exist", hint="run `dvc repro split`")
    train = read_set(meta, layout.table_files(where, meta.names, "parquet"), "train split")
    parts = [validation_split(train, params.split.seed + k) for k in range(splits)]

    def judge(tried: Params, i: int, k: int) -> tuple[dict[str, Any], dict[str, Any]]:
        fit_set, validation = parts[k]
        # as many rows as the fitting part, whatever generator.num_rows says; a candidate is
        # judged on its model (the unconditioned sample), as the gates judge a release
        as_many = tried.model_copy(
            update={"generator": tried.generator.model_copy(update={"num_rows": None})}
        )
        generated = generate_set(
            as_many,
            fit_set,
            "validation",
            meta.metadata,
            work_dir / f"fit-{i}-{k}.npz",
            budget_check=None,
        )
        tables = generated.tables_of(fit_set)
        model = fit_set.replace({**tables, fit_set.entity: generated.model_sample})
        metrics, details, _, _ = compute_set_metrics(
            tried, fit_set, validation, model, meta.metadata
        )
        return metrics, details

    return judge


def _try(
    cand: Candidate, i: int, params: Params, judge: Judge, objective: str, splits: int
) -> Trial:
    """One candidate judged on each validation split in turn until one blocks: approved when
    none does; its key metrics and objective are the means over the splits judged. A
    candidate that fails to fit is a trial with its error, not a crash."""
    from sdops_dvc.stages.gate import decide

    t0 = time.perf_counter()
    cfg = GeneratorCfg.model_validate(_generator_values(params, cand))
    tried = params.model_copy(update={"generator": cfg})
    judged: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        for k in range(splits):
            metrics, details = judge(tried, i, k)
            judged.append(metrics)
            verdict = decide(metrics, tried.gates, tried.policy, details)
            log.info(
                "tune: %s: validation split %d/%d %s", cand.name, k + 1, splits,
                "approved" if verdict.approved else "blocked",
            )  # fmt: skip
            if not verdict.approved:
                where = f"validation split {k + 1}/{splits}: " if splits > 1 else ""
                failures = [where + f for f in verdict.failures]
                break
    except (ValueError, RuntimeError, ConfigError, DataError, RuntimeUnavailable) as exc:
        return Trial(cand, False, [], {}, None, time.perf_counter() - t0, str(exc)[:300])
    key = {k: _mean(judged, k) for k in KEY_METRICS}
    return Trial(
        cand, not failures, failures, key, _mean(judged, objective),
        time.perf_counter() - t0, splits_judged=len(judged),
    )  # fmt: skip


def _mean(judged: list[dict[str, Any]], key: str) -> float | None:
    """A metric's mean over the validation splits judged (None when one lacks it)."""
    values = [_lookup(m, key) for m in judged]
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None) / len(values)


def run_tune(
    params: Params,
    layout: Layout,
    candidates: list[Candidate],
    *,
    objective: str = DEFAULT_OBJECTIVE,
    max_candidates: int | None = None,
    max_seconds: float | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    work_dir: Path,
    first_approved: bool = False,
    train_file: Path | None = None,
    splits: int = VALIDATION_SPLITS,
) -> TuneResult:
    """Fit, evaluate and judge each candidate on ``splits`` validation splits (see module
    doc; :func:`_try`), in order, until the candidates, ``max_candidates`` or ``max_seconds``
    run out (the running one finishes), or, with ``first_approved``, one is approved (the
    ladder's order is the preference). ``train_file``: the train split written elsewhere than
    the split stage's output."""
    check_candidates(params, candidates, objective)
    judge = _judge(params, layout, work_dir, train_file, splits)
    goal = BY_KEY[objective].goal
    trials: list[Trial] = []
    stopped = None
    start = time.perf_counter()
    for i, cand in enumerate(candidates):
        if max_candidates is not None and i >= max_candidates:
            stopped = f"count budget: {max_candidates} candidate(s)"
            break
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
            stopped = f"time budget: {max_seconds:.0f} s"
            break
        trial = _try(cand, i, params, judge, objective, splits)
        trials.append(trial)
        log.debug("tune: %s -> %s", cand.name, "approved" if trial.approved else "blocked")
        if on_trial is not None:
            on_trial(trial)
        if first_approved and trial.approved and i + 1 < len(candidates):
            stopped = f"first approved candidate: {cand.name}"
            break
    approved = [t for t in trials if t.approved and t.objective is not None]
    winner = None
    if approved:
        sign = 1.0 if goal is Goal.MINIMIZE else -1.0
        winner = min(approved, key=lambda t: sign * float(t.objective or 0.0))
    return TuneResult(trials, winner, objective, stopped, splits)


def apply_winner(params_path: Path, result: TuneResult, *, rule: str | None = None) -> None:
    """Write the winner into params.yaml (family, parameters, discrete columns) with the
    record of the search (``generator.tuning``); comments and other keys kept."""

    if result.winner is None:
        raise DataError("no candidate was approved on validation; params.yaml is unchanged")
    cand = result.winner.candidate
    text = params_path.read_text(encoding="utf-8")
    doc = round_trip().load(text)
    gen = doc["generator"]
    gen["family"] = cand.family
    gen["parameters"] = _flow(dict(cand.parameters))
    if cand.discrete is not None:
        gen["discrete"] = _flow(list(cand.discrete))
    gen["tuning"] = _flow(
        {
            "candidates_tried": len(result.trials),
            "selected": cand.name,
            "objective": result.objective,
            "selected_on": f"each of {result.splits} validation parts of the train split "
            "(holdout never read)",
            **({"rule": rule} if rule else {}),
        }
    )
    write_text_atomic(params_path, dump_round_trip(doc))


def _flow(value: Any) -> Any:
    """A mapping or list written on one line, as init writes them."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    out: Any = CommentedMap(value) if isinstance(value, dict) else CommentedSeq(value)
    out.fa.set_flow_style()
    return out


def read_candidates(path: Path) -> list[Candidate]:
    """A candidates file: a YAML list of ``{family, parameters, discrete}``, or a library
    file written by :func:`write_library` (its trials, in order)."""

    data = load_file(path, what="candidates file")
    if isinstance(data, dict) and isinstance(data.get("trials"), list):
        data = [t.get("candidate") for t in data["trials"] if isinstance(t, dict)]
    if not isinstance(data, list) or not data:
        raise ConfigError(
            f"{path} must hold a non-empty list of candidates",
            hint="e.g. - {family: cart, parameters: {min_samples_leaf: 100}}",
        )
    return [Candidate.from_json(c, f"{path} item {i + 1}") for i, c in enumerate(data)]


def write_library(path: Path, dataset: str, result: TuneResult) -> None:
    """Every tried configuration with its verdict, reasons and key metrics on validation
    (aggregates only, never rows), for the team to review and reuse (``sdops init
    --from-library``, ``sdops tune --candidates``)."""
    import yaml

    doc = {"dataset": dataset, **result.as_json()}
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# sdops tune: every candidate tried on a validation part of the train split, with\n"
        "# its verdict and reasons. Review it; `sdops init --from-library` and\n"
        "# `sdops tune --candidates` read it.\n"
    )
    write_text_atomic(path, header + yaml.safe_dump(doc, sort_keys=False, width=100))


def library_winner(path: Path) -> Candidate:
    """The candidate a reviewed library file selected (init --from-library)."""

    data = load_file(path, what="library file")
    trials = data.get("trials") if isinstance(data, dict) else None
    winner = data.get("winner") if isinstance(data, dict) else None
    if not isinstance(trials, list) or winner is None:
        raise ConfigError(
            f"{path} is not a tune library with a winner",
            hint="run `sdops tune` (it writes tune/library.yaml) and review it",
        )
    for t in trials:
        if isinstance(t, dict) and t.get("name") == winner:
            return Candidate.from_json(t.get("candidate"), f"{path} winner")
    raise ConfigError(f"{path}: its winner {winner!r} is not among its trials")


def judge_once(layout: Layout) -> tuple[bool, list[str]]:
    """``dvc repro`` after the winner is applied: the release gate judges it once, on the
    holdout. Whether it approved, and its failures."""
    from sdops_dvc.stages.gate import check_gate_file

    run_dvc(["repro"], cwd=layout.root)
    return check_gate_file(layout.path("reports/gate.json"))


INIT_RULE = "sdops init: the first candidate of the built-in ladder approved on validation"


def choose_at_init(
    params_path: Path,
    layout: Layout,
    *,
    library: Path,
    on_trial: Callable[[Trial], None] | None = None,
) -> TuneResult:
    """``sdops init`` without ``--family``: the built-in ladder (:func:`default_candidates`, in
    its order of preference) judged on validation as :func:`run_tune` judges it, stopping at
    the first candidate approved; it is written into params.yaml with the search's record
    (:func:`apply_winner`) and every trial into ``library`` for review. The train split is
    the split stage's own (its seeded rule, into a temporary directory with the holdout, which
    is deleted unread), so the release gate that ``dvc repro`` runs judges the choice once, at
    its stated error rate. With no candidate approved, params.yaml is left as init wrote it."""
    import tempfile

    from sdops_dvc.domain.config import load_params
    from sdops_dvc.stages.split import run_split

    params = load_params(params_path)
    with tempfile.TemporaryDirectory(prefix="sdops-init-") as tmp:
        work = Path(tmp)
        train, holdout = work / layout.train().name, work / layout.holdout().name
        run_split(params, layout, train, holdout)
        result = run_tune(
            params,
            layout,
            default_candidates(params),
            on_trial=on_trial,
            work_dir=work,
            first_approved=True,
            train_file=train,
        )
    if result.winner is not None:
        apply_winner(params_path, result, rule=INIT_RULE)
    write_library(library, params.dataset.name, result)
    return result
