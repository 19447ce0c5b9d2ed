"""SQLite (WAL) system of record.

Tables: ``episodes``, ``facts``, ``scenes``, ``entities``, ``persona``, ``edges`` (the memory graph),
``fts`` (FTS5, porter stemming: the lexical index with BM25), ``outbox`` (vector-index operations not yet applied
to the index), ``audit`` (who did what, never the content) and ``meta``.

Write protocol (crash safety): a record, its vector, its edges, its lexical entry and an outbox row are written
in ONE transaction; only then is the vector index updated and the outbox row deleted. A crash at any point
leaves either nothing (not acknowledged) or a committed record with a pending outbox row that
``Memory.open`` replays (index operations are idempotent). Deletes go through the outbox the same way, so the
index never keeps an entry whose record is gone. The contract is :class:`memory.store.base.MemoryStore`.

Erasure: after :meth:`SQLiteStore.erase_on_delete` the connection deletes with ``secure_delete`` (freed bytes are
zeroed); :meth:`SQLiteStore.erase` optimises the lexical index (FTS5 keeps deleted terms in its segments until they
are merged; SQLite 3.40 has no FTS5 ``secure-delete``) and checkpoints and truncates the WAL, so deleted text is in
no byte of the database or its WAL. Optimising costs time linear in the lexical index (about a second per 100k
entries).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from memory.records import Episode, Fact, PersonaSlot, Scene, embed_text
from memory.store.base import (
    EXPORT_COLUMNS,
    TABLES,
    Edge,
    IndexSource,
    NewEpisode,
    OutboxOp,
    PendingEpisode,
    RecordKind,
    Table,
    Vector,
    entity_id,
    from_blob,
    from_blobs,
    kind_of,
    to_blob,
)
from memory.store.lock import file_lock
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
    sources TEXT NOT NULL, superseded_by TEXT, vector BLOB, created REAL NOT NULL, expired REAL);
CREATE INDEX IF NOT EXISTS facts_ns ON facts(namespace, subject, relation);
CREATE INDEX IF NOT EXISTS facts_subject ON facts(namespace, lower(subject), relation);
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
CREATE TABLE IF NOT EXISTS phrase_vectors(
    namespace TEXT NOT NULL, id TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY(namespace, id)) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    text, id UNINDEXED, namespace UNINDEXED, kind UNINDEXED, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS outbox(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    op TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, namespace TEXT NOT NULL, op TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL);
"""


_CHUNK = 500


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _chunks(ids: Sequence[str], size: int = _CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


def episode_from_row(r: sqlite3.Row | dict[str, Any]) -> Episode:
    return Episode(
        id=r["id"],
        namespace=r["namespace"],
        text=r["text"],
        speaker=r["speaker"],
        channel=r["channel"],
        timestamp=r["ts"],
        session=r["session"],
        metadata=json.loads(r["metadata"]),
        valence=r["valence"],
        importance=r["importance"],
        flags=tuple(f for f in r["flags"].split(",") if f),
        event_id=r["event_id"],
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to the schema: facts' transaction-time end (``expired``:
    when the memory learned a fact had ended; for earlier closes, the later of its recording and its end)."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(facts)")}
    if "expired" not in columns:
        conn.execute("ALTER TABLE facts ADD COLUMN expired REAL")
        conn.execute("UPDATE facts SET expired = max(created, valid_to) WHERE valid_to IS NOT NULL")


