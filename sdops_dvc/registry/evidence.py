"""A release's evidence for outsiders: a Croissant 1.1 data card with the Responsible-AI
vocabulary (RAI 1.0), an in-toto Statement v1 carrying a SLSA Provenance v1 predicate, and a
Markdown datasheet that renders the card's fields for people.

All three are pure functions of what the release tag pins: the signed release record, the
files committed at the tagged commit (manifest, params, metadata, reports, ``dvc.lock``) and
the bytes of the released synthetic tables. ``sdops release`` makes them before it tags,
writes their digests into the signed tag record and stores them in the release remote;
``sdops verify`` makes them again and requires the same bytes. Nothing in them comes from a
row of the source: column names, types, row counts, digests, settings and aggregate metrics.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import IntegrityError
from sdops_dvc.base.fsutil import file_digests
from sdops_dvc.base.scm import blob_at
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.metadata import column_sdtypes, pii_columns

if TYPE_CHECKING:
    from sdops_dvc.domain.manifest import Manifest
    from sdops_dvc.domain.records import JSON, PrivacyInfo, ReleaseRecord

CARD = "croissant.json"
STATEMENT = "provenance.intoto.json"
DATASHEET = "datasheet.md"
EVIDENCE = (CARD, STATEMENT, DATASHEET)

CROISSANT = "http://mlcommons.org/croissant/1.1"
RAI = "http://mlcommons.org/croissant/RAI/1.0"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:sdops-dvc:build-type:release:v1"  # split, generate, evaluate, gate, manifest
BUILDER_ID = "urn:sdops-dvc:builder:sdops-release"
BYPRODUCTS = (
    L.MANIFEST,
    "reports/gate.json",
    "reports/metrics.json",
    "reports/report.md",
    "reports/report.html",
)
_CONTEXT: dict[str, Any] = {  # mlcroissant's standard @context for Croissant 1.1
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "prov": "http://www.w3.org/ns/prov#",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


@dataclass(frozen=True)
class DataFile:
    """One released synthetic table, as its bytes are."""

    table: str
    path: str  # as the manifest records it (relative to the pipeline's directory)
    md5: str
    sha256: str
    size: int
    rows: int
    fields: tuple[tuple[str, str], ...]  # (column, Croissant dataType)

    @property
    def file_name(self) -> str:
        """The name ``sdops get --card`` writes it under, beside the card."""
        return Path(self.path).name


@dataclass(frozen=True)
class Facts:
    """Everything the evidence is made from; each piece is pinned by the release tag."""

    tag: str
    record: ReleaseRecord
    committed_at: str  # the released commit's committer date, ISO 8601 in UTC
    prefix: str  # the pipeline's directory in the repository ("" for the top)
    manifest: Manifest
    params: dict[str, Any]
    metadata: dict[str, Any] | None
    files: tuple[DataFile, ...]
    committed: dict[str, str]  # repository path -> sha256 of the bytes committed there

    def repo_path(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel


def _data_type(sdtype: str | None, dtype: Any) -> str:
    import pandas as pd

    if sdtype == "boolean" or pd.api.types.is_bool_dtype(dtype):
        return "sc:Boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "sc:Integer"
    if pd.api.types.is_float_dtype(dtype):
        return "sc:Float"
    return "sc:Text"  # categories, ids, text; datetimes as written (ISO 8601 text)


def _sdtypes(metadata: dict[str, Any] | None, table: str) -> dict[str, str]:
    """The sdtypes of ``table`` (a single-table release names its one table after the
    dataset, which metadata.json may name otherwise)."""

    tables = (metadata or {}).get("tables") or {}
    if not tables:
        return {}
    return column_sdtypes({"tables": tables}, table if table in tables else None)


def describe_file(
    table: str, path: str, md5: str, local: Path, metadata: dict[str, Any] | None
) -> DataFile:
    """The released table ``path`` whose bytes are at ``local``: they must be the ones the
    manifest records (md5), else IntegrityError names the file."""
    import pandas as pd

    if not local.is_file():
        raise IntegrityError(f"{path}: its bytes are not at hand (no file at {local})")
    got, sha256 = file_digests(local)
    if got != md5:
        raise IntegrityError(
            f"{path}: the bytes at hand have md5 {got}, but the release manifest records {md5}",
            hint="fetch the release's data again (`dvc pull`); `sdops verify` names the store",
        )
    if path.endswith((".parquet", ".pq")):
        frame = pd.read_parquet(local)
    else:
        frame = pd.read_csv(local, low_memory=False)
    sdtypes = _sdtypes(metadata, table)
    fields = tuple((str(c), _data_type(sdtypes.get(str(c)), frame[c].dtype)) for c in frame.columns)
    return DataFile(table, path, md5, sha256, local.stat().st_size, len(frame), fields)


def gather(repo: Any, tag: str, record: ReleaseRecord, local: dict[str, Path]) -> Facts:
    """The facts of release ``tag`` (its ``record``, the files committed at its commit) with
    the released tables' bytes at ``local`` (manifest path -> a file holding them)."""
    from datetime import UTC, datetime

    import yaml

    from sdops_dvc.registry.catalog import pipeline_at

    commit = repo.commit(record.commit)
    found = pipeline_at(commit, record.name)
    if found is None:
        raise IntegrityError(f"{tag}: no manifest of {record.name} at {record.commit[:10]}")
    prefix, manifest = found

    def at(rel: str) -> bytes | None:
        return blob_at(commit, f"{prefix}/{rel}" if prefix else rel)

    params = yaml.safe_load(at("params.yaml") or b"") or {}
    meta_path = manifest.source.metadata.path if manifest.source.metadata else None
    raw_meta = at(meta_path) if meta_path else None
    metadata = json.loads(raw_meta) if raw_meta else None
    committed = {}
    for rel in (*BYPRODUCTS, "params.yaml", "dvc.lock", *([meta_path] if meta_path else [])):
        raw = at(rel)
        if raw is not None:
            committed[rel] = hashlib.sha256(raw).hexdigest()
    files = tuple(
        describe_file(name, art.path, art.md5, local[art.path], metadata)
        for name, art in sorted(manifest.tables.items())
    )
    when = datetime.fromtimestamp(commit.committed_date, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Facts(tag, record, when, prefix, manifest, params, metadata, files, committed)


# -- the card ---------------------------------------------------------------------------------


def _policy(f: Facts) -> dict[str, Any]:
    policy = f.params.get("policy")
    return policy if isinstance(policy, dict) else {}


def _encoding(path: str) -> str:
    return "application/x-parquet" if path.endswith((".parquet", ".pq")) else "text/csv"


def _record_set(d: DataFile) -> JSON:
    fo = f"file/{d.table}"
    return {
        "@type": "cr:RecordSet",
        "@id": d.table,
        "name": d.table,
        "description": f"{d.rows} synthetic records of {d.table}",
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{d.table}/{col}",
                "name": col,
                "dataType": kind,
                "source": {"fileObject": {"@id": fo}, "extract": {"column": col}},
            }
            for col, kind in d.fields
        ],
    }


