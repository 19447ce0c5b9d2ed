"""The live "thinking" line of ``cogarch think`` and the chat's ``/think``, and Ctrl-C as "stop and answer".

One status line (rich ``Status``: a spinner and the text) is redrawn in place while a search runs: nodes, the
deepest chain, tokens, the best value, seconds. It is transient: when the search ends the line is erased and the
caller prints the result. Dynamic text is never parsed as markup.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from rich.console import Console
from rich.text import Text


def progress_text(data: Mapping[str, Any], *, stopping: bool = False) -> Text:
    """The line for a search event (``SearchEvent.to_dict()``)."""
    line = (
        f"thinking · {int(data.get('nodes', 0))} nodes · depth {int(data.get('deepest', 0))} · "
        f"{int(data.get('tokens', 0))} tokens · best {float(data.get('best_value', 0.0)):.2f} · "
        f"{float(data.get('seconds', 0.0)):.1f} s"
    )
    if stopping:
        line += " · stopping (Ctrl-C again to abort)"
    return Text(line, style="dim")


class ThinkingLine:
    """A transient status line on ``console``, updated by :meth:`update` with search events."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._status = console.status(Text("thinking…", style="dim"), spinner="dots")
        self._last: Mapping[str, Any] = {}
        self.stopping = False
        self._running = False

    def __enter__(self) -> ThinkingLine:
        self._status.start()
        self._running = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Erase the line (idempotent)."""
        if self._running:
            self._status.stop()
            self._running = False

    def update(self, data: Mapping[str, Any]) -> None:
        self._last = data
        if self._running:
            self._status.update(progress_text(data, stopping=self.stopping))

    def mark_stopping(self) -> None:
        self.stopping = True
        self.update(self._last)


@contextmanager
def ctrl_c_stops(stop: Callable[[], None]) -> Iterator[None]:
    """While inside, the first Ctrl-C calls ``stop`` (the search ends and answers with its best so far); a
    second one raises KeyboardInterrupt as usual. Outside the main thread, Ctrl-C is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = {"n": 0}

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        pressed["n"] += 1
        if pressed["n"] > 1:
            raise KeyboardInterrupt
        stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


__all__ = ["ThinkingLine", "ctrl_c_stops", "progress_text"]
