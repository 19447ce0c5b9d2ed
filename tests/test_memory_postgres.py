"""The Postgres store against a real server (``COGARCH_TEST_POSTGRES_URL``; .ci/run starts Debian's PostgreSQL and a
Chroma server, ``COGARCH_TEST_CHROMA_URL``): migrations under concurrent start, exact export/import between the
stores, erasure of forgotten rows and Chroma entries, settings, doctor, an unreachable server."""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import POSTGRES_URL
from pgstore import Proxy
from pydantic import SecretStr

from cogarch.doctor import diagnose
from cogarch.settings import Settings
from memory import Memory
from memory.config import MemorySettings
from memory.embedders.base import HashEmbedder
from memory.index import InMemoryIndex
from memory.store.postgres import MIGRATIONS, PostgresStore
from reasoning.errors import ConfigError, MemoryBackendError

CHROMA_URL = os.environ.get("COGARCH_TEST_CHROMA_URL")
pytestmark = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="no Postgres server: set COGARCH_TEST_POSTGRES_URL (cogarch/serve/ci_services.sh)",
)
EMB = HashEmbedder(64)


@pytest.fixture
def schema() -> Iterator[str]:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def pg_settings(schema: str, **extra: object) -> MemorySettings:
    return MemorySettings(
        store="postgres", postgres_url=SecretStr(str(POSTGRES_URL)), postgres_schema=schema, **extra
    )


def rows_holding(schema: str, needle: str) -> list[str]:
    """``table`` for every row of the schema whose text holds ``needle``."""
    import psycopg

    found = []
    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname=%s", (schema,)).fetchall()
        ]
        for table in tables:
            n = conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" t WHERE t::text LIKE %s', (f"%{needle}%",)
            ).fetchone()
            if n and n[0]:
                found.append(table)
    return found


def test_concurrent_first_opens_migrate_once(schema: str) -> None:
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        try:
            stores.append(PostgresStore(str(POSTGRES_URL), schema=schema))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    try:
        assert {s.schema_version() for s in stores} == {len(MIGRATIONS)}
        names = {s.bind_embedder(f"emb-{i}", 8) for i, s in enumerate(stores)}
        assert len(names) == 1  # the first bind wins; the others learn it
        with stores[0].pool.connection() as conn:
            counted = conn.execute("SELECT count(*) AS n FROM schema_version").fetchone()
        assert counted["n"] == len(MIGRATIONS)
    finally:
        for s in stores:
            s.close()


def test_a_newer_schema_is_refused(schema: str) -> None:
    store = PostgresStore(str(POSTGRES_URL), schema=schema)
    with store.pool.connection() as conn:
        conn.execute("INSERT INTO schema_version VALUES(%s, 0)", (len(MIGRATIONS) + 1,))
    store.close()
    with pytest.raises(ConfigError, match="schema version"):
        PostgresStore(str(POSTGRES_URL), schema=schema)


def _fill(m: Memory) -> None:
    m.remember_many(
        [
            {
                "text": "Ada moved to Paris in May",
                "speaker": "ada",
                "timestamp": 1_700_000_000,
                "metadata": {"k": 1},
            },
            {"text": "Bob plays chess on Sundays", "speaker": "bob", "timestamp": 1_700_000_100},
            {"text": "Ada's cat is called Tom", "speaker": "ada", "timestamp": 1_700_000_200},
        ],
        namespace="u",
    )
    m.consolidate(namespace="u")


def test_export_import_round_trips_exactly_between_the_stores(tmp_path: Path, schema: str) -> None:
    with Memory.open(tmp_path / "sqlite", embedder=EMB, index=InMemoryIndex()) as a:
        _fill(a)
        exported = a.export("u")
    with Memory.open(tmp_path / "pg", pg_settings(schema), embedder=EMB, index=InMemoryIndex()) as b:
        b.import_(exported)
        again = b.export("u")
        assert again == exported
        assert b.recall("who plays chess", namespace="u", k=1)[0].text == "bob: Bob plays chess on Sundays"
    with Memory.open(tmp_path / "sqlite2", embedder=EMB, index=InMemoryIndex()) as c:
        c.import_(again)
        assert c.export("u") == exported
    assert not (tmp_path / "pg" / "memory.sqlite3").exists()


