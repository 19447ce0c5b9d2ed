"""The store contract: the system of record of memory, and the only place that knows its schema.

Two implementations: :class:`memory.store.sqlite.SQLiteStore` (embedded, the default) and
:class:`memory.store.postgres.PostgresStore` (a shared server). Everything above them (``Memory``, recall,
consolidation, extraction, forgetting, transfer, ``cogarch doctor``) talks to :class:`MemoryStore` only.

Tables (the same in both stores): ``episodes``, ``facts``, ``scenes``, ``entities``, ``persona``, ``edges`` (the
memory graph: ``next``, ``similar``, ``mentions``, ``member``, ``source``, ``supersedes``, ``synonym``), ``phrase_vectors``
(the embedding of each phrase node, for synonym edges), a lexical index (FTS5
BM25 in SQLite, ``tsvector`` in Postgres), ``outbox`` (vector-index operations not yet applied), ``audit`` (who did
what, never the content) and ``meta``.

Write protocol (crash safety): every write runs in :meth:`MemoryStore.transaction`, whose :class:`MemoryWriter`
writes a record, its vector, its edges, its lexical entry and its outbox row together; the vector index is updated
only after the commit (:mod:`memory.sync`), and the outbox row removed then. Reads a write depends on (the
current facts a new fact may supersede, the scenes an event may join) are writer methods, so they see the
transaction's own writes.

Vectors cross this interface as float32 arrays; :func:`to_blob` / :func:`from_blob` are their stored bytes (also
the export format's payload).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np

from memory.records import Episode, Fact, PersonaSlot, Scene

Vector = np.ndarray[Any, np.dtype[np.float32]]
Edge = tuple[str, str, str, float]
"""``(src, dst, kind, weight)``."""
Table = Literal["episodes", "facts", "scenes"]
RecordKind = Literal["episode", "fact", "scene"]

TABLES: dict[RecordKind, Table] = {"episode": "episodes", "fact": "facts", "scene": "scenes"}
KIND_OF_PREFIX: dict[str, RecordKind] = {"ep": "episode", "fa": "fact", "sc": "scene"}
"""A record's kind from its id's prefix (``ep_``, ``fa_``, ``sc_``)."""

EXPORT_COLUMNS: dict[Table, tuple[str, ...]] = {
    "episodes": (
        "id",
        "text",
        "speaker",
        "channel",
        "ts",
        "session",
        "metadata",
        "valence",
        "importance",
        "flags",
        "event_id",
        "consolidated",
        "created",
    ),
    "facts": (
        "id",
        "subject",
        "relation",
        "object",
        "text",
        "valid_from",
        "valid_to",
        "confidence",
        "sources",
        "superseded_by",
        "created",
        "expired",
    ),
    "scenes": ("id", "summary", "members", "calibration", "created"),
}
"""The stored columns of each record table (besides ``namespace``, ``vector`` and the store's own ``seq``), in
export order. ``metadata``, ``sources`` and ``members`` hold JSON text."""


def to_blob(vector: np.ndarray[Any, Any]) -> bytes:
    """A vector's stored bytes (float32, native order)."""
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> Vector:
    """The vector stored as ``blob`` (:func:`to_blob`)."""
    return np.frombuffer(blob, dtype=np.float32)


def from_blobs(blobs: Sequence[bytes]) -> Vector:
    """The matrix whose rows are the vectors stored as ``blobs`` (:func:`to_blob`, all of one length), read from
    one joined buffer (stacking 20k row arrays costs up to ten times more)."""
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)


def kind_of(record_id: str) -> RecordKind | None:
    """The kind of a record id by its prefix, None for anything else."""
    return KIND_OF_PREFIX.get(record_id[:2]) if record_id[2:3] == "_" else None


def entity_id(namespace: str, name: str) -> str:
    """An entity's id: derived from its namespace and name (consolidation and import agree on it)."""
    return "en_" + hashlib.sha1(f"{namespace}\0{name}".encode()).hexdigest()[:20]


class OutboxOp(NamedTuple):
    """A vector-index operation committed with its record and not yet applied to the index."""

    seq: int
    namespace: str
    id: str
    kind: str
    op: str  # "upsert" or "delete"


class NewEpisode(NamedTuple):
    """An episode to store (``metadata`` as JSON text, ``flags`` comma-joined)."""

    id: str
    text: str
    speaker: str | None
    channel: str | None
    ts: float
    session: str | None
    metadata: str
    valence: float
    importance: float
    flags: str


