"""PostgreSQL system of record: the tables of :mod:`memory.store.sqlite` on a shared server (psycopg 3, a pool).

For memories that outgrow one machine: several processes (on several hosts) open the same database; the vectors
live in a Chroma server (``memory.chroma_url``). Select it with ``memory.store = "postgres"`` and
``memory.postgres_url``.

Schema: versioned migrations (:data:`MIGRATIONS`), recorded in ``schema_version`` and applied at open under a
transaction-scoped advisory lock, so processes starting together apply each migration once; a database newer than
this code is refused. Each store works in the connection's ``search_path`` schema (``public`` unless the URL sets
``options=-csearch_path=...``, or ``memory.postgres_schema`` is set), so one database can hold several memories.

Lexical search: a ``lexical`` table with a stored ``tsvector`` under a GIN index, in the text search
configuration ``cogarch_english``: Postgres' ``english`` with its Snowball stemmer but no stop-word list, like
SQLite's porter tokenizer (which keeps stop words, so entry lengths count them in both). Postgres has no BM25
(``ts_rank`` has no inverse document frequency, which matters for OR queries of keywords), so the score is Okapi
BM25 computed in SQL with FTS5's constants (k1 = 1.2, b = 0.75, idf floor 1e-6): term frequencies from the
tsvector (the number of a term's positions, read through ``ts_rank``: :func:`_tf_bounds`), document frequencies
read from ``lexical_df`` (lexeme -> number of entries holding it, over all namespaces as FTS5's), which every
write transaction keeps exact (:meth:`PostgresWriter.flush`: counting a common term's postings per query cost 90
ms of server CPU per recall at 600k entries), document lengths stored per entry, ``avgdl`` the mean over the
whole index (cached, recounted after 10 % growth). The work bound (``budget``) is SQLite's: rarest terms first,
else a recent window by insertion order; each posting is a table row read (about 8 microseconds of server CPU),
so ``memory.lexical_budget`` defaults to 1000 postings here, 5000 on SQLite. ``schema``
(``memory.postgres_schema``) keeps the tables in a schema of their own.

Graph walks are SQL on ``edges`` (indexed by ``src`` through its key and by ``dst``).

Outages: a call on a connection the server dropped fails (:class:`MemoryBackendError`, 503 in the server) and the
pool discards that connection; calls after the server is back get fresh ones (no restart). Connections are not
tested before each use: that costs a round trip per statement (0.3 ms of 0.6 on loopback).

Concurrency: each method takes a pooled connection; writes run in one transaction (READ COMMITTED). Appending
episodes takes a transaction-scoped advisory lock on the namespace, so the ``next`` chain stays a chain when two
processes write the same namespace.

Erasure (``forget``): rows are deleted in the forget's transaction, then :meth:`PostgresStore.erase` runs
``VACUUM`` on the memory's tables so their space is marked free; Postgres does not zero it. What stays, and for
how long, is in docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
from memory.store.sqlite import (
    FACT_COLUMNS,
    episode_from_row,
    fact_from_row,
    persona_from_row,
    scene_from_row,
)
from reasoning.errors import (
    CogarchError,
    ConfigError,
    CorruptStoreError,
    InvalidInputError,
    MemoryBackendError,
)

try:  # the ``postgres`` extra
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - reported when a PostgresStore is built
    psycopg = None  # type: ignore[assignment]

_TS_CONFIG = "cogarch_english"
_K1, _B = 1.2, 0.75


def _tf_bounds(most: int = 256) -> list[float]:
    """Bucket bounds that turn ``ts_rank('{1,1,1,1}', tsv, 'lexeme')`` back into the lexeme's term frequency.

    With every weight 1, Postgres ranks a one-lexeme query (``calc_rank_or``) as ``sum(1 / j**2 for j <=
    tf) / (pi**2 / 6)``: strictly increasing in ``tf``, so ``width_bucket`` of it over the midpoints between
    consecutive values is ``tf`` (0 for an entry without the lexeme). A binary search in the tsvector per
    lexeme, where reading ``tf`` from the positions means unnesting every entry's whole tsvector (2.3x the
    time at 5000 postings). ``most``: a tsvector keeps at most 256 positions per lexeme."""
    ranks = list(itertools.accumulate((1 / j**2 for j in range(1, most + 1)), initial=0.0))
    return [(a + b) / 2 / (math.pi**2 / 6) for a, b in itertools.pairwise(ranks)]


_TF_BOUNDS = _tf_bounds()

MIGRATIONS: tuple[str, ...] = (
    # 1: the tables of SQLiteStore, with a tsvector lexical index
    """
    CREATE TEXT SEARCH DICTIONARY cogarch_stem (TEMPLATE = snowball, Language = english);
    CREATE TEXT SEARCH CONFIGURATION cogarch_english (COPY = english);
    ALTER TEXT SEARCH CONFIGURATION cogarch_english
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH cogarch_stem;
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE episodes(
        seq BIGSERIAL PRIMARY KEY,
        id TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL, text TEXT NOT NULL, speaker TEXT, channel TEXT,
        ts DOUBLE PRECISION NOT NULL, session TEXT, metadata TEXT NOT NULL, valence DOUBLE PRECISION NOT NULL,
        importance DOUBLE PRECISION NOT NULL, flags TEXT NOT NULL, event_id TEXT,
        consolidated BIGINT NOT NULL DEFAULT 0, vector BYTEA, created DOUBLE PRECISION NOT NULL);
    CREATE INDEX episodes_ns ON episodes(namespace, seq);
    CREATE INDEX episodes_pending ON episodes(namespace, consolidated);
    CREATE TABLE facts(
        seq BIGSERIAL PRIMARY KEY,
        id TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL, subject TEXT NOT NULL, relation TEXT NOT NULL,
        object TEXT NOT NULL, text TEXT NOT NULL, valid_from DOUBLE PRECISION NOT NULL, valid_to DOUBLE PRECISION,
        confidence DOUBLE PRECISION NOT NULL, sources TEXT NOT NULL, superseded_by TEXT, vector BYTEA,
        created DOUBLE PRECISION NOT NULL, expired DOUBLE PRECISION);
    CREATE INDEX facts_ns ON facts(namespace, subject, relation);
    CREATE TABLE scenes(
        seq BIGSERIAL PRIMARY KEY,
        id TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL, summary TEXT NOT NULL, members TEXT NOT NULL,
        calibration TEXT NOT NULL DEFAULT '', vector BYTEA, created DOUBLE PRECISION NOT NULL);
    CREATE INDEX scenes_ns ON scenes(namespace);
    CREATE TABLE entities(
        id TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, mentions BIGINT NOT NULL DEFAULT 0,
        UNIQUE(namespace, name));
    CREATE TABLE persona(
        namespace TEXT NOT NULL, slot TEXT NOT NULL, value TEXT NOT NULL, evidence TEXT NOT NULL,
        updated DOUBLE PRECISION NOT NULL, PRIMARY KEY(namespace, slot));
    CREATE TABLE edges(
        namespace TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL,
        weight DOUBLE PRECISION NOT NULL, PRIMARY KEY(src, dst, kind));
    CREATE INDEX edges_dst ON edges(dst);
    CREATE INDEX edges_ns ON edges(namespace);
    CREATE TABLE lexical(
        seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, namespace TEXT NOT NULL, kind TEXT NOT NULL,
        text TEXT NOT NULL, tsv TSVECTOR NOT NULL, dl INTEGER NOT NULL);
    CREATE INDEX lexical_tsv ON lexical USING GIN(tsv);
    CREATE INDEX lexical_id ON lexical(id);
    CREATE INDEX lexical_ns ON lexical(namespace);
    CREATE TABLE outbox(
        seq BIGSERIAL PRIMARY KEY, namespace TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
        op TEXT NOT NULL);
    CREATE TABLE audit(
        seq BIGSERIAL PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, namespace TEXT NOT NULL, op TEXT NOT NULL,
        target TEXT NOT NULL, detail TEXT NOT NULL);
    CREATE INDEX audit_ns ON audit(namespace, seq);
    """,
    # 2: phrase-node vectors (synonym edges of the memory graph)
    """
    CREATE TABLE phrase_vectors(
        namespace TEXT NOT NULL, id TEXT NOT NULL, vector BYTEA NOT NULL, PRIMARY KEY(namespace, id));
    """,
    # 3: document frequencies of the lexical index, kept by every write (counting them per query was most of a
    # recall's cost at 600k records); filled from the entries already there
    """
    CREATE TABLE lexical_df(lexeme TEXT PRIMARY KEY, n BIGINT NOT NULL);
    INSERT INTO lexical_df SELECT word, ndoc FROM ts_stat('SELECT tsv FROM lexical');
    """,
    # 4: current facts are looked up by subject in any case (every stored triple asks for its rivals): an index
    # on the lower-cased subject, not a scan of the namespace's facts
    """
    CREATE INDEX IF NOT EXISTS facts_subject ON facts(namespace, lower(subject), relation);
    """,
)
"""The schema, one entry per version (version ``i + 1`` is ``MIGRATIONS[i]``). Append, never edit."""

_CONTENT_TABLES = (
    "episodes",
    "facts",
    "scenes",
    "entities",
    "persona",
    "edges",
    "lexical",
    "lexical_df",
    "phrase_vectors",
)


def redact_url(url: str) -> str:
    """``url`` without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def postgres_error(exc: BaseException, where: str, doing: str) -> CogarchError:
    """The typed error for a failed Postgres call on ``where`` while ``doing`` something.

    The server unreachable (or the pool exhausted): a :class:`MemoryBackendError` whose hint says to check the
    server (nothing of the failed transaction was kept); a full disk: the hint to free space; NUL characters in
    text (Postgres text cannot hold them): :class:`InvalidInputError`.
    """
    text = str(exc).strip()
    sqlstate = getattr(exc, "sqlstate", None) or ""
    unreachable = not sqlstate or sqlstate.startswith(
        ("08", "57P")
    )  # connection failure, server shutting down
    if isinstance(exc, PoolTimeout) or (isinstance(exc, psycopg.OperationalError) and unreachable):
        return MemoryBackendError(
            f"{doing} failed: the Postgres server at {where} cannot be reached ({text})",
            hint="check that it is running and memory.postgres_url is right; nothing of the failed write was kept",
        )
    if sqlstate.startswith("53"):  # insufficient resources: disk full, out of memory, too many connections
        return MemoryBackendError(
            f"{doing} failed: the Postgres server at {where} is out of resources ({text})",
            hint="free disk space on the server (or raise its limits) and retry; nothing of the failed write was kept",
        )
    if sqlstate == "22021" or "NUL" in text:  # character_not_in_repertoire / text with \x00
        return InvalidInputError(f"{doing} failed: text holds a NUL character, which Postgres cannot store")
    if sqlstate.startswith("XX"):
        return CorruptStoreError(
            f"the Postgres database at {where} reports damage ({text})",
            hint="run `cogarch doctor`; restore from a backup or an export",
        )
    return MemoryBackendError(f"{doing} failed on {where}: {text}")


