"""``sdops catalog``: every dataset and release of a repository as a static site.

What it shows comes from the signed release tags (status, gates, approvals, budget spends and
the standing after each release, the evidence digests), the manifests at the released commits
(metrics, thresholds), and the work tree (committed monitoring history, consumers.yaml,
incident reports). Each release's card, provenance statement and datasheet are copied from
the release remote, and only when their bytes match the digests the signed tag pins; its
report is copied from the released commit. Rendering is :mod:`sdops_dvc.report.site`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import RepoError, WouldOverwrite
from sdops_dvc.base.scm import blob_at, repo_at, repo_path, work_tree
from sdops_dvc.domain.records import monitor_history
from sdops_dvc.report.site import BudgetView, DatasetView, ReleaseView, Site, render

if TYPE_CHECKING:
    from git import Repo as GitRepo

    from sdops_dvc.domain.manifest import Manifest
    from sdops_dvc.registry.catalog import Release

MARKER = ".sdops-catalog"  # a directory holding it is a catalog sdops may replace


@dataclass(frozen=True)
class CatalogResult:
    out: Path
    pages: int
    releases: int
    missing: list[str]  # evidence or reports that could not be copied, and why


def _spend(m: Manifest | None) -> str:
    from sdops_dvc.registry.evidence import spend_text

    return "unknown" if m is None else spend_text(m.privacy_info)


def _release_files(
    repo: GitRepo, rel: Release, top: Path, site: Path, prefix: str
) -> tuple[dict[str, str], list[str]]:
    """Copy the release's evidence (from the release remote, checked against the signed
    digests) and report (from the released commit) into the site."""
    from sdops_dvc.registry.evidence import stored_copies

    base = f"releases/{rel.name}/{rel.version}"
    files: dict[str, str] = {}
    missing: list[str] = []
    labels = {
        "croissant.json": "data card (Croissant)",
        "provenance.intoto.json": "provenance (in-toto)",
        "datasheet.md": "datasheet",
    }
    try:
        stored = stored_copies(top, rel.record.evidence or {})
    except RepoError as exc:
        stored = {name: (None, exc.message) for name in rel.record.evidence or {}}
    for name, label in labels.items():
        if name not in stored:
            continue
        data, why = stored[name]
        if why is not None or data is None:
            missing.append(f"{rel.tag} {name}: {why}")
            continue
        (site / base / name).write_bytes(data)
        files[label] = name
    report = blob_at(
        repo.commit(rel.commit),
        f"{prefix}/reports/report.html" if prefix else "reports/report.html",
    )
    if report is not None:
        (site / base / "report.html").write_bytes(report)
        files["evaluation report"] = "report.html"
    return files, missing


def _view(repo: GitRepo, rel: Release, m: Manifest | None, files: dict[str, str]) -> ReleaseView:
    from sdops_dvc.report.site import KEY_METRICS

    rec = rel.record
    return ReleaseView(
        tag=rel.tag,
        name=rel.name,
        version=str(rel.version),
        status=str(rel.status),
        verified=rel.verified,
        released_at=rec.released_at,
        releaser=rec.releaser,
        commit=rel.commit,
        gates=dict(rec.gate.gates),
        metrics={k: (m.metrics.get(k) if m else None) for k in KEY_METRICS},
        approvals=[f"{a.by} ({a.role}{', verified' if a.verified else ''})" for a in rec.approvals],
        regenerated=rec.gate.regenerated,
        spend=_spend(m),
        budget_scope=rec.budget.scope if rec.budget else None,
        revocation=rel.revocation.as_json() if rel.revocation else None,
        evidence=dict(rec.evidence or {}),
        files=files,
    )


def _budgets(views: list[tuple[Release, ReleaseView]]) -> list[BudgetView]:
    scopes: dict[str, list[tuple[Release, ReleaseView]]] = {}
    for rel, v in views:
        if rel.record.budget is not None:
            scopes.setdefault(rel.record.budget.scope, []).append((rel, v))
    out = []
    for scope, items in sorted(scopes.items()):
        items.sort(key=lambda x: x[0].time)
        last = items[-1][0].record.budget
        assert last is not None
        after = last.after or {}
        out.append(
            BudgetView(
                scope=scope,
                cap_epsilon=last.cap.get("epsilon"),
                cap_delta=last.cap.get("delta"),
                spends=[(r.tag, str(r.status), v.spend) for r, v in items],
                spent_epsilon=after.get("epsilon"),
                remaining_epsilon=after.get("remaining_epsilon"),
            )
        )
    return out


def _incidents(root: Path, name: str, site: Path) -> list[tuple[str, str]]:
    folder = root / "incidents"
    out = []
    for path in sorted(folder.glob(f"*-{name}-v*.md")) if folder.is_dir() else []:
        (site / "incidents").mkdir(exist_ok=True)
        shutil.copyfile(path, site / "incidents" / path.name)
        out.append((path.stem, f"incidents/{path.name}"))
    return out


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise WouldOverwrite(
            f"{out} exists and is not a catalog sdops made",
            hint="choose an empty or new --out directory",
        )


def build(root: Path, out: Path) -> CatalogResult:
    """Write the catalog of the repository at ``root`` to ``out`` (replaced whole: the new
    site is written beside it and moved into place)."""
    from sdops_dvc.registry.catalog import release_manifest, scan
    from sdops_dvc.registry.releases import has_origin, origin_url

    _prepare(out)
    repo = repo_at(root)
    every, bad = scan(repo)
    top = work_tree(repo)
    prefix = repo_path(repo, root)
    prefix = "" if prefix in ("", ".") else prefix
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".catalog-", dir=out.parent))
    try:
        missing: list[str] = []
        views: list[tuple[Release, ReleaseView]] = []
        thresholds: dict[str, dict[str, Any]] = {}
        for rel in every:
            (tmp / f"releases/{rel.name}/{rel.version}").mkdir(parents=True)
            m = release_manifest(repo, rel, root)
            files, lost = _release_files(repo, rel, top, tmp, prefix)
            missing += lost
            views.append((rel, _view(repo, rel, m, files)))
            if m is not None and (rel.name not in thresholds or rel.status == "current"):
                # the thresholds drawn are those of the release in service (else the first)
                thresholds[rel.name] = (m.doc.get("gates") or {}).get("thresholds") or {}
        datasets = _datasets(root, views, thresholds, tmp)
        site = Site(
            title=f"Synthetic data releases: {top.name}",
            origin=origin_url(repo) if has_origin(repo) else None,
            head=repo.head.commit.hexsha,
            datasets=datasets,
            budgets=_budgets(views),
            not_releases=[(b.tag, b.reason) for b in bad],
        )
        pages = render(site)
        _write_site(pages, tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return CatalogResult(out, len(pages), len(every), missing)


def _datasets(
    root: Path,
    views: list[tuple[Release, ReleaseView]],
    thresholds: dict[str, dict[str, Any]],
    tmp: Path,
) -> list[DatasetView]:
    """Each dataset's page: its releases, thresholds, monitoring, consumers and incidents."""
    from sdops_dvc.registry.incidents import load_consumers

    consumers = load_consumers(root)
    return [
        DatasetView(
            name=name,
            releases=[v for r, v in views if r.name == name],
            thresholds=thresholds.get(name, {}),
            monitoring=monitor_history(root, name),
            consumers=[(c.name, c.contact, c.version) for c in consumers if c.dataset == name],
            incidents=_incidents(root, name, tmp),
        )
        for name in sorted({r.name for r, _ in views})
    ]


def _write_site(pages: dict[str, str], tmp: Path, out: Path) -> None:
    """The pages and the marker into ``tmp``, then ``tmp`` moved into place as ``out`` (an
    existing catalog moved aside first and removed after)."""
    for path, html in pages.items():
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / path).write_text(html, encoding="utf-8")
    (tmp / MARKER).write_text("made by `sdops catalog`; replaced whole on the next run\n")
    if out.exists():
        old = out.with_name(out.name + ".old-catalog")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)
