"""The release manifest: one pydantic model that writes it, reads it and generates its JSON
Schema; the canonical digest; loading a file.

The manifest is plain JSON committed to git. Its digest is the sha256 of the canonical
serialisation (sorted keys, no whitespace, UTF-8) of everything except ``digest``.

:class:`Manifest` is the one description of the document:
- the manifest stage builds the blocks, seals them and writes ``Manifest.model_validate(
  sealed).doc`` (a built manifest that does not fit the model is a bug, never
  written);
- the registry, the API and the CLI read a committed one with :meth:`Manifest.parse` and use
  its typed blocks and properties;
- ``sdops_dvc/schemas/manifest.schema.json`` (JSON Schema 2020-12, shipped for tools outside
  Python) is :func:`schema`'s output, regenerated with ``python -m sdops_dvc.domain.manifest`` and
  checked against the model by a test.

A key the model marks ``omitted`` is left out when it does not apply, never written as null
(the schema says so); every other optional key is written as the builder gives it. Numbers
keep their JSON type (an integer is not turned into a float), so a manifest read and written
again keeps its bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema

from sdops_dvc.base.errors import ManifestInvalid
from sdops_dvc.domain.records import PrivacyInfo, RecordError

SCHEMA_VERSION = 1
SCHEMA_ID = "https://sdops-dvc.invalid/schemas/manifest/v1.json"
SCHEMA_FILE = "schemas/manifest.schema.json"


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """Return the manifest with its digest set."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return {**body, "digest": {"algorithm": "sha256", "value": compute_digest(body)}}


# --- the model --------------------------------------------------------------------------------

