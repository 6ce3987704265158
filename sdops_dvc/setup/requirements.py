"""``requirements-sdops.txt``: what a user's CI installs to run the pipeline ``sdops init``
wrote, with the exact versions it was made with.

The pipeline's bytes depend on library versions (pyarrow writes its own into every parquet
file; SDV, numpy and torch shape the samples), so CI must install the same ones: every
distribution sdops-dvc needs, transitively, pinned to the version installed here, torch
included (its public build number, without a local ``+cpu`` label), and sdops-dvc itself from
where it was installed (a VCS or archive URL), else by version from the package index.
"""

from __future__ import annotations

import json
from importlib import metadata

FILE = "requirements-sdops.txt"


def closure(root: str = "sdops-dvc") -> dict[str, str]:
    """Installed version of every distribution ``root`` needs (its extras left out)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed here
        seen[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return seen


def self_spec(version: str) -> tuple[str, str | None]:
    """How CI installs sdops-dvc: (requirement line, a note when it needs the user's hand)."""
    try:
        raw = metadata.distribution("sdops-dvc").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        raw = None
    info = json.loads(raw) if raw else {}
    url = str(info.get("url", ""))
    vcs = info.get("vcs_info")
    if vcs and url:
        return f"sdops-dvc @ {vcs['vcs']}+{url}@{vcs['commit_id']}", None
    if url.startswith(("https://", "http://")):
        return f"sdops-dvc @ {url}", None
    return (
        f"sdops-dvc=={version}",
        "sdops-dvc was installed from a local directory here: publish it to the package "
        "index your CI uses, or replace the line below with `sdops-dvc @ git+URL@TAG`",
    )


def requirements_text() -> str:
    from sdops_dvc import __version__

    pins = closure()
    pins.pop("sdops-dvc", None)
    line, note = self_spec(__version__)
    out = [
        "# What CI installs to run this pipeline (written by `sdops init`; review it like code).",
        "# Exact versions: the pipeline's bytes depend on them (`sdops verify` names any that",
        "# differ). torch is pinned here too; for a CPU-only build, add your CPU wheel index",
        "# as `--extra-index-url URL` on the line below (pip otherwise takes the CUDA build).",
    ]
    if note:
        out.append(f"# NOTE: {note}")
    out.append(line)
    for name in sorted(pins):
        version = pins[name].split("+", 1)[0]  # 2.13.0+cpu is published as 2.13.0
        out.append(f"{name}=={version}")
    return "\n".join(out) + "\n"
