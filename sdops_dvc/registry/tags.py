"""GTO's tag grammar (what ``gto show`` and ``dvc artifacts get`` read), name/parse pairs.

- register:   ``NAME@vX.Y.Z``        a release
- deregister: ``NAME@vX.Y.Z!#N``     a revoked release (N: GTO's per-artifact counter)
- assign:     ``NAME#STAGE#N``       e.g. ``NAME#prod#3`` after a rollback
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

NAME = r"[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?"
SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
TAG_RE = re.compile(
    rf"^(?P<name>{NAME})(?:@v(?P<version>{SEMVER})(?P<cancel>!)?|#(?P<stage>{NAME}))(?:#(?P<counter>\d+))?$"
)
# what a consumer names: NAME@vX.Y.Z (or X.Y.Z), NAME@latest, NAME@current, NAME#prod, NAME
REF_RE = re.compile(
    rf"^(?P<name>{NAME})(?:@(?P<which>latest|current|v?{SEMVER})|#(?P<stage>prod))?$"
)

Action = Literal["register", "deregister", "assign"]


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        m = re.fullmatch(SEMVER, text.removeprefix("v"))
        if not m:
            raise ValueError(f"not a semantic version: {text!r}")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    def bump(self, part: str) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise ValueError(f"unknown bump {part!r}: use major, minor or patch")

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class ParsedTag:
    name: str
    action: Action
    version: Version | None = None
    stage: str | None = None
    counter: int | None = None


def register_tag(name: str, version: Version) -> str:
    return f"{name}@{version}"


def deregister_tag(name: str, version: Version, counter: int) -> str:
    return f"{name}@{version}!#{counter}"


def assign_tag(name: str, stage: str, counter: int) -> str:
    return f"{name}#{stage}#{counter}"


def parse_tag(tag: str) -> ParsedTag | None:
    """The GTO meaning of a tag, or None for any other tag."""
    m = TAG_RE.match(tag)
    if not m:
        return None
    counter = int(m["counter"]) if m["counter"] else None
    if m["version"]:
        action: Action = "deregister" if m["cancel"] else "register"
        if action == "register" and counter is not None:
            return None  # GTO never numbers registrations
        return ParsedTag(m["name"], action, Version.parse(m["version"]), counter=counter)
    if counter is None:
        return None  # GTO numbers stage assignments
    return ParsedTag(m["name"], "assign", stage=m["stage"], counter=counter)


def next_counter(tags: list[str], name: str) -> int:
    """GTO's counter: one more than the highest counter among the artifact's tags."""
    counters = [p.counter for t in tags if (p := parse_tag(t)) and p.name == name and p.counter]
    return max(counters, default=0) + 1
