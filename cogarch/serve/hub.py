"""Fan-out of the agent's proactive messages to the server-sent-event streams of their user.

The agent emits events on its worker threads; :class:`ProactiveHub` hands each ``proactive`` event that acted to
the asyncio queues of the streams open for that user. Alone (SQLite) that is process-local: a stream sees the
idle time run by its own process. With ``publish`` (``memory.store = "postgres"``:
:meth:`cogarch.store.postgres.AgentDatabase.publish`) the event goes to the database instead, and every
process's listener hands it to :meth:`ProactiveHub.deliver`, so a stream on any process receives it; if the
database cannot take it, it is delivered to this process's streams.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from cogarch.events import Event
from cogarch.serve.metrics import Metrics
from reasoning.errors import MemoryBackendError

_log = logging.getLogger(__name__)


class ProactiveHub:
    """Per-user subscriber queues, fed from any thread."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        max_queue: int = 100,
        publish: Callable[[str, dict[str, Any]], object] | None = None,
    ) -> None:
        self._metrics = metrics
        self._publish = publish
        self._max = max_queue
        self._lock = threading.Lock()
        self._queues: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]] = {}

    def open(self, user: str) -> asyncio.Queue[dict[str, Any]]:
        """A new queue of ``user``'s proactive messages (call from the event loop)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max)
        with self._lock:
            self._queues.setdefault(user, []).append((asyncio.get_running_loop(), queue))
        return queue

    def close(self, user: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            entries = [e for e in self._queues.get(user, []) if e[1] is not queue]
            if entries:
                self._queues[user] = entries
            else:
                self._queues.pop(user, None)

    def users(self) -> list[str]:
        """Users with at least one open stream."""
        with self._lock:
            return list(self._queues)

    def on_event(self, event: Event) -> None:
        """The agent's subscriber: count triggers and decisions, deliver actions."""
        if event.kind == "trigger":
            self._metrics.inc("cogarch_proactive_triggers_total")
            return
        if event.kind != "proactive":
            return
        acted = bool(event.data.get("acted"))
        self._metrics.inc("cogarch_proactive_actions_total", acted=str(acted).lower())
        if not acted:
            return
        message = {k: v for k, v in event.data.items() if k != "acted"}
        message.setdefault("user", event.user)
        if self._publish is not None:
            try:
                self._publish(event.user, message)
                return
            except MemoryBackendError as exc:
                _log.warning("proactive event not published (delivered in this process only): %s", exc)
        self.deliver(event.user, message)

    def deliver(self, user: str, message: dict[str, Any]) -> None:
        """Hand ``message`` to ``user``'s open streams in this process (from any thread)."""
        with self._lock:
            targets = list(self._queues.get(user, []))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, message)


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if queue.full():  # a slow reader loses the oldest message, never blocks the agent
        queue.get_nowait()
    queue.put_nowait(message)


__all__ = ["ProactiveHub"]
