"""Access to the files ``sdops init`` writes (shipped in the wheel as package data)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path


def template_dir() -> Path:
    """``sdops_dvc/templates`` in a wheel; the repo's ``templates/`` in a source checkout."""
    packaged = Path(str(resources.files("sdops_dvc"))) / "templates"
    if packaged.is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parents[2] / "templates"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError("sdops-dvc templates are missing from this installation")


def read_template(name: str) -> str:
    return (template_dir() / name).read_text(encoding="utf-8")


def yaml_scalar(value: object) -> str:
    """A YAML-safe scalar (JSON is valid YAML) for substitution into a template."""
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def render(name: str, values: dict[str, object], blocks: dict[str, str] | None = None) -> str:
    """The template with ``{{key}}`` replaced by YAML scalars, and a line holding only
    ``{{key}}`` of ``blocks`` by that block of YAML text."""
    text = read_template(name)
    for key, block in (blocks or {}).items():
        text = text.replace("{{" + key + "}}\n", block)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", yaml_scalar(value))
    if "{{" in text:
        raise ValueError(f"template {name} has unfilled placeholders")
    return text


def demo_table() -> Path:
    """The bundled demo table (AER HealthInsurance, GPL-2+; see sdops_dvc/data/README.md)."""
    return Path(str(resources.files("sdops_dvc"))) / "data" / "health_insurance.csv"
