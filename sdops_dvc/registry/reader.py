"""The registry's public read side: one object for the releases a location holds, as GTO's
``GitRegistry`` stands behind its ``api``. The Python API (:mod:`sdops_dvc.api`), the
monitor and the click layer's read commands ask it; they never reach the tag grammar or the
catalog's plumbing themselves (import-linter: only the registry reads release tags).

A location is a work tree, a bare repository or a git URL (:mod:`.remote`): a URL is read
from an up-to-date bare mirror, and a release's manifest is then found by its name wherever
its pipeline sits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ReleaseUnavailable
from sdops_dvc.registry import catalog
from sdops_dvc.registry.catalog import NotRelease, Release

if TYPE_CHECKING:
    from sdops_dvc.domain.manifest import Manifest

__all__ = ["NotRelease", "Registry", "Release"]


@dataclass(frozen=True)
class Registry:
    """The releases of one location, read only."""

    repo: Any  # the GitPython repository holding the tags (a bare mirror for a URL)
    root: Path | None  # the work tree's pipeline directory; None for a bare repo or a URL

    @classmethod
    def at(cls, location: str | Path = ".") -> Registry:
        from sdops_dvc.registry.remote import open_location

        repo, root = open_location(location)
        return cls(repo, root)

    def scan(self, name: str | None = None) -> tuple[list[Release], list[NotRelease]]:
        """Every release (oldest first, with its status) and every tag that looks like one
        but is not (with the reason), optionally of one dataset."""
        return catalog.scan(self.repo, name)

    def releases(self, name: str | None = None) -> list[Release]:
        return catalog.releases(self.repo, name)

    def resolve(self, ref: str, *, live_only: bool = True) -> Release:
        """``NAME@vX.Y.Z``, ``NAME@current`` (``NAME``, ``NAME#prod``) or ``NAME@latest``;
        ``live_only``: a revoked or retired release is refused."""
        return catalog.resolve(self.repo, ref, live_only=live_only)

    def manifest(self, release: Release) -> Manifest | None:
        """The manifest committed with a release (None when there is none)."""
        return catalog.release_manifest(self.repo, release, self.root)

    def release(self, ref: str, *, live_only: bool = True) -> tuple[Release, Manifest]:
        """The release ``ref`` names and its manifest; ReleaseUnavailable without one."""
        rel = self.resolve(ref, live_only=live_only)
        manifest = self.manifest(rel)
        if manifest is None:
            raise ReleaseUnavailable(f"{rel.tag} has no manifest")
        return rel, manifest

    def file_at(self, release: Release, path: str) -> str | None:
        """The text of ``path`` (repository-relative) committed with the release."""
        return catalog.git_file(self.repo.commit(release.tag), path)

    @staticmethod
    def parse_reference(ref: str) -> tuple[str, str]:
        """(name, version or channel) of a reference, without reading any repository."""
        return catalog.parse_reference(ref)
