"""``sdops diff`` and ``sdops lineage``: what changed between releases, where one came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ReleaseUnavailable, SdopsError
from sdops_dvc.base.scm import blob_at, repo_at, repo_path
from sdops_dvc.base.yamlio import loads
from sdops_dvc.domain.config import params_dict, parse_params
from sdops_dvc.domain.metric_table import movement
from sdops_dvc.registry.releases import Release, release_manifest, resolve
from sdops_dvc.review import flatten, threshold_change

if TYPE_CHECKING:
    from git import Repo as GitRepo

    from sdops_dvc.domain.manifest import Manifest

PARAM_SECTIONS = ("source", "split", "generator", "constraints", "policy", "dataset")
# thresholds first: a loosened gate is the first thing a reviewer must see
ORDER = ("gates", "budget", "release", "policy", "source", "split", "dataset", "generator")


def _load(repo: GitRepo, ref: str, root: Path | None = None) -> tuple[Release, Manifest]:
    rel = resolve(repo, ref, live_only=False)
    manifest = release_manifest(repo, rel, root)
    if manifest is None:
        raise ReleaseUnavailable(f"{rel.tag} has no manifest")
    return rel, manifest


def _params_at(repo: GitRepo, rel: Release, root: Path) -> dict[str, Any] | None:
    """params.yaml as released, validated so that a default the file leaves out still has
    its value (a threshold removed from the file is a change to its default); None when the
    release has no params.yaml there."""

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


@dataclass(frozen=True)
class ParamChange:
    key: str  # dotted: gates.privacy.max_dcr_share
    a: Any
    b: Any
    change: str  # loosened | tightened (a threshold, by its gate's direction) | changed

    @property
    def marked(self) -> bool:
        return self.change != "changed"


@dataclass(frozen=True)
class MetricChange:
    a: Any
    b: Any
    delta: float | None  # b - a, when both are numbers
    movement: str | None  # better | worse, by the metric's goal (metric_table)


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str | None
    md5: str


@dataclass(frozen=True)
class ReleaseDiff:
    """What changed from release ``a`` to release ``b``."""

    a: Release
    b: Release
    source: tuple[Snapshot, Snapshot]
    params_changed: list[ParamChange]
    metrics: dict[str, MetricChange]
    gates: dict[str, tuple[bool | None, bool | None]]  # each gate's pass at a and at b
    generator_changed: bool
    synthetic_changed: bool

    @property
    def source_changed(self) -> bool:
        return self.source[0].md5 != self.source[1].md5

    def as_json(self) -> dict[str, Any]:
        sa, sb = self.source
        return {
            "a": self.a.as_json(),
            "b": self.b.as_json(),
            "source": {"a": asdict(sa), "b": asdict(sb)},
            "code": {"a": self.a.commit, "b": self.b.commit},
            "source_changed": self.source_changed,
            "generator_changed": self.generator_changed,
            "params_changed": [asdict(c) for c in self.params_changed],
            "metrics": {k: asdict(m) for k, m in self.metrics.items()},
            "gates": {g: {"a": a, "b": b} for g, (a, b) in self.gates.items()},
            "synthetic_changed": self.synthetic_changed,
        }


def params_changes(old: dict[str, Any], new: dict[str, Any]) -> list[ParamChange]:
    """Every changed params key (as ``dvc params diff`` lists them), thresholds first, each
    with ``change``: loosened or tightened (by the direction the gate checks), or changed."""
    fa, fb = flatten(old), flatten(new)
    keys = [k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k)]

    def rank(key: str) -> tuple[int, str]:
        top = key.split(".", 1)[0]
        return (ORDER.index(top) if top in ORDER else len(ORDER), key)

    return [
        ParamChange(k, fa.get(k), fb.get(k), threshold_change(k, fa.get(k), fb.get(k)) or "changed")
        for k in sorted(keys, key=rank)
    ]


def _metric_changes(ma: Manifest, mb: Manifest) -> dict[str, MetricChange]:
    out = {}
    for key in sorted(set(ma.metrics) | set(mb.metrics)):
        a, b = ma.metrics.get(key), mb.metrics.get(key)
        delta = (b - a) if a is not None and b is not None else None
        out[key] = MetricChange(a, b, delta, movement(key, a, b))
    return out


def diff(root: Path, ref_a: str, ref_b: str) -> ReleaseDiff:
    repo = repo_at(root)
    (ra, ma), (rb, mb) = _load(repo, ref_a, root), _load(repo, ref_b, root)
    pa, pb = _params_at(repo, ra, root), _params_at(repo, rb, root)
    if pa is not None and pb is not None:
        changes = params_changes(pa, pb)
    else:  # no params.yaml at one of them: the sections the manifests record
        changes = params_changes(
            {s: ma.doc.get(s) for s in PARAM_SECTIONS}, {s: mb.doc.get(s) for s in PARAM_SECTIONS}
        )
    sa, sb = ma.gates_passed, mb.gates_passed
    return ReleaseDiff(
        a=ra,
        b=rb,
        source=(
            Snapshot(ma.source.snapshot_id, ma.source.md5),
            Snapshot(mb.source.snapshot_id, mb.source.md5),
        ),
        params_changed=changes,
        metrics=_metric_changes(ma, mb),
        gates={g: (sa.get(g), sb.get(g)) for g in sorted(set(sa) | set(sb))},
        # the whole generator block as recorded (rows, threads, versions included)
        generator_changed=ma.doc.get("generator") != mb.doc.get("generator"),
        synthetic_changed={n: a.md5 for n, a in ma.tables.items()}
        != {n: a.md5 for n, a in mb.tables.items()},
    )


@dataclass(frozen=True)
class Lineage:
    """Where a release came from: its source snapshot, code, generator, split, digests and
    who released and approved it (and, if so, why it was revoked)."""

    release: Release
    manifest: Manifest

    def as_json(self) -> dict[str, Any]:
        rel, m = self.release, self.manifest
        return {
            "release": rel.tag,
            "status": rel.status,
            "source": {
                "snapshot_id": m.source.snapshot_id,
                "md5": m.source.md5,
                "path": m.source.path,
                "import": m.source.imported.model_dump(mode="json") if m.source.imported else None,
            },
            "code_commit": rel.commit,
            "generator": m.generator.model_dump(
                mode="json",
                include={"family", "sdv_class", "sdv_version", "parameters", "seed"}
                | ({"runtime"} if m.generator.runtime is not None else set()),
            ),
            "split": {"ratio": m.split.ratio, "seed": m.split.seed},
            "manifest_digest": m.digest.value,
            "report_digests": {k: a.md5 for k, a in m.outputs.items() if k in ("metrics", "gate")},
            "released_at": rel.record.released_at,
            "releaser": rel.record.releaser,
            "approvers": [a.as_json() for a in rel.record.approvals],
            "revocation": rel.revocation.as_json() if rel.revocation else None,
        }


def lineage(location: str | Path, ref: str) -> Lineage:
    """Where a release came from; ``location``: a work tree, a bare repository or a URL."""
    from sdops_dvc.registry.remote import open_location

    repo, root = open_location(location)
    return Lineage(*_load(repo, ref, root))
