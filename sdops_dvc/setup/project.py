"""``sdops init`` and ``sdops snapshot``: set up a pipeline and pin its source.

Both check everything first (the table reads, columns exist, nothing would be
overwritten) and only then touch git, DVC or files.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, RepoError, SdopsError, WouldOverwrite
from sdops_dvc.base.fsutil import md5_file, write_json_atomic, write_text_atomic
from sdops_dvc.base.scm import dvc_root, git_init, git_toplevel, git_tracks, run_dvc
from sdops_dvc.base.templates import read_template, render
from sdops_dvc.base.yamlio import dump_round_trip, load_file, loads, round_trip, set_scalars
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.config import (
    ACCESS_CLASSES,
    NAME_RE,
    PLACEHOLDER,
    family_problem,
    load_params,
    parse_params,
)
from sdops_dvc.domain.families import FAMILIES
from sdops_dvc.domain.metadata import column_sdtypes, float32_decimals, model_discrete
from sdops_dvc.domain.metric_table import gates_block
from sdops_dvc.domain.relationships import Relationship, tables_below
from sdops_dvc.domain.tableset import find_source, is_related, source_pins

if TYPE_CHECKING:
    from sdops_dvc.domain.tableset import FoundSource
    from sdops_dvc.tune import Candidate, Trial

log = logging.getLogger(__name__)

# pull-request workflow: written unless present (then kept, unless --force)
WORKFLOW_FILES = {
    ".github/pull_request_template.md": "github/pull_request_template.md",
    ".github/CODEOWNERS": "github/CODEOWNERS",
    ".github/workflows/sdops.yml": "github/workflows/sdops.yml",
    ".gitlab-ci.yml": "gitlab-ci.yml",
    ".github/workflows/sdops-monitor.yml": "github/workflows/sdops-monitor.yml",
    ".gitlab-ci-monitor.yml": "gitlab-ci-monitor.yml",
    ".github/workflows/sdops-catalog.yml": "github/workflows/sdops-catalog.yml",
    ".gitlab-ci-catalog.yml": "gitlab-ci-catalog.yml",
    "monitoring/dvc.yaml": "monitoring/dvc.yaml",
}


@dataclass(frozen=True)
class InitResult:
    root: Path
    source: Path
    source_md5: str
    created: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    pii_columns: list[str] = field(default_factory=list)
    entity: str | None = None  # related tables: the privacy unit


@dataclass(frozen=True)
class Charter:
    """The release policy stated at ``sdops init`` (written into ``policy:``); what is left
    out stays empty, and the policy gate names it."""

    intended_use: str | None = None
    audiences: tuple[str, ...] = ()
    classification: str | None = None
    retention_days: int | None = None
    owner: str | None = None

    def check(self) -> None:

        if self.classification is not None and self.classification not in ACCESS_CLASSES:
            raise ConfigError(
                f"--classification {self.classification!r} is unknown",
                hint=f"use one of {', '.join(ACCESS_CLASSES)}",
            )
        if self.retention_days is not None and self.retention_days <= 0:
            raise ConfigError("--retention-days must be a positive number of days")
        for flag, text in (("--intended-use", self.intended_use), ("--owner", self.owner)):
            if text is not None and not text.strip():
                raise ConfigError(f"{flag} is empty")

    def missing(self) -> list[str]:
        """The command-line flags of the fields not given."""
        given = {
            "--intended-use": self.intended_use,
            "--audience": self.audiences,
            "--classification": self.classification,
            "--retention-days": self.retention_days,
            "--owner": self.owner,
        }
        return [flag for flag, value in given.items() if value is None or value == ()]

    def template_values(self) -> dict[str, object]:
        """policy: values; a field not given is a marked placeholder (``TODO: ...``) that
        the policy gate names until a person replaces it."""
        todo = PLACEHOLDER + ": "
        return {
            "intended_use": self.intended_use or todo + "what the release may be used for",
            "audiences": list(self.audiences) or [todo + "who may receive it"],
            "classification": self.classification
            or todo + "public | internal | confidential | restricted",
            "retention_days": self.retention_days,
            "owner": self.owner or todo + "the accountable owner",
        }


def init_project(
    root: Path,
    sources: Sequence[Path],
    name: str,
    *,
    relationships: Sequence[str] = (),
    entity: str | None = None,
    target: str | None = None,
    snapshot_id: str | None = None,
    family: str | None = None,
    force: bool = False,
    privacy_owners: str = "@your-org/privacy-reviewers",
    data_owners: str = "@your-org/data-owners",
    charter: Charter | None = None,
    library: Path | None = None,
    measure: bool = True,
    on_trial: Callable[[Trial], None] | None = None,
) -> InitResult:
    """Set up a release pipeline in ``root`` for a source: one table file, or related tables
    (a directory of csv, tsv or parquet files, or several files, one table each, named by
    its file). Every check first (the tables read, declared relationships fit, the family
    fits the set, nothing would be overwritten), then git and DVC: the source tracked by DVC
    as one output (copied into data/source/ unless it is inside ``root``), metadata,
    params.yaml (every table pinned), the pipeline and the CI files. ``family`` None: the
    reviewed tune ``library``'s winner (its parameters and discrete columns too), else
    :func:`default_family`, chosen by measurement when ``measure`` (:func:`_measure_family`;
    ``on_trial`` sees each candidate judged)."""

    root = root.resolve()
    start = _library_start(library, family)
    family = start.family if start is not None else family
    _check_arguments(name, family, charter, is_related(list(sources), list(relationships), entity))
    found = find_source(
        list(sources), name, relationships=list(relationships), entity=entity, target=target
    )
    layout = L.Layout(root, found.related)
    actions = [f"metadata.json: {n}" for n in found.notes]
    measured = measure and family is None and not found.related and not found.pii_columns()
    family = family or default_family(found, actions, measured=measured)
    _check_entity_only(family, found)
    _runtime_note(family, actions)
    dest, dest_files = layout.source_place(found.given, found.files, name)
    _refuse_to_overwrite(root, found.files, dest, dest_files, force)
    generator = _generator_values(found, family, start, actions)
    _ensure_repositories(root, actions)
    rel_source = _track_source(root, found.files, dest, dest_files, actions)
    pins = {t: md5_file(f) for t, f in dest_files.items()}
    source_md5 = found.pinned_md5(pins)
    values = _params_values(name, target, rel_source, snapshot_id, source_md5, family, charter)
    blocks = found.params_blocks({t: (f.name, pins[t]) for t, f in dest_files.items()})
    blocks.update(_public_tables(found, family, actions))
    ci_values = {"privacy_owners": privacy_owners, "data_owners": data_owners,
                 "source_path": rel_source, "name": name}  # fmt: skip
    params_text = render_params({**values, **generator}, blocks)
    created = _write_files(layout, found, family, params_text, ci_values, force, actions)
    if measured:
        created += _measure_family(layout, actions, on_trial)
    return InitResult(root, dest, source_md5, created, actions, found.pii_columns(),
                      found.split_entity)  # fmt: skip


def _generator_values(
    found: FoundSource, family: str, start: Candidate | None, actions: list[str]
) -> dict[str, object]:
    """params.yaml's generator.decimals, .discrete and .parameters: the column notes
    (:func:`_model_notes`), or a reviewed tune library's winner's."""
    decimals, discrete = _model_notes(found, actions, family)
    parameters: dict[str, Any] = {}
    if start is not None:
        parameters = dict(start.parameters)
        if start.discrete is not None:
            discrete = list(start.discrete)
        actions.append(f"generator: {start.name}, from the reviewed tune library")
    return {"decimals": decimals, "discrete": discrete, "parameters": parameters}


def _write_files(
    layout: L.Layout,
    found: FoundSource,
    family: str,
    params_text: str,
    ci_values: dict[str, str],
    force: bool,
    actions: list[str],
) -> list[str]:
    """The pipeline's files (:func:`_write_pipeline`); a DP family's bounds placeholders,
    else params.yaml loaded back (what init wrote must load). Returns what was written."""
    created = _write_pipeline(
        layout.root,
        force,
        metadata=found.metadata,
        params_text=params_text,
        dvc_yaml=layout.pipeline(list(found.files)),
        ci_values=ci_values,
        actions=actions,
    )
    params_path = layout.root / L.PARAMS
    if FAMILIES[family].dp:
        _write_dp_placeholders(params_path, found.metadata)
        actions.append(
            f"generator.privacy has {PLACEHOLDER} placeholders for the public bounds of the "
            "numerical columns: write them before `dvc repro` (never read them off the data)"
        )
    else:
        load_params(params_path)
    return created


def _library_start(library: Path | None, family: str | None) -> Candidate | None:
    """The reviewed tune library's winner ``init --from-library`` starts from (None without
    a library); refused when ``--family`` names another."""
    if library is None:
        return None
    from sdops_dvc.tune import library_winner

    start = library_winner(library)
    if family is not None and family != start.family:
        raise ConfigError(
            f"--family {family} and --from-library ({start.family}) disagree",
            hint="give one of them",
        )
    return start


DEFAULT_FAMILY = "cart"


def default_family(found: FoundSource, actions: list[str], *, measured: bool = False) -> str:
    """Related tables: hma, the family that models every table (cart, which generates the
    entity table and releases the others as they are, is a reviewed choice: it needs them to
    be public). One table: sequential CART (measured the strongest family on the shared
    tables: README, "Generators"), unless a column is an identifier or PII: cart draws every
    value from real records, where SDV replaces such columns with fake values."""
    if found.related:
        actions.append(
            "generator.family: hma (models every related table); where the tables above "
            f"{found.entity} are public reference data, try --family cart"
        )
        return "hma"
    pii = found.pii_columns()  # a set of one names its columns by themselves
    if pii:
        actions.append(
            "generator.family: gaussian_copula, as " + ", ".join(pii) + " look like "
            "identifiers or PII (SDV fakes them; cart would draw real values)"
        )
        return "gaussian_copula"
    if not measured:  # else _measure_family says what was chosen
        actions.append(
            f"generator.family: {DEFAULT_FAMILY} (sequential CART; leaf size chosen on the "
            "train split); try others with `dvc exp run -S generator.family=...`"
        )
    return DEFAULT_FAMILY


LIBRARY = "tune/library.yaml"


def _measure_family(
    layout: L.Layout, actions: list[str], on_trial: Callable[[Trial], None] | None
) -> list[str]:
    """The default family chosen by measurement (:func:`sdops_dvc.tune.choose_at_init`): the
    first candidate of tune's ladder (sequential CART first) that the release gates approve on
    each validation part of the train split. Returns the files it wrote (none when the
    measurement cannot run: the pipeline is kept, unmeasured, and the reason said)."""
    from sdops_dvc.tune import choose_at_init

    try:
        res = choose_at_init(
            layout.root / L.PARAMS, layout, library=layout.path(LIBRARY), on_trial=on_trial
        )
    except SdopsError as exc:  # the pipeline is written: keep it, unmeasured, and say why
        actions.append(
            f"generator.family: {DEFAULT_FAMILY}, unmeasured: the measurement could not run "
            f"({exc.message}); `sdops tune` measures candidates once `dvc repro split` has run"
        )
        return []
    tried = len(res.trials)
    if res.winner is None:
        actions.append(
            f"generator.family: {DEFAULT_FAMILY}, unproven: none of {tried} candidates was "
            "approved on validation parts of the train split, so `dvc repro` will likely be "
            f"blocked; {LIBRARY} has each one's reasons (`sdops tune --candidates FILE` "
            "searches others)"
        )
    else:
        cand = res.winner.candidate
        actions.append(
            f"generator.family: {cand.family}, as {cand.name}: the first of {tried} candidate(s) "
            f"approved on each of {res.splits} validation parts of the train split (the holdout "
            "is never read; the release gate judges it once at `dvc repro`); every trial is in "
            f"{LIBRARY}"
        )
        _runtime_note(cand.family, actions)
    return [LIBRARY]


def _check_family_fits(family: str, related: bool) -> None:
    """``--family`` can generate the source given (config.family_problem)."""
    problem = family_problem(family, related=related)
    if problem is not None:
        hint = "or give one --source table" if related else "or give related tables (a directory)"
        raise ConfigError(f"--family {problem}", hint=f"pick another --family, {hint}")


def _runtime_note(family: str, actions: list[str]) -> None:
    """A family that runs in a runtime of its own says so, and how to build it ahead."""
    runtime = FAMILIES[family].runtime
    if runtime is not None:
        actions.append(
            f"generator.family: {family} runs in a runtime of its own, which `dvc repro` "
            f"builds on first use (about a minute and 1.7 GB; `sdops runtime install "
            f"{runtime}` builds it ahead)"
        )


def _check_entity_only(family: str, found: FoundSource) -> None:
    """A family that generates the entity table only needs no table below it (it would have
    no rows for them)."""

    below = tables_below(found.entity, Relationship.all_of(found.metadata))
    if FAMILIES[family].entity_only and below:
        raise ConfigError(
            f"--family {family} generates the entity table {found.entity!r} only, and "
            f"{', '.join(below)} sit below it",
            hint="use --family hma, which generates every table",
        )


def _public_tables(found: FoundSource, family: str, actions: list[str]) -> dict[str, str]:
    """params.yaml's ``generator.public_tables`` line for a family that generates the entity
    table only: the set's other tables, released as they are (none for a set of one)."""
    public = [t for t in found.tables if t != found.entity]
    if not (FAMILIES[family].entity_only and public):
        return {}
    actions.append(
        f"generator.public_tables: {', '.join(public)} are released as they are, and only "
        f"{found.entity} is generated ({family}): confirm they are public reference data"
    )
    return {
        "public_tables": f"  public_tables: {json.dumps(public)}  # released AS THEY ARE: "
        "public reference data only (review)\n"
    }


