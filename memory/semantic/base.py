"""What fact extractors read and return, and the contract they share.

An extractor turns :class:`Statement` s (episodes) into :class:`Triple` s. It never writes: storing a triple,
closing what it contradicts and recording transaction time is the store's job (:mod:`memory.extraction`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Statement:
    """One episode as an extractor sees it: its id, text, speaker and time (epoch seconds)."""

    id: str
    text: str
    speaker: str | None
    timestamp: float


@dataclass(frozen=True)
class Triple:
    """An extracted fact, ready to store.

    Attributes:
        subject, relation, object: the fact (relation canonical, see :mod:`memory.semantic.ontology`).
        text: the fact as one plain sentence (what is embedded and indexed).
        source: id of the statement it comes from.
        valid_from: when it became true (the statement's time, or the time it names: "since March").
        valid_to: when it stopped being true, when the statement says so ("until 2019", "I used to..."), else None.
        confidence: in [0, 1].
        closes: a closing statement ("I don't live in Lyon anymore", "I quit my job"): close the current facts
            with this subject and relation (and this object, unless it is empty) at ``valid_from``; store nothing.
    """

    subject: str
    relation: str
    object: str
    text: str
    source: str
    valid_from: float
    valid_to: float | None = None
    confidence: float = 0.8
    closes: bool = False


class FactExtractor(Protocol):
    """Anything that extracts triples from statements (the parser, an LLM, a test double).

    ``__call__`` returns every triple of the statements, in statement order. It raises
    :class:`reasoning.errors.LLMError` (or a subclass) when its model fails; then nothing of the batch is stored.
    """

    @property
    def name(self) -> str: ...

    def __call__(self, statements: Sequence[Statement]) -> list[Triple]: ...


__all__ = ["FactExtractor", "Statement", "Triple"]