MD5 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
SHA256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Version = Annotated[str, StringConstraints(min_length=1)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Count = Annotated[int, Field(ge=0)]
# a JSON number kept as it was written (an integer stays an integer: the bytes stay)
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
Fraction = Annotated[
    int | float,
    Field(ge=0, le=1),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
Positive = Annotated[
    int | float, Field(gt=0), WithJsonSchema({"type": "number", "exclusiveMinimum": 0})
]


def _never_null(schema: dict[str, Any]) -> None:
    """An omitted key's schema: its type without null, no default (it is left out instead)."""
    options = [s for s in schema.pop("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    schema.pop("default", None)


def omitted(**constraints: Any) -> Any:
    """A key left out where it does not apply (never null)."""
    return Field(default=None, json_schema_extra=_never_null, **constraints)


class _Open(BaseModel):
    """A block of the manifest that may carry keys the model does not name (a family's own
    privacy notes, more library versions): strict JSON types, frozen. An omitted key given
    as null is refused, as the schema refuses it."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_omitted(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, f in cls.model_fields.items():
                key = f.alias or name
                if f.json_schema_extra is _never_null and key in data and data[key] is None:
                    raise ValueError(f"{key!r} is left out when it does not apply, never null")
        return data


class _Block(_Open):
    """A block of the manifest with no key the model does not know."""

    model_config = ConfigDict(extra="forbid")


class FileRecord(_Block):
    """A file the manifest pins: its path in the pipeline, the md5 DVC records for it and its
    size; rows and format for tables."""

    path: NonEmpty
    md5: MD5
    size: Count
    rows: Count | None = omitted()
    format: Literal["csv", "parquet"] | None = omitted()


class DatasetBlock(_Block):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$")]
    target: str | None
    task: Literal["auto", "classification", "regression"]


class SourceImport(_Block):
    """Where a ``dvc import``-ed source comes from: repo url, path in it, and revisions."""

    url: NonEmpty
    path: str
    rev: str | None = None
    rev_lock: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]


class SourceBlock(_Block):
    """The source snapshot: its file (or directory of related tables), the entity table's
    shape, the metadata file and how it was imported."""

    path: NonEmpty
    snapshot_id: NonEmpty
    md5: MD5
    size: Count
    rows: Annotated[int, Field(ge=1)]
    columns: Annotated[int, Field(ge=1)]
    metadata: FileRecord
    imported: SourceImport | None = Field(alias="import")


class SplitBlock(_Block):
    ratio: Annotated[float, Field(gt=0, lt=1)]
    seed: int
    method: Literal["random", "by_entity"]
    train: FileRecord
    holdout: FileRecord


class Tuning(_Open):
    """``sdops tune``: candidates tried and how the winner was chosen."""

    candidates_tried: Annotated[int, Field(ge=1)]


class ColumnHandling(_Open):
    """How the generator saw one column (counts only, never values)."""

    handling: Literal["discrete", "continuous"]


class GeneratorRuntime(_Block):
    """An isolated runtime's account (tabular_argn): its lock, the versions it ran with, and
    the column order and encodings the model was given (names only, never values)."""

    name: NonEmpty
    lock_sha256: SHA256
    python: Version
    packages: dict[str, Version]
    column_order: list[NonEmpty]
    encodings: dict[str, NonEmpty]


class GeneratorBlock(_Block):
    family: str
    sdv_class: str
    sdv_version: Version
    sdops_dvc_version: Version
    parameters: dict[str, Any]
    seed: int
    num_rows: Annotated[int, Field(ge=1)]
    torch_threads: Annotated[int, Field(ge=1)]
    tuning: Tuning | None = omitted()
    runtime: GeneratorRuntime | None = omitted(
        description="a family run in an isolated runtime: its lock, versions and encodings"
    )
    columns: dict[str, ColumnHandling] | None = omitted(
        description="how the generator saw columns: discrete support (counts, never values) "
        "and float32 decimals"
    )

    @property
    def library(self) -> str:
        """What made the rows, with its version: the runtime's engine for a family run in
        one (tabular_argn: mostlyai-engine), SDV otherwise."""
        if self.runtime is not None:
            engine = "mostlyai-engine"
            return f"{engine} {self.runtime.packages.get(engine, '?')}"
        return f"SDV {self.sdv_version}"


class ConstraintRecord(_Block):
    type: str
    args: dict[str, Any]


class GateSummary(_Open):
    enabled: bool
    passed: bool


class GatesBlock(_Block):
    approved: bool
    failures: list[str]
    summary: dict[str, GateSummary]
    thresholds: dict[str, Any]


class EvaluationBlock(_Block):
    seed: int
    samples: dict[str, Any]


class PolicyBlock(_Block):
    intended_use: str | None = None
    license: str | None = None
    audiences: list[str] = Field(default_factory=list)
    access_classification: str | None = None
    retention_days: int | None = None
    owner: str | None = None


class NativeSpend(_Open):
    rho: Positive
    delta: Fraction


_FORMAL = (
    "library",
    "privacy_unit",
    "neighbouring",
    "measure",
    "native",
    "epsilon",
    "delta",
    "accountant",
    "preprocessing",
    "measurement_id",
)


class PrivacyBlock(_Open):
    """What privacy the release can claim (its family's adapter writes it) and the budget
    scope it spends from; a formal guarantee carries its whole accounting."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"formal_guarantee": {"const": True}}},
            "then": {"required": list(_FORMAL)},
        },
    )
    mechanism: str
    formal_guarantee: bool
    budget_scope: Annotated[str, StringConstraints(min_length=8)]
    source_lineage: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")] | None = (
        omitted()
    )
    library: str | None = omitted()
    privacy_unit: str | None = omitted()
    neighbouring: str | None = omitted()
    measure: Literal["zCDP", "approximate zCDP"] | None = omitted()
    native: NativeSpend | None = omitted()
    epsilon: Positive | None = omitted()
    delta: (
        Annotated[
            int | float,
            Field(gt=0, le=1),
            WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
        ]
        | None
    ) = omitted()
    accountant: str | None = omitted()
    preprocessing: dict[str, Any] | None = omitted()
    measurement_id: SHA256 | None = omitted()

    @model_validator(mode="after")
    def _formal_is_accounted(self) -> PrivacyBlock:
        if self.formal_guarantee:
            missing = [k for k in _FORMAL if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    "a formal guarantee needs its accounting: " + ", ".join(missing) + " missing"
                )
        return self


class RelatedTable(_Block):
    source: FileRecord
    train: FileRecord
    holdout: FileRecord
    synthetic: FileRecord


class RelationalBlock(_Block):
    """Related tables: the privacy unit, the split rule, every table's files."""

    entity: NonEmpty
    rule: NonEmpty
    kept_whole: list[str]
    relationships: list[str]
    orphan_keys_nulled_for_fit: dict[str, Count]
    dropped: dict[str, Count]
    tables: Annotated[dict[str, RelatedTable], Field(min_length=2)]


class ConditionGroup(_Block):
    group: str
    target: dict[str, Any]
    rows: Count
    train_rows: Count | None


class ConditionsBlock(_Block):
    """generator.conditions: rebalanced generation, a recorded mitigation step; train counts
    below report.min_bin_count are null."""

    mitigation: str
    rationale: NonEmpty
    columns: Annotated[list[str], Field(min_length=1)]
    groups: Annotated[list[ConditionGroup], Field(min_length=1)]
    gates_judged: str
    model_sample: FileRecord


class EnvironmentBlock(_Open):
    python: Version
    numpy: Version
    pandas: Version
    torch: Version
    sdv: Version
    platform: str


class Digest(_Block):
    algorithm: Literal["sha256"]
    value: SHA256


OUTPUTS_REQUIRED = ("synthetic", "metrics", "gate")


class Manifest(_Block):
    """A release manifest (see the module doc): its blocks, typed, and the read side the
    registry, the API and the CLI use."""

    model_config = ConfigDict(title="sdops-dvc release manifest")

    schema_version: Literal[1]
    dataset: DatasetBlock
    source: SourceBlock
    split: SplitBlock
    generator: GeneratorBlock
    constraints: list[ConstraintRecord]
    outputs: dict[str, FileRecord] = Field(json_schema_extra={"required": list(OUTPUTS_REQUIRED)})
    gates: GatesBlock
    metrics: dict[str, Number | None]
    evaluation: EvaluationBlock
    policy: PolicyBlock
    privacy: PrivacyBlock
    relational: RelationalBlock | None = omitted()
    conditions: ConditionsBlock | None = omitted()
    environment: EnvironmentBlock
    digest: Digest

    @field_validator("outputs")
    @classmethod
    def _pins_outputs(cls, v: dict[str, FileRecord]) -> dict[str, FileRecord]:
        missing = [k for k in OUTPUTS_REQUIRED if k not in v]
        if missing:
            raise ValueError(f"pins no {', '.join(missing)} output")
        return v

    @classmethod
    def parse(cls, data: Any) -> Manifest:
        """A committed manifest, read (RecordError naming every problem otherwise)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RecordError("not a release manifest: " + "; ".join(_problems(exc))) from None

    @cached_property
    def doc(self) -> dict[str, Any]:
        """The JSON document: what is written, hashed, shown with ``--json`` and diffed."""
        out: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return out

    # -- the read side ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def target(self) -> str | None:
        return self.dataset.target

    @property
    def task(self) -> str:
        return self.dataset.task

    @property
    def train(self) -> FileRecord:
        return self.split.train

    @property
    def synthetic(self) -> FileRecord:
        """The synthetic table; for related tables, the entity table's (see :attr:`tables`)."""
        return self.outputs["synthetic"]

    @property
    def approved(self) -> bool:
        return self.gates.approved

    @property
    def gates_passed(self) -> dict[str, bool]:
        return {g: s.passed for g, s in self.gates.summary.items()}

    @cached_property
    def privacy_info(self) -> PrivacyInfo:
        """The privacy claim as the budget counts it (the spend of a formal guarantee)."""
        return PrivacyInfo.from_json(self.privacy.model_dump(mode="json"))

    @property
    def retention_days(self) -> int | None:
        return self.policy.retention_days

    @property
    def multi_table(self) -> bool:
        return self.relational is not None

    @property
    def tables(self) -> dict[str, FileRecord]:
        """Every synthetic table of the release by name: one for a single-table release
        (named after the dataset), each related table's otherwise."""
        if self.relational is None:
            return {self.name: self.synthetic}
        return {n: t.synthetic for n, t in self.relational.tables.items()}

    @property
    def entity(self) -> str:
        """The table whose rows are the people (a single-table release's one table)."""
        return self.relational.entity if self.relational is not None else self.name

    @property
    def source_tables(self) -> dict[str, str]:
        """Every source table's repository path by name, as :attr:`tables` names them."""
        if self.relational is None:
            return {self.name: self.source.path}
        return {n: t.source.path for n, t in self.relational.tables.items()}


class _ManifestSchema(GenerateJsonSchema):
    """JSON Schema 2020-12 with the manifest's id; no generated titles on fields."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: Any, mode: Any = "validation") -> Any:
        out = super().generate(schema, mode=mode)
        return {"$schema": self.schema_dialect, "$id": SCHEMA_ID, **out}


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema, generated from :class:`Manifest`."""
    out: dict[str, Any] = Manifest.model_json_schema(
        by_alias=True, schema_generator=_ManifestSchema
    )
    return out


def shipped_schema() -> dict[str, Any]:
    """The schema file the wheel ships (equal to :func:`schema`: a test checks it)."""
    text = resources.files("sdops_dvc").joinpath(SCHEMA_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = "/".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{loc}: {msg}")
    return out


def read(manifest: Any) -> tuple[Manifest | None, list[str]]:
    """The manifest as the model reads it (None when it does not fit) and every problem with
    it: the model's, then a digest mismatch. One validation serves both."""
    model: Manifest | None
    try:
        model, problems = Manifest.model_validate(manifest), []
    except ValidationError as exc:
        model, problems = None, _problems(exc)
    if isinstance(manifest, dict) and isinstance(manifest.get("digest"), dict):
        recorded = manifest["digest"].get("value")
        try:
            actual = compute_digest(manifest)
        except ValueError as exc:
            problems.append(f"digest: cannot be computed ({exc})")
        else:
            if recorded != actual:
                problems.append(
                    f"digest: recorded {recorded} but the content hashes to {actual} "
                    "(the manifest was edited after it was sealed)"
                )
    return model, problems


def validate(manifest: Any) -> list[str]:
    """Every problem with the manifest: the model's, then a digest mismatch."""
    return read(manifest)[1]


MAX_BYTES = 16 << 20  # a manifest is a few KB


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ManifestInvalid(f"manifest {path} does not exist", hint="run `dvc repro` first")
    if path.is_dir():
        raise ManifestInvalid(f"manifest {path} is a directory, not a JSON file")
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise ManifestInvalid(f"manifest {path}: {len(raw)} bytes is too large for a manifest")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestInvalid(f"manifest {path} is not UTF-8 text (a binary file?)") from None
    except json.JSONDecodeError as exc:
        raise ManifestInvalid(f"manifest {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ManifestInvalid(f"manifest {path} is nested too deeply to be a manifest") from None
    if not isinstance(data, dict):
        raise ManifestInvalid(f"manifest {path} must be a JSON object")
    return data


def check(path: Path) -> dict[str, Any]:
    """Load and validate; raise ManifestInvalid listing every problem."""
    data = load(path)
    problems = validate(data)
    if problems:
        raise ManifestInvalid(
            f"manifest {path} is invalid:\n" + "\n".join(f"  {p}" for p in problems),
            hint="regenerate it with `dvc repro` rather than editing it by hand",
        )
    return data


def write_schema(path: Path) -> None:
    """Write the generated schema (``python -m sdops_dvc.domain.manifest [PATH]``)."""
    from sdops_dvc.base.fsutil import write_json_atomic

    write_json_atomic(path, schema())


if __name__ == "__main__":  # pragma: no cover - the schema's regeneration command
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / SCHEMA_FILE
    write_schema(target)