def _params_values(
    name: str,
    target: str | None,
    rel_source: str,
    snapshot_id: str | None,
    source_md5: str,
    family: str,
    charter: Charter | None,
) -> dict[str, object]:
    """The params.yaml template's values (``decimals`` aside), the charter's included."""
    today = datetime.now(UTC).date().isoformat()
    return {
        "name": name,
        "target": target,
        "source_path": rel_source,
        "snapshot_id": snapshot_id or f"file://{rel_source}@{today}",
        "source_md5": source_md5,
        "family": family,
        **(charter or Charter()).template_values(),
    }


def _write_pipeline(
    root: Path,
    force: bool,
    *,
    metadata: dict[str, Any],
    params_text: str,
    dvc_yaml: str,
    ci_values: dict[str, str],
    actions: list[str],
) -> list[str]:
    """metadata.json, params.yaml, dvc.yaml, .gitignore entries, the CI files and
    requirements-sdops.txt (the last two kept when present, unless ``force``); returns what
    was written. ``ci_values`` fill the CI templates (owners, source path, name)."""
    write_json_atomic(root / L.METADATA, metadata)
    write_text_atomic(root / L.PARAMS, params_text)
    write_text_atomic(root / L.DVC_YAML, dvc_yaml)
    _append_gitignore(root / ".gitignore", read_template("gitignore"))
    created = [L.PARAMS, L.DVC_YAML, L.METADATA, ".gitignore"]
    created += _write_ci_files(root, force, ci_values, actions)
    created += _write_requirements(root, force, actions)
    return created


