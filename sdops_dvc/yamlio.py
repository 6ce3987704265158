"""Read the YAML files people edit (params.yaml, consumers.yaml) strictly.

PyYAML's ``safe_load`` lets a repeated key silently replace the first (a second ``gates:``
block wins over the first), reads ``1e-5`` as a string (YAML 1.1) and fails with a bare
``UnicodeDecodeError`` on a binary file. This loader refuses duplicate keys with the line of
both, reads numbers in exponent notation as YAML 1.2 (and DVC's ruamel) does, and turns every
problem into one :class:`ConfigError` naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sdops_dvc.errors import ConfigError

MAX_BYTES = 5 << 20  # a params or consumers file is a few KB; refuse what cannot be one

_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads ``1e-5`` as a float."""


_StrictLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:float"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: let PyYAML report it
            continue
        line = key_node.start_mark.line + 1
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {first}, again at line {line}); "
                "a repeated key would silently replace the first",
                key_node.start_mark,
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def loads(text: str, where: str) -> Any:
    """Parse YAML text strictly; ConfigError names the file, line and problem."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML{at}: {problem}", hint="fix the YAML") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a settings file") from None


def load_file(path: Path, *, what: str = "file") -> Any:
    """Read and parse a YAML file people edit, refusing directories and binary content."""
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a {what}", hint=f"point at the {what}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{path}: {len(raw)} bytes is too large for a {what}")
    if b"\x00" in raw:
        raise ConfigError(f"{path} is a binary file, not a {what} (YAML text)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text, so it is not a {what}") from None
    return loads(text, str(path))
