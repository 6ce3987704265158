"""Where a project's source comes from: a ``dvc import`` or a path in the repository.

The privacy budget follows this lineage (spends of one source add up, whatever a project
calls its scope), and the manifest records it. Pure reads of the source's ``.dvc`` file and
the repository layout: no release registry, so pipeline stages may use it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from sdops_dvc.domain.config import Params
from sdops_dvc.domain.layout import Layout


def import_info(source: Path) -> dict[str, Any] | None:
    """Repo url and locked revision when the source was ``dvc import``-ed."""
    dvc_file = source.with_name(source.name + ".dvc")
    if not dvc_file.exists():
        return None
    try:
        data = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return None
    for dep in data.get("deps") or []:
        repo = dep.get("repo") if isinstance(dep, dict) else None
        if isinstance(repo, dict) and repo.get("url"):
            return {
                "url": str(repo["url"]),
                "path": str(dep.get("path", "")),
                "rev": repo.get("rev"),
                "rev_lock": str(repo.get("rev_lock", "")),
            }
    return None


def scope_of(params: Params, layout: Layout) -> str:
    """The budget scope of this project's source: ``budget.scope`` when set, else the
    fingerprint of the source lineage."""
    if params.budget.scope:
        return f"name:{params.budget.scope}"
    return lineage_of(params, layout)


def lineage_of(params: Params, layout: Layout) -> str:
    """The fingerprint of the source lineage, whatever ``budget.scope`` says: spends follow
    it, so renaming the scope cannot start a fresh budget for the same people."""
    from sdops_dvc.base.scm import git_toplevel

    source = layout.path(params.source.path)
    imp = import_info(source)
    if imp:
        body: dict[str, Any] = {
            "kind": "dvc-import",
            "url": imp.get("url"),
            "path": imp.get("path"),
        }
    else:
        top = git_toplevel(layout.root) or layout.root
        try:
            rel = source.resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            rel = source.resolve().as_posix()
        body = {"kind": "path", "path": rel}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest}"


def source_digests(params: Params, layout: Layout) -> frozenset[str]:
    """Every content digest (md5) the source has had: params.yaml's pin and each version of
    its ``.dvc`` file in git history, followed across renames. Spends of a release whose
    source was any of them count against this budget, wherever the file now sits."""
    import subprocess

    digests = {params.source.md5} if params.source.md5 else set()
    source = layout.path(params.source.path)
    pointer = source.with_name(source.name + ".dvc")
    proc = subprocess.run(
        ["git", "log", "--follow", "-p", "--format=", "--", pointer.name],
        cwd=pointer.parent if pointer.parent.is_dir() else layout.root,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        text = line[1:].strip() if line[:1] in "+- " else ""
        if text.startswith(("md5:", "- md5:")):
            digests.add(text.split("md5:", 1)[1].strip())
    return frozenset(d for d in digests if d)