def _check_arguments(name: str, family: str | None, charter: Charter | None, related: bool) -> None:
    """The release name, the family (known, and able to generate a source of this kind)
    and the charter."""
    if not NAME_RE.match(name):
        raise ConfigError(
            f"--name {name!r} is not a valid release name",
            hint="use letters, digits, '-' or '_' (it becomes the tag prefix NAME@vX.Y.Z)",
        )
    if family is not None and family not in FAMILIES:
        raise ConfigError(
            f"--family {family!r} is unknown", hint=f"use one of {', '.join(FAMILIES)}"
        )
    if charter is not None:
        charter.check()
    if family is not None:
        _check_family_fits(family, related)


def _refuse_to_overwrite(
    root: Path, files: dict[str, Path], dest: Path, dest_files: dict[str, Path], force: bool
) -> None:
    """Everything init would write, checked before anything is touched: the pipeline files,
    a copy of a table over a different file, and a source directory holding files that are
    not the source's (DVC would track them with it)."""
    planned = [L.PARAMS, L.DVC_YAML, L.METADATA]
    existing = [p for p in planned if (root / p).exists()]
    for t, src in files.items():
        to = dest_files[t]
        if to != src.resolve() and to.exists() and md5_file(to) != md5_file(src):
            existing.append(str(to.relative_to(root)))
    if dest.is_dir():
        ours = set(dest_files.values())
        existing += sorted(str(p.relative_to(root)) for p in dest.iterdir() if p not in ours)
    if existing and not force:
        raise WouldOverwrite(
            f"refusing to overwrite existing file(s) in {root}: {', '.join(existing)}",
            hint="review them, then re-run with --force to replace them",
        )


