"""``sdops diff`` and ``sdops lineage``: what changed between releases, where one came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sdops_dvc.errors import ReleaseUnavailable
from sdops_dvc.registry.releases import Release, _repo, manifest_at, resolve
from sdops_dvc.review import flatten

PARAM_SECTIONS = ("source", "split", "generator", "constraints", "policy", "dataset")


def _load(repo: Any, ref: str) -> tuple[Release, dict[str, Any]]:
    rel = resolve(repo, ref, live_only=False)
    manifest = manifest_at(repo, rel.tag, Path(repo.working_tree_dir))
    if manifest is None:
        raise ReleaseUnavailable(f"{rel.tag} has no manifest")
    return rel, manifest


def diff(root: Path, ref_a: str, ref_b: str) -> dict[str, Any]:
    repo = _repo(root)
    (ra, ma), (rb, mb) = _load(repo, ref_a), _load(repo, ref_b)
    changes = []
    for section in PARAM_SECTIONS:
        fa, fb = flatten(ma.get(section), section), flatten(mb.get(section), section)
        for key in sorted(set(fa) | set(fb)):
            if fa.get(key) != fb.get(key):
                changes.append({"key": key, "a": fa.get(key), "b": fb.get(key)})
    metrics = {}
    for key in sorted(set(ma.get("metrics", {})) | set(mb.get("metrics", {}))):
        a, b = ma.get("metrics", {}).get(key), mb.get("metrics", {}).get(key)
        metrics[key] = {
            "a": a,
            "b": b,
            "delta": (b - a)
            if isinstance(a, (int, float)) and isinstance(b, (int, float))
            else None,
        }
    gates = {
        g: {
            "a": ma["gates"]["summary"].get(g, {}).get("passed"),
            "b": mb["gates"]["summary"].get(g, {}).get("passed"),
        }
        for g in sorted(set(ma["gates"]["summary"]) | set(mb["gates"]["summary"]))
    }
    return {
        "a": ra.as_json(),
        "b": rb.as_json(),
        "source_changed": ma["source"]["md5"] != mb["source"]["md5"],
        "generator_changed": ma["generator"] != mb["generator"],
        "params_changed": changes,
        "metrics": metrics,
        "gates": gates,
        "synthetic_changed": ma["outputs"]["synthetic"]["md5"] != mb["outputs"]["synthetic"]["md5"],
    }


def lineage(root: Path, ref: str) -> dict[str, Any]:
    repo = _repo(root)
    rel, m = _load(repo, ref)
    return {
        "release": rel.tag,
        "status": rel.status,
        "source": {
            "snapshot_id": m["source"]["snapshot_id"],
            "md5": m["source"]["md5"],
            "path": m["source"]["path"],
            "import": m["source"]["import"],
        },
        "code_commit": rel.commit,
        "generator": {
            k: m["generator"][k]
            for k in ("family", "sdv_class", "sdv_version", "parameters", "seed")
        },
        "split": {"ratio": m["split"]["ratio"], "seed": m["split"]["seed"]},
        "manifest_digest": m["digest"]["value"],
        "report_digests": {
            k: v["md5"] for k, v in m["outputs"].items() if k in ("metrics", "gate")
        },
        "released_at": rel.record.get("released_at"),
        "releaser": rel.record.get("releaser"),
        "approvers": rel.record.get("approvals", []),
        "revocation": rel.revocation,
    }
