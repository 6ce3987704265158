"""``manifest``: the release record, committed to git (``cache: false`` in dvc.yaml).

It records hashes of every input and output (the same md5 DVC records in dvc.lock),
the generator and its versions, the gate outcome and the policy. No timestamps: the
same pipeline state gives the same manifest bytes; the release time goes into the tag.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass, replace
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from sdops_dvc import __version__
from sdops_dvc.base.errors import DataError
from sdops_dvc.base.fsutil import md5_file, write_json_atomic
from sdops_dvc.domain.config import Params
from sdops_dvc.domain.layout import Layout
from sdops_dvc.domain.lineage import import_info, lineage_of, scope_of
from sdops_dvc.domain.manifest import SCHEMA_VERSION, read, seal
from sdops_dvc.domain.metadata import column_sdtypes, read_metadata
from sdops_dvc.domain.metric_table import get, summary_keys
from sdops_dvc.domain.relationships import below_or_at, null_orphan_keys, split_rule
from sdops_dvc.domain.tableio import read_table
from sdops_dvc.domain.tableset import (
    SetMetadata,
    pins_digest,
    read_tables,
    set_metadata,
    source_set_files,
)
from sdops_dvc.synthesizers.adapters import generator_for


@dataclass(frozen=True)
class ManifestInputs:
    train: Path
    holdout: Path
    synthetic: Path
    metrics: Path
    gate: Path
    fit: Path  # model/dp_fit.npz: the DP measurement (DP families)
    model_sample: Path | None = None  # generator.conditions: the sample the gates judged


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def file_record(
    layout: Layout, path: Path, *, rows: int | None = None, fmt: str | None = None
) -> dict[str, Any]:
    if not path.exists():
        raise DataError(f"{path} does not exist", hint="run `dvc repro` to produce it")
    rec: dict[str, Any] = {
        "path": layout.rel(path),
        "md5": md5_file(path),
        "size": path.stat().st_size,
    }
    if rows is not None:
        rec["rows"] = rows
    if fmt is not None:
        rec["format"] = fmt
    return rec


def _rows(path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)

    return len(read_table(path))


def build_manifest(params: Params, layout: Layout, inputs: ManifestInputs) -> dict[str, Any]:
    """The release manifest of the stage outputs ``inputs`` names, sealed."""
    source = layout.path(params.source.path)
    meta = set_metadata(params, layout)
    files = _set_files(params, layout, meta, inputs)
    entity = files[meta.entity]
    # the entity's files are what the single-table records below describe (a set of one:
    # the table's own); related tables add a block with every table's
    relational = _relational_block(layout, meta, files) if meta.relationships else None
    src_rec = (
        _directory_record(layout, source, relational["tables"])
        if relational
        else file_record(layout, source)
    )
    inputs = replace(
        inputs, train=entity["train"], holdout=entity["holdout"], synthetic=entity["synthetic"]
    )
    gate = json.loads(inputs.gate.read_text(encoding="utf-8")) if inputs.gate.exists() else None
    if gate is None:
        raise DataError(f"{inputs.gate} does not exist", hint="run `sdops gate` first")
    n_train = _rows(inputs.train)
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "dataset": {
            "name": params.dataset.name,
            "target": params.dataset.target,
            "task": params.dataset.task,
        },
        "source": _source_block(params, layout, src_rec, entity["source"]),
        "split": {
            "ratio": params.split.ratio,
            "seed": params.split.seed,
            "method": "by_entity" if relational else "random",
            "train": file_record(layout, inputs.train, rows=n_train),
            "holdout": file_record(layout, inputs.holdout, rows=_rows(inputs.holdout)),
        },
        "generator": _generator_block(params, inputs.train, n_train, inputs.fit),
        "constraints": [c.model_dump(mode="json") for c in params.generator.constraints],
        "outputs": _outputs_block(params, layout, inputs),
        "gates": _gates_block(gate),
        "metrics": _summary(json.loads(inputs.metrics.read_text(encoding="utf-8"))),
        "evaluation": {
            "seed": params.evaluation.seed,
            "samples": _samples(inputs.metrics.parent / "details.json"),
        },
        # license only when set: manifests made before it existed keep their bytes
        "policy": params.policy.model_dump(
            mode="json", exclude={"license"} if params.policy.license is None else None
        ),
        "privacy": privacy_block(params, layout, inputs.fit),
        **({"relational": relational} if relational else {}),
        **_conditions(params, layout, inputs),
        "environment": environment(),
    }
    return seal(manifest)


def _gates_block(gate: dict[str, Any]) -> dict[str, Any]:
    """The gate's verdict, failures, each gate's state and the thresholds it applied."""
    return {
        "approved": bool(gate.get("approved")),
        "failures": list(gate.get("failures", [])),
        "summary": {
            name: {"enabled": bool(g.get("enabled", True)), "passed": bool(g.get("passed"))}
            for name, g in (gate.get("gates") or {}).items()
        },
        "thresholds": gate.get("thresholds", {}),
    }


def _source_block(
    params: Params, layout: Layout, record: dict[str, Any], entity_source: Path
) -> dict[str, Any]:
    """The source's record (file or directory), snapshot id, the entity table's shape, the
    metadata's record and how the source was imported."""

    src_df = read_table(entity_source, what="source")
    return {
        **record,
        "snapshot_id": params.source.snapshot_id,
        "rows": len(src_df),
        "columns": int(src_df.shape[1]),
        "metadata": file_record(layout, layout.path(params.source.metadata)),
        "import": import_info(layout.path(params.source.path)),
    }