def _distribution(d: DataFile) -> JSON:
    return {
        "@type": "cr:FileObject",
        "@id": f"file/{d.table}",
        "name": d.file_name,
        "contentUrl": d.file_name,
        "contentSize": f"{d.size} B",
        "encodingFormat": _encoding(d.path),
        "sha256": d.sha256,
        "md5": d.md5,
    }


def _spend(f: Facts) -> str:
    return spend_text(f.manifest.privacy_info)


def spend_text(p: PrivacyInfo) -> str:
    """A release's privacy spend in words (the card's, the datasheet's, the catalog's)."""
    if not p.formal_guarantee:
        return f"no formal privacy guarantee (mechanism: {p.mechanism})"
    eps = "n/a" if p.epsilon is None else f"{p.epsilon:g}"
    return f"{p.mechanism}: epsilon {eps}, delta {p.delta if p.delta is not None else 'n/a'}"


def _generated_by(f: Facts) -> JSON:
    g = f.manifest.generator
    return {
        "@type": "prov:Activity",
        "@id": f"release/{f.tag}",
        "name": f"sdops release {f.tag}",
        "description": (
            f"generator {g.family} ({g.sdv_class}, {g.library}), seed {g.seed}; "
            f"privacy spend: {_spend(f)}"
        ),
    }


def _gate_lines(f: Facts) -> list[str]:
    out = []
    for gate, passed in sorted(f.manifest.gates_passed.items()):
        verdict = "not run" if passed is None else "passed" if passed else "failed"
        out.append(f"{gate} gate: {verdict}")
    return out


def _metric(f: Facts, key: str) -> str:
    v = f.manifest.metrics.get(key)
    return "n/a" if v is None else f"{v:.3f}"


