"""Clocks: the agent never reads the wall clock directly, so tests and demos can run time faster.

``RealClock`` is wall time; ``ScaledClock`` runs ``scale`` times faster than wall time (``--time-scale 3600``
makes an idle hour pass in a second); ``ManualClock`` only moves when told (tests, benchmarks).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """The time source of an agent: seconds since the epoch, possibly simulated."""

    def now(self) -> float: ...


class RealClock:
    """Wall time."""

    def now(self) -> float:
        return time.time()


class ScaledClock:
    """Simulated time that starts now and runs ``scale`` times faster than wall time."""

    def __init__(self, scale: float = 1.0, *, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.scale = scale
        self._origin_wall = time.monotonic()
        self._origin = time.time() if start is None else start

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._origin_wall) * self.scale

    def skip(self, seconds: float) -> None:
        """Jump ``seconds`` ahead (the chat's ``/idle``: that time passes at once).

        Raises:
            ValueError: a negative jump.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._origin += seconds


class ManualClock:
    """A clock that moves only through :meth:`advance` (thread-safe)."""

    def __init__(self, start: float | None = None) -> None:
        self._t = time.time() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._t += seconds
            return self._t


def to_datetime(t: float) -> datetime:
    """``t`` (epoch seconds) as an aware UTC datetime."""
    return datetime.fromtimestamp(t, tz=UTC)


__all__ = ["Clock", "ManualClock", "RealClock", "ScaledClock", "to_datetime"]
