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

from sdops_dvc.base.errors import ConfigError

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


def round_trip() -> Any:
    """ruamel's round-trip YAML for editing files people wrote: comments, quotes, key order
    and line breaks kept, and ``null`` written as ``null`` (ruamel's default writes an empty
    value, which changes keys the edit never touched)."""
    from ruamel.yaml import YAML

    ry = YAML()
    ry.preserve_quotes = True
    ry.width = 4096  # never re-wrap a long line

    def null(representer: Any, _data: None) -> Any:
        return representer.represent_scalar("tag:yaml.org,2002:null", "null")

    ry.representer.add_representer(type(None), null)
    return ry


def dump_round_trip(doc: Any) -> str:
    """Text of a document loaded with :func:`round_trip`."""
    import io

    buf = io.StringIO()
    round_trip().dump(doc, buf)
    return buf.getvalue()


def set_scalars(text: str, values: dict[tuple[str, ...], str], where: str) -> str:
    """``text`` with the scalar at each key path replaced by a string, and nothing else
    touched: every other byte (comments, quotes, how a null is spelled, blank lines) stays.

    A value keeps its quoting style when it had one; a plain value stays plain when the new
    one is a plain word, else it is double-quoted. The key must exist with a one-line value."""
    import json

    doc = round_trip().load(text)
    lines = text.splitlines(keepends=True)
    edits = []
    for path, new in values.items():
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if key not in parent:
            raise ConfigError(f"{where}: {'.'.join(path)} is missing", hint="add the key")
        k_line, k_col = parent.lc.key(key)
        v_line, v_col = parent.lc.value(key)
        line = lines[k_line]
        if v_line != k_line:  # an empty value: it starts after the colon
            v_col = line.index(":", k_col + len(str(key))) + 1
            while v_col < len(line) and line[v_col] == " ":
                v_col += 1
        end = _scalar_end(line, v_col)
        old = line[v_col:end]
        if old[:1] == "'":
            rendered = "'" + new.replace("'", "''") + "'"
        elif old[:1] == '"' or not re.fullmatch(r"[A-Za-z0-9_./:@+-]+", new):
            rendered = json.dumps(new)
        else:
            rendered = new
        if line[v_col - 1 : v_col] == ":":  # an empty value right after the colon
            rendered = " " + rendered
        if line[end : end + 1] == "#":
            rendered += " "
        edits.append((k_line, v_col, end, rendered))
    for k_line, start, end, rendered in sorted(edits, reverse=True):
        line = lines[k_line]
        lines[k_line] = line[:start] + rendered + line[end:]
    return "".join(lines)


def _scalar_end(line: str, start: int) -> int:
    """Where a one-line scalar that begins at ``start`` ends (before a comment or the
    line break)."""
    if start >= len(line) or line[start] in "#\r\n":
        return start
    quote = line[start]
    if quote in "'\"":
        i = start + 1
        while i < len(line):
            if quote == "'" and line[i] == "'" and line[i + 1 : i + 2] == "'":
                i += 2
                continue
            if quote == '"' and line[i] == "\\":
                i += 2
                continue
            if line[i] == quote:
                return i + 1
            i += 1
        return len(line.rstrip("\r\n"))
    comment = re.search(r"\s#", line[start:])
    stop = start + comment.start() if comment else len(line.rstrip("\r\n"))
    return start + len(line[start:stop].rstrip())