def _limitations(f: Facts) -> list[str]:
    g = f.manifest.generator
    return [
        f"Synthetic records generated by {g.family} from a model fitted on "
        f"{f.manifest.split.ratio:.0%} of the source; no row is a real person's record, and "
        "statistics beyond the gated ones are not guaranteed to match the source.",
        f"Quality: detection AUC {_metric(f, 'quality.detection_auc')}, column shapes "
        f"{_metric(f, 'quality.column_shapes')}, column pair trends "
        f"{_metric(f, 'quality.column_pair_trends')}, train-on-synthetic utility ratio "
        f"{_metric(f, 'utility.ratio')}.",
        "Release gates (thresholds fixed in params.yaml before generation): "
        + "; ".join(_gate_lines(f))
        + ".",
    ]


def _verdict(passed: bool | None) -> str:
    return "passed" if passed else "failed" if passed is False else "was not run"


def _biases(f: Facts) -> list[str]:
    ev = f.params.get("evaluation") or {}
    cols = (ev.get("subgroups") or {}).get("columns") or []
    fair = (ev.get("fairness") or {}).get("columns") or []
    out = [
        f"Subgroups examined: {', '.join(map(str, cols))}. The subgroup gate (representation, "
        "column shapes and train-on-synthetic accuracy per group against the real holdout, "
        f"Bonferroni-corrected) {_verdict(f.manifest.gates_passed.get('subgroup'))}; worst "
        f"group gap {_metric(f, 'subgroup.worst_group_gap')}."
        if cols
        else "No subgroup columns were declared: fidelity, utility and representation per "
        "group were not examined."
    ]
    if fair:
        out.append(
            f"Disparate impact examined for {', '.join(map(str, fair))}: the fairness gate "
            "(a model trained on the release against one trained on real rows, on the same "
            "holdout rows; Bonferroni-corrected) "
            f"{_verdict(f.manifest.gates_passed.get('fairness'))}; worst increase in "
            f"demographic parity {_metric(f, 'fairness.worst_demographic_parity_increase')}, "
            f"in equalized odds {_metric(f, 'fairness.worst_equalized_odds_increase')}, in "
            f"group error gap {_metric(f, 'fairness.worst_error_gap_increase')}."
        )
    else:
        out.append("Disparate impact was not tested (no evaluation.fairness.columns).")
    rebalanced = _rebalanced(f)
    if rebalanced:
        out.append(rebalanced)
    return out


def _rebalanced(f: Facts) -> str | None:
    """Rebalanced generation, for consumers: the group shares are set on purpose, not the
    source's (none without generator.conditions)."""
    cond = (f.params.get("generator") or {}).get("conditions")
    if not cond:
        return None
    groups = "; ".join(
        ", ".join(f"{c}={v}" for c, v in (g.get("values") or {}).items())
        + (f" share {g['share']:g}" if g.get("share") is not None else f" {g.get('rows')} rows")
        for g in cond.get("groups") or []
    )
    return (
        f"Group shares were rebalanced on purpose (generator.conditions; rationale: "
        f"{cond.get('rationale')}): {groups}. The released rows do not follow the source's "
        "group shares. The quality and privacy gates judged an unconditioned sample from the "
        "same fit; privacy was also judged per group on the released rows (worst DCR share "
        f"{_metric(f, 'conditions.worst_group_dcr_share')}, worst copy excess "
        f"{_metric(f, 'conditions.worst_group_copy_excess')})."
    )


def _personal(f: Facts) -> list[str]:

    pii = pii_columns(f.metadata) if f.metadata and f.metadata.get("tables") else []
    handled = (
        f"Columns declared PII or identifiers in metadata.json: {', '.join(pii)}; the "
        "generator replaces them with fake values, not drawn from the source."
        if pii
        else "No column is declared PII or an identifier in metadata.json."
    )
    return [
        handled,
        f"Every record is synthetic, generated from a source that may hold personal data; "
        f"{_spend(f)}.",
        f"Privacy gates against the real holdout: DCR share {_metric(f, 'privacy.dcr_share')}, "
        f"membership-inference AUC {_metric(f, 'privacy.mia_auc')}, singling-out risk "
        f"{_metric(f, 'privacy.singling_out_risk')}, linkability risk "
        f"{_metric(f, 'privacy.linkability_risk')}, inference risk "
        f"{_metric(f, 'privacy.inference_risk')}.",
    ]