def test_forget_erases_rows_and_chroma_entries(tmp_path: Path, schema: str) -> None:
    extra = {"chroma_url": CHROMA_URL, "collection_prefix": f"t{uuid.uuid4().hex[:8]}"} if CHROMA_URL else {}
    index = None if CHROMA_URL else InMemoryIndex()
    secret = "zanzibar-" + uuid.uuid4().hex[:8]
    with Memory.open(tmp_path / "m", pg_settings(schema, **extra), embedder=EMB, index=index) as m:
        _fill(m)
        gone = m.remember(f"the vault code is {secret}", namespace="u", speaker="ada")
        other = m.remember(f"note {secret} for the other user", namespace="v")
        m.consolidate(namespace="u")
        assert rows_holding(schema, secret)
        assert m.forget(gone, namespace="u") >= 1
        assert gone not in m.index.ids("u")
        m.forget(namespace="v", all=True)
        assert other not in m.index.ids("v")
        assert rows_holding(schema, secret) == []  # no table keeps it (audit holds ids, never content)
        assert [e["op"] for e in m.audit_log("u", limit=1)] == ["forget"]
    if CHROMA_URL:  # nothing of a record's text in the data directory
        for path in (tmp_path / "m").rglob("*"):
            assert not path.is_file() or secret.encode() not in path.read_bytes()


def document_frequencies(schema: str) -> tuple[dict[str, int], dict[str, int]]:
    """``lexical_df`` as kept, and the same frequencies counted from the lexical entries."""
    import psycopg

    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        kept = dict(conn.execute("SELECT lexeme, n FROM lexical_df").fetchall())
        counted = dict(conn.execute("SELECT word, ndoc FROM ts_stat('SELECT tsv FROM lexical')").fetchall())
    return kept, counted


def test_document_frequencies_stay_exact_through_every_write(tmp_path: Path, schema: str) -> None:
    """lexical_df (read by lexical search instead of counting postings) equals a recount after writes, scene
    rebuilds, forgetting a record, forgetting a user (forget all: what Agent.forget_user runs), and an
    import that replaces a namespace; a forgotten text's words leave it."""
    secret = "zanzibar" + uuid.uuid4().hex[:6]
    with Memory.open(tmp_path / "m", pg_settings(schema), embedder=EMB, index=InMemoryIndex()) as m:
        _fill(m)
        m.remember_many([{"text": f"Ada likes {secret} and tea"}, {"text": "Ada likes tea"}], namespace="v")
        m.remember("Bob plays chess with Ada", namespace="u", speaker="bob")
        m.consolidate(namespace="u")
        m.consolidate(namespace="v")
        kept, counted = document_frequencies(schema)
        assert kept == counted and kept[secret] >= 1 and kept["tea"] >= 2
        exported = m.export("u")
        gone = m.recall(secret, namespace="v", k=1)[0].id
        m.forget(gone, namespace="v")
        kept, counted = document_frequencies(schema)
        assert kept == counted and secret not in kept
        m.forget(namespace="u", all=True)
        assert document_frequencies(schema)[0] == document_frequencies(schema)[1]
        m.import_(exported)
        m.import_(exported, replace=True)
        kept, counted = document_frequencies(schema)
        assert kept == counted and kept["chess"] >= 2
        assert m.export("u") == exported
        m.forget(namespace="u", all=True)
        m.forget(namespace="v", all=True)
        assert document_frequencies(schema) == ({}, {})