# families whose few-valued integer columns are generated on their pooled support: cart
# draws real values (a rare one would be copied out), and tabular_argn would learn them as
# categories of their own; SDV's copula rounds integers itself (README, "Generators")
DISCRETE_INTEGERS = ("cart", "tabular_argn")


def _model_notes(
    found: FoundSource, actions: list[str], family: str
) -> tuple[dict[str, int], list[str]]:
    """How the generator will see the columns, each said in ``actions``. The entity table,
    when a one-table family generates it: numeric columns with few distinct values generated
    on their own values in order (generator.discrete; integer ones for
    :data:`DISCRETE_INTEGERS` only; not for the DP families, which may not read values off
    the data: for them few-valued non-integer columns are made categorical in the
    metadata), and float32-stored decimals. Every table a
    set-wide family (hma) models, and the tables beside the entity: few-valued non-integer
    columns made categorical. Returns generator.decimals and generator.discrete."""
    from sdops_dvc.synthesizers.columns import detect_discrete

    spec, unit = FAMILIES[family], found.entity
    one_table_family = not spec.multi_table
    for t, df in found.tables.items():
        if t == unit and one_table_family and not spec.dp:
            continue
        made = model_discrete(df, {"tables": {t: found.metadata["tables"][t]}})
        if made:
            where = f" {t}" if found.related else ""
            actions.append(
                f"metadata.json{where}: categorical, as they take few distinct values: "
                + ", ".join(made)
            )
    if not one_table_family:
        return {}, []
    df, sdtypes = found.tables[unit], column_sdtypes(found.metadata, unit)
    integers = family in DISCRETE_INTEGERS
    discrete = [] if spec.dp else detect_discrete(df, sdtypes, integers=integers)
    if discrete:
        actions.append(
            "params.yaml generator.discrete: generated on their own values, in order, values "
            "held by fewer than report.min_bin_count records pooled: " + ", ".join(discrete)
        )
    entity_meta = {"tables": {unit: found.metadata["tables"][unit]}}
    decimals = {c: k for c, k in float32_decimals(df, entity_meta).items() if c not in discrete}
    if decimals:
        actions.append(
            "params.yaml generator.decimals: float32-stored decimals in "
            + ", ".join(f"{c} ({k})" for c, k in decimals.items())
        )
    return decimals, discrete