def _maintenance(f: Facts) -> str:
    p = _policy(f)
    owner = p.get("owner") or "the repository's owners"
    keep = p.get("retention_days")
    return " ".join(
        [
            f"Owner: {owner}. Retention: "
            + (
                f"{keep} days, then the release is retired and its data deleted."
                if keep
                else "not limited."
            )
            + " A release found faulty is revoked (`sdops revoke`): consumers resolving "
            f"{f.record.name}@current never receive it again, and `sdops get` refuses it.",
            f"Release {f.tag} is a signed git tag; `sdops verify {f.tag} --signature` checks its "
            "signature and every digest, `sdops verify` re-runs the pipeline.",
        ]
    )


def card(f: Facts) -> JSON:
    """The Croissant 1.1 card (JSON-LD) of the release, RAI fields filled."""
    p, src, rec = _policy(f), f.manifest.source, f.record
    out: JSON = {
        "@context": _CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT, RAI],
        "name": rec.name,
        "description": (
            f"Synthetic data release {f.tag} made by sdops-dvc. Intended use: "
            f"{p.get('intended_use') or 'not declared'}."
        ),
        "license": p.get("license")
        or (f"not openly licensed: access classification {p.get('access_classification')}"),
        "creator": {"@type": "sc:Organization", "name": str(p.get("owner") or "unknown")},
        "datePublished": f.committed_at,
        "version": rec.version.removeprefix("v"),
        "citeAs": f"{rec.name} {rec.version}, synthetic data release {f.tag} "
        f"(commit {rec.commit[:12]})" + (f", {rec.origin_url}" if rec.origin_url else ""),
        "isAccessibleForFree": False,
        "distribution": [_distribution(d) for d in f.files],
        "recordSet": [_record_set(d) for d in f.files],
        "prov:wasDerivedFrom": {
            "@id": f"source/{src.md5}",
            "name": src.snapshot_id,
            "description": f"source snapshot {src.snapshot_id}, md5 {src.md5} (not released)",
        },
        "prov:wasGeneratedBy": _generated_by(f),
        "rai:dataCollection": "Synthetic: generated from a pinned snapshot of a real source; "
        "the source itself is not released.",
        "rai:dataCollectionType": "Synthetic data",
        "rai:dataUseCases": [
            str(p.get("intended_use") or "not declared"),
            f"Audiences: {', '.join(map(str, p.get('audiences') or [])) or 'not declared'}.",
        ],
        "rai:dataLimitations": _limitations(f),
        "rai:dataBiases": _biases(f),
        "rai:personalSensitiveInformation": _personal(f),
        "rai:dataReleaseMaintenancePlan": _maintenance(f),
    }
    if rec.origin_url:
        out["url"] = rec.origin_url
    return out


# -- the provenance statement -----------------------------------------------------------------


def _committed(f: Facts, rel: str) -> JSON:
    return {"name": f.repo_path(rel), "digest": {"sha256": f.committed[rel]}}


def statement(f: Facts) -> JSON:
    """The in-toto Statement v1 with a SLSA Provenance v1 predicate."""
    m, rec = f.manifest, f.record
    env = m.doc.get("environment") or {}
    code = {"name": "code", "digest": {"gitCommit": rec.commit}}
    if rec.origin_url:
        code["uri"] = f"git+{rec.origin_url}"
    src: JSON = {"name": "source", "digest": {"md5": m.source.md5}}
    if m.source.imported is not None:
        src["uri"] = m.source.imported.url
        src["annotations"] = {"path": m.source.imported.path, "rev": m.source.imported.rev_lock}
    else:
        src["annotations"] = {"snapshot_id": m.source.snapshot_id, "path": m.source.path}
    deps = [code, src, *(_committed(f, r) for r in ("dvc.lock",) if r in f.committed)]
    if m.source.metadata and m.source.metadata.path in f.committed:
        deps.append(_committed(f, m.source.metadata.path))
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "release": f.tag,
                "params": _committed(f, "params.yaml"),
                "seed": m.generator.seed,
                "generator": {"family": m.generator.family, "parameters": m.generator.parameters},
            },
            "internalParameters": {
                "split": {"ratio": m.split.ratio, "seed": m.split.seed},
                "privacy": {
                    "mechanism": m.privacy_info.mechanism,
                    "formal_guarantee": m.privacy_info.formal_guarantee,
                    "epsilon": m.privacy_info.epsilon,
                    "delta": m.privacy_info.delta,
                    "rho": m.privacy_info.rho,
                },
            },
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {
                "id": BUILDER_ID,
                "version": {k: str(v) for k, v in sorted(env.items()) if v is not None}
                | {"sdops-dvc": str((m.doc.get("generator") or {}).get("sdops_dvc_version"))},
            },
            "metadata": {"invocationId": f.tag},
            "byproducts": [_committed(f, r) for r in BYPRODUCTS if r in f.committed],
        },
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": f.repo_path(d.path), "digest": {"sha256": d.sha256, "md5": d.md5}}
            for d in f.files
        ],
        "predicateType": PROVENANCE_TYPE,
        "predicate": predicate,
    }


