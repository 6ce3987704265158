"""``sdops diff`` and ``sdops lineage``: what changed between releases, where one came from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.errors import ReleaseUnavailable, SdopsError
from sdops_dvc.metric_table import movement
from sdops_dvc.registry.releases import Release, release_manifest, resolve
from sdops_dvc.review import flatten, threshold_change
from sdops_dvc.scm import blob_at, repo_at, repo_path

if TYPE_CHECKING:
    from git import Repo as GitRepo

PARAM_SECTIONS = ("source", "split", "generator", "constraints", "policy", "dataset")
# thresholds first: a loosened gate is the first thing a reviewer must see
ORDER = ("gates", "budget", "release", "policy", "source", "split", "dataset", "generator")


def _load(repo: GitRepo, ref: str, root: Path | None = None) -> tuple[Release, dict[str, Any]]:
    rel = resolve(repo, ref, live_only=False)
    manifest = release_manifest(repo, rel, root)
    if manifest is None:
        raise ReleaseUnavailable(f"{rel.tag} has no manifest")
    return rel, manifest


def _params_at(repo: GitRepo, rel: Release, root: Path) -> dict[str, Any] | None:
    """params.yaml as released, validated so that a default the file leaves out still has
    its value (a threshold removed from the file is a change to its default); None when the
    release has no params.yaml there."""
    from sdops_dvc.config import params_dict, parse_params
    from sdops_dvc.yamlio import loads

    path = repo_path(repo, root / "params.yaml")
    raw = blob_at(repo.commit(rel.tag), path)
    if raw is None:
        return None
    try:
        data = loads(raw.decode("utf-8"), f"{rel.tag}:{path}")
    except SdopsError:
        return None
    try:
        return params_dict(parse_params(data, Path(path)))
    except SdopsError:  # written by another version of sdops: compare it as written
        return data if isinstance(data, dict) else None


def params_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Every changed params key (as ``dvc params diff`` lists them), thresholds first, each
    with ``change``: loosened or tightened (by the direction the gate checks), or changed."""
    fa, fb = flatten(old), flatten(new)
    keys = [k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k)]

    def rank(key: str) -> tuple[int, str]:
        top = key.split(".", 1)[0]
        return (ORDER.index(top) if top in ORDER else len(ORDER), key)

    return [
        {
            "key": k,
            "a": fa.get(k),
            "b": fb.get(k),
            "change": threshold_change(k, fa.get(k), fb.get(k)) or "changed",
        }
        for k in sorted(keys, key=rank)
    ]


def diff(root: Path, ref_a: str, ref_b: str) -> dict[str, Any]:
    repo = repo_at(root)
    (ra, ma), (rb, mb) = _load(repo, ref_a, root), _load(repo, ref_b, root)
    pa, pb = _params_at(repo, ra, root), _params_at(repo, rb, root)
    if pa is not None and pb is not None:
        changes = params_changes(pa, pb)
    else:  # no params.yaml at one of them: the sections the manifests record
        changes = params_changes(
            {s: ma.get(s) for s in PARAM_SECTIONS}, {s: mb.get(s) for s in PARAM_SECTIONS}
        )
    metrics = {}
    for key in sorted(set(ma.get("metrics", {})) | set(mb.get("metrics", {}))):
        a, b = ma.get("metrics", {}).get(key), mb.get("metrics", {}).get(key)
        metrics[key] = {
            "a": a,
            "b": b,
            "delta": (b - a)
            if isinstance(a, (int, float)) and isinstance(b, (int, float))
            else None,
            "movement": movement(key, a, b),  # better/worse by the metric's goal
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
        "source": {
            "a": {"snapshot_id": ma["source"].get("snapshot_id"), "md5": ma["source"]["md5"]},
            "b": {"snapshot_id": mb["source"].get("snapshot_id"), "md5": mb["source"]["md5"]},
        },
        "code": {"a": ra.commit, "b": rb.commit},
        "source_changed": ma["source"]["md5"] != mb["source"]["md5"],
        "generator_changed": ma["generator"] != mb["generator"],
        "params_changed": changes,
        "metrics": metrics,
        "gates": gates,
        "synthetic_changed": ma["outputs"]["synthetic"]["md5"] != mb["outputs"]["synthetic"]["md5"],
    }


def lineage(location: str | Path, ref: str) -> dict[str, Any]:
    """Where a release came from; ``location``: a work tree, a bare repository or a URL."""
    from sdops_dvc.registry.remote import open_location

    repo, root = open_location(location)
    rel, m = _load(repo, ref, root)
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