def _ensure_repositories(root: Path, actions: list[str]) -> None:
    """git and DVC in ``root`` (DVC as a subdirectory project inside a larger git repo)."""
    top = git_toplevel(root)
    if top is None:
        root.mkdir(parents=True, exist_ok=True)
        git_init(root)
        top = root
        actions.append("git init")
    if dvc_root(root) is None:
        run_dvc(["init", "-q"] if top == root else ["init", "-q", "--subdir"], cwd=root)
        actions.append("dvc init" + ("" if top == root else " --subdir"))


def _track_source(
    root: Path, files: dict[str, Path], dest: Path, dest_files: dict[str, Path], actions: list[str]
) -> str:
    """The source's files copied in (those outside ``root``) and the source tracked by DVC as
    one output; its path in root."""
    copies = {t: f for t, f in files.items() if dest_files[t] != f.resolve()}
    for t, f in copies.items():
        dest_files[t].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest_files[t])
    rel_source = dest.relative_to(root).as_posix()
    if copies:
        tables = f" ({len(copies)} tables)" if len(copies) > 1 else ""
        actions.append(f"copied source{tables} to {rel_source}")
    dest_pointer = dest.with_name(dest.name + ".dvc")
    if dest_pointer.exists():
        actions.append(f"source already tracked by DVC ({dest_pointer.name})")
    elif git_tracks(root, dest):
        raise RepoError(
            f"source {rel_source} is tracked by git, so DVC cannot track it",
            hint=f"run `git rm --cached {rel_source}` and re-run `sdops init`",
        )
    else:
        run_dvc(["add", "-q", rel_source], cwd=root)
        actions.append(f"dvc add {rel_source}")
    return rel_source