def test_concurrent_writers_keep_document_frequencies_exact(tmp_path: Path, schema: str) -> None:
    """Four memories (four pools, as four processes would) write and forget texts that share words at once: no
    deadlock, and lexical_df still equals a recount."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def write(n: int) -> None:
        try:
            with Memory.open(
                tmp_path / f"m{n}", pg_settings(schema), embedder=EMB, index=InMemoryIndex()
            ) as m:
                barrier.wait()
                for i in range(15):
                    ids = m.remember_many(
                        [f"alpha beta gamma {n} {i}", f"delta alpha {i}", "omega beta"], namespace=f"u{n % 2}"
                    )
                    if i % 3 == 0:
                        m.forget(ids[0], namespace=f"u{n % 2}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept, counted = document_frequencies(schema)
    assert kept == counted and kept["alpha"] == 4 * (15 + 10)


def test_the_migration_fills_document_frequencies_from_the_entries_there(tmp_path: Path, schema: str) -> None:
    with Memory.open(tmp_path / "m", pg_settings(schema), embedder=EMB, index=InMemoryIndex()) as m:
        _fill(m)
    import psycopg

    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:  # back to the schema before the table
        conn.execute(f'DROP TABLE "{schema}".lexical_df')
        conn.execute(f'DELETE FROM "{schema}".schema_version WHERE version >= 3')
    PostgresStore(str(POSTGRES_URL), schema=schema).close()
    kept, counted = document_frequencies(schema)
    assert kept == counted and kept["chess"] >= 1


def test_current_facts_can_be_found_through_the_subject_index(tmp_path: Path, schema: str) -> None:
    """Migration 4: an index on the lower-cased subject answers current_facts' lookup (not a scan of the
    namespace's facts); sequential scans are turned off so that the planner shows whether the index serves."""
    import psycopg

    Memory.open(tmp_path / "m", pg_settings(schema), embedder=EMB, index=InMemoryIndex()).close()
    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT id FROM facts WHERE namespace = 'u' AND lower(subject) = lower('Bob') "
            "AND relation = 'lives_in' AND valid_to IS NULL"
        ).fetchall()
    assert "facts_subject" in " ".join(row[0] for row in plan)


def test_bm25_reads_term_frequencies_exactly(tmp_path: Path, schema: str) -> None:
    """Scores are Okapi BM25 (k1 1.2, b 0.75, as FTS5) computed here from term frequencies, document frequency
    and lengths: a term's frequency, read from a rank instead of the entry's positions, is exact up to 200."""
    shape = [(1, 0), (2, 3), (5, 1), (200, 0), (7, 30)]  # (term frequency, other words)
    texts = [" ".join(["zeta"] * tf + ["filler"] * pad) for tf, pad in shape] + ["filler only here"] * 15
    with Memory.open(tmp_path / "m", pg_settings(schema), embedder=EMB, index=InMemoryIndex()) as m:
        ids = m.remember_many(texts, namespace="u")
        hits = {i: score for i, _, score in m.store.lexical_search("u", ["zeta"], 10)}
    lengths = [tf + pad for tf, pad in shape] + [3] * 15
    avgdl, idf = sum(lengths) / len(lengths), math.log((20 - 5 + 0.5) / (5 + 0.5))
    expected = {
        ids[i]: idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * lengths[i] / avgdl))
        for i, (tf, _) in enumerate(shape)
    }
    assert hits == pytest.approx(expected, rel=1e-9)


def test_settings_select_the_store_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COGARCH_MEMORY__STORE", "postgres")
    monkeypatch.setenv("COGARCH_MEMORY__POSTGRES_URL", "postgresql://u:secret@db:5432/x")
    settings = Settings.load(data_dir=tmp_path)
    assert settings.memory.store == "postgres"
    assert settings.memory.postgres_url is not None
    assert "secret" not in json.dumps(settings.model_dump(mode="json"))
    with pytest.raises(ConfigError, match="postgres_url"):
        Memory.open(tmp_path / "m", MemorySettings(store="postgres"), embedder=EMB)


