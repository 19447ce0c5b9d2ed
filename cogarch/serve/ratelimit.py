"""Per-key rate limits: a token bucket per API key (capacity ``burst``, refilled at ``rate`` per minute).

:class:`RateLimiter` is process-local: with N server processes on SQLite a key may reach N times its rate. With
``memory.store = "postgres"`` the server uses :class:`SharedRateLimiter`: the same buckets in the database, so
every process together gives a key its rate once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cogarch.store.postgres import AgentDatabase


class RateLimiter:
    """Token buckets by key name. ``clock`` returns seconds (monotonic); injectable for tests."""

    def __init__(self, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, rate_per_minute: float) -> float:
        """Take one token for ``key``. Returns 0 when allowed, else the seconds until a token is available."""
        now = self._clock()
        per_s = rate_per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / per_s


class SharedRateLimiter:
    """Token buckets by key name in Postgres (:meth:`cogarch.store.postgres.AgentDatabase.take_token`, on the
    server's clock). ``acquire`` raises :class:`~reasoning.errors.MemoryBackendError` when the server is down."""

    def __init__(self, database: AgentDatabase, burst: int) -> None:
        self._db = database
        self._burst = burst

    def acquire(self, key: str, rate_per_minute: float) -> float:
        """Take one token for ``key``. Returns 0 when allowed, else the seconds until a token is available."""
        return self._db.take_token(key, rate_per_minute, self._burst)


__all__ = ["RateLimiter", "SharedRateLimiter"]
