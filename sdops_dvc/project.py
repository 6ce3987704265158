"""``sdops init`` and ``sdops snapshot``: set up a pipeline and pin its source.

Both check everything first (the table reads, columns exist, nothing would be
overwritten) and only then touch git, DVC or files.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc import layout as L
from sdops_dvc.config import NAME_RE, PLACEHOLDER, load_params
from sdops_dvc.errors import ConfigError, DataError, RepoError, WouldOverwrite
from sdops_dvc.fsutil import md5_file, write_json_atomic, write_text_atomic
from sdops_dvc.scm import dvc_root, git_init, git_toplevel, git_tracks, run_dvc
from sdops_dvc.synthesizers import FAMILIES
from sdops_dvc.tables import read_table, require_columns
from sdops_dvc.templates import read_template, render_params

if TYPE_CHECKING:
    from sdops_dvc.tune import Candidate

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
        from sdops_dvc.config import ACCESS_CLASSES

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


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def init_project(
    root: Path,
    source: Path,
    name: str,
    *,
    target: str | None = None,
    snapshot_id: str | None = None,
    family: str | None = None,
    force: bool = False,
    privacy_owners: str = "@your-org/privacy-reviewers",
    data_owners: str = "@your-org/data-owners",
    charter: Charter | None = None,
    start: Candidate | None = None,
) -> InitResult:
    """Set up a release pipeline for ``source`` in ``root``: every check first, then git and
    DVC, the source tracked, metadata, params, the pipeline and the CI files. ``family``
    None: :func:`default_family`. ``start``: a reviewed tune library's winner (its family,
    parameters and discrete columns)."""
    from sdops_dvc.metadata import detect, pii_columns

    root = root.resolve()
    _check_arguments(name, family or DEFAULT_FAMILY, charter)
    if family is not None and FAMILIES[family].multi_table:
        raise ConfigError(
            f"--family {family} fits related tables, and {source} is one table",
            hint="give a directory of tables (or repeat --source), or pick a single-table family",
        )
    source = _existing_source(source)
    inside = _is_within(source, root)
    dest = source.resolve() if inside else root / "data" / "source" / source.name
    df = read_table(source, what="source")
    if target is not None:
        require_columns(df, {"--target": [target]}, "the source")
    _refuse_to_overwrite(root, source, dest, inside, force)

    metadata = detect(df, name)
    actions: list[str] = []
    if family is None:
        family = default_family(metadata, actions)
    decimals, discrete = _model_notes(
        df, metadata, actions, dp=FAMILIES[family].dp, cart=family == "cart"
    )
    parameters: dict[str, Any] = {}
    if start is not None:
        parameters = dict(start.parameters)
        if start.discrete is not None:
            discrete = list(start.discrete)
        actions.append(f"generator: {start.name}, from the reviewed tune library")
    _ensure_repositories(root, actions)
    rel_source = _track_source(root, source, dest, inside, actions)
    source_md5 = md5_file(dest)
    values = _params_values(name, target, rel_source, snapshot_id, source_md5, family, charter)
    created = _write_pipeline(
        root,
        force,
        metadata=metadata,
        params_text=render_params(
            {**values, "decimals": decimals, "discrete": discrete, "parameters": parameters}
        ),
        dvc_yaml=read_template("dvc.yaml"),
        ci_values={
            "privacy_owners": privacy_owners,
            "data_owners": data_owners,
            "source_path": rel_source,
            "name": name,
        },
        actions=actions,
    )
    if FAMILIES[family].dp:
        _write_dp_placeholders(root / L.PARAMS, metadata)
        actions.append(
            f"generator.privacy has {PLACEHOLDER} placeholders for the public bounds of the "
            "numerical columns: write them before `dvc repro` (never read them off the data)"
        )
    else:
        load_params(root / L.PARAMS)  # what we wrote must load
    return InitResult(
        root=root,
        source=dest,
        source_md5=source_md5,
        created=created,
        actions=actions,
        pii_columns=pii_columns(metadata),
    )


DEFAULT_FAMILY = "cart"


def default_family(metadata: dict[str, Any], actions: list[str]) -> str:
    """Sequential CART (measured the strongest family on the shared tables: README,
    "Generators"), unless a column is an identifier or PII: cart draws every value from real
    records, where SDV replaces such columns with fake values."""
    from sdops_dvc.metadata import pii_columns

    pii = pii_columns(metadata)
    if pii:
        actions.append(
            "generator.family: gaussian_copula, as " + ", ".join(pii) + " look like "
            "identifiers or PII (SDV fakes them; cart would draw real values)"
        )
        return "gaussian_copula"
    actions.append(
        f"generator.family: {DEFAULT_FAMILY} (sequential CART; leaf size chosen on the train "
        "split); try others with `dvc exp run -S generator.family=...`"
    )
    return DEFAULT_FAMILY


def init_tables_project(
    root: Path,
    sources: list[Path],
    name: str,
    *,
    relationships: Sequence[str] = (),
    entity: str | None = None,
    target: str | None = None,
    snapshot_id: str | None = None,
    family: str = "hma",
    force: bool = False,
    privacy_owners: str = "@your-org/privacy-reviewers",
    data_owners: str = "@your-org/data-owners",
    charter: Charter | None = None,
) -> InitResult:
    """Set up a release pipeline for related tables: every csv, tsv or parquet file of a
    directory, or several files, one table each (named by its file). Every check first (the
    tables read, declared relationships fit, the privacy unit is known, nothing would be
    overwritten), then git and DVC: the tables copied into one source directory (kept in
    place when a directory inside the repository is given) and tracked by DVC as one output,
    each table pinned in params.yaml, multi-table metadata with keys and relationships."""
    from sdops_dvc.metadata import column_sdtypes, detect_tables, model_discrete, pii_columns
    from sdops_dvc.relational import Relationship, entity_table, tables_below
    from sdops_dvc.synthesizers.columns import detect_discrete
    from sdops_dvc.tableset import pins_digest
    from sdops_dvc.templates import render_tables_pipeline

    root = root.resolve()
    _check_arguments(name, family, charter)
    if not FAMILIES[family].fits_tables:
        multi = ", ".join(n for n, f in FAMILIES.items() if f.fits_tables)
        raise ConfigError(
            f"--family {family} fits one table; related tables need {multi}",
            hint=f"use --family {multi}, or give one --source table",
        )
    files = _table_files(sources)
    declared = [Relationship.parse(r) for r in relationships]
    tables = {t: read_table(p, what=f"source table {t!r}") for t, p in files.items()}
    metadata, notes = detect_tables(tables, declared)
    rels = Relationship.all_of(metadata)
    unit = entity_table(list(tables), rels, entity)
    if target is not None:
        require_columns(tables[unit], {"--target": [target]}, f"the entity table {unit!r}")
    below = tables_below(unit, rels)
    if FAMILIES[family].entity_only and below:
        raise ConfigError(
            f"--family {family} generates the entity table {unit!r} only, and "
            f"{', '.join(below)} sit below it",
            hint="use --family hma, which generates every table",
        )
    in_place = len(sources) == 1 and sources[0].is_dir() and _is_within(sources[0], root)
    dest = sources[0].resolve() if in_place else root / "data" / "source" / name
    _refuse_to_overwrite(root, dest, dest, True, force)
    if not force and not in_place and dest.exists():
        raise WouldOverwrite(
            f"refusing to overwrite existing {dest.relative_to(root)}",
            hint="review it, then re-run with --force to replace it",
        )
    actions = [f"metadata.json: {n}" for n in notes]
    for t, df in tables.items():
        one = {"tables": {t: metadata["tables"][t]}}
        discrete = model_discrete(df, one)
        if discrete:
            actions.append(
                f"metadata.json {t}: categorical, few distinct values: {', '.join(discrete)}"
            )
    _ensure_repositories(root, actions)
    if not in_place:
        dest.mkdir(parents=True, exist_ok=True)
        for p in files.values():
            shutil.copyfile(p, dest / p.name)
        actions.append(f"copied {len(files)} tables to {dest.relative_to(root)}")
    rel_source = _track_source(root, dest, dest, True, actions)
    pins = {t: md5_file(dest / p.name) for t, p in files.items()}
    table_lines = "".join(
        f"    {t}:\n      file: {p.name}\n      md5: {pins[t]}\n" for t, p in files.items()
    )
    values = _params_values(
        name, target, rel_source, snapshot_id, pins_digest(pins), family, charter
    )
    blocks = {
        "source_tables": "  tables:                         # one file per table in source.path; "
        "pins change only with `sdops snapshot`\n" + table_lines,
        "split_entity": f"  entity: {unit}                  # the privacy unit: its rows (people) "
        "go to train or holdout whole, with every row below them\n",
    }
    entity_discrete: list[str] = []
    if FAMILIES[family].entity_only:
        public = [t for t in tables if t != unit]
        blocks["public_tables"] = (
            f"  public_tables: {json.dumps(public)}  # released AS THEY ARE: public "
            "reference data only (review)\n"
        )
        entity_discrete = detect_discrete(
            tables[unit], column_sdtypes(metadata, unit), integers=True
        )
        actions.append(
            f"generator.public_tables: {', '.join(public)} are released as they are, and only "
            f"{unit} is generated ({family}): confirm they are public reference data"
        )
    created = _write_pipeline(
        root,
        force,
        metadata=metadata,
        params_text=render_params(
            {**values, "decimals": {}, "discrete": entity_discrete, "parameters": {}}, blocks
        ),
        dvc_yaml=render_tables_pipeline(list(files), "csv"),
        ci_values={
            "privacy_owners": privacy_owners,
            "data_owners": data_owners,
            "source_path": rel_source,
            "name": name,
        },
        actions=actions,
    )
    load_params(root / L.PARAMS)  # what we wrote must load
    return InitResult(
        root=root,
        source=dest,
        source_md5=pins_digest(pins),
        created=created,
        actions=actions,
        entity=unit,
        pii_columns=[
            f"{t}.{c}" for t in tables for c in pii_columns({"tables": {t: metadata["tables"][t]}})
        ],
    )


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


def _table_files(sources: list[Path]) -> dict[str, Path]:
    """Table name -> file: every table file of a directory, or each file given; names are
    the file stems and must be distinct release-safe names."""
    from sdops_dvc.tables import READERS

    files: list[Path] = []
    for src in sources:
        src = _existing_source(src)
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in READERS)
            if not found:
                raise DataError(
                    f"source directory {src} holds no table files",
                    hint=f"put the tables there as {', '.join(READERS)} files",
                )
            files += found
        else:
            files.append(src)
    names: dict[str, Path] = {}
    for f in files:
        if f.stem in names:
            raise ConfigError(
                f"two source tables are named {f.stem!r} ({names[f.stem]} and {f})",
                hint="a table is named by its file: rename one",
            )
        if not NAME_RE.match(f.stem):
            raise ConfigError(
                f"source table {f.name}: {f.stem!r} is not a valid table name",
                hint="name table files with letters, digits, '-' or '_'",
            )
        names[f.stem] = f
    if len(names) < 2:
        raise DataError(
            "related tables need at least two tables; one table is a single-table project",
            hint="give a directory of tables or repeat --source",
        )
    return names


def _check_arguments(name: str, family: str, charter: Charter | None) -> None:
    if not NAME_RE.match(name):
        raise ConfigError(
            f"--name {name!r} is not a valid release name",
            hint="use letters, digits, '-' or '_' (it becomes the tag prefix NAME@vX.Y.Z)",
        )
    if family not in FAMILIES:
        raise ConfigError(
            f"--family {family!r} is unknown", hint=f"use one of {', '.join(FAMILIES)}"
        )
    if charter is not None:
        charter.check()


def _existing_source(source: Path) -> Path:
    """The source as an absolute path; DataError when it is not there (saying how to get it
    when DVC tracks it)."""
    source = source if source.is_absolute() else (Path.cwd() / source)
    pointer = source.with_name(source.name + ".dvc")
    if not source.exists():
        if pointer.exists():
            raise DataError(
                f"source {source} is tracked by DVC but not in the work tree",
                hint=f"run `dvc pull {pointer.name}` (or `dvc update` for an import) first",
            )
        raise DataError(f"source {source} does not exist", hint="check the --source path")
    return source


def _refuse_to_overwrite(root: Path, source: Path, dest: Path, inside: bool, force: bool) -> None:
    """Everything init would write, checked before anything is touched."""
    planned = [L.PARAMS, L.DVC_YAML, L.METADATA]
    existing = [p for p in planned if (root / p).exists()]
    if not inside and dest.exists() and md5_file(dest) != md5_file(source):
        existing.append(str(dest.relative_to(root)))
    if existing and not force:
        raise WouldOverwrite(
            f"refusing to overwrite existing file(s) in {root}: {', '.join(existing)}",
            hint="review them, then re-run with --force to replace them",
        )


def _model_notes(
    df: Any, metadata: dict[str, Any], actions: list[str], *, dp: bool, cart: bool
) -> tuple[dict[str, int], list[str]]:
    """How the generator will see the columns, each said in ``actions``: numeric columns
    with few distinct values generated on their own values in order (generator.discrete;
    integer ones for cart only; not for the DP families, which may not read values off the
    data: for them few-valued non-integer columns are made categorical in ``metadata``),
    and float32-stored decimals. Returns generator.decimals and generator.discrete."""
    from sdops_dvc.metadata import column_sdtypes, float32_decimals, model_discrete
    from sdops_dvc.synthesizers.columns import detect_discrete

    discrete = [] if dp else detect_discrete(df, column_sdtypes(metadata), integers=cart)
    if discrete:
        actions.append(
            "params.yaml generator.discrete: generated on their own values, in order, values "
            "held by fewer than report.min_bin_count records pooled: " + ", ".join(discrete)
        )
    made = model_discrete(df, metadata) if dp else []
    if made:
        actions.append(
            "metadata.json: categorical, as they take few distinct values: " + ", ".join(made)
        )
    decimals = {c: k for c, k in float32_decimals(df, metadata).items() if c not in discrete}
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


def _track_source(root: Path, source: Path, dest: Path, inside: bool, actions: list[str]) -> str:
    """The source copied in (when outside ``root``) and tracked by DVC; its path in root."""
    if not inside:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        actions.append(f"copied source to {dest.relative_to(root)}")
    rel_source = dest.relative_to(root).as_posix()
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
    from sdops_dvc.requirements import FILE as REQUIREMENTS, requirements_text

    if (root / REQUIREMENTS).exists() and not force:
        actions.append(f"kept existing {REQUIREMENTS} (CI installs from it)")
        return []
    write_text_atomic(root / REQUIREMENTS, requirements_text())
    return [REQUIREMENTS]


def _write_dp_placeholders(params_path: Path, metadata: dict[str, Any]) -> None:
    """A DP family needs public bounds for every numerical column: write the privacy block
    with a placeholder per column, which validation names until a person replaces it."""
    from sdops_dvc.metadata import column_sdtypes

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
        from sdops_dvc.scm import run_dvc

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
    from sdops_dvc.config import parse_params
    from sdops_dvc.layout import Layout
    from sdops_dvc.tableset import source_pins
    from sdops_dvc.yamlio import loads, set_scalars

    params = load_params(params_path)
    layout = Layout.for_params(params_path, params)
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

    from sdops_dvc.yamlio import dump_round_trip, round_trip

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
    from sdops_dvc.yamlio import load_file

    data = load_file(params_path, what="params file") if params_path.is_file() else None
    source = data.get("source") if isinstance(data, dict) else None
    path = source.get("path") if isinstance(source, dict) else None
    if not isinstance(path, str) or not path:
        raise ConfigError(
            f"{params_path}: no source.path", hint="run `sdops init --source PATH --name NAME`"
        )
    return path
