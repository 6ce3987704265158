"""The one place that writes to the terminal. Core code logs; the CLI renders.

Every command takes ``--json``: its result is then one JSON document on stdout (an error
too: ``{"error": {...}}``), and the human lines it would print go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

_STATE = {"json": False}


def json_mode() -> bool:
    return _STATE["json"]


def set_json_mode(on: bool) -> None:
    _STATE["json"] = on


def _json_callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        set_json_mode(True)
    return value


_JSON_DECLS = ["--json", "as_json"]
_JSON_ATTRS: dict[str, Any] = {
    "is_flag": True,
    "is_eager": True,
    "callback": _json_callback,
    "help": "Machine-readable output: one JSON document on stdout (human lines go to stderr).",
}
JSON_OPTION = click.option(*_JSON_DECLS, **_JSON_ATTRS)  # for commands that read ``as_json``


def json_param() -> click.Option:
    """``--json`` for a command that renders no JSON of its own: it reports through
    :func:`result`."""
    return click.Option(_JSON_DECLS, expose_value=False, **_JSON_ATTRS)


def result(data: Any) -> None:
    """A command's outcome: printed as JSON under ``--json``; otherwise the human lines the
    command printed already say it."""
    if json_mode():
        click.echo(json.dumps(data, indent=2, default=str))


def error_document(kind: str, message: str, hint: str | None, exit_code: int) -> None:
    """Under ``--json``, a failure is a JSON document on stdout too."""
    if json_mode():
        doc = {"error": {"type": kind, "message": message, "hint": hint, "exit_code": exit_code}}
        click.echo(json.dumps(doc, indent=2))


def interactive() -> bool:
    """Progress bars only on a real terminal, never in CI or when output is captured."""
    if os.environ.get("CI") or os.environ.get("SDOPS_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


def info(message: str) -> None:
    click.echo(message, err=json_mode())


def status(message: str) -> None:
    """A short progress line on stderr (kept out of stdout so --json stays clean)."""
    click.echo(message, err=True)


def warn(message: str) -> None:
    click.echo(click.style("warning: ", fg="yellow") + message, err=True)


def alert(title: str, message: str) -> None:
    """A result the user must not miss (a blocked gate), on stderr, not an error."""
    click.echo(click.style(title, fg="red", bold=True) + " " + message, err=True)


def error(message: str) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
