"""The proactive log: every trigger and decision of the proactive loop with its cause (SQLite, ``agent.db``).

Table ``proactive(id, user, t, kind, action, content, cause, reason, delivered, cue, path)``; ``kind`` is ``trigger``,
``blocked``, ``declined`` or ``action``; ``cause`` the surfaced memory ids, ``cue`` the memory the reactivation
started from, ``path`` the concepts it ran through (JSON lists; both columns are added to older logs on open).
The actions taken feed the guardrails (:func:`cogarch.proactive.blocked_by`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from memory.store.sqlite import sqlite_error


class ProactiveLog:
    """Every trigger and decision, with its cause; the actions taken feed the guardrails. Thread-safe."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._path = str(path) if path else ":memory:"
        self._db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS proactive (id INTEGER PRIMARY KEY, user TEXT NOT NULL, t REAL NOT NULL, "
            "kind TEXT NOT NULL, action TEXT, content TEXT, cause TEXT, reason TEXT, delivered INTEGER DEFAULT 0)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS proactive_user_t ON proactive(user, t)")
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(proactive)")}
        for name in ("cue", "path"):  # added with concept triggers; older logs gain them empty
            if name not in columns:
                self._db.execute(f"ALTER TABLE proactive ADD COLUMN {name} TEXT")

    @contextlib.contextmanager
    def _guarded(self, doing: str) -> Iterator[None]:
        """Hold the lock; a failed SQLite call (full disk, damaged file) becomes the typed store error."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise sqlite_error(exc, self._path, doing) from exc

    def record(
        self,
        user: str,
        t: float,
        kind: str,
        *,
        action: str = "",
        content: str = "",
        cause: list[str] | None = None,
        reason: str = "",
        cue: str | None = None,
        path: list[str] | None = None,
    ) -> None:
        with self._guarded("recording a proactive decision"):
            self._db.execute(
                "INSERT INTO proactive(user, t, kind, action, content, cause, reason, cue, path) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    user,
                    t,
                    kind,
                    action,
                    content,
                    json.dumps(cause or []),
                    reason,
                    cue,
                    json.dumps(path or []),
                ),
            )

    def actions_since(self, user: str, since: float) -> list[float]:
        with self._guarded("reading the proactive log"):
            rows = self._db.execute(
                "SELECT t FROM proactive WHERE user=? AND kind='action' AND t>=? ORDER BY t", (user, since)
            ).fetchall()
        return [float(r[0]) for r in rows]

    def last_action(self, user: str) -> float | None:
        with self._guarded("reading the proactive log"):
            row = self._db.execute(
                "SELECT max(t) FROM proactive WHERE user=? AND kind='action'", (user,)
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def entries(self, user: str, limit: int = 100) -> list[dict[str, Any]]:
        with self._guarded("reading the proactive log"):
            rows = self._db.execute(
                "SELECT t, kind, action, content, cause, reason, cue, path FROM proactive WHERE user=? "
                "ORDER BY id DESC LIMIT ?",
                (user, limit),
            ).fetchall()
        return [
            {
                "t": r[0],
                "kind": r[1],
                "action": r[2],
                "content": r[3],
                "cause": json.loads(r[4] or "[]"),
                "reason": r[5],
                "cue": r[6],
                "path": json.loads(r[7] or "[]"),
            }
            for r in rows
        ]

    def forget_user(self, user: str) -> None:
        """Erase every row of ``user`` (freed bytes zeroed, WAL truncated)."""
        with self._guarded("forgetting a user in the proactive log"):
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("DELETE FROM proactive WHERE user=?", (user,))
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def forget_items(self, user: str, ids: Sequence[str], texts: Sequence[str]) -> int:
        """Erase the rows of ``user`` caused by any of ``ids`` or whose content quotes any of ``texts``."""
        ids_set = set(ids)
        needles = [t for t in texts if t]
        with self._guarded("forgetting items in the proactive log"):
            rows = self._db.execute(
                "SELECT id, content, cause, cue, path FROM proactive WHERE user=?", (user,)
            ).fetchall()
            doomed = [
                r[0]
                for r in rows
                if ids_set & {*json.loads(r[2] or "[]"), r[3]}
                or any(n in (r[1] or "") or n in (r[4] or "") for n in needles)
            ]
            if doomed:
                self._db.execute("PRAGMA secure_delete=ON")
                self._db.executemany("DELETE FROM proactive WHERE id=?", [(i,) for i in doomed])
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(doomed)

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["ProactiveLog"]