def migrate(conn: Any, migrations: Sequence[str], *, schema: str | None, table: str, where: str) -> None:
    """Bring the schema on ``conn`` to ``len(migrations)``: versions recorded in ``table``, each applied once, in
    one transaction under an advisory lock (processes starting together wait, then find them applied). ``schema``:
    created if missing (the connection's ``search_path`` must already name it).

    Raises:
        ConfigError: the database has a newer version than ``migrations`` knows.
    """
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('cogarch-migrate:' || %s || coalesce(%s, current_schema())))",
            (table, schema),
        )
        if schema:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}(version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)"
            ).format(sql.Identifier(table))
        )
        row: Any = conn.execute(
            sql.SQL("SELECT coalesce(max(version), 0) AS v FROM {}").format(sql.Identifier(table))
        ).fetchone()
        current = int(row["v"] if isinstance(row, Mapping) else row[0])
        if current > len(migrations):
            raise ConfigError(
                f"the database at {where} has {table.replace('_', ' ')} {current}; this cogarch knows {len(migrations)}",
                hint="upgrade cogarch on this host",
            )
        for version in range(current + 1, len(migrations) + 1):
            conn.execute(migrations[version - 1])
            conn.execute(
                sql.SQL("INSERT INTO {} VALUES(%s, %s)").format(sql.Identifier(table)), (version, time.time())
            )