def _write_ci_files(
    root: Path, force: bool, values: dict[str, str], actions: list[str]
) -> list[str]:
    """The CI workflows, CODEOWNERS and pull-request template; an existing one is kept
    unless ``force``. Returns what was written."""
    created = []
    for rel, template in WORKFLOW_FILES.items():
        path = root / rel
        if path.exists() and not force:
            actions.append(f"kept existing {rel} (see templates/{template} for the sdops jobs)")
            continue
        text = read_template(template)
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        write_text_atomic(path, text)
        created.append(rel)
    return created


def _write_requirements(root: Path, force: bool, actions: list[str]) -> list[str]:
    """requirements-sdops.txt, what the CI jobs install; kept when it exists unless ``force``."""
    from sdops_dvc.setup.requirements import FILE as REQUIREMENTS, requirements_text

    if (root / REQUIREMENTS).exists() and not force:
        actions.append(f"kept existing {REQUIREMENTS} (CI installs from it)")
        return []
    write_text_atomic(root / REQUIREMENTS, requirements_text())
    return [REQUIREMENTS]


def _write_dp_placeholders(params_path: Path, metadata: dict[str, Any]) -> None:
    """A DP family needs public bounds for every numerical column: write the privacy block
    with a placeholder per column, which validation names until a person replaces it."""

    numeric = [c for c, sd in column_sdtypes(metadata).items() if sd == "numerical"]
    bounds = ", ".join(f"{c}: {PLACEHOLDER}" for c in numeric)
    line = (
        f"  privacy: {{epsilon: 1.0, delta: 1.0e-6, bounds: {{{bounds}}}}}  "
        f"# replace each {PLACEHOLDER} with PUBLIC [low, high]"
    )
    text = params_path.read_text(encoding="utf-8")
    lines = [line if ln.startswith("  privacy: null") else ln for ln in text.splitlines()]
    write_text_atomic(params_path, "\n".join(lines) + "\n")


def _append_gitignore(path: Path, block: str) -> None:
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in current.splitlines()}
    new = [line for line in block.splitlines() if line.strip() and line.strip() not in have]
    if not new:
        return
    sep = "" if not current or current.endswith("\n") else "\n"
    write_text_atomic(path, current + sep + "\n".join(new) + "\n")


def _stale_pointer(source: Path, root: Path, new_md5: str | None = None) -> str | None:
    """The command to run when the source's ``.dvc`` pointer lags the file (``new_md5``) or,
    for a directory, its files (DVC's status says so), else None."""
    import yaml as pyyaml

    pointer = source.with_name(source.name + ".dvc")
    if not pointer.exists():
        return None
    data = pyyaml.safe_load(pointer.read_text(encoding="utf-8")) or {}
    outs = data.get("outs") or [{}]
    recorded = outs[0].get("md5") if isinstance(outs[0], dict) else None
    if source.is_dir():
        lagging = "changed" in run_dvc(["status", pointer.name], cwd=pointer.parent)
    else:
        lagging = bool(recorded) and recorded != new_md5
    if not lagging:
        return None
    is_import = any(isinstance(d, dict) and d.get("repo") for d in data.get("deps") or [])
    return (
        f"dvc update {pointer.relative_to(root)}"
        if is_import
        else f"dvc add {source.relative_to(root)}"
    )


@dataclass(frozen=True)
class SnapshotResult:
    source: Path
    old_md5: str | None
    new_md5: str
    old_id: str
    new_id: str
    stale_pointer: str | None  # a command to run when the DVC pointer lags the file

    @property
    def changed(self) -> bool:
        return self.old_md5 != self.new_md5 or self.old_id != self.new_id


