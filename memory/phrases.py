"""Phrase nodes of the memory graph (HippoRAG 2's passage-phrase graph), without a model beyond spaCy.

At consolidation each episode's phrases (:func:`memory.nlp.extract_phrases`: noun-phrase spans, their heads,
named entities, content verbs, all by canonical key) become graph nodes linked to the episodes that mention
them; its speaker is one more node. At recall the query is matched to those nodes lexically, in microseconds
and without a parse (:func:`query_keys`): its content words, their singular forms, and adjacent word pairs, in
the keys' canonical form. Parsing the query with spaCy costs 5-40 ms on 2 shared cores, more than the rest of a
recall at 100k records, and matched no better on the LoCoMo development set.

Without a spaCy pipeline installed, episode phrases fall back to :func:`memory.text.entities` plus content
words (:func:`memory.text.keywords`), so consolidation still links episodes, through coarser nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from memory import nlp
from memory.text import entities
from reasoning.words import STOPWORDS, keywords, words

log = logging.getLogger(__name__)


def episode_phrases(texts: Sequence[str], speakers: Sequence[str | None]) -> list[list[str]]:
    """The phrase keys of each episode, in order of first mention, one per key; the speaker (lower-cased) last."""
    if nlp.available():
        found = [[p.key for p in phrases] for phrases in nlp.extract_phrases_many(texts)]
    else:
        log.warning("no spaCy English pipeline installed: phrase nodes fall back to names and content words")
        found = [[*entities(t), *keywords(t)] for t in texts]
    out = []
    for keys, speaker in zip(found, speakers, strict=True):
        if speaker:
            keys = [*keys, speaker.lower()]
        out.append(list(dict.fromkeys(keys)))
    return out


def _singular(word: str) -> str | None:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return None


def query_keys(query: str) -> list[str]:
    """Phrase keys a query may name: its content words and adjacent pairs of them, each also with a singular
    last word (``"Melanie's pets"`` -> ``melanie``, ``pets``, ``pet``, ``melanie pets``, ``melanie pet``).

    A superset of what matches (most pairs are not phrases); the store keeps the ones that exist.
    """
    toks = [w.removesuffix("'s").rstrip("'") for w in words(query)]
    content = [w if len(w) > 1 and w not in STOPWORDS else None for w in toks]
    out: list[str] = []
    for i, w in enumerate(content):
        if w is None:
            continue
        forms = [w] if (one := _singular(w)) is None else [w, one]
        out.extend(forms)
        prev = content[i - 1] if i else None
        if prev is not None:
            out.extend(f"{prev} {f}" for f in forms)
    return list(dict.fromkeys(out))


__all__ = ["episode_phrases", "query_keys"]