def _generator_block(params: Params, train: Path, n_train: int, fit: Path) -> dict[str, Any]:
    """The family, its versions, the parameters it ran with, seed, rows and column handling
    (and, for a family run in an isolated runtime, that runtime's record from the fit
    file)."""
    from sdops_dvc.synthesizers.sdv_adapter import effective_parameters

    parameters = effective_parameters(params.generator, progress=False)
    if "verbose" not in params.generator.parameters:
        parameters.pop("verbose", None)
    return {
        "family": params.generator.family,
        "sdv_class": generator_for(params.generator.family).spec.sdv_class,
        "sdv_version": _version("sdv"),
        "sdops_dvc_version": __version__,
        "parameters": parameters,
        "seed": params.generator.seed,
        "num_rows": params.generator.num_rows or n_train,
        "torch_threads": params.generator.torch_threads,
        **_columns(params, train),
        **({"tuning": params.generator.tuning} if params.generator.tuning else {}),
        **_runtime(params, fit),
    }


def _runtime(params: Params, fit: Path) -> dict[str, Any]:
    """The fit file's runtime record, for a family that runs in an isolated runtime."""
    if generator_for(params.generator.family).spec.runtime is None:
        return {}
    from sdops_dvc.synthesizers.dp_adapter import load_fit

    if not fit.exists():
        raise DataError(f"{fit} does not exist", hint="run `sdops generate` first")
    header, _ = load_fit(fit)
    if "runtime" not in header:
        raise DataError(
            f"{fit} records no runtime for family {params.generator.family}",
            hint="run `sdops generate` again (dvc repro -f generate)",
        )
    return {"runtime": header["runtime"]}


def _outputs_block(params: Params, layout: Layout, inputs: ManifestInputs) -> dict[str, Any]:
    """The synthetic table's, metrics' and gate's records (and a DP family's measurement)."""
    return {
        "synthetic": file_record(
            layout,
            inputs.synthetic,
            rows=_rows(inputs.synthetic),
            fmt=inputs.synthetic.suffix.lstrip(".").lower().replace("pq", "parquet"),
        ),
        "metrics": file_record(layout, inputs.metrics),
        "gate": file_record(layout, inputs.gate),
        **(
            {"dp_fit": file_record(layout, inputs.fit)}
            if generator_for(params.generator.family).measures
            else {}
        ),
    }


def _columns(params: Params, train: Path) -> dict[str, Any]:
    """How the generator saw the columns (generator.discrete and .decimals), counts only."""
    from sdops_dvc.synthesizers.columns import columns_record, plan_discrete

    g = params.generator
    if not g.discrete and not g.decimals:
        return {}
    plan = plan_discrete(
        read_table(train, what="train split"),
        list(g.discrete),
        params.report.min_bin_count,
    )
    return {"columns": columns_record(plan, dict(g.decimals))}


def _conditions(params: Params, layout: Layout, inputs: ManifestInputs) -> dict[str, Any]:
    """Rebalanced generation as a recorded mitigation step: why, the declared targets, the
    rows each group got, and the unconditioned sample the gates judged (none without
    generator.conditions). Train counts below report.min_bin_count are withheld."""
    cond = params.generator.conditions
    if cond is None:
        return {}
    if inputs.model_sample is None:
        raise DataError(
            "generator.conditions is set but the manifest was given no model sample",
            hint="run `sdops manifest` from the pipeline (dvc repro)",
        )
    from sdops_dvc.synthesizers.conditions import achieved, plan_of

    train = read_table(inputs.train, what="train split")
    sdtypes = column_sdtypes(read_metadata(layout.path(params.source.metadata)))
    plans = plan_of(params, train, sdtypes, check_counts=False)
    got = achieved(read_table(inputs.synthetic, what="synthetic table"), plans)
    floor = params.report.min_bin_count
    groups = [
        {
            "group": p.label,
            "target": {"share": g.share} if g.share is not None else {"rows": g.rows},
            "rows": a["rows"],
            "train_rows": p.train_rows if p.train_rows >= floor else None,
        }
        for p, g, a in zip(plans, cond.groups, got, strict=True)
    ]
    return {
        "conditions": {
            "mitigation": "rebalanced generation: rows drawn group by group from the fit",
            "rationale": cond.rationale,
            "columns": cond.columns,
            "groups": groups,
            "gates_judged": "an unconditioned sample from the same fit (model_sample); the "
            "released rows are judged per group for privacy and reported as the data view",
            "model_sample": file_record(
                layout, inputs.model_sample, rows=_rows(inputs.model_sample)
            ),
        }
    }