class PendingEpisode(NamedTuple):
    """An episode consolidation has not processed yet, with its insertion order and vector."""

    seq: int
    episode: Episode
    vector: Vector


class IndexSource(NamedTuple):
    """What the vector index needs of a record: the text to embed and the stored vector (None if absent)."""

    id: str
    text: str
    vector: Vector | None


class MemoryWriter(Protocol):
    """The writes (and the reads a write depends on) of one open transaction."""

    # -- records ------------------------------------------------------------------------------------------------
    def add_episodes(
        self, namespace: str, episodes: Sequence[NewEpisode], vectors: Sequence[Vector], created: float
    ) -> None:
        """Insert episodes in order with their lexical entries; link each to the namespace's previous episode by
        a ``next`` edge."""

    def add_fact(self, fact: Fact, vector: Vector) -> None:
        """Insert a fact (every field: validity, ``recorded`` as its transaction time, ``expired``) and its
        lexical entry (edges are the caller's: :meth:`add_edges`)."""

    def current_facts(self, namespace: str, subject: str, relation: str) -> list[Fact]:
        """The current facts with this relation of ``subject`` (case-insensitive), oldest first."""

    def close_fact(self, fact_id: str, valid_to: float, by: str | None, expired: float) -> None:
        """End a current fact's validity at ``valid_to``, learned at ``expired`` (transaction time); ``by`` is
        the fact that replaces it, None when a statement only ended it."""

    def fact_sources(self, namespace: str) -> list[tuple[str, list[str]]]:
        """``(id, source episode ids)`` of every fact of the namespace."""

    def set_fact_sources(self, fact_id: str, sources: Sequence[str]) -> None: ...

    def scenes_with_vectors(self, namespace: str) -> list[tuple[str, int, Vector]]:
        """``(id, number of members, vector)`` of every scene of the namespace, in creation order."""

    def scene_members(self, namespace: str, ids: Sequence[str] | None = None) -> list[tuple[str, list[str]]]:
        """``(id, members)`` of the namespace's scenes (of those among ``ids`` when given), in creation order."""

    def upsert_scenes(
        self, namespace: str, scenes: Sequence[tuple[str, str, Sequence[str], Vector]], created: float
    ) -> None:
        """Create each ``(id, summary, members, vector)`` scene, or replace its summary, members and vector
        (keeping its calibration); replaces its lexical entry."""

    def rebuild_scene(
        self, namespace: str, scene_id: str, summary: str, members: Sequence[str], vector: Vector | None
    ) -> None:
        """Replace a scene's members, summary, vector and lexical entry, and drop its calibration."""

    def set_calibration(self, scene_id: str, text: str) -> None: ...

    def episode_texts(self, namespace: str, ids: Sequence[str]) -> dict[str, str]: ...

    def episode_vectors(self, namespace: str, ids: Sequence[str]) -> list[tuple[str, str, Vector | None]]:
        """``(id, text, vector)`` of the given episodes of the namespace, in insertion order."""

    def set_vector(self, kind: RecordKind, record_id: str, vector: Vector) -> None: ...

    def import_record(self, table: Table, namespace: str, values: Mapping[str, Any], vector: Vector) -> None:
        """Insert a record with every column of :data:`EXPORT_COLUMNS` and its lexical entry."""

    # -- consolidation state ------------------------------------------------------------------------------------
    def set_event(self, episode_id: str, event_id: str, state: int) -> None:
        """Assign an episode's event and consolidation state (0 new, 2 structure built, 1 done)."""

    def mark_extracted(self, episode_ids: Sequence[str]) -> None:
        """State 2 -> 1 for these episodes."""

    def finish_extraction(self, namespace: str) -> None:
        """State 2 -> 1 for every episode of the namespace."""

    # -- graph --------------------------------------------------------------------------------------------------
    def add_mentions(self, namespace: str, mentions: Sequence[tuple[str, str]]) -> int:
        """Link each ``(episode id, entity name)``: the namespace's entity of that name (created if new, id
        :func:`entity_id`) counts one more mention and gets a ``mentions`` edge from the episode. In batches, not
        a statement per mention. Returns the number of entities created."""

    def put_entity(self, entity_id: str, namespace: str, name: str, mentions: int) -> None: ...

    def add_edges(self, namespace: str, edges: Iterable[Edge]) -> None:
        """Insert or replace edges (one per ``(src, dst, kind)``)."""

    def prune_entities(self, namespace: str) -> None:
        """Delete the namespace's entities (phrase nodes) no episode mentions any more, with their ``synonym``
        edges and phrase vectors: a forgotten episode's phrases must not survive through a synonym link."""

    def put_phrase_vectors(self, namespace: str, items: Iterable[tuple[str, Vector]]) -> None:
        """Store ``(entity id, unit vector)`` of phrase nodes (derived data: consolidation recomputes a missing
        one from the phrase)."""

    # -- persona ------------------------------------------------------------------------------------------------
    def set_persona(
        self, namespace: str, slot: str, value: str, evidence: Sequence[str], updated: float
    ) -> None: ...

    def persona_evidence(self, namespace: str) -> list[tuple[str, list[str]]]: ...

    def set_persona_evidence(self, namespace: str, slot: str, evidence: Sequence[str]) -> None: ...

    def delete_persona(self, namespace: str, slot: str) -> None: ...

    # -- deletion -----------------------------------------------------------------------------------------------
    def delete_record(self, namespace: str, record_id: str) -> None:
        """Delete a record, its lexical entry and every edge touching it; queue its index deletion."""

    def delete_namespace(self, namespace: str) -> int:
        """Delete every row of the namespace (records, lexical entries, edges, entities, persona); queue the index
        deletions. Returns the number of records (episodes, facts, scenes) deleted."""

    # -- outbox, audit, meta ------------------------------------------------------------------------------------
    def enqueue(self, namespace: str, items: Iterable[tuple[str, str]], op: str) -> None:
        """Queue index operations ``op`` ("upsert"/"delete") for ``(id, kind)`` items."""

    def clear_outbox(self) -> None: ...

    def audit(self, namespace: str, op: str, target: str, detail: dict[str, Any]) -> None:
        """Append an audit entry. ``detail`` must never hold record content (ids, counts, reasons only)."""

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (None: delete) a metadata value."""


class MemoryStore(Protocol):
    """The system of record of one memory (every namespace).

    Calls are not thread-safe: ``Memory`` serialises them. Failures raise
    :class:`reasoning.errors.MemoryBackendError` (a damaged store: :class:`~reasoning.errors.CorruptStoreError`),
    with nothing of a failed transaction kept.
    """

    def transaction(self) -> AbstractContextManager[MemoryWriter]:
        """A write transaction: committed (durably) when the block ends, rolled back if it raises."""

    def close(self) -> None: ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Hold the lock ``name`` for the block, against every process on this store (waits while another holds
        it). ``Memory.consolidate`` takes ``consolidate:<namespace>`` so a namespace is consolidated by one
        process at a time."""

    # -- metadata -----------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None: ...

    def bind_embedder(self, name: str, dim: int) -> str:
        """Record the embedder of a new memory; returns the embedder the memory was built with."""

    # -- outbox -------------------------------------------------------------------------------------------------
    def pending(self, limit: int = 100000) -> list[OutboxOp]:
        """Queued index operations, oldest first."""

    def pending_count(self) -> int: ...

    def done(self, seqs: Sequence[int]) -> None:
        """Remove applied operations from the outbox."""

    # -- records ------------------------------------------------------------------------------------------------
    def has_records(self, namespace: str | None = None) -> bool:
        """Whether any episode, fact or scene is stored (in ``namespace``, or at all)."""

    def namespaces(self) -> list[str]:
        """Every namespace with a record or a persona slot, sorted."""

    def record_ids(self, namespace: str) -> dict[str, RecordKind]:
        """The namespace's record ids and kinds: episodes, facts, scenes, each in insertion order."""

    def owners(self, ids: Sequence[str]) -> dict[str, str]:
        """``id -> namespace`` of the stored records among ``ids`` (looked up in the table of their prefix)."""

    def vectors_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of records of one kind (ids without a record or vector are absent)."""

    def index_sources(self, kind: RecordKind, ids: Sequence[str]) -> list[IndexSource]:
        """For rebuilding the index: each record's embedded text (an episode's ``speaker: text``) and vector."""

    def get(self, record_id: str) -> Episode | Fact | Scene | None: ...

    def episodes(
        self, namespace: str, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Episode]:
        """In insertion order (``newest_first``: reversed), at most ``limit`` from the front of that order."""

    def episodes_by_id(self, ids: Sequence[str]) -> dict[str, Episode]:
        """The episodes among ``ids`` (any namespace), in insertion order."""

    def pending_episodes(self, namespace: str) -> list[PendingEpisode]:
        """Episodes at consolidation state 0, in insertion order."""

    def episode_ids(self, namespace: str, *, state: int) -> list[str]:
        """Ids of the namespace's episodes at a consolidation state, in insertion order."""

    def speakers(self, namespace: str) -> set[str]:
        """The distinct speakers of the namespace's episodes."""

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
        """In insertion order; ``started_by``: only facts with ``valid_from <= started_by``; ``recorded_by``:
        only facts recorded by then (transaction time). Callers refine validity with ``Fact.valid_at`` and
        ``Fact.known_at`` (:meth:`memory.Memory.facts`)."""

    def facts_by_id(self, ids: Sequence[str]) -> dict[str, Fact]: ...

    def scenes(
        self, namespace: str, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Scene]: ...

    def scenes_by_id(self, ids: Sequence[str]) -> dict[str, Scene]: ...

    def persona(self, namespace: str) -> list[PersonaSlot]:
        """The namespace's persona slots, by slot name."""

    def stats(self, namespace: str | None = None) -> dict[str, int]:
        """Row counts: episodes, facts, scenes, entities, persona, edges, current_facts, unconsolidated (episodes
        no consolidation has taken yet), facts_pending (episodes whose events and links are built but whose facts
        are not extracted yet: a consolidation that stopped between the two; the next one finishes them),
        flagged, pending_index_ops."""

    def audit_log(self, namespace: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest audit entries, newest first: ts, namespace, op, target, detail."""

    # -- lexical and graph --------------------------------------------------------------------------------------
    def lexical_search(
        self, namespace: str, terms: Sequence[str], limit: int, *, budget: int | None = None
    ) -> list[tuple[str, str, float]]:
        """Full-text search for any of ``terms``: ``(id, kind, score)`` best first (higher is better).

        ``budget`` bounds the postings scored (rarest terms first; see the implementations)."""

    def entities_named(self, namespace: str, names: Iterable[str]) -> dict[str, int]:
        """``entity id -> mentions`` of the namespace's entities with one of these names."""

    def entity_mentions(self, ids: Sequence[str]) -> dict[str, int]:
        """``id -> mentions`` (episodes that mention it) of the stored entities among ``ids``."""

    def phrase_vectors(self, namespace: str) -> tuple[list[str], Vector]:
        """The ids of the namespace's phrase nodes that have a vector, and those vectors as the rows of one matrix
        (shape ``(0, 0)`` when none)."""

    def edges_of(self, ids: Sequence[str], kinds: Sequence[str] | None = None) -> list[Edge]:
        """Edges touching ``ids`` in either direction (of ``kinds`` only, if given)."""

    def edges_around(self, node: str, limit: int) -> list[Edge]:
        """At most ``limit`` edges touching ``node`` in each direction (bounded expansion of a hub)."""

    def degree(self, ids: Sequence[str], *, cap: int | None = None) -> dict[str, int]:
        """Number of edges pointing at each id, counted up to ``cap`` when given."""

    # -- export -------------------------------------------------------------------------------------------------
    def export_rows(self, table: Table, namespace: str) -> list[dict[str, Any]]:
        """Every record of a table in the namespace, in insertion order: the :data:`EXPORT_COLUMNS` plus
        ``vector`` (bytes or None)."""

    def entities(self, namespace: str) -> list[dict[str, Any]]:
        """``{"id", "name", "mentions"}`` of the namespace's entities, by id."""

    def entity_owners(self, ids: Sequence[str]) -> dict[str, str]:
        """``entity id -> namespace`` of the stored entities among ``ids``."""

    def edges(self, namespace: str) -> list[Edge]:
        """The namespace's edges ordered by ``(src, dst, kind)``."""

    # -- erasure and health -------------------------------------------------------------------------------------
    def erase_on_delete(self) -> None:
        """From now on, deleted rows are overwritten, not only unlinked (where the store can do it)."""

    def erase(self) -> None:
        """Make deleted content unrecoverable from the store's files where it can (see its docstring)."""

    def check(self) -> str:
        """``"ok"`` or what the store's integrity check reports."""

    def describe(self) -> str:
        """Where the store lives (a path, or a server URL without its password), for messages."""


__all__ = [
    "EXPORT_COLUMNS",
    "KIND_OF_PREFIX",
    "TABLES",
    "Edge",
    "IndexSource",
    "MemoryStore",
    "MemoryWriter",
    "NewEpisode",
    "OutboxOp",
    "PendingEpisode",
    "RecordKind",
    "Table",
    "Vector",
    "entity_id",
    "from_blob",
    "from_blobs",
    "kind_of",
    "to_blob",
]
