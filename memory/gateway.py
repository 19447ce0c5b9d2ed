"""The write gateway: cheap tags computed for every episode at ``remember`` time (no LLM).

Importance in [0, 1]: content density (named entities, numbers, first-person events, length), the tags the
lifelong-memory design routes on. Valence in [-1, 1]: a tiny affect lexicon. Flags: suspected injected
instructions (:mod:`memory.hygiene`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory.hygiene import injection_flags_many
from reasoning.words import keywords, words

_POS = frozenset(
    [
        "love",
        "great",
        "happy",
        "glad",
        "excited",
        "awesome",
        "amazing",
        "wonderful",
        "proud",
        "grateful",
        "fun",
        "enjoy",
        "enjoyed",
        "beautiful",
        "fantastic",
        "thrilled",
        "good",
        "best",
        "nice",
        "relieved",
    ]
)
_NEG = frozenset(
    [
        "sad",
        "angry",
        "upset",
        "hate",
        "terrible",
        "awful",
        "worried",
        "afraid",
        "scared",
        "lost",
        "hurt",
        "sick",
        "stressed",
        "anxious",
        "bad",
        "worst",
        "died",
        "death",
        "cry",
        "lonely",
        "tough",
        "hard",
    ]
)
_FIRST_PERSON_EVENT = re.compile(
    r"\b(i|we)\s+(just\s+)?(went|got|made|started|finished|bought|moved|joined|"
    r"won|lost|met|visited|took|adopted|signed|painted|ran|had)\b",
    re.IGNORECASE,
)


def importance(text: str) -> float:
    """A heuristic salience score in [0, 1]."""
    toks = words(text)
    if not toks:
        return 0.0
    content = len(keywords(text))
    score = 0.2 + min(0.3, content / 40)
    score += 0.2 if _FIRST_PERSON_EVENT.search(text) else 0.0
    score += 0.1 if any(t.isdigit() for t in toks) else 0.0
    score += 0.2 if re.search(r"\b[A-Z][a-z]+\b", text[1:]) else 0.0
    return min(1.0, score)


def valence(text: str) -> float:
    """Positive minus negative lexicon hits, squashed to [-1, 1]."""
    toks = words(text)
    pos = sum(t in _POS for t in toks)
    neg = sum(t in _NEG for t in toks)
    if pos == neg == 0:
        return 0.0
    return (pos - neg) / (pos + neg)


def tag(text: str, *, flag_injections: bool = True) -> tuple[float, float, tuple[str, ...]]:
    """``(importance, valence, flags)`` for a new episode."""
    return tag_many([text], flag_injections=flag_injections)[0]


def tag_many(
    texts: Sequence[str], *, flag_injections: bool = True
) -> list[tuple[float, float, tuple[str, ...]]]:
    """:func:`tag` of each text; the injection screen parses the texts it must read in one batch."""
    flags = injection_flags_many(texts) if flag_injections else [() for _ in texts]
    return [(importance(t), valence(t), f) for t, f in zip(texts, flags, strict=True)]


__all__ = ["importance", "tag", "tag_many", "valence"]
