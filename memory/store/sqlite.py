"""SQLite (WAL) system of record.

Tables: ``episodes``, ``facts``, ``scenes``, ``entities``, ``persona``, ``edges`` (the memory graph),
``fts`` (FTS5, porter stemming: the lexical index with BM25), ``outbox`` (vector-index operations not yet applied
to the index), ``audit`` (who did what, never the content) and ``meta``.

Write protocol (crash safety): a record, its vector, its edges, its lexical entry and an outbox row are written
in ONE transaction; only then is the vector index updated and the outbox row deleted. A crash at any point
leaves either nothing (not acknowledged) or a committed record with a pending outbox row that
``Memory.open`` replays (index operations are idempotent). Deletes go through the outbox the same way, so the
index never keeps an entry whose record is gone.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from memory.embedders.base import Vectors
from reasoning.errors import CorruptStoreError, MemoryBackendError

_FULL = ("database or disk is full", "disk i/o error", "file too large")
_CORRUPT = ("malformed", "not a database", "file is encrypted")


def sqlite_error(exc: BaseException, path: Path | str, doing: str) -> MemoryBackendError:
    """The typed error for a failed SQLite call on ``path`` while ``doing`` something.

    A full disk (or a file-size limit: EFBIG) gives a :class:`MemoryBackendError` whose hint says to free disk
    space (the failed transaction was rolled back, so the store stays as it was); a damaged file gives a
    :class:`CorruptStoreError` naming it; anything else a :class:`MemoryBackendError` with SQLite's message.
    """
    text = str(exc)
    low = text.lower()
    if any(m in low for m in _FULL):
        return MemoryBackendError(
            f"{doing} failed: the disk holding {path} is full or a file-size limit was reached ({text})",
            hint="free disk space (or raise the file-size limit) and retry; nothing of the failed write was kept",
        )
    if any(m in low for m in _CORRUPT):
        return CorruptStoreError(
            f"the database {path} is damaged ({text})",
            hint="run `cogarch doctor` to check the data directory; restore the file from a backup or an export",
        )
    return MemoryBackendError(f"{doing} failed on {path}: {text}")


SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL, text TEXT NOT NULL, speaker TEXT, channel TEXT,
    ts REAL NOT NULL, session TEXT, metadata TEXT NOT NULL, valence REAL NOT NULL, importance REAL NOT NULL,
    flags TEXT NOT NULL, event_id TEXT, consolidated INTEGER NOT NULL DEFAULT 0, vector BLOB, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS episodes_ns ON episodes(namespace, seq);
CREATE INDEX IF NOT EXISTS episodes_pending ON episodes(namespace, consolidated);
CREATE TABLE IF NOT EXISTS facts(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL, subject TEXT NOT NULL, relation TEXT NOT NULL,
    object TEXT NOT NULL, text TEXT NOT NULL, valid_from REAL NOT NULL, valid_to REAL, confidence REAL NOT NULL,
    sources TEXT NOT NULL, superseded_by TEXT, vector BLOB, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS facts_ns ON facts(namespace, subject, relation);
CREATE TABLE IF NOT EXISTS scenes(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL, summary TEXT NOT NULL, members TEXT NOT NULL,
    calibration TEXT NOT NULL DEFAULT '', vector BLOB, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS scenes_ns ON scenes(namespace);
CREATE TABLE IF NOT EXISTS entities(
    id TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, mentions INTEGER NOT NULL DEFAULT 0,
    UNIQUE(namespace, name));
CREATE TABLE IF NOT EXISTS persona(
    namespace TEXT NOT NULL, slot TEXT NOT NULL, value TEXT NOT NULL, evidence TEXT NOT NULL,
    updated REAL NOT NULL, PRIMARY KEY(namespace, slot));
CREATE TABLE IF NOT EXISTS edges(
    namespace TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL, weight REAL NOT NULL,
    PRIMARY KEY(src, dst, kind)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    text, id UNINDEXED, namespace UNINDEXED, kind UNINDEXED, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS outbox(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    op TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, namespace TEXT NOT NULL, op TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL);
"""

VECTOR_TABLES = {"episode": "episodes", "fact": "facts", "scene": "scenes"}


def to_blob(vector: np.ndarray[Any, Any]) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.frombuffer(blob, dtype=np.float32)


