"""The release manifest: canonical digest, JSON Schema validation, loading.

The manifest is plain JSON committed to git. Its digest is the sha256 of the canonical
serialisation (sorted keys, no whitespace, UTF-8) of everything except ``digest``.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from sdops_dvc.errors import ManifestInvalid

SCHEMA_VERSION = 1


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """Return the manifest with its digest set."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return {**body, "digest": {"algorithm": "sha256", "value": compute_digest(body)}}


def schema() -> dict[str, Any]:
    text = resources.files("sdops_dvc").joinpath("schemas/manifest.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def validate(manifest: Any, *, where: str = "manifest") -> list[str]:
    """Every problem with the manifest: schema errors, then a digest mismatch."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    problems = []
    for err in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        loc = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        problems.append(f"{loc}: {err.message}")
    if isinstance(manifest, dict) and isinstance(manifest.get("digest"), dict):
        recorded = manifest["digest"].get("value")
        try:
            actual = compute_digest(manifest)
        except ValueError as exc:
            problems.append(f"digest: cannot be computed ({exc})")
        else:
            if recorded != actual:
                problems.append(
                    f"digest: recorded {recorded} but the content hashes to {actual} "
                    "(the manifest was edited after it was sealed)"
                )
    return problems


MAX_BYTES = 16 << 20  # a manifest is a few KB


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ManifestInvalid(f"manifest {path} does not exist", hint="run `dvc repro` first")
    if path.is_dir():
        raise ManifestInvalid(f"manifest {path} is a directory, not a JSON file")
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise ManifestInvalid(f"manifest {path}: {len(raw)} bytes is too large for a manifest")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestInvalid(f"manifest {path} is not UTF-8 text (a binary file?)") from None
    except json.JSONDecodeError as exc:
        raise ManifestInvalid(f"manifest {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ManifestInvalid(f"manifest {path} is nested too deeply to be a manifest") from None
    if not isinstance(data, dict):
        raise ManifestInvalid(f"manifest {path} must be a JSON object")
    return data


def check(path: Path) -> dict[str, Any]:
    """Load and validate; raise ManifestInvalid listing every problem."""
    data = load(path)
    problems = validate(data)
    if problems:
        raise ManifestInvalid(
            f"manifest {path} is invalid:\n" + "\n".join(f"  {p}" for p in problems),
            hint="regenerate it with `dvc repro` rather than editing it by hand",
        )
    return data
