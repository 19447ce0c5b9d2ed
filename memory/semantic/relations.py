"""Relation matching by the embedder: the ontology relation a sentence states when the parser has no frame for it.

The parser's lexicon (:data:`memory.semantic.parser.FRAMES`) knows a few hundred predicates; people say the same
things in endless other words ("I'm based in X", "X employs me", "I've got an X allergy"). For such a sentence the
parser proposes candidate objects (entities, noun phrases, infinitive and gerund phrases), and this module
compares each *pattern* (the sentence with the candidate replaced by ``X``) with the ontology's first-person
phrasings of each relation (:data:`memory.semantic.ontology.PHRASINGS`) and with phrasings of statements that
state no personal fact (:data:`NONE`: "I saw X", "I went to X"...). A candidate is given the relation whose
phrasing is nearest when that similarity is at least :data:`MIN_SIMILARITY` and beats the nearest no-fact
phrasing by :data:`MARGIN`; the parser then checks that the object fits the relation (a place for a home, an
occupation or an organisation for work, a verb phrase for a plan) and decides a preference's polarity from the
words (the embedder hardly separates "I love X" from "I hate X").

The thresholds are calibrated for the bundled all-MiniLM-L6-v2 (cosine similarities of its unit vectors);
:func:`matcher_for` returns a matcher only for that embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.config import LOCAL_EMBEDDER
from memory.embedders.base import Embedder
from memory.semantic.ontology import PHRASINGS

NONE = (
    "I saw X.",
    "I went to X.",
    "I visited X.",
    "X is nice.",
    "I talked about X.",
    "I bought X.",
    "I read about X.",
    "I met X.",
    "X happened yesterday.",
    "I watched X.",
    "What about X?",
)
"""Phrasings of sentences that mention something without stating a personal fact about it."""

MIN_SIMILARITY = 0.62
MARGIN = 0.04


@dataclass(frozen=True)
class Match:
    """The relation a pattern states, its similarity, and how far it beat the nearest no-fact phrasing."""

    relation: str
    similarity: float
    margin: float


class RelationMatcher:
    """Matches patterns ("I'm based in X.") with the ontology's relation phrasings by the embedder.

    The phrasings are embedded once, on first use. ``match`` embeds its patterns in one batch."""

    def __init__(self, embedder: Embedder) -> None:
        self._embed = embedder
        self._relations: list[str] = []
        self._phrasings: np.ndarray | None = None
        self._none: np.ndarray | None = None

    def _prepare(self) -> tuple[np.ndarray, np.ndarray]:
        if self._phrasings is None or self._none is None:
            texts = [(rel, p) for rel, ps in PHRASINGS.items() for p in ps]
            self._relations = [rel for rel, _ in texts]
            self._phrasings = np.asarray(self._embed([p for _, p in texts]), dtype=np.float32)
            self._none = np.asarray(self._embed(list(NONE)), dtype=np.float32)
        return self._phrasings, self._none

    def match(self, patterns: Sequence[str]) -> list[Match | None]:
        """For each pattern, the relation it states, or None (below the thresholds)."""
        if not patterns:
            return []
        phrasings, none = self._prepare()
        vectors = np.asarray(self._embed(list(patterns)), dtype=np.float32)
        sims = vectors @ phrasings.T
        floor = (vectors @ none.T).max(axis=1)
        out: list[Match | None] = []
        for row, base in zip(sims, floor, strict=True):
            best = int(row.argmax())
            sim = float(row[best])
            margin = sim - float(base)
            out.append(
                Match(self._relations[best], sim, margin)
                if sim >= MIN_SIMILARITY and margin >= MARGIN
                else None
            )
        return out


def matcher_for(embedder: Embedder | None) -> RelationMatcher | None:
    """A matcher on ``embedder`` when its similarities are the ones the thresholds were calibrated on (the
    bundled all-MiniLM-L6-v2), else None (the parser then uses its lexicon only)."""
    if embedder is None or embedder.name != LOCAL_EMBEDDER:
        return None
    return RelationMatcher(embedder)


__all__ = ["MARGIN", "MIN_SIMILARITY", "NONE", "Match", "RelationMatcher", "matcher_for"]