class SQLiteStore:
    """A thin typed shell over one SQLite connection (single writer; not shared across threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=OFF")
            self.conn.execute("PRAGMA cache_size=-65536")
            self.conn.executescript(_SCHEMA)
            check = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.close()
            error = sqlite_error(exc, path, "opening the memory database")
            if isinstance(error, CorruptStoreError) or not isinstance(exc, sqlite3.OperationalError):
                raise CorruptStoreError(
                    f"cannot open the memory database {path}: {exc}",
                    hint="run `cogarch doctor` to check the data directory; restore the file from a backup or "
                    "an export (`cogarch memory import`) after moving it aside",
                ) from exc
            raise error from exc
        if check != "ok":
            self.close()
            raise CorruptStoreError(
                f"the memory database {path} is damaged: {check}",
                hint="export what is readable (`cogarch memory export`), move the file aside and import",
            )
        try:
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
        except sqlite3.Error as exc:
            self.close()
            raise sqlite_error(exc, path, "opening the memory database") from exc
        self._df_cache: dict[str, tuple[int, int]] = {}

    # -- transactions -------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error). Durable when it returns (WAL)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.path, "starting a write") from exc
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):  # SQLite may already have rolled back (disk full)
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise sqlite_error(exc, self.path, "writing to the memory") from exc
            raise

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    def audit(
        self, conn: sqlite3.Connection, namespace: str, op: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Append an audit entry. ``detail`` must never hold record content (ids, counts, reasons only)."""
        conn.execute(
            "INSERT INTO audit(ts, namespace, op, target, detail) VALUES(?,?,?,?,?)",
            (time.time(), namespace, op, target, json.dumps(detail, sort_keys=True)),
        )

    # -- outbox -------------------------------------------------------------------------------------------------
    @staticmethod
    def enqueue(conn: sqlite3.Connection, namespace: str, items: Iterable[tuple[str, str]], op: str) -> None:
        conn.executemany(
            "INSERT INTO outbox(namespace, id, kind, op) VALUES(?,?,?,?)",
            [(namespace, rid, kind, op) for rid, kind in items],
        )

    def pending(self, limit: int = 100000) -> list[sqlite3.Row]:
        return self.q("SELECT seq, namespace, id, kind, op FROM outbox ORDER BY seq LIMIT ?", (limit,))

    def done(self, seqs: Sequence[int]) -> None:
        if seqs:
            with self.transaction() as conn:
                conn.executemany("DELETE FROM outbox WHERE seq=?", [(s,) for s in seqs])

    def vectors_of(self, kind: str, ids: Sequence[str]) -> dict[str, np.ndarray[Any, np.dtype[np.float32]]]:
        """The stored vectors of records of one kind (missing ids are absent from the result)."""
        table = VECTOR_TABLES[kind]
        out: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.q(f"SELECT id, vector FROM {table} WHERE id IN ({marks})", chunk):
                if row["vector"] is not None:
                    out[row["id"]] = from_blob(row["vector"])
        return out

    # -- lexical ------------------------------------------------------------------------------------------------
    def fts_size(self) -> int:
        """The largest lexical-index rowid (entries are appended, so this grows with the index)."""
        row = self.conn.execute("SELECT max(rowid) FROM fts").fetchone()
        return int(row[0] or 0)

    def fts_df(self, term: str, size: int | None = None) -> int:
        """Lexical-index entries (all namespaces) containing ``term`` (a bare word; stemmed like the index).

        Cached per term; an entry is recounted once the index has grown by 10% since it was counted.
        """
        size = self.fts_size() if size is None else size
        hit = self._df_cache.get(term)
        if hit is not None and size <= hit[1] * 1.1 + 100:
            return hit[0]
        try:
            n = int(
                self.conn.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (f'"{term}"',)).fetchone()[0]
            )
        except sqlite3.OperationalError:
            n = 0
        if len(self._df_cache) > 50000:
            self._df_cache.clear()
        self._df_cache[term] = (n, size)
        return n

    def fts_search(
        self, namespace: str, terms: Sequence[str], limit: int, *, budget: int | None = None
    ) -> list[tuple[str, str, float]]:
        """BM25 search for any of ``terms``: ``(id, kind, score)`` best first, score = -bm25 (higher is better).

        ``budget`` bounds the work (FTS5 scores every matching entry before it can rank them): terms are taken
        rarest first while the sum of their document frequencies stays within ``budget`` (the dropped, common
        terms have the lowest BM25 weight); if even the rarest term exceeds it, all terms are searched among
        the most recent entries only, as many as hold about ``budget`` of their postings. ``None``: no bound.
        """
        terms = [t.replace('"', "") for t in terms]
        terms = [t for t in dict.fromkeys(terms) if t]
        if not terms:
            return []
        low = 0
        if budget is not None:
            size = self.fts_size()
            df = {t: self.fts_df(t, size) for t in terms}
            kept: list[str] = []
            total = 0
            for t in sorted((t for t in terms if df[t] > 0), key=lambda t: df[t]):
                if total + df[t] > budget:
                    break
                kept.append(t)
                total += df[t]
            if kept:
                terms = kept
            elif any(df.values()):  # a recent window holding about ``budget`` postings of these terms
                low = size - max(1, budget * size // sum(df.values()))
            else:
                return []
        match = " OR ".join(f'"{t}"' for t in terms)
        window = " AND rowid > ?" if low > 0 else ""
        args: list[Any] = [match, *([low] if low > 0 else [])]
        try:
            # rank without reading the stored columns (that read costs more than BM25), then filter by namespace
            head = 2 * limit
            ranked = self.q(
                f"SELECT rowid, bm25(fts) AS s FROM fts WHERE fts MATCH ?{window} ORDER BY s LIMIT ?",
                (*args, head),
            )
            out: list[tuple[str, str, float]] = []
            if ranked:
                marks = ",".join("?" * len(ranked))
                meta = {
                    r[0]: r
                    for r in self.q(
                        f"SELECT rowid, id, kind, namespace FROM fts WHERE rowid IN ({marks})",
                        [r[0] for r in ranked],
                    )
                }
                for r in ranked:
                    m = meta.get(r[0])
                    if m is not None and m["namespace"] == namespace:
                        out.append((m["id"], m["kind"], -float(r[1])))
            if len(out) >= limit or len(ranked) < head:
                return out[:limit]
            # other namespaces crowd the head: rank within the namespace
            rows = self.q(
                f"SELECT id, kind, bm25(fts) AS s FROM fts WHERE fts MATCH ?{window} AND namespace = ? "
                "ORDER BY s LIMIT ?",
                (*args, namespace, limit),
            )
        except sqlite3.OperationalError:
            return []
        return [(r["id"], r["kind"], -float(r["s"])) for r in rows]

    # -- graph --------------------------------------------------------------------------------------------------
    def edges_of(
        self, ids: Sequence[str], kinds: Sequence[str] | None = None
    ) -> list[tuple[str, str, str, float]]:
        """Edges touching ``ids`` in either direction: ``(src, dst, kind, weight)``."""
        out: list[tuple[str, str, str, float]] = []
        kind_sql = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        extra = list(kinds) if kinds else []
        for i in range(0, len(ids), 400):
            chunk = list(ids[i : i + 400])
            marks = ",".join("?" * len(chunk))
            for sql in (
                f"SELECT src, dst, kind, weight FROM edges WHERE src IN ({marks}){kind_sql}",
                f"SELECT src, dst, kind, weight FROM edges WHERE dst IN ({marks}){kind_sql}",
            ):
                out.extend((r[0], r[1], r[2], float(r[3])) for r in self.q(sql, chunk + extra))
        return out

    def degree(self, ids: Sequence[str], *, cap: int | None = None) -> dict[str, int]:
        """Number of edges pointing at each id (entity hubs have many).

        With ``cap``, counts stop at ``cap``: an entity whose ``mentions`` (an upper bound on its in-edges) exceed
        ``cap`` is counted with a bounded scan, so a hub costs ``cap`` index steps, not its degree.
        """
        ids = list(dict.fromkeys(ids))
        out: dict[str, int] = {}
        if cap is not None:
            big: list[str] = []
            for i in range(0, len(ids), 400):
                chunk = ids[i : i + 400]
                marks = ",".join("?" * len(chunk))
                big += [
                    r[0]
                    for r in self.q(
                        f"SELECT id FROM entities WHERE id IN ({marks}) AND mentions > ?", [*chunk, cap]
                    )
                ]
            for hub in big:
                row = self.conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM edges WHERE dst=? LIMIT ?)", (hub, cap)
                ).fetchone()
                out[hub] = int(row[0])
            small = set(big)
            ids = [i for i in ids if i not in small]
        for i in range(0, len(ids), 400):
            chunk = ids[i : i + 400]
            marks = ",".join("?" * len(chunk))
            for r in self.q(f"SELECT dst, COUNT(*) FROM edges WHERE dst IN ({marks}) GROUP BY dst", chunk):
                out[r[0]] = int(r[1]) if cap is None else min(cap, int(r[1]))
        return out

    def edges_around(self, node: str, limit: int) -> list[tuple[str, str, str, float]]:
        """At most ``limit`` edges touching ``node`` in each direction (bounded expansion of a hub)."""
        out: list[tuple[str, str, str, float]] = []
        for sql in (
            "SELECT src, dst, kind, weight FROM edges WHERE src=? LIMIT ?",
            "SELECT src, dst, kind, weight FROM edges WHERE dst=? LIMIT ?",
        ):
            out.extend((r[0], r[1], r[2], float(r[3])) for r in self.conn.execute(sql, (node, limit)))
        return out

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


def store_vectors(vectors: Vectors) -> list[bytes]:
    """Rows of ``vectors`` as float32 blobs."""
    return [to_blob(v) for v in vectors]


__all__ = [
    "SCHEMA_VERSION",
    "VECTOR_TABLES",
    "SQLiteStore",
    "from_blob",
    "sqlite_error",
    "store_vectors",
    "to_blob",
]
