"""``Memory``: the facade over the system of record (SQLite), the vector index (Chroma) and the embedder.

Write path (``remember``): gateway tags, embed (batched), the learned injection detector on the vectors
(:mod:`memory.injection_detector`), one SQLite transaction (record + vector + edge to the
previous episode + lexical entry + outbox row), then the index. No LLM. Consolidation and recall live in
:mod:`memory.consolidation` and :mod:`memory.recall`; export/import in :mod:`memory.transfer`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from memory import consolidation, forgetting, recall, sync, transfer
from memory.config import EmbeddingSettings, MemorySettings
from memory.embedders import build_embedder
from memory.embedders.base import Embedder, Vectors
from memory.extraction import build_extractor, store_facts
from memory.gateway import tag_many
from memory.index.base import VectorIndex
from memory.index.chroma import ChromaIndex, chroma_client
from memory.injection_detector import load_detector
from memory.layout import MemoryDir
from memory.records import (
    Episode,
    Fact,
    JSONDict,
    PersonaSlot,
    RecallResult,
    Recollection,
    Scene,
    Timestamp,
    check_namespace,
    embed_text,
    new_id,
    to_epoch,
)
from memory.segmentation import Segmenter, build_segmenter, embedding_segmenter
from memory.semantic.base import FactExtractor, Triple
from memory.store import needs_directory_lock, open_store
from memory.store.base import MemoryStore, MemoryWriter, NewEpisode
from memory.store.lock import DirectoryLock
from reasoning.errors import ConfigError, InvalidInputError, MemoryBackendError, NotFoundError, UsageError
from reasoning.llm import LLM

_log = logging.getLogger(__name__)

INDEX_REBUILD_KEY = "index_rebuild"
"""Set in ``meta`` while the vector index is being rebuilt; found at open, it triggers a full reconcile."""


WRITE_BATCH = 1024
"""Episodes per embedding call, per transaction and per index upsert in :meth:`Memory.remember_many` (a Chroma
server added 4000-vector batches 1.3x faster per vector than 256-vector ones: BENCHMARKS.md M, scale)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _synchronized(method: _F) -> _F:
    """Run ``method`` under the memory's lock: one SQLite connection serves every thread, one at a time."""

    @functools.wraps(method)
    def wrapper(self: Memory, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return method(self, *args, **kwargs)

    return cast(_F, wrapper)


class Memory:
    """Hierarchical long-term memory of one data directory (one writer process at a time for SQLite).

    Build with :meth:`open`; use as a context manager or call :meth:`close`. A facade: the records live in a
    :class:`~memory.store.base.MemoryStore`, the vectors in a :class:`~memory.index.base.VectorIndex`; recall,
    consolidation, forgetting and transfer are functions over those parts (:mod:`memory.recall`, ...).
    """

    def __init__(
        self,
        directory: Path,
        settings: MemorySettings,
        store: MemoryStore,
        index: VectorIndex,
        embedder: Embedder,
        llm: LLM | None,
        lock: DirectoryLock | None,
        extractor: FactExtractor | None = None,
        segmenter: Segmenter = embedding_segmenter,
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.store = store
        self.index = index
        self.embedder = embedder
        self.llm = llm
        self.extractor = extractor
        self.segmenter = segmenter
        # the learned half of the injection screen, when the weights fit this embedder (memory.injection_detector)
        self._detector = load_detector(embedder.name, embedder.dim) if settings.flag_injections else None
        self._lock = lock
        self._guard = threading.RLock()
        self._closed = False
        self._forgot = (
            False  # a forget ran: scrub Chroma's level-0 files again at close (forgetting.scrub_hnsw)
        )
        # each namespace's speakers, read once (a scan of its episodes) and kept up to date by this process's
        # writes; recall leaves their names out of the dense query. A speaker another process adds later is
        # seen after this one reopens the memory (only the dense query of a question naming them differs).
        self._speakers: dict[str, set[str]] = {}

    # -- lifecycle ----------------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        directory: str | Path,
        settings: MemorySettings | None = None,
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        index: VectorIndex | None = None,
        extractor: FactExtractor | None = None,
    ) -> Memory:
        """Open (or create) the memory in ``directory`` and reconcile the index with the records.

        Args:
            directory: the data directory (created if missing); holds ``memory.sqlite3`` (``settings.store``
                "sqlite") and ``chroma/`` (no ``settings.chroma_url``). With a Postgres store and a Chroma
                server nothing is written there and any number of processes may open the memory.
            settings: memory settings (defaults: SQLite and embedded Chroma in the directory).
            embedder: the embedder; default ``memory.embedders.build_embedder(EmbeddingSettings())``.
            llm: the model for fact extraction when ``settings.facts`` picks it (a capable model: "auto" keeps
                the offline parser for the bundled 135M one) and for scene calibration.
            index: a vector index to use instead of Chroma (e.g. ``InMemoryIndex`` in tests).
            extractor: the fact extractor to use instead of the one ``settings.facts`` selects
                (:func:`memory.extraction.build_extractor`).

        Raises:
            StoreLockedError: another process has this directory open (SQLite store or embedded Chroma).
            ConfigError: the embedder differs from the one the memory was built with; a Postgres store without
                ``postgres_url``; ``segmentation="surprise"`` without a model that scores tokens.
            CorruptStoreError / MemoryBackendError: a store cannot be opened.
        """
        settings = settings or MemorySettings()
        path = Path(directory).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        embedded = index is None and not settings.chroma_url
        lock = DirectoryLock(path) if needs_directory_lock(settings, embedded_index=embedded) else None
        if lock is not None:
            lock.acquire()
        store: MemoryStore | None = None
        try:
            if embedder is None:
                embedder = build_embedder(EmbeddingSettings())
            store = open_store(path, settings)
            known = store.bind_embedder(embedder.name, embedder.dim)
            if known != embedder.name:
                raise ConfigError(
                    f"this memory was built with embedder {known!r}, not {embedder.name!r}",
                    hint="open it with the same embedding model, or export it and import into a new directory",
                )
            rebuild = False
            if index is None:
                token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
                # an embedded index that is gone (deleted, or moved aside by `cogarch doctor`) is rebuilt
                rebuild = not settings.chroma_url and not MemoryDir(path).index_db.exists()
                client = chroma_client(path=MemoryDir(path).index, url=settings.chroma_url, token=token)
                index = ChromaIndex(client, prefix=settings.collection_prefix, dim=embedder.dim)
            if extractor is None:
                extractor = build_extractor(settings.facts, llm, embedder)
            segmenter = build_segmenter(settings.segmentation, llm)
            memory = cls(path, settings, store, index, embedder, llm, lock, extractor, segmenter)
            rebuild = rebuild and store.has_records()
            interrupted = store.meta(INDEX_REBUILD_KEY) is not None  # a rebuild (`cogarch doctor`) was killed
            memory.reconcile(full=rebuild or interrupted)
            if interrupted:
                with store.transaction() as tx:
                    tx.set_meta(INDEX_REBUILD_KEY, None)
            return memory
        except BaseException:
            if store is not None:
                store.close()
            if lock is not None:
                lock.release()
            raise

    @property
    def _chroma_dir(self) -> Path | None:
        """The embedded Chroma's directory (its files are erased after a forget); None with a Chroma server."""
        return None if self.settings.chroma_url else MemoryDir(self.directory).index

    @_synchronized
    def close(self) -> None:
        """Flush pending index operations and release the directory. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(MemoryBackendError):  # replayed at next open
            sync.flush(self.store, self.index)
        self.index.close()
        if self._forgot:
            forgetting.scrub_hnsw(MemoryDir(self.directory).index)
        self.store.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("this Memory is closed", hint="open it again with Memory.open(directory)")

    # -- index maintenance --------------------------------------------------------------------------------------
    def _flush_after_commit(self) -> None:
        """Apply the outbox after a committed write. The write is durable and acknowledged even if the index
        fails now (its operations stay in the outbox and are replayed by the next write, ``reconcile`` or
        ``open``): raising here would make callers retry, and duplicate, a write that succeeded."""
        try:
            sync.flush(self.store, self.index)
        except MemoryBackendError as exc:
            _log.warning("vector index update deferred (replayed later): %s", exc)

    @_synchronized
    def reconcile(self, *, full: bool = False) -> dict[str, int]:
        """Replay pending index operations; with ``full``, also compare every namespace's index with the records
        (re-add missing vectors, delete entries without a record). Returns counts."""
        self._check_open()
        return sync.reconcile(self.store, self.index, full=full)

    # -- write path ---------------------------------------------------------------------------------------------
    def remember(
        self,
        text: str,
        *,
        namespace: str,
        speaker: str | None = None,
        timestamp: Timestamp = None,
        metadata: Mapping[str, Any] | None = None,
        id: str | None = None,
    ) -> str:
        """Store one episode (no LLM). Returns its id once it is durable.

        ``metadata`` (JSON-serialisable) is returned untouched in recollections' sources; its ``session`` and
        ``channel`` keys, if present, also set the episode's session and channel. ``id`` makes the call
        idempotent: an episode with that id already in the namespace is kept and its id returned (a retried or
        resumed write never duplicates).

        Raises:
            InvalidInputError: empty text, bad namespace, bad timestamp, non-JSON metadata, or an ``id`` that
            does not start with ``ep_`` or that another namespace uses.
        """
        item: dict[str, Any] = {
            "text": text,
            "speaker": speaker,
            "timestamp": timestamp,
            "metadata": metadata,
            "id": id,
        }
        return self.remember_many([item], namespace=namespace)[0]

    @_synchronized
    def remember_many(self, items: Iterable[str | Mapping[str, Any]], *, namespace: str) -> list[str]:
        """Store many episodes in order. Each item is a text or a mapping with ``text`` and optional ``speaker``,
        ``timestamp``, ``metadata`` and ``id`` (idempotent, see :meth:`remember`). Returns the ids, in order.

        Every item is checked before anything is written (bad input writes nothing). Then the episodes go in
        chunks of :data:`WRITE_BATCH`, one after the other: each chunk is tagged and embedded in one batch, written
        in one transaction, then added to the vector index, so a failure leaves a prefix of the items stored. Not
        pipelined on purpose: writing one chunk on a thread while the next was embedded made ingest with the
        bundled embedder 2x slower (the writer's Python work held the GIL the embedder's many small torch calls
        wait for; BENCHMARKS.md M, scale on Postgres), for 1.3x on the hash embedder's store path.
        """
        self._check_open()
        check_namespace(namespace)
        order, rows = self._new_episodes(items, namespace)
        for start in range(0, len(rows), WRITE_BATCH):
            self._write_episodes(namespace, *self._prepared(rows[start : start + WRITE_BATCH]))
        return order

    def _new_episodes(
        self, items: Iterable[str | Mapping[str, Any]], namespace: str
    ) -> tuple[list[str], list[NewEpisode]]:
        """The ids of ``items`` in order and the episodes to write (untagged), every item checked.

        Raises:
            InvalidInputError: see :meth:`remember`.
        """
        datas: list[Mapping[str, Any]] = []
        for item in items:
            data: Mapping[str, Any] = {"text": item} if isinstance(item, str) else item
            if not isinstance(data, Mapping):
                raise InvalidInputError(
                    f"an episode is a text or a mapping with 'text', not {type(item).__name__}"
                )
            datas.append(data)
        given_ids = [str(d["id"]) for d in datas if d.get("id") is not None]
        for rid in given_ids:
            if not rid.startswith("ep_"):  # the kind of a record is read from its id's prefix
                raise InvalidInputError(f"episode id {rid!r} must start with 'ep_'")
        owners = self.store.owners(list(dict.fromkeys(given_ids))) if given_ids else {}
        rows: list[NewEpisode] = []
        order: list[str] = []
        seen: set[str] = set()
        for data in datas:
            given = None if data.get("id") is None else str(data["id"])
            if given is not None:
                owner = owners.get(given)
                if owner is not None and owner != namespace:
                    raise InvalidInputError(f"episode id {given!r} belongs to another namespace")
                if owner is not None or given in seen:  # stored, or earlier in this batch: idempotent
                    order.append(given)
                    continue
                seen.add(given)
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InvalidInputError("cannot remember an empty text")
            raw_meta = data.get("metadata") or {}
            if not isinstance(raw_meta, Mapping):
                raise InvalidInputError(f"metadata must be a JSON object, not {type(raw_meta).__name__}")
            meta = dict(raw_meta)
            try:
                meta_json = json.dumps(meta, sort_keys=True, ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"metadata must be JSON-serialisable: {exc}") from exc
            speaker = data.get("speaker")
            order.append(given if given is not None else new_id("ep"))
            rows.append(
                NewEpisode(
                    id=order[-1],
                    text=text,
                    speaker=None if speaker is None else str(speaker),
                    channel=meta.get("channel"),
                    ts=to_epoch(data.get("timestamp")),
                    session=None if meta.get("session") is None else str(meta.get("session")),
                    metadata=meta_json,
                    valence=0.0,
                    importance=0.0,
                    flags="",
                )
            )
        return order, rows

    def _prepared(self, chunk: Sequence[NewEpisode]) -> tuple[list[NewEpisode], Vectors]:
        """``chunk`` tagged by the gateway (the learned injection detector reads the vectors), and its vectors
        (one embedding batch)."""
        tags = tag_many([r.text for r in chunk], flag_injections=self.settings.flag_injections)
        tagged = [
            r._replace(importance=imp, valence=val, flags=",".join(flags))
            for r, (imp, val, flags) in zip(chunk, tags, strict=True)
        ]
        vectors = self.embedder([embed_text(r.text, r.speaker) for r in tagged])
        if self._detector is not None:  # flagged by meaning, where the wording screen let it pass
            hits = self._detector.flags(vectors)
            tagged = [
                r._replace(flags="injection") if hit and not r.flags else r
                for r, hit in zip(tagged, hits, strict=True)
            ]
        return tagged, vectors

    def _write_episodes(self, namespace: str, chunk: Sequence[NewEpisode], vectors: Vectors) -> None:
        """One transaction (episodes, outbox, audit), then the index."""
        with self.store.transaction() as tx:
            tx.add_episodes(namespace, chunk, list(vectors), time.time())
            tx.enqueue(namespace, [(r.id, "episode") for r in chunk], "upsert")
            tx.audit(namespace, "remember", chunk[0].id, {"count": len(chunk)})
        if namespace in self._speakers:
            self._speakers[namespace].update(r.speaker for r in chunk if r.speaker)
        self._flush_after_commit()

    @_synchronized
    def add_facts(self, triples: Sequence[Triple], *, namespace: str) -> tuple[int, int]:
        """Store facts the caller states itself (no extraction: e.g. an agent's world model, where things are),
        in order and in one transaction, by consolidation's rules (:mod:`memory.extraction`): a restatement of
        a current fact adds its source; a new fact closes the current facts it contradicts (a thing ``in`` the
        box then ``on`` the table: the first fact gets ``valid_to`` and ``superseded_by``, and stays); a
        ``closes`` triple ends the current facts it names. Each triple's ``source`` names the episode it comes
        from (one stored, or stored later in the same turn under that id). Returns (created, closed).

        Raises:
            InvalidInputError: an empty subject, relation or object (of a triple that is not ``closes``), a
            source that is not an episode id, or a bad namespace.
        """
        self._check_open()
        check_namespace(namespace)
        for t in triples:
            if not t.subject.strip() or not t.relation.strip() or not (t.object.strip() or t.closes):
                raise InvalidInputError(f"a fact needs a subject, a relation and an object: {t}")
            if not t.source.startswith("ep_"):
                raise InvalidInputError(f"a fact's source must be an episode id (ep_...), not {t.source!r}")
        if not triples:
            return 0, 0
        result = store_facts(self.store, self.embedder, namespace, triples)
        self._flush_after_commit()
        return result

    # -- reads --------------------------------------------------------------------------------------------------
    @_synchronized
    def namespaces(self) -> list[str]:
        """Every namespace with at least one record."""
        return self.store.namespaces()

    @_synchronized
    def get(self, record_id: str, *, namespace: str | None = None) -> Episode | Fact | Scene:
        """The record with this id (optionally checked to belong to ``namespace``).

        Raises:
            NotFoundError: no such record (in that namespace).
        """
        self._check_open()
        record = self.store.get(record_id)
        if record is not None and (namespace is None or record.namespace == namespace):
            return record
        raise NotFoundError(
            f"no memory record {record_id!r}" + (f" in namespace {namespace!r}" if namespace else "")
        )

    @_synchronized
    def episodes(
        self, *, namespace: str, limit: int | None = None, newest_first: bool = False
    ) -> list[Episode]:
        """The namespace's episodes in the order they were remembered (``newest_first``: reversed); at most
        ``limit`` of them, taken from the front of that order."""
        return self.store.episodes(namespace, limit=limit, newest_first=newest_first)

    @_synchronized
    def facts(
        self,
        *,
        namespace: str,
        current_only: bool = False,
        as_of: Timestamp = None,
        known_at: Timestamp = None,
    ) -> list[Fact]:
        """The namespace's facts in order of creation, bi-temporal (see :class:`~memory.records.Fact`).

        Args:
            current_only: only facts valid now (``valid_to`` unset).
            as_of: valid time: only the facts that held at that moment ("where did I live in January?").
            known_at: transaction time: the facts as the memory knew them then (recorded by then; an end
                learned later is not shown). With ``as_of``: what the memory then believed held at ``as_of``.
        Timestamps are epoch seconds, datetimes (naive = UTC) or ISO-8601 strings.

        Raises:
            InvalidInputError: a bad timestamp or namespace.
        """
        check_namespace(namespace)
        valid_at = None if as_of is None else to_epoch(as_of)
        tx_at = None if known_at is None else to_epoch(known_at)
        out: list[Fact] = []
        for fact in self.store.facts(
            namespace, current_only=current_only, started_by=valid_at, recorded_by=tx_at
        ):
            seen = fact.known_at(tx_at) if tx_at is not None else fact
            if seen is not None and (valid_at is None or seen.valid_at(valid_at)):
                out.append(seen)
        return out

    @_synchronized
    def scenes(self, *, namespace: str) -> list[Scene]:
        return self.store.scenes(namespace)

    @_synchronized
    def persona(self, namespace: str) -> list[PersonaSlot]:
        """The namespace's persona slots (:mod:`memory.semantic.persona`: name, home, work, family, pets,
        preferences, constraints, plans), induced from the current facts at each consolidation; empty until
        facts exist."""
        return self.store.persona(namespace)

    @_synchronized
    def stats(self, namespace: str | None = None) -> dict[str, Any]:
        """Record counts (of one namespace, or of all), pending index operations and the embedder."""
        out: dict[str, Any] = {"namespace": namespace, "embedder": self.embedder.name}
        out.update(self.store.stats(namespace))
        if namespace is None:
            out["namespaces"] = len(self.namespaces())
        return out

    @_synchronized
    def audit_log(self, namespace: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest audit entries (newest first): time, namespace, operation, target id, detail (no content)."""
        return self.store.audit_log(namespace, limit)

    # -- consolidation, recall, forget, transfer ---------------------------------------------------------------
    def consolidate(self, *, namespace: str) -> dict[str, int]:
        """Consolidate the namespace's new episodes (see :mod:`memory.consolidation`). Returns counts. One at a
        time per namespace, across processes (the store's lock ``consolidate:<namespace>``: another waits, then
        finds only what came since). It holds the memory's lock for each store and index call (a transaction for
        its whole block), not while it parses, embeds and extracts: other threads' calls (a turn's recall and
        writes) run in between, and a :meth:`forget` of the namespace waits for it to finish."""
        self._check_open()
        check_namespace(namespace)
        store = cast(MemoryStore, _Serialized(self.store, self._guard))
        index = cast(VectorIndex, _Serialized(self.index, self._guard))
        with self.store.exclusive(f"consolidate:{namespace}"):
            result = consolidation.consolidate(
                store,
                index,
                self.embedder,
                self.extractor,
                namespace,
                ignored_speakers=self.settings.fact_speakers_ignored,
                segmenter=self.segmenter,
            )
        with self._guard:
            self._flush_after_commit()
        return result

    def recall(self, query: str, *, namespace: str, k: int = 10) -> list[Recollection]:
        """The ``k`` most relevant items for ``query`` (episodes, facts, scenes, persona), best first; a fact
        recalled with its source episode follows it and shares its place (see :mod:`memory.recall`)."""
        return self.recall_with_confidence(query, namespace=namespace, k=k).items

    @_synchronized
    def recall_with_confidence(
        self, query: str, *, namespace: str, k: int = 10, deep: bool | None = None
    ) -> RecallResult:
        """Like :meth:`recall`, with the fast path's confidence in [0, 1]. ``deep`` None: run the deeper graph
        walk when confidence < ``settings.deep_recall_below``; True/False forces it."""
        self._check_open()
        check_namespace(namespace)
        if not query or not query.strip():
            raise InvalidInputError("cannot recall with an empty query")
        if k < 1:
            raise InvalidInputError("k must be >= 1")
        if namespace not in self._speakers:
            self._speakers[namespace] = self.store.speakers(namespace)
        speakers = self._speakers[namespace]
        return recall.recall(
            self.store, self.index, self.embedder, self.settings, query, namespace, k, deep, speakers
        )

    def forget(
        self,
        ids: str | Sequence[str] | None = None,
        *,
        namespace: str,
        query: str | None = None,
        k: int = 5,
        all: bool = False,
    ) -> int:
        """Forget records and everything derived from them; returns the number of records removed.

        Exactly one of: ``ids`` (a record id or ids), ``query`` (the top ``k`` recalled episodes and facts), or
        ``all=True`` (the whole namespace). Cascade: a forgotten episode removes the facts and persona slots
        whose every source is forgotten, and leaves scenes without it; index entries go too. The audit log keeps
        an entry with the ids and counts, never the content.

        Raises:
            InvalidInputError: not exactly one selector given. NotFoundError: an id not in the namespace.
        """
        self._check_open()
        check_namespace(namespace)
        if sum(x is not None for x in (ids, query, True if all else None)) != 1:
            raise InvalidInputError("forget needs exactly one of ids, query= or all=True")
        # not while the namespace is consolidated: that would store facts and links of the forgotten episodes
        with self.store.exclusive(f"consolidate:{namespace}"), self._guard:
            self._forgot = True
            self._speakers.pop(namespace, None)
            if all:
                return forgetting.forget_namespace(self.store, self.index, namespace, self._chroma_dir)
            targets = self.forget_targets(namespace, ids, query=query, k=k)
            reason = "query" if query is not None else "ids"
            return forgetting.forget(
                self.store, self.index, namespace, targets, reason=reason, chroma_dir=self._chroma_dir
            )

    def forget_targets(
        self, namespace: str, ids: str | Sequence[str] | None = None, *, query: str | None = None, k: int = 5
    ) -> list[str]:
        """The record ids ``forget(ids, query=, k=)`` removes (before its cascade): ``ids`` as given, or the
        episodes and facts among the top ``k`` recalled for ``query``."""
        if query is not None:
            found = self.recall(query, namespace=namespace, k=k)
            return [r.id for r in found if r.kind in ("episode", "fact")]
        return [ids] if isinstance(ids, str) else list(ids or [])

    @_synchronized
    def export(self, namespace: str, *, with_vectors: bool = True) -> JSONDict:
        """The namespace as a JSON-able dict (see :mod:`memory.transfer`)."""
        self._check_open()
        return transfer.export_namespace(
            self.store, self.embedder, check_namespace(namespace), with_vectors=with_vectors
        )

    def import_(self, data: Mapping[str, Any], *, namespace: str | None = None, replace: bool = False) -> int:
        """Import an export (into ``namespace`` or the exported one). Returns the number of records imported.
        Not while the namespace is consolidated (as :meth:`forget`): a consolidation running on the replaced
        records would store facts and links of episodes the import erased.

        Raises:
            InvalidInputError: malformed data, or the namespace is not empty and ``replace`` is False.
        """
        self._check_open()
        # not an export (not a mapping): transfer.import_namespace says so, under the memory's lock
        exported = data.get("namespace") if isinstance(data, Mapping) else None
        target = namespace if namespace is not None else exported
        held = (
            self.store.exclusive(f"consolidate:{target}")
            if isinstance(target, str)
            else contextlib.nullcontext()
        )
        with held, self._guard:  # the consolidation lock first, as consolidate takes them
            self._forgot = self._forgot or replace
            self._speakers.clear()  # the namespace imported into (None: the exported one's name) is read again
            count = transfer.import_namespace(
                self.store,
                self.index,
                self.embedder,
                data,
                namespace=namespace,
                replace=replace,
                chroma_dir=self._chroma_dir,
            )
            self._flush_after_commit()
        return count


class _Serialized:
    """``target`` (the store or the index) with each call made under ``guard``, and a store's transaction under
    it for its whole block: :meth:`Memory.consolidate` computes between its calls without the memory's lock."""

    def __init__(self, target: Any, guard: threading.RLock) -> None:
        self._target = target
        self._guard = guard

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._guard:
                return attr(*args, **kwargs)

        return call

    @contextlib.contextmanager
    def transaction(self) -> Iterator[MemoryWriter]:
        with self._guard, self._target.transaction() as tx:
            yield tx


__all__ = ["INDEX_REBUILD_KEY", "Memory", "check_namespace", "embed_text", "new_id", "to_epoch"]
