"""Typed events: every node of the cognitive cycle reports what it did.

Subscribers (the chat's "why" view, tests, a JSONL trace) receive :class:`Event` values through an
:class:`EventBus`. An event is a frozen dataclass with a ``kind`` and a JSON-able ``data`` payload.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

EventKind = Literal[
    "perceived",  # the input event, gateway tags
    "encoded",  # population code size, assemblies that responded
    "recalled",  # recall hits with scores and reasons
    "search",  # CoAT search progress (nodes, best value, tokens)
    "token",  # a streamed piece of the reply
    "replied",  # the final reply, tokens, latency
    "learned",  # episode stored, bindings, plasticity
    "acted",  # an environment command chosen
    "tool",  # a tool call the agent ran, its result (or error) and duration
    "trigger",  # a substrate trigger while idle
    "proactive",  # a proactive decision (act or not, and why)
    "timing",  # node timings
    "consolidated",  # a consolidation of the user's memory ran: its counts, or {"error": ...} (cogarch.consolidator)
]


@dataclass(frozen=True)
class Event:
    """One thing that happened in the agent."""

    kind: EventKind
    user: str
    data: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, ensure_ascii=False)


Subscriber = Callable[[Event], None]


class EventBus:
    """Fan-out of events to subscribers and an optional JSONL trace file (thread-safe).

    A subscriber that raises is reported once on the trace and otherwise ignored: observers never break a turn.
    """

    def __init__(self, trace_path: Path | None = None) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._trace = (
            os.fdopen(
                os.open(trace_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8"
            )
            if trace_path
            else None
        )  # a new trace file is private to its owner (0600)

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Add ``fn``; returns a function that removes it."""
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
            if self._trace is not None and event.kind != "token":
                self._trace.write(event.to_json() + "\n")
                self._trace.flush()
        for fn in subscribers:
            try:
                fn(event)
            except Exception:
                continue

    def close(self) -> None:
        with self._lock:
            if self._trace is not None:
                self._trace.close()
                self._trace = None


__all__ = ["Event", "EventBus", "EventKind", "Subscriber"]
