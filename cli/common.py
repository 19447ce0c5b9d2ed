"""Helpers shared by every command: settings loading, error rendering, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from reasoning.errors import CogarchError

console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

_debug = {"on": False}


def set_debug(on: bool) -> None:
    _debug["on"] = on


def load_settings(data_dir: Path | None = None, config: Path | None = None, **overrides: Any) -> Any:
    """The effective :class:`cogarch.Settings` for a command (explicit options win)."""
    from cogarch.settings import Settings

    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings.load(config, **{k: v for k, v in overrides.items() if v is not None})


def fail(error: CogarchError) -> typer.Exit:
    """Print ``error`` as one line plus its hint and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {error.message}", highlight=False)
    if error.hint:
        err_console.print(f"[dim]hint: {error.hint}[/]", highlight=False)
    return typer.Exit(code=error.exit_code)


@contextmanager
def handled() -> Iterator[None]:
    """Turn cogarch errors into one readable line and an exit code (a traceback only with ``--debug``)."""
    try:
        yield
    except CogarchError as error:
        if _debug["on"]:
            raise
        raise fail(error) from None
    except KeyboardInterrupt:
        err_console.print("[dim]interrupted[/]")
        raise typer.Exit(code=130) from None


def run(fn: Callable[[], T]) -> T:
    with handled():
        return fn()


def print_json(data: Any) -> None:
    """Write ``data`` as one JSON document to stdout."""
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()
