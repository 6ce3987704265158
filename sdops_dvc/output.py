"""The one place that writes to the terminal. Core code logs; the CLI renders."""

from __future__ import annotations

import os
import sys

import click


def interactive() -> bool:
    """Progress bars only on a real terminal, never in CI or when output is captured."""
    if os.environ.get("CI") or os.environ.get("SDOPS_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


def info(message: str) -> None:
    click.echo(message)


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
