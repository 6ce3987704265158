"""Consumers of releases (``consumers.yaml``) and incident records for revoked releases.

The incident playbook: freeze (revoke), find consumers, compare with the last good release,
restore, corrective-action review. ``sdops incident`` writes that record, filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdops_dvc.base.errors import ConfigError, ReleaseUnavailable
from sdops_dvc.base.fsutil import write_text_atomic
from sdops_dvc.base.scm import repo_at
from sdops_dvc.base.yamlio import load_file
from sdops_dvc.domain.records import utc_stamp
from sdops_dvc.registry.catalog import Release, Status, releases, resolve

CONSUMERS = "consumers.yaml"
SEVERITY = {  # kind -> (incident class, severity)
    "privacy": ("privacy: possible disclosure of source records", "SEV-1"),
    "schema": ("schema: consumers may break or misread columns", "SEV-2"),
    "utility": ("utility: analyses or models may be misled", "SEV-3"),
    "other": ("other", "SEV-3"),
}


@dataclass(frozen=True)
class Consumer:
    name: str
    contact: str
    dataset: str
    version: str  # vX.Y.Z or "latest"


def load_consumers(root: Path) -> list[Consumer]:
    path = root / CONSUMERS
    if not path.exists():
        return []

    data = load_file(path, what="consumers file") or {}
    entries = data.get("consumers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a 'consumers:' list", hint="see README.md, Consumers")
    out = []
    for i, e in enumerate(entries):
        missing = [
            k
            for k in ("name", "contact", "dataset", "version")
            if not isinstance(e, dict) or not e.get(k)
        ]
        if missing:
            raise ConfigError(f"{path}: consumers[{i}] lacks {', '.join(missing)}")
        out.append(
            Consumer(str(e["name"]), str(e["contact"]), str(e["dataset"]), str(e["version"]))
        )
    return out


def pin(version: str) -> str:
    """A consumer's pin in one spelling: ``latest``, ``current`` (also ``prod``) or
    ``vX.Y.Z`` (``1.1.0`` and ``v1.1.0`` are one version)."""
    v = version.strip().lower()
    if v in ("latest", "current"):
        return v
    if v in ("prod", "#prod"):
        return "current"
    return "v" + v.removeprefix("v")


def consumers_of(root: Path, name: str, version: str | None = None) -> list[Consumer]:
    """Consumers of NAME, or of one version: those pinned to it, to ``latest`` when it is
    the newest live release, and to ``current`` when it is the release in service."""
    found = [c for c in load_consumers(root) if c.dataset == name]
    if version is None:
        return found
    wanted = pin(version)
    known = releases(repo_at(root), name)
    live = [r for r in known if r.live]
    serves = {
        "latest": str(live[-1].version) if live else None,
        "current": next((str(r.version) for r in live if r.status == Status.CURRENT), None),
    }
    wanted = serves.get(wanted) or wanted  # `--version current` names the version it serves
    return [c for c in found if pin(c.version) == wanted or serves.get(pin(c.version)) == wanted]


def incident(root: Path, ref: str, kind: str | None = None, out_dir: Path | None = None) -> Path:
    """An incident runbook for a release (revoked, or ``kind`` given) in ``out_dir``
    (default ``incidents/``): freeze, affected consumers, the comparison with the last good
    release, how to restore it, and the corrective-action review. Its path."""
    repo = repo_at(root)
    rel = resolve(repo, ref, live_only=False)
    kind = kind or (rel.revocation.kind if rel.revocation else None)
    if kind not in SEVERITY:
        raise ReleaseUnavailable(
            f"{rel.tag} is not revoked and no --kind was given",
            hint="revoke it first (`sdops revoke`) or pass --kind privacy|schema|utility|other",
        )
    klass, severity = SEVERITY[kind]
    known = releases(repo, rel.name)
    good = _last_good(known, rel)
    # pinned to it; or following latest/current while it was the newest release
    newest = not any(r.version > rel.version and r.status != Status.RETIRED for r in known)
    floating = ("latest", "current") if newest else ()
    affected = [
        c
        for c in load_consumers(root)
        if c.dataset == rel.name and pin(c.version) in (str(rel.version), *floating)
    ]
    lines = [
        f"# Incident: {rel.tag}",
        "",
        f"- opened: {utc_stamp()}",
        f"- class: {klass}",
        f"- severity: {severity}",
        f"- release: {rel.tag} at {rel.commit} (released {rel.record.released_at} by {rel.record.releaser})",
        f"- status: {rel.status}"
        + (f" — revoked: {rel.revocation.reason}" if rel.revocation else ""),
        "",
        "## 1. Freeze",
        "",
        f"- [{'x' if rel.status == Status.REVOKED else ' '}] revoked: `sdops revoke {rel.tag} --kind {kind} --reason ...`",
        "- [ ] remove copies outside the registry (object stores, notebooks, caches)",
        "",
        "## 2. Affected consumers",
        "",
    ]
    lines += [f"- [ ] {c.name} <{c.contact}> (pinned to {c.version})" for c in affected] or [
        "- none recorded in consumers.yaml"
    ]
    lines += _comparison_and_restore(root, rel, good)
    lines += [
        "",
        "## 5. Corrective-action review",
        "",
        "- [ ] root cause (data, generator, thresholds, review) written down",
        "- [ ] gate thresholds or checks that would have caught it added to params.yaml",
        "- [ ] affected consumers confirmed they replaced the data",
        "- [ ] privacy officer sign-off" if kind == "privacy" else "- [ ] data owner sign-off",
        "",
    ]
    target_dir = out_dir or (root / "incidents")
    path = target_dir / f"{datetime.now(UTC).date().isoformat()}-{rel.name}-{rel.version}.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def _comparison_and_restore(root: Path, rel: Release, good: Release | None) -> list[str]:
    """Sections 3 and 4: what changed since the last good release, and how to roll back."""
    from sdops_dvc.registry.inspect import diff

    lines = ["", "## 3. Compared with the last good release", ""]
    if good is None:
        lines.append("- no earlier live release: there is nothing to restore")
    else:
        d = diff(root, good.tag, rel.tag)
        lines.append(f"- last good: {good.tag} ({good.commit[:10]})")
        lines.append(
            f"- source snapshot changed: {'yes' if d.source_changed else 'no'}; "
            f"generator changed: {'yes' if d.generator_changed else 'no'}"
        )
        lines += [
            f"- `{c.key}`: {c.a!r} -> {c.b!r}" + (f" **{c.change.upper()}**" if c.marked else "")
            for c in d.params_changed
        ]
        for key, m in d.metrics.items():
            if m.delta is not None:
                way = f", {m.movement}" if m.movement else ""
                lines.append(f"- {key}: {m.a:.4f} -> {m.b:.4f} ({m.delta:+.4f}{way})")
    lines += ["", "## 4. Restore", ""]
    if good is not None:
        lines += [
            "```bash",
            f"sdops rollback {rel.name} --to {good.tag}",
            f'git commit -am "Roll back to {good.tag} after {rel.tag} incident"',
            "```",
            "",
        ]
        lines.append(
            f"After the rollback, consumers of `{rel.name}@current` (and `{rel.name}@latest`, "
            f"when no later live release exists) get {good.tag}."
        )
    return lines


def _last_good(known: list[Release], bad: Release) -> Release | None:
    good = [r for r in known if r.status != Status.REVOKED and r.version < bad.version]
    return good[-1] if good else None


def consumers_json(cs: list[Consumer]) -> list[dict[str, Any]]:
    return [c.__dict__ for c in cs]