def fact_from_row(r: sqlite3.Row | dict[str, Any]) -> Fact:
    return Fact(
        id=r["id"],
        namespace=r["namespace"],
        subject=r["subject"],
        relation=r["relation"],
        object=r["object"],
        text=r["text"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        confidence=r["confidence"],
        sources=tuple(json.loads(r["sources"])),
        superseded_by=r["superseded_by"],
        recorded=r["created"],
        expired=r["expired"],
    )


def scene_from_row(r: sqlite3.Row | dict[str, Any]) -> Scene:
    return Scene(
        id=r["id"],
        namespace=r["namespace"],
        summary=r["summary"],
        members=tuple(json.loads(r["members"])),
        calibration=r["calibration"],
    )


def persona_from_row(r: sqlite3.Row | dict[str, Any]) -> PersonaSlot:
    return PersonaSlot(r["namespace"], r["slot"], r["value"], tuple(json.loads(r["evidence"])), r["updated"])


FACT_COLUMNS = (
    "seq, id, namespace, subject, relation, object, text, valid_from, valid_to, confidence, sources, superseded_by, "
    "created, expired"
)
"""The columns :func:`fact_from_row` reads (a fact's vector, 1.5 KB, is left in the table)."""

_EPISODE_COLS = (
    "seq, id, namespace, text, speaker, channel, ts, session, metadata, valence, importance, flags, event_id"
)


class SQLiteWriter:
    """:class:`memory.store.base.MemoryWriter` on the store's connection inside ``BEGIN IMMEDIATE``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def _lexical(self, namespace: str, record_id: str, kind: str, text: str) -> None:
        self.conn.execute(
            "INSERT INTO fts(text, id, namespace, kind) VALUES(?,?,?,?)", (text, record_id, namespace, kind)
        )

    # -- records ------------------------------------------------------------------------------------------------
    def add_episodes(
        self, namespace: str, episodes: Sequence[NewEpisode], vectors: Sequence[Vector], created: float
    ) -> None:
        prev = self.conn.execute(
            "SELECT id FROM episodes WHERE namespace=? ORDER BY seq DESC LIMIT 1", (namespace,)
        ).fetchone()
        prev_id = prev[0] if prev else None
        for r, vector in zip(episodes, vectors, strict=True):
            self.conn.execute(
                "INSERT INTO episodes(id, namespace, text, speaker, channel, ts, session, metadata, valence,"
                " importance, flags, vector, created) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r.id,
                    namespace,
                    r.text,
                    r.speaker,
                    r.channel,
                    r.ts,
                    r.session,
                    r.metadata,
                    r.valence,
                    r.importance,
                    r.flags,
                    to_blob(vector),
                    created,
                ),
            )
            self._lexical(namespace, r.id, "episode", embed_text(r.text, r.speaker))
            if prev_id is not None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO edges VALUES(?,?,?,'next',1.0)", (namespace, prev_id, r.id)
                )
            prev_id = r.id

    def add_fact(self, fact: Fact, vector: Vector) -> None:
        self.conn.execute(
            "INSERT INTO facts(id, namespace, subject, relation, object, text, valid_from, valid_to, "
            "confidence, sources, superseded_by, vector, created, expired) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                fact.id,
                fact.namespace,
                fact.subject,
                fact.relation,
                fact.object,
                fact.text,
                fact.valid_from,
                fact.valid_to,
                fact.confidence,
                json.dumps(list(fact.sources)),
                fact.superseded_by,
                to_blob(vector),
                fact.recorded,
                fact.expired,
            ),
        )
        self._lexical(fact.namespace, fact.id, "fact", fact.text)

    def current_facts(self, namespace: str, subject: str, relation: str) -> list[Fact]:
        rows = self._q(
            f"SELECT {FACT_COLUMNS} FROM facts WHERE namespace=? AND lower(subject)=lower(?) AND relation=? "
            "AND valid_to IS NULL ORDER BY seq",
            (namespace, subject, relation),
        )
        return [fact_from_row(r) for r in rows]

    def close_fact(self, fact_id: str, valid_to: float, by: str | None, expired: float) -> None:
        self.conn.execute(
            "UPDATE facts SET valid_to=?, superseded_by=?, expired=? WHERE id=? AND valid_to IS NULL",
            (valid_to, by, expired, fact_id),
        )

    def fact_sources(self, namespace: str) -> list[tuple[str, list[str]]]:
        rows = self._q("SELECT id, sources FROM facts WHERE namespace=?", (namespace,))
        return [(r["id"], json.loads(r["sources"])) for r in rows]

    def set_fact_sources(self, fact_id: str, sources: Sequence[str]) -> None:
        self.conn.execute("UPDATE facts SET sources=? WHERE id=?", (json.dumps(list(sources)), fact_id))

    def scenes_with_vectors(self, namespace: str) -> list[tuple[str, int, Vector]]:
        rows = self._q(
            "SELECT id, json_array_length(members), vector FROM scenes WHERE namespace=? ORDER BY seq",
            (namespace,),
        )
        return [(r[0], r[1], from_blob(r[2])) for r in rows]

    def scene_members(self, namespace: str, ids: Sequence[str] | None = None) -> list[tuple[str, list[str]]]:
        if ids is None:
            rows = self._q("SELECT id, members FROM scenes WHERE namespace=? ORDER BY seq", (namespace,))
        else:
            rows = self._q(
                "SELECT id, members FROM scenes WHERE namespace=? AND id IN (SELECT value FROM json_each(?)) "
                "ORDER BY seq",
                (namespace, json.dumps(list(ids))),
            )
        return [(r["id"], json.loads(r["members"])) for r in rows]

    def upsert_scenes(
        self, namespace: str, scenes: Sequence[tuple[str, str, Sequence[str], Vector]], created: float
    ) -> None:
        ids = [sc[0] for sc in scenes]
        existing = self._q(
            "SELECT id FROM scenes WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
        )
        if existing:  # one scan of the lexical index (``id`` is not indexed there); new scenes have no entry
            self.conn.execute(
                "DELETE FROM fts WHERE kind='scene' AND id IN (SELECT value FROM json_each(?))",
                (json.dumps([r[0] for r in existing]),),
            )
        for scene_id, summary, members, vector in scenes:
            self.conn.execute(
                "INSERT INTO scenes(id, namespace, summary, members, vector, created) VALUES(?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET summary=excluded.summary, members=excluded.members, "
                "vector=excluded.vector",
                (scene_id, namespace, summary, json.dumps(list(members)), to_blob(vector), created),
            )
            self._lexical(namespace, scene_id, "scene", summary)

    def rebuild_scene(
        self, namespace: str, scene_id: str, summary: str, members: Sequence[str], vector: Vector | None
    ) -> None:
        self.conn.execute(
            "UPDATE scenes SET members=?, summary=?, calibration='', vector=? WHERE id=?",
            (json.dumps(list(members)), summary, None if vector is None else to_blob(vector), scene_id),
        )
        self.conn.execute("DELETE FROM fts WHERE id=?", (scene_id,))
        self._lexical(namespace, scene_id, "scene", summary)

    def set_calibration(self, scene_id: str, text: str) -> None:
        self.conn.execute("UPDATE scenes SET calibration=? WHERE id=?", (text, scene_id))

    def episode_texts(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        rows = self._q(
            "SELECT id, text FROM episodes WHERE namespace=? AND id IN (SELECT value FROM json_each(?))",
            (namespace, json.dumps(list(ids))),
        )
        return {r[0]: r[1] for r in rows}

    def episode_vectors(self, namespace: str, ids: Sequence[str]) -> list[tuple[str, str, Vector | None]]:
        rows = self._q(
            "SELECT id, text, vector FROM episodes WHERE namespace=? AND id IN (SELECT value FROM json_each(?)) "
            "ORDER BY seq",
            (namespace, json.dumps(list(ids))),
        )
        return [(r["id"], r["text"], None if r["vector"] is None else from_blob(r["vector"])) for r in rows]

    def set_vector(self, kind: RecordKind, record_id: str, vector: Vector) -> None:
        self.conn.execute(f"UPDATE {TABLES[kind]} SET vector=? WHERE id=?", (to_blob(vector), record_id))

    def import_record(self, table: Table, namespace: str, values: Mapping[str, Any], vector: Vector) -> None:
        cols = EXPORT_COLUMNS[table]
        self.conn.execute(
            f"INSERT INTO {table}(namespace, {', '.join(cols)}, vector) VALUES(?{', ?' * len(cols)}, ?)",
            [namespace, *(values[c] for c in cols), to_blob(vector)],
        )
        kind = {"episodes": "episode", "facts": "fact", "scenes": "scene"}[table]
        if table == "scenes":
            text = values["summary"]
        elif table == "episodes":
            text = embed_text(values["text"], values["speaker"])
        else:
            text = values["text"]
        self._lexical(namespace, values["id"], kind, text)

    # -- consolidation state ------------------------------------------------------------------------------------
    def set_event(self, episode_id: str, event_id: str, state: int) -> None:
        self.conn.execute(
            "UPDATE episodes SET event_id=?, consolidated=? WHERE id=?", (event_id, state, episode_id)
        )

    def mark_extracted(self, episode_ids: Sequence[str]) -> None:
        self.conn.executemany(
            "UPDATE episodes SET consolidated=1 WHERE id=? AND consolidated=2", [(i,) for i in episode_ids]
        )

    def finish_extraction(self, namespace: str) -> None:
        self.conn.execute(
            "UPDATE episodes SET consolidated=1 WHERE namespace=? AND consolidated=2", (namespace,)
        )

    # -- graph --------------------------------------------------------------------------------------------------
    def add_mentions(self, namespace: str, mentions: Sequence[tuple[str, str]]) -> int:
        names = list(dict.fromkeys(name for _, name in mentions))
        ids: dict[str, str] = {}
        for chunk in _chunks(names):
            sql = f"SELECT name, id FROM entities WHERE namespace=? AND name IN ({_marks(len(chunk))})"
            ids.update((r[0], r[1]) for r in self.conn.execute(sql, [namespace, *chunk]))
        new = [name for name in names if name not in ids]
        ids.update((name, entity_id(namespace, name)) for name in new)
        self.conn.executemany("INSERT INTO entities VALUES(?,?,?,0)", [(ids[n], namespace, n) for n in new])
        counts = Counter(name for _, name in mentions)
        self.conn.executemany(
            "UPDATE entities SET mentions = mentions + ? WHERE id=?", [(c, ids[n]) for n, c in counts.items()]
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO edges VALUES(?,?,?,'mentions',1.0)",
            [(namespace, episode, ids[name]) for episode, name in mentions],
        )
        return len(new)

    def put_entity(self, entity_id: str, namespace: str, name: str, mentions: int) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO entities VALUES(?,?,?,?)", (entity_id, namespace, name, mentions)
        )

    def add_edges(self, namespace: str, edges: Iterable[Edge]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO edges VALUES(?,?,?,?,?)",
            [(namespace, s, d, k, w) for s, d, k, w in edges],
        )

    def prune_entities(self, namespace: str) -> None:
        self.conn.execute(
            "DELETE FROM entities WHERE namespace=? AND id NOT IN "
            "(SELECT dst FROM edges WHERE namespace=? AND kind='mentions')",
            (namespace, namespace),
        )
        gone = "(SELECT id FROM entities WHERE namespace=?)"
        self.conn.execute(
            f"DELETE FROM edges WHERE namespace=? AND kind='synonym' AND (src NOT IN {gone} OR dst NOT IN {gone})",
            (namespace, namespace, namespace),
        )
        self.conn.execute(
            f"DELETE FROM phrase_vectors WHERE namespace=? AND id NOT IN {gone}", (namespace, namespace)
        )

    def put_phrase_vectors(self, namespace: str, items: Iterable[tuple[str, Vector]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO phrase_vectors VALUES(?,?,?)",
            [(namespace, i, to_blob(v)) for i, v in items],
        )

    # -- persona ------------------------------------------------------------------------------------------------
    def set_persona(
        self, namespace: str, slot: str, value: str, evidence: Sequence[str], updated: float
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO persona VALUES(?,?,?,?,?)",
            (namespace, slot, value, json.dumps(list(evidence)), updated),
        )

    def persona_evidence(self, namespace: str) -> list[tuple[str, list[str]]]:
        rows = self._q("SELECT slot, evidence FROM persona WHERE namespace=?", (namespace,))
        return [(r["slot"], json.loads(r["evidence"])) for r in rows]

    def set_persona_evidence(self, namespace: str, slot: str, evidence: Sequence[str]) -> None:
        self.conn.execute(
            "UPDATE persona SET evidence=? WHERE namespace=? AND slot=?",
            (json.dumps(list(evidence)), namespace, slot),
        )

    def delete_persona(self, namespace: str, slot: str) -> None:
        self.conn.execute("DELETE FROM persona WHERE namespace=? AND slot=?", (namespace, slot))

    # -- deletion -----------------------------------------------------------------------------------------------
    def delete_record(self, namespace: str, record_id: str) -> None:
        kind = kind_of(record_id)
        if kind is None:
            return
        self.conn.execute(f"DELETE FROM {TABLES[kind]} WHERE id=?", (record_id,))
        self.conn.execute("DELETE FROM fts WHERE id=?", (record_id,))
        self.conn.execute("DELETE FROM edges WHERE src=? OR dst=?", (record_id, record_id))
        self.enqueue(namespace, [(record_id, kind)], "delete")

    def delete_namespace(self, namespace: str) -> int:
        count = 0
        for kind, table in TABLES.items():
            rows = self._q(f"SELECT id FROM {table} WHERE namespace=?", (namespace,))
            self.enqueue(namespace, [(r[0], kind) for r in rows], "delete")
            self.conn.execute(f"DELETE FROM {table} WHERE namespace=?", (namespace,))
            count += len(rows)
        for other in ("fts", "edges", "entities", "phrase_vectors", "persona"):
            self.conn.execute(f"DELETE FROM {other} WHERE namespace=?", (namespace,))
        return count

    # -- outbox, audit, meta ------------------------------------------------------------------------------------
    def enqueue(self, namespace: str, items: Iterable[tuple[str, str]], op: str) -> None:
        self.conn.executemany(
            "INSERT INTO outbox(namespace, id, kind, op) VALUES(?,?,?,?)",
            [(namespace, rid, kind, op) for rid, kind in items],
        )

    def clear_outbox(self) -> None:
        self.conn.execute("DELETE FROM outbox")

    def audit(self, namespace: str, op: str, target: str, detail: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO audit(ts, namespace, op, target, detail) VALUES(?,?,?,?,?)",
            (time.time(), namespace, op, target, json.dumps(detail, sort_keys=True)),
        )

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))


class SQLiteStore:
    """The SQLite implementation of :class:`memory.store.base.MemoryStore`: one connection, one writer process
    (``Memory`` holds the directory lock and serialises calls)."""

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
            _migrate(self.conn)
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

    def describe(self) -> str:
        return str(self.path)

    # -- transactions -------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[SQLiteWriter]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error). Durable when it returns (WAL)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.path, "starting a write") from exc
        try:
            yield SQLiteWriter(self.conn)
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):  # SQLite may already have rolled back (disk full)
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise sqlite_error(exc, self.path, "writing to the memory") from exc
            raise

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.path, "reading the memory") from exc

    # -- metadata -----------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return None if not rows else str(rows[0][0])

    def bind_embedder(self, name: str, dim: int) -> str:
        with self.transaction() as tx:
            known = self.conn.execute("SELECT value FROM meta WHERE key='embedder'").fetchone()
            if known is None:
                tx.set_meta("embedder", name)
                tx.set_meta("dim", str(dim))
                return name
        return str(known[0])

    # -- outbox -------------------------------------------------------------------------------------------------
    def pending(self, limit: int = 100000) -> list[OutboxOp]:
        rows = self._q("SELECT seq, namespace, id, kind, op FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [OutboxOp(*r) for r in rows]

    def pending_count(self) -> int:
        return int(self._q("SELECT COUNT(*) FROM outbox")[0][0])

    def done(self, seqs: Sequence[int]) -> None:
        if seqs:
            with self.transaction():
                self.conn.executemany("DELETE FROM outbox WHERE seq=?", [(s,) for s in seqs])

    # -- records ------------------------------------------------------------------------------------------------
    def has_records(self, namespace: str | None = None) -> bool:
        if namespace is None:
            return bool(self._q("SELECT 1 FROM episodes UNION ALL SELECT 1 FROM facts LIMIT 1"))
        return any(
            self._q(f"SELECT 1 FROM {t} WHERE namespace=? LIMIT 1", (namespace,)) for t in TABLES.values()
        )

    def namespaces(self) -> list[str]:
        rows = self._q(
            "SELECT namespace FROM episodes UNION SELECT namespace FROM facts UNION SELECT namespace FROM scenes "
            "UNION SELECT namespace FROM persona"
        )
        return sorted(r[0] for r in rows)

    def record_ids(self, namespace: str) -> dict[str, RecordKind]:
        out: dict[str, RecordKind] = {}
        for kind, table in TABLES.items():
            for row in self._q(f"SELECT id FROM {table} WHERE namespace=? ORDER BY seq", (namespace,)):
                out[row[0]] = kind
        return out

    def owners(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for kind, table in TABLES.items():
            mine = [i for i in ids if kind_of(i) == kind]
            for chunk in _chunks(mine):
                for r in self._q(
                    f"SELECT id, namespace FROM {table} WHERE id IN ({_marks(len(chunk))})", chunk
                ):
                    out[r[0]] = r[1]
        return out

    def vectors_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, Vector]:
        table = TABLES[kind]
        out: dict[str, Vector] = {}
        for chunk in _chunks(ids):
            for row in self._q(f"SELECT id, vector FROM {table} WHERE id IN ({_marks(len(chunk))})", chunk):
                if row["vector"] is not None:
                    out[row["id"]] = from_blob(row["vector"])
        return out

    def index_sources(self, kind: RecordKind, ids: Sequence[str]) -> list[IndexSource]:
        table = TABLES[kind]
        text = {"episodes": "text", "facts": "text", "scenes": "summary"}[table]
        extra = ", speaker" if table == "episodes" else ""
        out: list[IndexSource] = []
        for chunk in _chunks(ids, 512):
            rows = self._q(
                f"SELECT id, {text} AS text, vector{extra} FROM {table} WHERE id IN ({_marks(len(chunk))})",
                chunk,
            )
            for r in rows:
                shown = embed_text(r["text"], r["speaker"]) if table == "episodes" else str(r["text"])
                out.append(
                    IndexSource(r["id"], shown, None if r["vector"] is None else from_blob(r["vector"]))
                )
        return out

    def get(self, record_id: str) -> Episode | Fact | Scene | None:
        kind = kind_of(record_id)
        if kind == "episode":
            return self.episodes_by_id([record_id]).get(record_id)
        if kind == "fact":
            return self.facts_by_id([record_id]).get(record_id)
        if kind == "scene":
            return self.scenes_by_id([record_id]).get(record_id)
        return None

    def episodes(
        self, namespace: str, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Episode]:
        sql = f"SELECT {_EPISODE_COLS} FROM episodes WHERE namespace=? ORDER BY seq" + (
            " DESC" if newest_first else ""
        )
        rows = self._q(sql + (f" LIMIT {int(limit)}" if limit else ""), (namespace,))
        return [episode_from_row(r) for r in rows]

    def episodes_by_id(self, ids: Sequence[str]) -> dict[str, Episode]:
        rows: list[sqlite3.Row] = []
        for chunk in _chunks(ids):
            rows += self._q(f"SELECT {_EPISODE_COLS} FROM episodes WHERE id IN ({_marks(len(chunk))})", chunk)
        rows.sort(key=lambda r: r["seq"])
        return {r["id"]: episode_from_row(r) for r in rows}

    def pending_episodes(self, namespace: str) -> list[PendingEpisode]:
        rows = self._q(
            f"SELECT {_EPISODE_COLS}, vector FROM episodes WHERE namespace=? AND consolidated=0 ORDER BY seq",
            (namespace,),
        )
        return [PendingEpisode(r["seq"], episode_from_row(r), from_blob(r["vector"])) for r in rows]

    def episode_ids(self, namespace: str, *, state: int) -> list[str]:
        rows = self._q(
            "SELECT id FROM episodes WHERE namespace=? AND consolidated=? ORDER BY seq", (namespace, state)
        )
        return [r[0] for r in rows]

    def speakers(self, namespace: str) -> set[str]:
        rows = self._q(
            "SELECT DISTINCT speaker FROM episodes WHERE namespace=? AND speaker IS NOT NULL", (namespace,)
        )
        return {str(r[0]) for r in rows}

    def facts(
        self,
        namespace: str,
        *,
        current_only: bool = False,
        limit: int | None = None,
        newest_first: bool = False,
        started_by: float | None = None,
        recorded_by: float | None = None,
    ) -> list[Fact]:
        sql = f"SELECT {FACT_COLUMNS} FROM facts WHERE namespace=?" + (
            " AND valid_to IS NULL" if current_only else ""
        )
        args: list[Any] = [namespace]
        if started_by is not None:
            sql += " AND valid_from <= ?"
            args.append(started_by)
        if recorded_by is not None:
            sql += " AND created <= ?"
            args.append(recorded_by)
        sql += " ORDER BY seq" + (" DESC" if newest_first else "") + (f" LIMIT {int(limit)}" if limit else "")
        return [fact_from_row(r) for r in self._q(sql, args)]

    def facts_by_id(self, ids: Sequence[str]) -> dict[str, Fact]:
        rows: list[sqlite3.Row] = []
        for chunk in _chunks(ids):
            rows += self._q(f"SELECT {FACT_COLUMNS} FROM facts WHERE id IN ({_marks(len(chunk))})", chunk)
        rows.sort(key=lambda r: r["seq"])
        return {r["id"]: fact_from_row(r) for r in rows}

    def scenes(self, namespace: str, *, limit: int | None = None, newest_first: bool = False) -> list[Scene]:
        sql = "SELECT * FROM scenes WHERE namespace=? ORDER BY seq" + (" DESC" if newest_first else "")
        return [
            scene_from_row(r) for r in self._q(sql + (f" LIMIT {int(limit)}" if limit else ""), (namespace,))
        ]

    def scenes_by_id(self, ids: Sequence[str]) -> dict[str, Scene]:
        rows: list[sqlite3.Row] = []
        for chunk in _chunks(ids):
            rows += self._q(f"SELECT * FROM scenes WHERE id IN ({_marks(len(chunk))})", chunk)
        rows.sort(key=lambda r: r["seq"])
        return {r["id"]: scene_from_row(r) for r in rows}

    def persona(self, namespace: str) -> list[PersonaSlot]:
        rows = self._q("SELECT * FROM persona WHERE namespace=? ORDER BY slot", (namespace,))
        return [persona_from_row(r) for r in rows]

    def stats(self, namespace: str | None = None) -> dict[str, int]:
        where, params = ("WHERE namespace=?", (namespace,)) if namespace else ("", ())
        out: dict[str, int] = {}
        for table in ("episodes", "facts", "scenes", "entities", "persona", "edges"):
            out[table] = int(self._q(f"SELECT COUNT(*) FROM {table} {where}", params)[0][0])
        also = where or "WHERE 1"
        out["current_facts"] = int(
            self._q(f"SELECT COUNT(*) FROM facts {also} AND valid_to IS NULL", params)[0][0]
        )
        out["unconsolidated"] = int(
            self._q(f"SELECT COUNT(*) FROM episodes {also} AND consolidated=0", params)[0][0]
        )
        out["facts_pending"] = int(
            self._q(f"SELECT COUNT(*) FROM episodes {also} AND consolidated=2", params)[0][0]
        )
        out["flagged"] = int(self._q(f"SELECT COUNT(*) FROM episodes {also} AND flags != ''", params)[0][0])
        out["pending_index_ops"] = self.pending_count()
        return out

    def audit_log(self, namespace: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where, params = ("WHERE namespace=?", [namespace]) if namespace else ("", [])
        rows = self._q(f"SELECT * FROM audit {where} ORDER BY seq DESC LIMIT ?", [*params, limit])
        return [
            {
                "ts": r["ts"],
                "namespace": r["namespace"],
                "op": r["op"],
                "target": r["target"],
                "detail": json.loads(r["detail"]),
            }
            for r in rows
        ]

    # -- lexical ------------------------------------------------------------------------------------------------
    def fts_size(self) -> int:
        """The largest lexical-index rowid (entries are appended, so this grows with the index)."""
        row = self.conn.execute("SELECT max(rowid) FROM fts").fetchone()
        return int(row[0] or 0)

    def fts_df(self, term: str, size: int | None = None) -> int:
        """Lexical-index entries (all namespaces) containing ``term`` (a bare word; stemmed like the index).

        Cached per term; an entry is recounted once the index has grown by 10% since it was counted. A term no
        entry holds is not cached (it is counted again next time).
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
        if n:  # an absent term is not cached: the next write may add it (and a 0 drops it from the search)
            self._df_cache[term] = (n, size)
        return n

    def lexical_search(
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
            ranked = self.conn.execute(
                f"SELECT rowid, bm25(fts) AS s FROM fts WHERE fts MATCH ?{window} ORDER BY s LIMIT ?",
                (*args, head),
            ).fetchall()
            out: list[tuple[str, str, float]] = []
            if ranked:
                meta = {
                    r[0]: r
                    for r in self.conn.execute(
                        f"SELECT rowid, id, kind, namespace FROM fts WHERE rowid IN ({_marks(len(ranked))})",
                        [r[0] for r in ranked],
                    ).fetchall()
                }
                for r in ranked:
                    m = meta.get(r[0])
                    if m is not None and m["namespace"] == namespace:
                        out.append((m["id"], m["kind"], -float(r[1])))
            if len(out) >= limit or len(ranked) < head:
                return out[:limit]
            # other namespaces crowd the head: rank within the namespace
            rows = self.conn.execute(
                f"SELECT id, kind, bm25(fts) AS s FROM fts WHERE fts MATCH ?{window} AND namespace = ? "
                "ORDER BY s LIMIT ?",
                (*args, namespace, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(r["id"], r["kind"], -float(r["s"])) for r in rows]

    # -- graph --------------------------------------------------------------------------------------------------
    def entities_named(self, namespace: str, names: Iterable[str]) -> dict[str, int]:
        names = list(names)
        if not names:
            return {}
        rows = self._q(
            f"SELECT id, mentions FROM entities WHERE namespace=? AND name IN ({_marks(len(names))})",
            [namespace, *names],
        )
        return {r["id"]: int(r["mentions"]) for r in rows}

    def edges_of(self, ids: Sequence[str], kinds: Sequence[str] | None = None) -> list[Edge]:
        out: list[Edge] = []
        kind_sql = f" AND kind IN ({_marks(len(kinds))})" if kinds else ""
        extra = list(kinds) if kinds else []
        for chunk in _chunks(ids, 400):
            marks = _marks(len(chunk))
            for sql in (
                f"SELECT src, dst, kind, weight FROM edges WHERE src IN ({marks}){kind_sql}",
                f"SELECT src, dst, kind, weight FROM edges WHERE dst IN ({marks}){kind_sql}",
            ):
                out.extend((r[0], r[1], r[2], float(r[3])) for r in self._q(sql, chunk + extra))
        return out

    def entity_mentions(self, ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), 400):
            rows = self._q(f"SELECT id, mentions FROM entities WHERE id IN ({_marks(len(chunk))})", chunk)
            out.update((r[0], int(r[1])) for r in rows)
        return out

    def phrase_vectors(self, namespace: str) -> tuple[list[str], Vector]:
        rows = self._q("SELECT id, vector FROM phrase_vectors WHERE namespace=? ORDER BY id", (namespace,))
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], from_blobs([r[1] for r in rows])

    def degree(self, ids: Sequence[str], *, cap: int | None = None) -> dict[str, int]:
        """Number of edges pointing at each id (entity hubs have many).

        With ``cap``, counts stop at ``cap``: an entity whose ``mentions`` (an upper bound on its in-edges) exceed
        ``cap`` is counted with a bounded scan, so a hub costs ``cap`` index steps, not its degree.
        """
        ids = list(dict.fromkeys(ids))
        out: dict[str, int] = {}
        if cap is not None:
            big: list[str] = []
            for chunk in _chunks(ids, 400):
                big += [
                    r[0]
                    for r in self._q(
                        f"SELECT id FROM entities WHERE id IN ({_marks(len(chunk))}) AND mentions > ?",
                        [*chunk, cap],
                    )
                ]
            for hub in big:
                row = self._q("SELECT count(*) FROM (SELECT 1 FROM edges WHERE dst=? LIMIT ?)", (hub, cap))
                out[hub] = int(row[0][0])
            small = set(big)
            ids = [i for i in ids if i not in small]
        for chunk in _chunks(ids, 400):
            for r in self._q(
                f"SELECT dst, COUNT(*) FROM edges WHERE dst IN ({_marks(len(chunk))}) GROUP BY dst", chunk
            ):
                out[r[0]] = int(r[1]) if cap is None else min(cap, int(r[1]))
        return out

    def edges_around(self, node: str, limit: int) -> list[Edge]:
        out: list[Edge] = []
        for sql in (
            "SELECT src, dst, kind, weight FROM edges WHERE src=? LIMIT ?",
            "SELECT src, dst, kind, weight FROM edges WHERE dst=? LIMIT ?",
        ):
            out.extend((r[0], r[1], r[2], float(r[3])) for r in self._q(sql, (node, limit)))
        return out

    # -- export -------------------------------------------------------------------------------------------------
    def export_rows(self, table: Table, namespace: str) -> list[dict[str, Any]]:
        cols = ", ".join(EXPORT_COLUMNS[table])
        rows = self._q(f"SELECT {cols}, vector FROM {table} WHERE namespace=? ORDER BY seq", (namespace,))
        return [dict(r) for r in rows]

    def entities(self, namespace: str) -> list[dict[str, Any]]:
        rows = self._q("SELECT id, name, mentions FROM entities WHERE namespace=? ORDER BY id", (namespace,))
        return [dict(r) for r in rows]

    def entity_owners(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            for r in self._q(f"SELECT id, namespace FROM entities WHERE id IN ({_marks(len(chunk))})", chunk):
                out[r[0]] = r[1]
        return out

    def edges(self, namespace: str) -> list[Edge]:
        rows = self._q(
            "SELECT src, dst, kind, weight FROM edges WHERE namespace=? ORDER BY src, dst, kind", (namespace,)
        )
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]

    # -- erasure and health -------------------------------------------------------------------------------------
    def erase_on_delete(self) -> None:
        self.conn.execute("PRAGMA secure_delete=ON")  # per connection: zero freed bytes from now on

    def erase(self) -> None:
        self.conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def check(self) -> str:
        return integrity(self.path)

    def exclusive(self, name: str) -> contextlib.AbstractContextManager[None]:
        """``flock`` on a file in ``<data dir>/locks/`` (the processes sharing this file are on one host)."""
        return file_lock(self.path.parent / "locks", name)

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


def integrity(path: Path) -> str:
    """``"ok"`` or what ``PRAGMA integrity_check`` (or opening) reports for the SQLite file ``path``."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows[:5])
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()


def record_counts(path: Path) -> dict[str, int]:
    """Episodes, facts and scenes in the memory database ``path``, read without writing (the memory may be open).

    Raises:
        MemoryBackendError: not a cogarch memory database.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES.values()}
    except sqlite3.Error as exc:
        raise MemoryBackendError(f"not a cogarch memory database: {exc}") from exc
    finally:
        conn.close()


def vacuum_file(path: Path, keep: Callable[[set[str]], None] | None = None) -> bool:
    """VACUUM the SQLite file ``path`` and truncate its WAL (used on embedded Chroma's file after a namespace is
    dropped: Chroma deletes without ``secure_delete``). ``keep`` first receives the ids of its ``segments`` table.
    Returns False when the file is busy or absent."""
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(str(path), timeout=5.0)
        try:
            if keep is not None:
                keep({str(r[0]) for r in conn.execute("SELECT id FROM segments")})
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


__all__ = [
    "FACT_COLUMNS",
    "SCHEMA_VERSION",
    "SQLiteStore",
    "SQLiteWriter",
    "episode_from_row",
    "fact_from_row",
    "integrity",
    "record_counts",
    "scene_from_row",
    "sqlite_error",
    "vacuum_file",
]