# -- the datasheet ----------------------------------------------------------------------------


def datasheet(f: Facts, c: JSON | None = None) -> str:
    """The card's fields for people (Markdown; values escaped as report.md escapes them);
    ``c``: the card, when already made."""
    from sdops_dvc.report import md

    c = card(f) if c is None else c
    lines = [
        f"# {md(f.record.name)} {md(f.record.version)}: datasheet",
        "",
        md(c["description"]),
        "",
    ]
    lines += [
        f"- Release: `{f.tag}`, commit `{f.record.commit}`, published {f.committed_at}",
        f"- Creator: {md(c['creator']['name'])}; licence: {md(c['license'])}",
        f"- Derived from: {md(c['prov:wasDerivedFrom']['description'])}",
        f"- Generated by: {md(c['prov:wasGeneratedBy']['description'])}",
        "",
        "## Composition",
        "",
        "| table | file | records | sha256 |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {md(d.table)} | {md(d.file_name)} | {d.rows} | `{d.sha256}` |" for d in f.files]
    for d in f.files:
        lines += [
            "",
            f"Columns of {md(d.table)}: "
            + ", ".join(f"{md(col)} ({kind.removeprefix('sc:')})" for col, kind in d.fields),
        ]
    for title, key in (
        ("Uses", "rai:dataUseCases"),
        ("Limitations", "rai:dataLimitations"),
        ("Biases examined", "rai:dataBiases"),
        ("Personal and sensitive information", "rai:personalSensitiveInformation"),
        ("Maintenance", "rai:dataReleaseMaintenancePlan"),
    ):
        items = c[key] if isinstance(c[key], list) else [c[key]]
        lines += ["", f"## {title}", ""] + [f"- {md(item)}" for item in items]
    return "\n".join(lines) + "\n"


def render(f: Facts) -> dict[str, bytes]:
    """Each evidence file's bytes (JSON: sorted keys, two-space indent, UTF-8)."""

    def dump(obj: Any) -> bytes:
        return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    c = card(f)
    return {CARD: dump(c), STATEMENT: dump(statement(f)), DATASHEET: datasheet(f, c).encode()}


def remade(
    repo: Any, tag: str, record: ReleaseRecord, tables: dict[str, Path]
) -> tuple[dict[str, bytes], list[str]]:
    """The evidence made again from what the tag pins, and the names of the files whose
    sha256 differs from the one the signed tag record pins (the record must pin some)."""
    files = render(gather(repo, tag, record, tables))
    pinned = record.evidence or {}
    made = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    return files, [n for n, want in sorted(pinned.items()) if made.get(n) != want.get("sha256")]


def stored_copies(
    top: Path, pinned: dict[str, dict[str, str]]
) -> dict[str, tuple[bytes | None, str | None]]:
    """Each pinned evidence file as the release remote serves it: (its bytes, None when they
    match the signed sha256, else why not; the bytes are None when the remote holds none).
    RepoError when the remote cannot be read."""
    from sdops_dvc.registry.objects import read_stored

    served = read_stored(top, [d.get("md5", "") for d in pinned.values()])
    out: dict[str, tuple[bytes | None, str | None]] = {}
    for name, want in sorted(pinned.items()):
        data = served.get(want.get("md5", ""))
        why = None
        if data is None:
            why = f"the release remote does not hold it (md5 {want.get('md5')})"
        elif (got := hashlib.sha256(data).hexdigest()) != want.get("sha256"):
            why = (
                f"the release remote's copy is altered (sha256 {got}, signed {want.get('sha256')})"
            )
        out[name] = (data, why)
    return out


def digests(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """What the signed tag record pins of each evidence file."""
    return {
        name: {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sorted(files.items())
    }
