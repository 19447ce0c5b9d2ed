"""What server processes on several hosts share besides memory, in the memory's Postgres database.

When ``memory.store = "postgres"`` the agent keeps here (tables ``agent_*``, in ``memory.postgres_schema`` if
set, versioned like the memory's: :data:`MIGRATIONS` in ``agent_schema_version``):

- **substrates** (``agent_substrates``): each user's serialized substrate with a version. A save is a
  compare-and-swap on the version it loaded (:meth:`AgentDatabase.save_substrate` returns ``None`` when another
  process saved a newer one: the caller reloads, it never overwrites newer learning).
- **turn order** (:meth:`AgentDatabase.user_lock`): a session advisory lock per user, held for a turn on a
  connection of its own, so turns of one user run one at a time on every process together. A process that dies
  drops its connection, and Postgres releases the lock.
- **rate limits** (``agent_rate_buckets``, :meth:`AgentDatabase.take_token`): one token bucket per API key, updated
  in one statement on the server's clock, so N processes give a key its rate once, not N times.
- **proactive events** (``agent_proactive_events``, :meth:`AgentDatabase.publish` / :meth:`AgentDatabase.listen`):
  an event is a row, and ``NOTIFY cogarch_proactive`` with its sequence number in the same transaction; every
  process ``LISTEN``s and delivers it to the streams it holds. A listener that lost its connection reads the
  rows it missed when it reconnects. Rows older than an hour are deleted as new ones come.

Errors: a call that cannot reach the server raises :class:`~reasoning.errors.MemoryBackendError` (503 in the
server, with a hint); the pools reconnect when it is back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from memory.store.postgres import migrate, postgres_error, redact_url
from reasoning.errors import ConfigError, MemoryBackendError

try:  # the ``postgres`` extra
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - reported when an AgentDatabase is built
    psycopg = None  # type: ignore[assignment]

_log = logging.getLogger(__name__)

CHANNEL = "cogarch_proactive"
"""The NOTIFY channel of proactive events (the payload is the event's sequence number)."""
EVENT_TTL_S = 3600.0
"""Proactive event rows older than this are deleted (a stream that reconnects later does not replay them)."""

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE agent_substrates(
        user_name TEXT PRIMARY KEY, version BIGINT NOT NULL, data BYTEA NOT NULL, saved DOUBLE PRECISION NOT NULL);
    CREATE TABLE agent_rate_buckets(
        key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, t DOUBLE PRECISION NOT NULL,
        allowed BOOLEAN NOT NULL);
    CREATE TABLE agent_proactive_events(
        seq BIGSERIAL PRIMARY KEY, user_name TEXT NOT NULL, message TEXT NOT NULL, t DOUBLE PRECISION NOT NULL);
    """,
)
"""The agent's shared tables, one entry per version (append, never edit)."""
TABLES = ("agent_substrates", "agent_rate_buckets", "agent_proactive_events")
"""The tables of :data:`MIGRATIONS` (what :meth:`AgentDatabase.check` reads)."""

_NOW = "extract(epoch FROM clock_timestamp())"  # the server's clock: processes on several hosts agree on it


class AgentDatabase:
    """The agent's shared state in Postgres (see the module docstring). Thread-safe.

    Raises (at construction):
        ConfigError: psycopg is missing, or the agent tables are newer than this code.
        MemoryBackendError: the server cannot be reached.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        max_connections: int = 4,
        max_turns: int = 16,
        timeout: float = 10.0,
    ) -> None:
        """``max_connections``: the pool for short statements; ``max_turns``: connections that may hold a user's
        turn lock at once (a turn beyond waits for one, up to ``timeout``)."""
        if psycopg is None:
            raise ConfigError("memory.store='postgres' needs psycopg", hint="pip install 'cogarch[postgres]'")
        self.url = url
        self.schema = schema
        self.timeout = timeout
        self._where = redact_url(url) + (f" (schema {schema})" if schema else "")
        kwargs = {"row_factory": dict_row, "autocommit": True}
        configure = self._configure if schema else None
        self.pool = ConnectionPool(
            url, min_size=1, max_size=max(2, max_connections), timeout=timeout, kwargs=kwargs,
            configure=configure, open=False,
        )  # fmt: skip
        self.lock_pool = ConnectionPool(
            url, min_size=0, max_size=max(1, max_turns), timeout=timeout, kwargs=kwargs,
            configure=configure, open=False,
        )  # fmt: skip
        self._pruned = 0.0
        try:
            self.pool.open(wait=True, timeout=timeout)
            self.lock_pool.open()
            with self.pool.connection() as conn:
                migrate(conn, MIGRATIONS, schema=schema, table="agent_schema_version", where=self._where)
        except BaseException as exc:
            self.close()
            if isinstance(exc, psycopg.Error | PoolTimeout):
                raise postgres_error(exc, self._where, "opening the agent's tables") from exc
            raise

    def _configure(self, conn: Any) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(str(self.schema))))

    @contextlib.contextmanager
    def _conn(self, doing: str, pool: Any = None) -> Iterator[Any]:
        try:
            with (pool or self.pool).connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise postgres_error(exc, self._where, doing) from exc

    def _q(self, doing: str, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._conn(doing) as conn:
            return list(conn.execute(query, params).fetchall())

    def close(self) -> None:
        for pool in (self.lock_pool, self.pool):
            with contextlib.suppress(Exception):
                pool.close()

    # -- substrates ---------------------------------------------------------------------------------------------
    def substrate_version(self, user: str) -> int | None:
        """The stored version of ``user``'s substrate (None: never saved)."""
        rows = self._q(
            "reading a substrate's version",
            "SELECT version FROM agent_substrates WHERE user_name=%s",
            (user,),
        )
        return int(rows[0]["version"]) if rows else None

    def load_substrate(self, user: str) -> tuple[bytes, int] | None:
        """``(data, version)`` of ``user``'s stored substrate, or None."""
        rows = self._q(
            "loading a substrate", "SELECT data, version FROM agent_substrates WHERE user_name=%s", (user,)
        )
        return (bytes(rows[0]["data"]), int(rows[0]["version"])) if rows else None

    def save_substrate(self, user: str, data: bytes, expected: int) -> int | None:
        """Store ``data`` as version ``expected + 1`` if the stored version is still ``expected`` (0: none stored).
        Returns the new version, or None when another process stored a newer one (nothing is written)."""
        if expected == 0:
            query = (
                "INSERT INTO agent_substrates(user_name, version, data, saved) "
                f"VALUES(%s, 1, %s, {_NOW}) ON CONFLICT(user_name) DO NOTHING RETURNING version"
            )
            params: tuple[Any, ...] = (user, data)
        else:
            query = (
                f"UPDATE agent_substrates SET version=version+1, data=%s, saved={_NOW} "
                "WHERE user_name=%s AND version=%s RETURNING version"
            )
            params = (data, user, expected)
        rows = self._q("saving a substrate", query, params)
        return int(rows[0]["version"]) if rows else None

    def delete_substrate(self, user: str) -> None:
        """Delete ``user``'s substrate, then :meth:`vacuum` (its bytes hold concept names and memory ids)."""
        self._q(
            "deleting a substrate", "DELETE FROM agent_substrates WHERE user_name=%s RETURNING 1", (user,)
        )
        self.vacuum()

    def forget_events(self, user: str) -> None:
        """Delete ``user``'s proactive events (their text), then :meth:`vacuum`."""
        self._q(
            "forgetting events", "DELETE FROM agent_proactive_events WHERE user_name=%s RETURNING 1", (user,)
        )
        self.vacuum()

    def vacuum(self) -> None:
        """``VACUUM`` the tables that hold a user's content, so deleted or overwritten rows' space is marked free
        (Postgres does not zero it: docs/reliability.md says what stays until it is reused)."""
        with self._conn("vacuuming the agent's tables") as conn:
            conn.execute("VACUUM agent_substrates, agent_proactive_events")

    def check(self) -> str:
        """``"ok"`` when the agent's tables are at this code's version and each one can be read; else what
        failed (for ``cogarch doctor``)."""
        try:
            version = self._q(
                "reading the agent's schema version", "SELECT max(version) AS v FROM agent_schema_version"
            )
            if version[0]["v"] != len(MIGRATIONS):
                return f"agent schema version {version[0]['v']}, expected {len(MIGRATIONS)}"
            for table in TABLES:
                self._q(f"reading {table}", f"SELECT 1 FROM {table} LIMIT 1")
        except MemoryBackendError as exc:
            return exc.message
        return "ok"

    # -- per-user turn order ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def user_lock(self, user: str, wait_s: float) -> Iterator[None]:
        """Hold ``user``'s turn lock (shared by every process on this database) for the block.

        Raises:
            MemoryBackendError: not acquired within ``wait_s`` (another process runs a long turn of the user), or
                the server cannot be reached.
        """
        key = "cogarch-user:" + user
        with self._conn("taking the user's turn lock", self.lock_pool) as conn:
            try:
                conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(wait_s * 1000)}ms",))
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            except psycopg.errors.LockNotAvailable:
                raise MemoryBackendError(
                    f"another turn of user {user!r} has been running for over {wait_s:g} s on another process",
                    hint="retry when it has finished",
                ) from None
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):  # a lost connection has released the lock already
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    # -- rate limits --------------------------------------------------------------------------------------------
    def take_token(self, key: str, rate_per_minute: float, burst: int) -> float:
        """Take one token from ``key``'s bucket (capacity ``burst``, refilled at ``rate_per_minute``). Returns 0
        when allowed, else the seconds until a token is available."""
        per_s = rate_per_minute / 60.0
        level = f"least(%(burst)s, b.tokens + ({_NOW} - b.t) * %(per_s)s)"
        rows = self._q(
            "taking a rate-limit token",
            "INSERT INTO agent_rate_buckets AS b(key, tokens, t, allowed) "
            f"VALUES(%(key)s, %(burst)s - 1, {_NOW}, true) ON CONFLICT(key) DO UPDATE SET "
            f"tokens = CASE WHEN {level} >= 1 THEN {level} - 1 ELSE {level} END, "
            f"allowed = {level} >= 1, t = {_NOW} RETURNING tokens, allowed",
            {"key": key, "burst": float(burst), "per_s": per_s},  # type: ignore[arg-type]
        )
        if rows[0]["allowed"]:
            return 0.0
        return (1.0 - float(rows[0]["tokens"])) / per_s

    # -- proactive events ---------------------------------------------------------------------------------------
    def publish(self, user: str, message: dict[str, Any]) -> int:
        """Store ``message`` for ``user``'s streams and notify every listener. Returns its sequence number."""
        now = time.time()
        with self._conn("publishing a proactive event") as conn, conn.transaction():
            row: Any = conn.execute(
                "INSERT INTO agent_proactive_events(user_name, message, t) VALUES(%s, %s, %s) RETURNING seq",
                (user, json.dumps(message, ensure_ascii=False, default=str), now),
            ).fetchone()
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(row["seq"])))
            if now - self._pruned > 60.0:
                self._pruned = now
                conn.execute("DELETE FROM agent_proactive_events WHERE t < %s", (now - EVENT_TTL_S,))
        return int(row["seq"])

    def events_after(self, seq: int, limit: int = 1000) -> list[tuple[int, str, dict[str, Any]]]:
        """``(seq, user, message)`` of the events after ``seq``, oldest first."""
        rows = self._q(
            "reading proactive events",
            "SELECT seq, user_name, message FROM agent_proactive_events WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, limit),
        )
        return [(int(r["seq"]), str(r["user_name"]), json.loads(r["message"])) for r in rows]

    def last_event(self) -> int:
        rows = self._q(
            "reading proactive events", "SELECT coalesce(max(seq), 0) AS s FROM agent_proactive_events"
        )
        return int(rows[0]["s"])

    def listen(self, deliver: Callable[[str, dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``deliver(user, message)`` for every event published from now on, by any process, on a thread of
        its own; returns the function that stops it. Reconnects (every second) after losing the server, then
        delivers what was published meanwhile, in order."""
        stop = threading.Event()
        ready = threading.Event()
        thread = threading.Thread(
            target=self._listen, args=(deliver, stop, ready), name="cogarch-listen", daemon=True
        )
        thread.start()
        ready.wait(self.timeout)

        def stop_listening() -> None:
            stop.set()
            thread.join(5.0)

        return stop_listening

    def _listen(
        self, deliver: Callable[[str, dict[str, Any]], None], stop: threading.Event, ready: threading.Event
    ) -> None:
        last: int | None = None
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=int(self.timeout)) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    if last is None:
                        last = self.last_event()
                    ready.set()
                    notified = True  # after a reconnect: read what was published meanwhile
                    while not stop.is_set():
                        if notified:
                            for seq, user, message in self.events_after(last):
                                last = seq
                                deliver(user, message)
                        notified = any(True for _ in conn.notifies(timeout=1.0, stop_after=1))
            except (psycopg.Error, MemoryBackendError) as exc:
                _log.warning("proactive event listener lost Postgres (retrying every second): %s", exc)
                stop.wait(1.0)


__all__ = ["CHANNEL", "MIGRATIONS", "TABLES", "AgentDatabase"]