def _directory_record(
    layout: Layout, source: Path, tables: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The source directory of related tables, from its tables' records (the relational
    block's): its pin is the digest of their md5s (as params.yaml's source.md5), its size
    their sum."""

    return {
        "path": layout.rel(source),
        "md5": pins_digest({name: t["source"]["md5"] for name, t in tables.items()}),
        "size": sum(t["source"]["size"] for t in tables.values()),
    }


def _set_files(
    params: Params, layout: Layout, meta: SetMetadata, inputs: ManifestInputs
) -> dict[str, dict[str, Path]]:
    """Each table's source, train, holdout and synthetic file (``Layout.table_files``: a set
    of one's are the stage's own files)."""
    fmt = params.output.format
    sides = {
        "train": layout.table_files(inputs.train, meta.names, "parquet"),
        "holdout": layout.table_files(inputs.holdout, meta.names, "parquet"),
        "synthetic": layout.table_files(inputs.synthetic, meta.names, fmt),
    }
    return {
        name: {"source": src, **{side: f[name] for side, f in sides.items()}}
        for name, src in source_set_files(params, layout, meta).items()
    }


def _relational_block(
    layout: Layout, meta: SetMetadata, files: dict[str, dict[str, Path]]
) -> dict[str, Any]:
    """The manifest's ``relational`` block: the entity, the split rule, the tables kept
    whole, rows dropped by the split, orphan keys made null for the fit, each table's
    source, train, holdout and synthetic files."""

    rels, entity, names = list(meta.relationships), meta.entity, meta.names
    split = set(below_or_at(entity, rels))
    train = read_tables({n: f["train"] for n, f in files.items()}, "train split")
    rows = {n: {k: _rows(p) for k, p in f.items()} for n, f in files.items()}
    _, nulled = null_orphan_keys(train, rels)
    kept_whole = [n for n in names if n not in split]
    fmt = next(iter(files.values()))["synthetic"].suffix.lstrip(".")
    return {
        "entity": entity,
        "rule": split_rule(entity, kept_whole),
        "kept_whole": kept_whole,
        "relationships": [r.label for r in rels],
        "orphan_keys_nulled_for_fit": nulled,
        "dropped": {
            n: r["source"] - r["train"] - r["holdout"]
            for n, r in rows.items()
            if n in split and r["source"] - r["train"] - r["holdout"] > 0
        },
        "tables": {
            n: {
                "source": file_record(layout, f["source"], rows=rows[n]["source"]),
                "train": file_record(layout, f["train"], rows=rows[n]["train"]),
                "holdout": file_record(layout, f["holdout"], rows=rows[n]["holdout"]),
                "synthetic": file_record(
                    layout, f["synthetic"], rows=rows[n]["synthetic"], fmt=fmt
                ),
            }
            for n, f in files.items()
        },
    }


def environment() -> dict[str, str | None]:
    """The interpreter, platform and library versions that shape the output bytes."""
    return {
        "python": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        "torch": _version("torch"),
        "sdv": _version("sdv"),
        "pyarrow": _version("pyarrow"),
    }


def _samples(details_path: Path) -> dict[str, Any]:
    """Size and seed of every subsample the evaluation drew (from details.json)."""
    if not details_path.exists():
        return {}
    data = json.loads(details_path.read_text(encoding="utf-8"))
    samples = data.get("samples", {}) if isinstance(data, dict) else {}
    return samples if isinstance(samples, dict) else {}


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metric table's summary metrics (numbers only)."""
    values = {key: get(metrics, key) for key in summary_keys()}
    return {k: v if isinstance(v, (int, float)) else None for k, v in values.items()}


def privacy_block(params: Params, layout: Layout, fit: Path) -> dict[str, Any]:
    """What privacy this release can claim (its family's adapter says), and the budget
    scope it spends from."""
    return {
        **generator_for(params.generator.family).privacy(fit),
        "budget_scope": scope_of(params, layout),
        "source_lineage": lineage_of(params, layout),
    }


def run_manifest(
    params: Params, layout: Layout, inputs: ManifestInputs, out: Path
) -> dict[str, Any]:
    manifest = build_manifest(params, layout, inputs)
    model, problems = read(manifest)
    if model is None or problems:  # a bug, not bad input: never write an invalid manifest
        raise AssertionError("built manifest fails its model: " + "; ".join(problems))
    write_json_atomic(out, model.doc)  # what the model writes: the same keys
    return model.doc