def test_an_unreachable_server_is_a_backend_error_with_a_hint(tmp_path: Path) -> None:
    url = "postgresql://cogarch:pw@127.0.0.1:9/none"
    with pytest.raises(MemoryBackendError) as info:
        PostgresStore(url, timeout=1.0)
    assert "cannot be reached" in info.value.message and "pw" not in info.value.message
    assert info.value.hint and "postgres_url" in info.value.hint


def test_doctor_checks_the_database(tmp_path: Path, schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGARCH_MEMORY__STORE", "postgres")
    monkeypatch.setenv("COGARCH_MEMORY__POSTGRES_URL", str(POSTGRES_URL))
    monkeypatch.setenv("COGARCH_MEMORY__POSTGRES_SCHEMA", schema)
    settings = Settings.load(data_dir=tmp_path)
    with Memory.open(tmp_path / "memory", settings.memory, embedder=EMB) as m:
        _fill(m)
    report = diagnose(tmp_path, settings=settings, embedder=EMB)
    memory = next(c for c in report.checks if c.name == "memory")
    assert memory.status == "ok" and "3 episodes" in memory.message and schema in memory.path
    assert report.ok
    store = PostgresStore(str(POSTGRES_URL), schema=schema)
    with store.pool.connection() as conn:
        conn.execute("DROP TABLE edges")
    store.close()
    report = diagnose(tmp_path, settings=settings, embedder=EMB)
    memory = next(c for c in report.checks if c.name == "memory")
    assert memory.status == "error" and "edges" in memory.message


def test_doctor_checks_the_agent_tables(tmp_path: Path, schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Substrates, rate limits and proactive events live in the database too: doctor reads each table."""
    import psycopg

    monkeypatch.setenv("COGARCH_MEMORY__STORE", "postgres")
    monkeypatch.setenv("COGARCH_MEMORY__POSTGRES_URL", str(POSTGRES_URL))
    monkeypatch.setenv("COGARCH_MEMORY__POSTGRES_SCHEMA", schema)
    settings = Settings.load(data_dir=tmp_path)
    with Memory.open(tmp_path / "memory", settings.memory, embedder=EMB) as m:
        _fill(m)
    report = diagnose(tmp_path, settings=settings, embedder=EMB)
    tables = [c for c in report.checks if c.name == "agent_tables"]
    assert [c.status for c in tables] == ["ok"] and schema in tables[0].path and report.ok
    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{schema}".agent_rate_buckets')
    report = diagnose(tmp_path, settings=settings, embedder=EMB)
    tables = [c for c in report.checks if c.name == "agent_tables"]
    assert tables[0].status == "error" and "agent_rate_buckets" in tables[0].message and not report.ok
    assert next(c for c in report.checks if c.name == "memory").status == "ok"


def test_a_server_outage_fails_writes_cleanly_and_the_store_recovers(tmp_path: Path, schema: str) -> None:
    from urllib.parse import urlsplit

    target = urlsplit(str(POSTGRES_URL))
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 5432)
    url = str(POSTGRES_URL).replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    store = PostgresStore(url, schema=schema, timeout=2.0)
    settings = pg_settings(schema)
    memory = Memory(tmp_path, settings, store, InMemoryIndex(), EMB, None, None)
    try:
        memory.remember("before the outage", namespace="u")
        proxy.cut()
        for _ in range(2):  # every call fails with the typed error while the server is away
            with pytest.raises(MemoryBackendError) as info:
                memory.remember("during the outage", namespace="u")
            assert info.value.hint and "nothing of the failed write was kept" in info.value.hint
        proxy.up = (
            True  # the server is back: no restart; the pool reconnects (with its backoff, a few seconds)
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                memory.remember("after the outage", namespace="u", id="ep_after")  # a client's retry
                break
            except MemoryBackendError:
                assert time.monotonic() < deadline, "the store did not recover"
        assert [e.text for e in memory.episodes(namespace="u")] == ["before the outage", "after the outage"]
        assert memory.stats("u")["pending_index_ops"] == 0
    finally:
        memory.close()
        proxy.close()
