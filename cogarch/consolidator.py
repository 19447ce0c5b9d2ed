"""When a user's memory is consolidated, and on which thread: the agent's schedule and its background worker.

Consolidation (event segmentation, phrase nodes and links, scenes, fact extraction, persona induction:
:mod:`memory.consolidation`) runs every ``memory.consolidate_every`` new episodes and when idle time passes
(``Agent.idle``: the "sleep" that consolidates what the day brought). With ``memory.consolidate_in =
"background"`` (the default) a turn only *asks* for it: the request goes to the agent's one worker thread, and
the turn returns as soon as its reply and episodes are stored. The worker runs one consolidation at a time
(so one per namespace at a time in this process; ``Memory.consolidate`` also takes the namespace's lock across
processes); a request for a namespace that is already waiting is merged into it, and one that arrives while
that namespace is being consolidated queues exactly one more run, which picks up everything stored meanwhile.
``"foreground"`` consolidates in the calling thread before the turn (or ``idle``) returns: results at once, for
notebooks and benchmarks that read facts right after a turn.

Either way a failure never fails the turn (its reply and episodes are stored already): it is logged, emitted as
a ``consolidated`` event with ``error``, kept in :meth:`Consolidator.status` and shown on the user's next
replies (``Reply.consolidation_error``) until a consolidation succeeds. Nothing is lost: the episodes stay
unconsolidated in the store and the next consolidation takes them (it also finishes a fact extraction a crash
or failure interrupted). :meth:`Consolidator.close` drains the queue; episodes of a process that dies before
are consolidated by the next run on the same data.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsolidationStatus:
    """What the worker knows of one user's consolidations in this process.

    Attributes:
        queued: a consolidation is waiting for the worker.
        running: one is running now.
        runs: consolidations finished (successful or not) since the agent opened.
        failures: of those, how many failed.
        last_error: the last failure (``"TypeName: message"``), None once a later consolidation succeeded.
        last_counts: what the last successful consolidation built (``Memory.consolidate``'s counts).
    """

    queued: bool = False
    running: bool = False
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    last_counts: Mapping[str, int] | None = None


class Consolidator:
    """The agent's consolidation schedule and its worker thread (started at the first request; with
    ``background`` False there is none: each consolidation runs in the thread that asks for it).

    ``consolidate(user)`` runs one consolidation and returns its counts (``Memory.consolidate``); ``report(user,
    data)`` receives the outcome of each (``data`` is the counts, or ``{"error": ...}``; the agent emits it as a
    ``consolidated`` event). Thread-safe: turns of several users call it at once.
    """

    def __init__(
        self,
        consolidate: Callable[[str], Mapping[str, int]],
        *,
        every: int,
        background: bool = True,
        report: Callable[[str, dict[str, Any]], None] = lambda user, data: None,
    ) -> None:
        self._consolidate = consolidate
        self._every = every
        self._background = background
        self._report = report
        self._cond = threading.Condition()
        self._since: dict[str, int] = {}  # episodes stored since the user's last consolidation request
        self._queue: dict[str, None] = {}  # users waiting for the worker, in request order
        self._running: str | None = None
        self._status: dict[str, ConsolidationStatus] = {}
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- the schedule -------------------------------------------------------------------------------------------

    def stored(self, user: str, episodes: int) -> None:
        """``episodes`` new episodes of ``user`` are stored (a turn): consolidate when ``every`` have come."""
        with self._cond:
            count = self._since.get(user, 0) + episodes
            due = count >= self._every
            self._since[user] = 0 if due else count
        if due:
            self._request(user)

    def sleep(self, user: str) -> None:
        """Idle time passed for ``user``: consolidate what was stored since the last consolidation, if anything."""
        with self._cond:
            due = self._since.get(user, 0) > 0
            self._since[user] = 0
        if due:
            self._request(user)

    def _request(self, user: str) -> None:
        if not self._background:
            self._run(user)
            return
        with self._cond:
            if self._closing:
                return  # the episodes stay unconsolidated in the store: the next consolidation takes them
            self._queue[user] = None
            self._set(user)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="cogarch-consolidation", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    # -- the worker ---------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closing)
                if not self._queue:
                    return  # closing, and drained
                user = next(iter(self._queue))
                del self._queue[user]
                self._running = user
                self._set(user)
            try:
                self._run(user)
            finally:
                with self._cond:
                    self._running = None
                    self._set(user)
                    self._cond.notify_all()

    def _run(self, user: str) -> None:
        """One consolidation of ``user``, its outcome recorded and reported; never raises an ``Exception``."""
        try:
            counts = dict(self._consolidate(user))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            _log.error("consolidating %r failed (its episodes stay pending): %s", user, error, exc_info=True)
            with self._cond:
                old = self._status.get(user, ConsolidationStatus())
                self._status[user] = dataclasses.replace(
                    old, runs=old.runs + 1, failures=old.failures + 1, last_error=error
                )
            self._report_safely(user, {"error": error})
            return
        with self._cond:
            old = self._status.get(user, ConsolidationStatus())
            self._status[user] = dataclasses.replace(
                old, runs=old.runs + 1, last_error=None, last_counts=counts
            )
        self._report_safely(user, counts)

    def _report_safely(self, user: str, data: dict[str, Any]) -> None:
        try:
            self._report(user, data)
        except Exception:  # an observer never breaks the worker
            _log.exception("reporting a consolidation of %r failed", user)

    def _set(self, user: str) -> None:
        """Refresh ``user``'s queued/running flags (the condition held)."""
        old = self._status.get(user, ConsolidationStatus())
        self._status[user] = dataclasses.replace(
            old, queued=user in self._queue, running=self._running == user
        )

    # -- waiting, status, closing ---------------------------------------------------------------------------------

    def _busy(self, user: str | None) -> bool:
        if user is None:
            return bool(self._queue) or self._running is not None
        return user in self._queue or self._running == user

    def wait(self, user: str | None = None, timeout: float | None = None) -> bool:
        """Block until no consolidation of ``user`` (None: of anyone) is queued or running; False when
        ``timeout`` seconds passed first. Returns at once in the foreground mode."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy(user), timeout)

    def status(self, user: str) -> ConsolidationStatus:
        with self._cond:
            return self._status.get(user, ConsolidationStatus())

    def close(self) -> None:
        """Stop taking requests, finish the queued consolidations and stop the worker. Idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()


__all__ = ["ConsolidationStatus", "Consolidator"]
