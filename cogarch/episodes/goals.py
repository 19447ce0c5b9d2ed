"""Goals read from the objective: which thing should end up in or on which other thing.

An objective such as "Carry the oil can over to the tower and stand it on the lamp stand" names things the
agent can act on. Which words are things is learnt from the game, not from a list: every admissible command
names its objects (``take oil can from workbench``: "oil can", "workbench"), so the agent's vocabulary of
things grows as it sees them. A placement goal is a pair (thing, holder) named in one sentence of the
objective, the thing first, with a locative preposition (in/into/inside/on/onto/upon) before the holder
("stand it **on the lamp stand**"). A command that places the thing in or on the holder (any verb:
``put X on Y``, ``insert X into Y``) carries the goal out.

Names are compared by lemmas of their content words (:func:`cogarch.worldmodel.text.lemma`), so "the eggs"
finds "basket of eggs" only when the sentence names every content word of it ("basket", "egg").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cogarch.worldmodel.commands import LOCATIVE_PREPOSITIONS
from cogarch.worldmodel.text import STOPWORDS, lemma, sentences, words

_MARKERS = LOCATIVE_PREPOSITIONS | {"to"}
"""Words that mark a holder in an objective: "return the map **to** the glass case" places it there too."""


def _key(name: str) -> list[str]:
    return [lemma(w) for w in words(name) if w not in STOPWORDS]


@dataclass(frozen=True)
class Goal:
    """``thing`` should be in or on ``holder``."""

    thing: str
    holder: str


def _position(sentence_keys: list[str], name: str) -> int | None:
    """Where ``name`` is mentioned in the sentence (the index of its last content word), or None."""
    key = _key(name)
    if not key:
        return None
    last = None
    for w in key:
        if w not in sentence_keys:
            return None
        last = max(last or 0, sentence_keys.index(w))
    return last


def placement_goals(objective: str, things: Iterable[str]) -> list[Goal]:
    """The placement goals of ``objective`` among the known ``things`` (see the module docstring).

    In each sentence the known things are found in order of mention; a thing mentioned right after a
    locative preposition (within three words: "on the empty plinth") is a holder, and its goal's thing is the
    nearest thing mentioned before it that is not itself a holder ("stand the oil can ... on the lamp stand").
    """
    names = sorted(set(things), key=len, reverse=True)
    goals: list[Goal] = []
    for sentence in sentences(objective):
        raw = words(sentence)
        keys = [lemma(w) for w in raw]
        found = {n: p for n in names if (p := _position(keys, n)) is not None}
        # a name inside a longer one found ("desk" in "keeper's desk") is the longer one
        for n in list(found):
            if any(n != m and set(_key(n)) < set(_key(m)) for m in found):
                del found[n]
        last_thing: str | None = None
        for name, end in sorted(found.items(), key=lambda x: x[1]):
            start = end - len(_key(name)) + 1
            if last_thing is not None and _MARKERS & set(raw[max(0, start - 3) : start]):
                goals.append(Goal(last_thing, name))
                last_thing = None
            else:
                last_thing = name
    return list(dict.fromkeys(goals))


__all__ = ["Goal", "placement_goals"]