def _in(ids: Sequence[str]) -> list[str]:
    return list(ids)


class PostgresWriter:
    """:class:`memory.store.base.MemoryWriter` on one connection inside a transaction."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._df: Counter[str] = Counter()  # lexical_df's change by this transaction, applied by flush()

    def _q(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        return list(self.conn.execute(sql, params).fetchall())

    def _x(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql, params)

    def _lexical(self, namespace: str, record_id: str, kind: str, text: str) -> None:
        self._add_lexical(namespace, kind, [record_id], [text])

    def _add_lexical(self, namespace: str, kind: str, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Index ``texts`` (one statement, entries in the given order) and count their terms for flush()."""
        self._count_df(
            "WITH d AS (INSERT INTO lexical(id, namespace, kind, text, tsv, dl) "
            "  SELECT x.id, %s, %s, x.text, v, "
            "         coalesce((SELECT sum(array_length(positions, 1)) FROM unnest(v)), 0) "
            "  FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS x(id, text, o), "
            f"      LATERAL to_tsvector('{_TS_CONFIG}', x.text) AS v ORDER BY x.o RETURNING tsv) ",
            (namespace, kind, list(ids), list(texts)),
            +1,
        )

    def _delete_lexical(self, where: str, params: Sequence[Any]) -> None:
        """Delete the lexical entries ``where`` selects and count their terms off for flush()."""
        self._count_df(f"WITH d AS (DELETE FROM lexical WHERE {where} RETURNING tsv) ", params, -1)

    def _count_df(self, cte: str, params: Sequence[Any], sign: int) -> None:
        rows = self._q(
            cte + "SELECT u.lexeme, count(*) AS n FROM d, unnest(tsvector_to_array(d.tsv)) AS u(lexeme) "
            "GROUP BY u.lexeme",
            params,
        )
        for r in rows:
            self._df[r["lexeme"]] += sign * int(r["n"])

    def flush(self) -> None:
        """Apply this transaction's document-frequency changes to ``lexical_df`` in one statement, in lexeme
        order (two transactions lock the rows they share in the same order: no deadlock), then drop the terms no
        entry holds any more (a forgotten text leaves none of its words). Run last, just before the commit, so
        the shared rows are held only that long."""
        change = sorted((x, n) for x, n in self._df.items() if n)
        self._df.clear()
        if not change:
            return
        self._x(
            "INSERT INTO lexical_df(lexeme, n) SELECT * FROM unnest(%s::text[], %s::bigint[]) ORDER BY 1 "
            "ON CONFLICT(lexeme) DO UPDATE SET n = lexical_df.n + excluded.n",
            ([x for x, _ in change], [n for _, n in change]),
        )
        gone = [x for x, n in change if n < 0]
        if gone:
            self._x("DELETE FROM lexical_df WHERE lexeme = ANY(%s) AND n <= 0", (gone,))

    # -- records ------------------------------------------------------------------------------------------------
    def add_episodes(
        self, namespace: str, episodes: Sequence[NewEpisode], vectors: Sequence[Vector], created: float
    ) -> None:
        self._x("SELECT pg_advisory_xact_lock(hashtext('cogarch-episodes:' || %s))", (namespace,))
        prev = self._q("SELECT id FROM episodes WHERE namespace=%s ORDER BY seq DESC LIMIT 1", (namespace,))
        chain = [prev[0]["id"]] if prev else []
        chain += [r.id for r in episodes]
        rows = [
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
            )
            for r, vector in zip(episodes, vectors, strict=True)
        ]
        with self.conn.cursor() as cur:  # executemany pipelines the statements: one round trip per batch
            cur.executemany(
                "INSERT INTO episodes(id, namespace, text, speaker, channel, ts, session, metadata, valence,"
                " importance, flags, vector, created) VALUES(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                rows,
            )
        self._add_lexical(
            namespace, "episode", [r.id for r in episodes], [embed_text(r.text, r.speaker) for r in episodes]
        )
        self.add_edges(namespace, [(a, b, "next", 1.0) for a, b in itertools.pairwise(chain)])

    def add_fact(self, fact: Fact, vector: Vector) -> None:
        self._x(
            "INSERT INTO facts(id, namespace, subject, relation, object, text, valid_from, valid_to, confidence, "
            "sources, superseded_by, vector, created, expired) VALUES(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
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
            f"SELECT {FACT_COLUMNS} FROM facts WHERE namespace=%s AND lower(subject)=lower(%s) AND relation=%s "
            "AND valid_to IS NULL ORDER BY seq",
            (namespace, subject, relation),
        )
        return [fact_from_row(r) for r in rows]

    def close_fact(self, fact_id: str, valid_to: float, by: str | None, expired: float) -> None:
        self._x(
            "UPDATE facts SET valid_to=%s, superseded_by=%s, expired=%s WHERE id=%s AND valid_to IS NULL",
            (valid_to, by, expired, fact_id),
        )

    def fact_sources(self, namespace: str) -> list[tuple[str, list[str]]]:
        rows = self._q("SELECT id, sources FROM facts WHERE namespace=%s ORDER BY seq", (namespace,))
        return [(r["id"], json.loads(r["sources"])) for r in rows]

    def set_fact_sources(self, fact_id: str, sources: Sequence[str]) -> None:
        self._x("UPDATE facts SET sources=%s WHERE id=%s", (json.dumps(list(sources)), fact_id))

    def scenes_with_vectors(self, namespace: str) -> list[tuple[str, int, Vector]]:
        rows = self._q(
            "SELECT id, json_array_length(members::json) AS size, vector FROM scenes WHERE namespace=%s "
            "ORDER BY seq",
            (namespace,),
        )
        return [(r["id"], r["size"], from_blob(r["vector"])) for r in rows]

    def scene_members(self, namespace: str, ids: Sequence[str] | None = None) -> list[tuple[str, list[str]]]:
        if ids is None:
            rows = self._q("SELECT id, members FROM scenes WHERE namespace=%s ORDER BY seq", (namespace,))
        else:
            rows = self._q(
                "SELECT id, members FROM scenes WHERE namespace=%s AND id = ANY(%s) ORDER BY seq",
                (namespace, _in(ids)),
            )
        return [(r["id"], json.loads(r["members"])) for r in rows]

    def upsert_scenes(
        self, namespace: str, scenes: Sequence[tuple[str, str, Sequence[str], Vector]], created: float
    ) -> None:
        ids = [sc[0] for sc in scenes]
        self._delete_lexical("kind='scene' AND id = ANY(%s)", (ids,))
        for scene_id, summary, members, vector in scenes:
            self._x(
                "INSERT INTO scenes(id, namespace, summary, members, vector, created) VALUES(%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT(id) DO UPDATE SET summary=excluded.summary, members=excluded.members, "
                "vector=excluded.vector",
                (scene_id, namespace, summary, json.dumps(list(members)), to_blob(vector), created),
            )
            self._lexical(namespace, scene_id, "scene", summary)

    def rebuild_scene(
        self, namespace: str, scene_id: str, summary: str, members: Sequence[str], vector: Vector | None
    ) -> None:
        self._x(
            "UPDATE scenes SET members=%s, summary=%s, calibration='', vector=%s WHERE id=%s",
            (json.dumps(list(members)), summary, None if vector is None else to_blob(vector), scene_id),
        )
        self._delete_lexical("id=%s", (scene_id,))
        self._lexical(namespace, scene_id, "scene", summary)

    def set_calibration(self, scene_id: str, text: str) -> None:
        self._x("UPDATE scenes SET calibration=%s WHERE id=%s", (text, scene_id))

    def episode_texts(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        rows = self._q(
            "SELECT id, text FROM episodes WHERE namespace=%s AND id = ANY(%s)", (namespace, _in(ids))
        )
        return {r["id"]: r["text"] for r in rows}

    def episode_vectors(self, namespace: str, ids: Sequence[str]) -> list[tuple[str, str, Vector | None]]:
        rows = self._q(
            "SELECT id, text, vector FROM episodes WHERE namespace=%s AND id = ANY(%s) ORDER BY seq",
            (namespace, _in(ids)),
        )
        return [(r["id"], r["text"], None if r["vector"] is None else from_blob(r["vector"])) for r in rows]

    def set_vector(self, kind: RecordKind, record_id: str, vector: Vector) -> None:
        self._x(f"UPDATE {TABLES[kind]} SET vector=%s WHERE id=%s", (to_blob(vector), record_id))

    def import_record(self, table: Table, namespace: str, values: Mapping[str, Any], vector: Vector) -> None:
        cols = EXPORT_COLUMNS[table]
        self._x(
            f"INSERT INTO {table}(namespace, {', '.join(cols)}, vector) VALUES(%s{', %s' * len(cols)}, %s)",
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
        self._x("UPDATE episodes SET event_id=%s, consolidated=%s WHERE id=%s", (event_id, state, episode_id))

    def mark_extracted(self, episode_ids: Sequence[str]) -> None:
        self._x(
            "UPDATE episodes SET consolidated=1 WHERE id = ANY(%s) AND consolidated=2", (_in(episode_ids),)
        )

    def finish_extraction(self, namespace: str) -> None:
        self._x("UPDATE episodes SET consolidated=1 WHERE namespace=%s AND consolidated=2", (namespace,))

    # -- graph --------------------------------------------------------------------------------------------------
    def add_mentions(self, namespace: str, mentions: Sequence[tuple[str, str]]) -> int:
        names = list(dict.fromkeys(name for _, name in mentions))
        if not names:
            return 0
        rows = self._q(
            "SELECT name, id FROM entities WHERE namespace=%s AND name = ANY(%s)", (namespace, names)
        )
        ids = {r["name"]: r["id"] for r in rows}
        new = [name for name in names if name not in ids]
        ids.update((name, entity_id(namespace, name)) for name in new)
        counts = Counter(name for _, name in mentions)
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO entities VALUES(%s,%s,%s,0)", [(ids[n], namespace, n) for n in new])
            cur.executemany(
                "UPDATE entities SET mentions = mentions + %s WHERE id=%s",
                [(c, ids[n]) for n, c in counts.items()],
            )
        self.add_edges(namespace, [(episode, ids[name], "mentions", 1.0) for episode, name in mentions])
        return len(new)

    def put_entity(self, entity_id: str, namespace: str, name: str, mentions: int) -> None:
        self._x(
            "INSERT INTO entities VALUES(%s,%s,%s,%s) ON CONFLICT(id) DO UPDATE SET namespace=excluded.namespace, "
            "name=excluded.name, mentions=excluded.mentions",
            (entity_id, namespace, name, mentions),
        )

    def add_edges(self, namespace: str, edges: Iterable[Edge]) -> None:
        rows = [(namespace, s, d, k, w) for s, d, k, w in edges]
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO edges VALUES(%s,%s,%s,%s,%s) ON CONFLICT(src, dst, kind) "
                    "DO UPDATE SET namespace=excluded.namespace, weight=excluded.weight",
                    rows,
                )

    def prune_entities(self, namespace: str) -> None:
        self._x(
            "DELETE FROM entities e WHERE e.namespace=%s AND NOT EXISTS "
            "(SELECT 1 FROM edges WHERE edges.dst = e.id AND edges.namespace=%s AND edges.kind='mentions')",
            (namespace, namespace),
        )
        gone = "(SELECT id FROM entities WHERE namespace=%s)"
        self._x(
            f"DELETE FROM edges WHERE namespace=%s AND kind='synonym' AND (src NOT IN {gone} OR dst NOT IN {gone})",
            (namespace, namespace, namespace),
        )
        self._x(f"DELETE FROM phrase_vectors WHERE namespace=%s AND id NOT IN {gone}", (namespace, namespace))

    def put_phrase_vectors(self, namespace: str, items: Iterable[tuple[str, Vector]]) -> None:
        rows = [(namespace, i, to_blob(v)) for i, v in items]
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO phrase_vectors VALUES(%s,%s,%s) ON CONFLICT(namespace, id) "
                    "DO UPDATE SET vector=excluded.vector",
                    rows,
                )

    # -- persona ------------------------------------------------------------------------------------------------
    def set_persona(
        self, namespace: str, slot: str, value: str, evidence: Sequence[str], updated: float
    ) -> None:
        self._x(
            "INSERT INTO persona VALUES(%s,%s,%s,%s,%s) ON CONFLICT(namespace, slot) DO UPDATE SET "
            "value=excluded.value, evidence=excluded.evidence, updated=excluded.updated",
            (namespace, slot, value, json.dumps(list(evidence)), updated),
        )

    def persona_evidence(self, namespace: str) -> list[tuple[str, list[str]]]:
        rows = self._q("SELECT slot, evidence FROM persona WHERE namespace=%s ORDER BY slot", (namespace,))
        return [(r["slot"], json.loads(r["evidence"])) for r in rows]

    def set_persona_evidence(self, namespace: str, slot: str, evidence: Sequence[str]) -> None:
        self._x(
            "UPDATE persona SET evidence=%s WHERE namespace=%s AND slot=%s",
            (json.dumps(list(evidence)), namespace, slot),
        )

    def delete_persona(self, namespace: str, slot: str) -> None:
        self._x("DELETE FROM persona WHERE namespace=%s AND slot=%s", (namespace, slot))

    # -- deletion -----------------------------------------------------------------------------------------------
    def delete_record(self, namespace: str, record_id: str) -> None:
        kind = kind_of(record_id)
        if kind is None:
            return
        self._x(f"DELETE FROM {TABLES[kind]} WHERE id=%s", (record_id,))
        self._delete_lexical("id=%s", (record_id,))
        self._x("DELETE FROM edges WHERE src=%s OR dst=%s", (record_id, record_id))
        self.enqueue(namespace, [(record_id, kind)], "delete")

    def delete_namespace(self, namespace: str) -> int:
        count = 0
        for kind, table in TABLES.items():
            rows = self._q(f"DELETE FROM {table} WHERE namespace=%s RETURNING id, seq", (namespace,))
            rows.sort(key=lambda r: r["seq"])
            self.enqueue(namespace, [(r["id"], kind) for r in rows], "delete")
            count += len(rows)
        self._delete_lexical("namespace=%s", (namespace,))
        for other in ("edges", "entities", "phrase_vectors", "persona"):
            self._x(f"DELETE FROM {other} WHERE namespace=%s", (namespace,))
        return count

    # -- outbox, audit, meta ------------------------------------------------------------------------------------
    def enqueue(self, namespace: str, items: Iterable[tuple[str, str]], op: str) -> None:
        rows = [(namespace, rid, kind, op) for rid, kind in items]
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany("INSERT INTO outbox(namespace, id, kind, op) VALUES(%s,%s,%s,%s)", rows)

    def clear_outbox(self) -> None:
        self._x("DELETE FROM outbox")

    def audit(self, namespace: str, op: str, target: str, detail: dict[str, Any]) -> None:
        self._x(
            "INSERT INTO audit(ts, namespace, op, target, detail) VALUES(%s,%s,%s,%s,%s)",
            (time.time(), namespace, op, target, json.dumps(detail, sort_keys=True)),
        )

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._x("DELETE FROM meta WHERE key=%s", (key,))
        else:
            self._x(
                "INSERT INTO meta VALUES(%s, %s) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )


_EPISODE_COLS = (
    "seq, id, namespace, text, speaker, channel, ts, session, metadata, valence, importance, flags, event_id"
)


class PostgresStore:
    """The Postgres implementation of :class:`memory.store.base.MemoryStore` over a connection pool.

    Raises (at construction):
        ConfigError: psycopg is not installed, or the database's schema is newer than this code.
        MemoryBackendError: the server cannot be reached.
    """

    def __init__(
        self, url: str, *, schema: str | None = None, max_connections: int = 4, timeout: float = 10.0
    ) -> None:
        """Connect to ``url`` and migrate. ``schema``: keep the tables in this schema (created if missing)
        instead of the URL's ``search_path``; several memories can then share one database."""
        if psycopg is None:
            raise ConfigError("memory.store='postgres' needs psycopg", hint="pip install 'cogarch[postgres]'")
        self.url = url
        self.schema = schema
        self._where = redact_url(url) + (f" (schema {schema})" if schema else "")
        self._avgdl_cache: tuple[float, int] | None = None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(2, max_connections),
            timeout=timeout,
            kwargs={"row_factory": dict_row, "autocommit": True},
            configure=self._configure if schema else None,
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=timeout)
            self._migrate()
        except BaseException as exc:
            self.pool.close()
            if isinstance(exc, psycopg.Error | PoolTimeout):
                raise postgres_error(exc, self._where, "opening the memory database") from exc
            raise

    def describe(self) -> str:
        return self._where

    def _configure(self, conn: Any) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(str(self.schema))))

    def _migrate(self) -> None:
        with self.pool.connection() as conn:
            migrate(conn, MIGRATIONS, schema=self.schema, table="schema_version", where=self._where)

    def schema_version(self) -> int:
        return int(self._q("SELECT max(version) AS v FROM schema_version")[0]["v"])

    # -- plumbing -----------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _conn(self, doing: str) -> Iterator[Any]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise postgres_error(exc, self._where, doing) from exc

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._conn("reading the memory") as conn:
            return list(conn.execute(sql, params).fetchall())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PostgresWriter]:
        """One transaction on one pooled connection: committed when the block ends, rolled back if it raises."""
        with self._conn("writing to the memory") as conn, conn.transaction():
            writer = PostgresWriter(conn)
            yield writer
            writer.flush()

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session advisory lock on a pooled connection held for the block (every process on this database
        waits for it; a process that dies drops the connection, and with it the lock)."""
        key = f"cogarch-memory:{self.schema or ''}:{name}"
        with self._conn(f"taking the lock {name!r}") as conn:
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):  # a lost connection has released it already
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.pool.close()

    # -- metadata -----------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=%s", (key,))
        return None if not rows else str(rows[0]["value"])

    def bind_embedder(self, name: str, dim: int) -> str:
        with self.transaction() as tx:
            tx.conn.execute("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE")  # two first opens: one binds
            known = tx.conn.execute("SELECT value FROM meta WHERE key='embedder'").fetchone()
            if known is None:
                tx.set_meta("embedder", name)
                tx.set_meta("dim", str(dim))
                return name
        return str(known["value"])

    # -- outbox -------------------------------------------------------------------------------------------------
    def pending(self, limit: int = 100000) -> list[OutboxOp]:
        rows = self._q("SELECT seq, namespace, id, kind, op FROM outbox ORDER BY seq LIMIT %s", (limit,))
        return [OutboxOp(int(r["seq"]), r["namespace"], r["id"], r["kind"], r["op"]) for r in rows]

    def pending_count(self) -> int:
        return int(self._q("SELECT COUNT(*) AS n FROM outbox")[0]["n"])

    def done(self, seqs: Sequence[int]) -> None:
        if seqs:
            with self.transaction() as tx:
                tx.conn.execute("DELETE FROM outbox WHERE seq = ANY(%s)", (list(seqs),))

    # -- records ------------------------------------------------------------------------------------------------
    def has_records(self, namespace: str | None = None) -> bool:
        if namespace is None:
            return bool(self._q("SELECT 1 FROM episodes UNION ALL SELECT 1 FROM facts LIMIT 1"))
        return any(
            self._q(f"SELECT 1 FROM {t} WHERE namespace=%s LIMIT 1", (namespace,)) for t in TABLES.values()
        )

    def namespaces(self) -> list[str]:
        rows = self._q(
            "SELECT namespace FROM episodes UNION SELECT namespace FROM facts UNION SELECT namespace FROM scenes "
            "UNION SELECT namespace FROM persona"
        )
        return sorted(r["namespace"] for r in rows)

    def record_ids(self, namespace: str) -> dict[str, RecordKind]:
        out: dict[str, RecordKind] = {}
        for kind, table in TABLES.items():
            for row in self._q(f"SELECT id FROM {table} WHERE namespace=%s ORDER BY seq", (namespace,)):
                out[row["id"]] = kind
        return out

    def owners(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for kind, table in TABLES.items():
            mine = [i for i in ids if kind_of(i) == kind]
            if mine:
                for r in self._q(f"SELECT id, namespace FROM {table} WHERE id = ANY(%s)", (mine,)):
                    out[r["id"]] = r["namespace"]
        return out

    def vectors_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, Vector]:
        if not ids:
            return {}
        rows = self._q(f"SELECT id, vector FROM {TABLES[kind]} WHERE id = ANY(%s)", (_in(ids),))
        return {r["id"]: from_blob(r["vector"]) for r in rows if r["vector"] is not None}

    def index_sources(self, kind: RecordKind, ids: Sequence[str]) -> list[IndexSource]:
        table = TABLES[kind]
        text = "summary" if table == "scenes" else "text"
        speaker = "speaker" if table == "episodes" else "NULL AS speaker"
        rows = self._q(
            f"SELECT id, {text} AS text, vector, {speaker} FROM {table} WHERE id = ANY(%s)", (_in(ids),)
        )
        return [
            IndexSource(
                r["id"],
                embed_text(r["text"], r["speaker"]) if table == "episodes" else str(r["text"]),
                None if r["vector"] is None else from_blob(r["vector"]),
            )
            for r in rows
        ]

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
        sql = f"SELECT {_EPISODE_COLS} FROM episodes WHERE namespace=%s ORDER BY seq" + (
            " DESC" if newest_first else ""
        )
        rows = self._q(sql + (f" LIMIT {int(limit)}" if limit else ""), (namespace,))
        return [episode_from_row(r) for r in rows]

    def episodes_by_id(self, ids: Sequence[str]) -> dict[str, Episode]:
        if not ids:
            return {}
        rows = self._q(f"SELECT {_EPISODE_COLS} FROM episodes WHERE id = ANY(%s) ORDER BY seq", (_in(ids),))
        return {r["id"]: episode_from_row(r) for r in rows}

    def pending_episodes(self, namespace: str) -> list[PendingEpisode]:
        rows = self._q(
            f"SELECT {_EPISODE_COLS}, vector FROM episodes WHERE namespace=%s AND consolidated=0 ORDER BY seq",
            (namespace,),
        )
        return [PendingEpisode(int(r["seq"]), episode_from_row(r), from_blob(r["vector"])) for r in rows]

    def episode_ids(self, namespace: str, *, state: int) -> list[str]:
        rows = self._q(
            "SELECT id FROM episodes WHERE namespace=%s AND consolidated=%s ORDER BY seq", (namespace, state)
        )
        return [r["id"] for r in rows]

    def speakers(self, namespace: str) -> set[str]:
        rows = self._q(
            "SELECT DISTINCT speaker FROM episodes WHERE namespace=%s AND speaker IS NOT NULL", (namespace,)
        )
        return {str(r["speaker"]) for r in rows}

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
        sql = f"SELECT {FACT_COLUMNS} FROM facts WHERE namespace=%s" + (
            " AND valid_to IS NULL" if current_only else ""
        )
        args: list[Any] = [namespace]
        if started_by is not None:
            sql += " AND valid_from <= %s"
            args.append(started_by)
        if recorded_by is not None:
            sql += " AND created <= %s"
            args.append(recorded_by)
        sql += " ORDER BY seq" + (" DESC" if newest_first else "") + (f" LIMIT {int(limit)}" if limit else "")
        return [fact_from_row(r) for r in self._q(sql, args)]

    def facts_by_id(self, ids: Sequence[str]) -> dict[str, Fact]:
        if not ids:
            return {}
        rows = self._q(f"SELECT {FACT_COLUMNS} FROM facts WHERE id = ANY(%s) ORDER BY seq", (_in(ids),))
        return {r["id"]: fact_from_row(r) for r in rows}

    def scenes(self, namespace: str, *, limit: int | None = None, newest_first: bool = False) -> list[Scene]:
        sql = "SELECT * FROM scenes WHERE namespace=%s ORDER BY seq" + (" DESC" if newest_first else "")
        return [
            scene_from_row(r) for r in self._q(sql + (f" LIMIT {int(limit)}" if limit else ""), (namespace,))
        ]

    def scenes_by_id(self, ids: Sequence[str]) -> dict[str, Scene]:
        if not ids:
            return {}
        rows = self._q("SELECT * FROM scenes WHERE id = ANY(%s) ORDER BY seq", (_in(ids),))
        return {r["id"]: scene_from_row(r) for r in rows}

    def persona(self, namespace: str) -> list[PersonaSlot]:
        rows = self._q("SELECT * FROM persona WHERE namespace=%s ORDER BY slot", (namespace,))
        return [persona_from_row(r) for r in rows]

    def stats(self, namespace: str | None = None) -> dict[str, int]:
        where, params = ("WHERE namespace=%s", (namespace,)) if namespace else ("", ())
        out: dict[str, int] = {}
        for table in ("episodes", "facts", "scenes", "entities", "persona", "edges"):
            out[table] = int(self._q(f"SELECT COUNT(*) AS n FROM {table} {where}", params)[0]["n"])
        also = where or "WHERE TRUE"
        for key, sql in (
            ("current_facts", f"SELECT COUNT(*) AS n FROM facts {also} AND valid_to IS NULL"),
            ("unconsolidated", f"SELECT COUNT(*) AS n FROM episodes {also} AND consolidated=0"),
            ("facts_pending", f"SELECT COUNT(*) AS n FROM episodes {also} AND consolidated=2"),
            ("flagged", f"SELECT COUNT(*) AS n FROM episodes {also} AND flags != ''"),
        ):
            out[key] = int(self._q(sql, params)[0]["n"])
        out["pending_index_ops"] = self.pending_count()
        return out

    def audit_log(self, namespace: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where, params = ("WHERE namespace=%s", [namespace]) if namespace else ("", [])
        rows = self._q(f"SELECT * FROM audit {where} ORDER BY seq DESC LIMIT %s", [*params, limit])
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
    def _lexemes(self, terms: Sequence[str]) -> dict[str, int]:
        """``lexeme -> document frequency`` of ``terms`` (stemmed; stop words and terms without one are absent; a
        lexeme no entry holds has 0), from ``lexical_df``."""
        rows = self._q(
            "SELECT x.lexeme, coalesce(df.n, 0) AS n FROM unnest(%s::text[]) WITH ORDINALITY AS t(term, o), "
            f"LATERAL (SELECT lexeme FROM unnest(to_tsvector('{_TS_CONFIG}', t.term)) LIMIT 1) AS x "
            "LEFT JOIN lexical_df AS df ON df.lexeme = x.lexeme ORDER BY t.o",
            (list(terms),),
        )
        return {r["lexeme"]: int(r["n"]) for r in rows}

    def _size(self) -> int:
        return int(self._q("SELECT coalesce(max(seq), 0) AS n FROM lexical")[0]["n"])

    def _avgdl(self, size: int) -> float:
        """Mean entry length of the lexical index (all namespaces, as FTS5's); recounted after 10 % growth."""
        hit = self._avgdl_cache
        if hit is not None and size <= hit[1] * 1.1 + 100:
            return hit[0]
        value = float(self._q("SELECT coalesce(avg(dl), 1) AS a FROM lexical")[0]["a"])
        self._avgdl_cache = (max(value, 1.0), size)
        return self._avgdl_cache[0]

    def lexical_search(
        self, namespace: str, terms: Sequence[str], limit: int, *, budget: int | None = None
    ) -> list[tuple[str, str, float]]:
        """Okapi BM25 (see the module docstring) over entries holding any of ``terms``: ``(id, kind, score)``."""
        df = self._lexemes([t for t in dict.fromkeys(terms) if t])
        lexemes = list(df)
        if not lexemes:
            return []
        size = self._size()
        low = 0
        if budget is not None:
            kept: list[str] = []
            total = 0
            for x in sorted((x for x in lexemes if df[x] > 0), key=lambda x: df[x]):
                if total + df[x] > budget:
                    break
                kept.append(x)
                total += df[x]
            if kept:
                lexemes = kept
            elif any(df.values()):  # a recent window holding about ``budget`` postings of these terms
                low = size - max(1, budget * size // sum(df.values()))
            else:
                return []
        n_docs = max(size, 1)
        idf = [max(1e-6, math.log((n_docs - df[x] + 0.5) / (df[x] + 0.5))) for x in lexemes]
        # each lexeme's tf from a rank (_tf_bounds), its BM25 term summed in SQL (the SQL text holds placeholders)
        n = len(lexemes)
        tfs = ", ".join(
            f"width_bucket(ts_rank('{{1,1,1,1}}', tsv, %s::tsquery), c.bounds) AS tf{i}" for i in range(n)
        )
        score = " + ".join(f"%s * tf{i} / (tf{i} + kd)" for i in range(n))
        rows = self._q(
            f"SELECT id, kind, {score} AS s FROM ("
            f"  SELECT seq, id, kind, %s * (1 - %s + %s * dl / %s) AS kd, {tfs} "
            "   FROM lexical, (SELECT %s::float8[] AS bounds) AS c "
            "   WHERE tsv @@ %s::tsquery AND namespace = %s AND seq > %s) AS m "
            "ORDER BY s DESC, seq LIMIT %s",
            [
                *(w * (_K1 + 1) for w in idf),
                _K1,
                _B,
                _B,
                self._avgdl(size),
                *(_quote_lexeme(x) for x in lexemes),
                _TF_BOUNDS,
                " | ".join(_quote_lexeme(x) for x in lexemes),
                namespace,
                low,
                limit,
            ],
        )
        return [(r["id"], r["kind"], float(r["s"])) for r in rows]

    # -- graph --------------------------------------------------------------------------------------------------
    def entities_named(self, namespace: str, names: Iterable[str]) -> dict[str, int]:
        names = list(names)
        if not names:
            return {}
        rows = self._q(
            "SELECT id, mentions FROM entities WHERE namespace=%s AND name = ANY(%s)", (namespace, names)
        )
        return {r["id"]: int(r["mentions"]) for r in rows}

    def entity_mentions(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        rows = self._q("SELECT id, mentions FROM entities WHERE id = ANY(%s)", (list(ids),))
        return {r["id"]: int(r["mentions"]) for r in rows}

    def phrase_vectors(self, namespace: str) -> tuple[list[str], Vector]:
        rows = self._q("SELECT id, vector FROM phrase_vectors WHERE namespace=%s ORDER BY id", (namespace,))
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r["id"] for r in rows], from_blobs([r["vector"] for r in rows])

    def edges_of(self, ids: Sequence[str], kinds: Sequence[str] | None = None) -> list[Edge]:
        if not ids:
            return []
        kind_sql = " AND kind = ANY(%s)" if kinds else ""
        extra = [list(kinds)] if kinds else []
        rows = self._q(  # one round trip: each side uses its index (the key's src, edges_dst)
            f"SELECT src, dst, kind, weight FROM edges WHERE src = ANY(%s){kind_sql} "
            f"UNION ALL SELECT src, dst, kind, weight FROM edges WHERE dst = ANY(%s){kind_sql}",
            [_in(ids), *extra, _in(ids), *extra],
        )
        return [(r["src"], r["dst"], r["kind"], float(r["weight"])) for r in rows]

    def degree(self, ids: Sequence[str], *, cap: int | None = None) -> dict[str, int]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, int] = {}
        if not ids:
            return out
        if cap is not None:
            big = [
                r["id"]
                for r in self._q("SELECT id FROM entities WHERE id = ANY(%s) AND mentions > %s", (ids, cap))
            ]
            for hub in big:
                row = self._q(
                    "SELECT count(*) AS n FROM (SELECT 1 FROM edges WHERE dst=%s LIMIT %s) h", (hub, cap)
                )
                out[hub] = int(row[0]["n"])
            ids = [i for i in ids if i not in set(big)]
        if ids:
            for r in self._q("SELECT dst, COUNT(*) AS n FROM edges WHERE dst = ANY(%s) GROUP BY dst", (ids,)):
                out[r["dst"]] = int(r["n"]) if cap is None else min(cap, int(r["n"]))
        return out

    def edges_around(self, node: str, limit: int) -> list[Edge]:
        out: list[Edge] = []
        for col in ("src", "dst"):
            rows = self._q(f"SELECT src, dst, kind, weight FROM edges WHERE {col}=%s LIMIT %s", (node, limit))
            out.extend((r["src"], r["dst"], r["kind"], float(r["weight"])) for r in rows)
        return out

    # -- export -------------------------------------------------------------------------------------------------
    def export_rows(self, table: Table, namespace: str) -> list[dict[str, Any]]:
        cols = ", ".join(EXPORT_COLUMNS[table])
        return self._q(f"SELECT {cols}, vector FROM {table} WHERE namespace=%s ORDER BY seq", (namespace,))

    def entities(self, namespace: str) -> list[dict[str, Any]]:
        rows = self._q("SELECT id, name, mentions FROM entities WHERE namespace=%s ORDER BY id", (namespace,))
        return [{"id": r["id"], "name": r["name"], "mentions": int(r["mentions"])} for r in rows]

    def entity_owners(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        return {
            r["id"]: r["namespace"]
            for r in self._q("SELECT id, namespace FROM entities WHERE id = ANY(%s)", (_in(ids),))
        }

    def edges(self, namespace: str) -> list[Edge]:
        rows = self._q(
            "SELECT src, dst, kind, weight FROM edges WHERE namespace=%s ORDER BY src, dst, kind",
            (namespace,),
        )
        return [(r["src"], r["dst"], r["kind"], float(r["weight"])) for r in rows]

    # -- erasure and health -------------------------------------------------------------------------------------
    def erase_on_delete(self) -> None:
        """Nothing to switch on: Postgres cannot zero deleted tuples (see :meth:`erase`)."""

    def erase(self) -> None:
        """VACUUM the memory's tables: the deleted rows' space is marked free and their index entries go; the
        bytes stay in the pages until new rows overwrite them (docs/reliability.md)."""
        with self._conn("vacuuming the memory") as conn:
            conn.execute(f"VACUUM {', '.join(_CONTENT_TABLES)}")

    def check(self) -> str:
        """``"ok"`` when the server answers, the schema is current and every table can be read; else what failed."""
        try:
            version = self.schema_version()
            if version != len(MIGRATIONS):
                return f"schema version {version}, expected {len(MIGRATIONS)}"
            for table in (*_CONTENT_TABLES, "outbox", "audit", "meta"):
                self._q(f"SELECT 1 FROM {table} LIMIT 1")
        except MemoryBackendError as exc:
            return exc.message
        return "ok"


def _quote_lexeme(lexeme: str) -> str:
    """A lexeme as a tsquery operand (quoted, so any character is literal)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


__all__ = ["MIGRATIONS", "PostgresStore", "PostgresWriter", "postgres_error", "redact_url"]