def snapshot(params_path: Path, snapshot_id: str | None = None) -> SnapshotResult:
    """Re-pin the source: record its current md5 (each table's and their digest, for related
    tables) and a new snapshot id in params.yaml, every table read first (a table that does
    not read is not pinned); only the pins change, byte for byte."""
    from sdops_dvc.pipeline import open_project

    params, layout = open_project(params_path)
    values, new_md5 = source_pins(params, layout)
    if snapshot_id:
        values[("source", "snapshot_id")] = snapshot_id
    text = set_scalars(params_path.read_text(encoding="utf-8"), values, str(params_path))
    parse_params(loads(text, str(params_path)), params_path)  # what is written must load
    write_text_atomic(params_path, text)
    source = layout.path(params.source.path)
    return SnapshotResult(
        source=source,
        old_md5=params.source.md5,
        new_md5=new_md5,
        old_id=params.source.snapshot_id,
        new_id=snapshot_id or params.source.snapshot_id,
        stale_pointer=_stale_pointer(source, layout.root, new_md5),
    )


def set_private_remote(root: Path, url: str, name: str = "private") -> list[str]:
    """Send the outputs holding real rows (the source and the train/holdout split) to a
    private DVC remote, never to the release remote consumers read: adds the remote and sets
    ``remote: NAME`` on those outputs in dvc.yaml and in the source's ``.dvc`` file
    (formatting and comments kept). Returns what was done."""
    from ruamel.yaml.comments import CommentedMap

    if not NAME_RE.match(name):
        raise ConfigError(f"remote name {name!r} is not valid", hint="use letters, digits, - or _")
    # read as written, not validated: a DP project's params hold placeholders for the public
    # bounds until the user writes them, and the real data must be protected before that
    source_path = _written_source_path(root / L.PARAMS)
    ry = round_trip()
    edits: list[tuple[Path, str]] = []
    dvc_yaml = root / L.DVC_YAML
    doc = ry.load(dvc_yaml.read_text(encoding="utf-8"))
    split = (doc.get("stages") or {}).get("split")
    if split is None or not split.get("outs"):
        raise ConfigError(f"{dvc_yaml} has no split stage with outputs")
    outs = split["outs"]
    for i, o in enumerate(outs):
        if isinstance(o, str):
            outs[i] = CommentedMap({o: CommentedMap({"remote": name})})
        else:
            for path in o:
                o[path] = o[path] or CommentedMap()
                o[path]["remote"] = name
    edits.append((dvc_yaml, dump_round_trip(doc)))
    source = root / source_path
    pointer = source.with_name(source.name + ".dvc")
    if pointer.is_file():
        pdoc = ry.load(pointer.read_text(encoding="utf-8"))
        for o in pdoc.get("outs") or []:
            o["remote"] = name
        edits.append((pointer, dump_round_trip(pdoc)))
    run_dvc(["remote", "add", "-f", name, url], cwd=root)
    done = [f"dvc remote add {name} {url}"]
    for path, text in edits:
        write_text_atomic(path, text)
        done.append(f"real-data outputs in {path.relative_to(root)} go to remote {name!r}")
    return done


def _written_source_path(params_path: Path) -> str:
    """``source.path`` as params.yaml writes it (a file that does not validate yet still
    names its source)."""

    data = load_file(params_path, what="params file") if params_path.is_file() else None
    source = data.get("source") if isinstance(data, dict) else None
    path = source.get("path") if isinstance(source, dict) else None
    if not isinstance(path, str) or not path:
        raise ConfigError(
            f"{params_path}: no source.path", hint="run `sdops init --source PATH --name NAME`"
        )
    return path


def render_params(values: dict[str, object], blocks: dict[str, str] | None = None) -> str:
    """The params.yaml ``sdops init`` writes: the template, its ``gates:`` section from the
    metric table (every threshold with its default and what it bounds), and for related
    tables the ``source.tables`` pins and ``split.entity`` (``blocks``; absent: no line)."""
    extra = {"source_tables": "", "split_entity": "", "public_tables": "", **(blocks or {})}
    return render("params.yaml", values, blocks={"gates": gates_block(), **extra})
