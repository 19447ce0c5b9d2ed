"""The record types of memory and what ``recall`` returns.

Hierarchy (Bi-Mem): episodes (verbatim events) -> facts (subject-relation-object with a validity interval)
-> scenes (clusters of events) -> persona (per-namespace profile slots). Every derived record keeps the ids of
the episodes it came from (provenance), so a recollection can always name its source turns.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from reasoning.errors import InvalidInputError

Kind = Literal["episode", "fact", "scene", "persona"]
KINDS: tuple[Kind, ...] = ("episode", "fact", "scene", "persona")

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """One source episode of a recollection: its id, the caller's metadata, and its time (epoch seconds)."""

    id: str
    metadata: JSONDict
    timestamp: float
    text: str = ""


@dataclass(frozen=True)
class Episode:
    """A verbatim event as remembered.

    Attributes:
        id: ``ep_...``; namespace: the owner; text: verbatim content; speaker; channel;
        timestamp: epoch seconds (the event's time, given by the caller or the wall clock);
        session: a caller's grouping key (e.g. a conversation id), from ``metadata['session']`` if present;
        metadata: the caller's JSON metadata, returned untouched; valence in [-1, 1]; importance in [0, 1];
        flags: gateway tags such as ``"injection"``; event_id: the event segment (after consolidation).
    """

    id: str
    namespace: str
    text: str
    speaker: str | None
    channel: str | None
    timestamp: float
    session: str | None
    metadata: JSONDict
    valence: float
    importance: float
    flags: tuple[str, ...]
    event_id: str | None = None


@dataclass(frozen=True)
class Fact:
    """A subject-relation-object triple with its text, bi-temporal.

    Valid time: ``[valid_from, valid_to)``, when the fact held in the world (from the statement's time or the
    time it names: "since March"). ``valid_to`` is None while the fact is current; a contradicting newer fact
    or a closing statement sets it (the fact stays, queryable as past) and ``superseded_by`` names the newer
    fact, if any. Transaction time: ``recorded``, when the memory learned it, and ``expired``, when the memory
    learned it had ended (None while the memory holds it current). Relations: :mod:`memory.semantic.ontology`.
    """

    id: str
    namespace: str
    subject: str
    relation: str
    object: str
    text: str
    valid_from: float
    valid_to: float | None
    confidence: float
    sources: tuple[str, ...]
    superseded_by: str | None = None
    recorded: float = 0.0
    expired: float | None = None

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def valid_at(self, t: float) -> bool:
        """Whether the fact held at time ``t`` (valid time)."""
        return self.valid_from <= t and (self.valid_to is None or t < self.valid_to)

    def known_at(self, t: float) -> Fact | None:
        """The fact as the memory knew it at time ``t`` (transaction time): None if not yet recorded; still
        current if its end was learned after ``t``."""
        if self.recorded > t:
            return None
        if self.expired is not None and self.expired > t:
            return replace(self, valid_to=None, superseded_by=None, expired=None)
        return self


@dataclass(frozen=True)
class Scene:
    """A cluster of events with a short extractive summary; ``members`` are episode ids in time order."""

    id: str
    namespace: str
    summary: str
    members: tuple[str, ...]
    calibration: str = ""

    @property
    def text(self) -> str:
        """The scene's text, as every record has one: its summary."""
        return self.summary


@dataclass(frozen=True)
class PersonaSlot:
    """One slot of a namespace's persona (e.g. ``home_city`` = ``Berlin``) with its evidence episodes."""

    namespace: str
    slot: str
    value: str
    evidence: tuple[str, ...]
    updated: float


@dataclass(frozen=True)
class Recollection:
    """One recalled item.

    Attributes:
        id: the record id (``ep_``, ``fa_``, ``sc_`` or ``pe_`` prefix).
        kind: "episode", "fact", "scene" or "persona".
        text: the item's text (a fact's sentence, a scene's summary, a persona line).
        score: the final relevance score (higher first; comparable within one call only).
        sources: the source episodes, in time order, each with its ``id`` and the caller's ``metadata``.
        why: a short explanation of the signals that matched (``dense 0.61, bm25 'paris', graph``).
        flagged: the item (or a source) looks like injected instructions; shown quoted, never obeyed.
        current: for facts, whether still valid; None for other kinds.
        timestamp: the time of the item (episodes) or the start of validity (facts).
    """

    id: str
    kind: Kind
    text: str
    score: float
    sources: tuple[Source, ...]
    why: str = ""
    flagged: bool = False
    current: bool | None = None
    timestamp: float | None = None
    extra: JSONDict = field(default_factory=dict)


@dataclass(frozen=True)
class RecallResult:
    """``recall_with_confidence`` output: the items, a confidence in [0, 1], and whether the deep walk ran."""

    items: list[Recollection]
    confidence: float
    deep: bool


Timestamp = float | int | datetime | str | None


def new_id(prefix: str) -> str:
    """A fresh record id such as ``ep_3f2a...`` (20 hex digits)."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


_MIN_EPOCH, _MAX_EPOCH = -62135596800.0, 253402300799.0  # datetime's range: years 1 to 9999


def to_epoch(value: Timestamp) -> float:
    """Epoch seconds from a number, a datetime (naive = UTC) or an ISO-8601 string; None -> now.

    Raises:
        InvalidInputError: an unparseable string.
    """
    if value is None:
        return time.time()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _MIN_EPOCH <= value <= _MAX_EPOCH:  # also NaN: datetime conversions would fail later
            raise InvalidInputError(
                f"bad timestamp {value!r}", hint="epoch seconds between the years 1 and 9999"
            )
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInputError(f"bad timestamp {value!r}", hint="use ISO-8601 or epoch seconds") from exc
    if not isinstance(value, datetime):
        raise InvalidInputError(f"bad timestamp {value!r}", hint="use ISO-8601, epoch seconds or a datetime")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def check_namespace(namespace: str) -> str:
    """``namespace`` if it is a non-empty string of at most 256 characters.

    Raises:
        InvalidInputError: otherwise.
    """
    if not isinstance(namespace, str) or not namespace or len(namespace) > 256:
        raise InvalidInputError("namespace must be a non-empty string of at most 256 characters")
    return namespace


def embed_text(text: str, speaker: str | None) -> str:
    """What is embedded and indexed for an episode: ``"speaker: text"`` (the speaker is part of the event)."""
    return f"{speaker}: {text}" if speaker else text


__all__ = [
    "KINDS",
    "Episode",
    "Fact",
    "JSONDict",
    "Kind",
    "PersonaSlot",
    "RecallResult",
    "Recollection",
    "Scene",
    "Source",
    "Timestamp",
    "check_namespace",
    "embed_text",
    "new_id",
    "to_epoch",
]
