"""Small text utilities shared by perception, planning and scoring: TextWorld feedback cleaning, content words,
lemmas and instruction splitting.

Language comes from general libraries: lemmas (inflections) from lemminflect's English lexicon
(:func:`reasoning.words.lemma`), stop words from
spaCy's English list. Synonyms are not tabulated: where the words of a command and an instruction differ, the
policy asks the LLM (option scoring). The rest is text-adventure convention (the prompt line ``>`` ends the
game's answer; room headers ``-= Kitchen =-``; instructions come as sentences). Nothing names a game's objects.
"""

from __future__ import annotations

import functools
import re

from spacy.lang.en.stop_words import STOP_WORDS

from memory.semantic.ontology import DIRECTIONS  # the world relations' directions: one list
from reasoning.words import lemma  # the one lemmatizer

OPPOSITE = {
    "north": "south",
    "south": "north",
    "east": "west",
    "west": "east",
    "up": "down",
    "down": "up",
    "northeast": "southwest",
    "southwest": "northeast",
    "northwest": "southeast",
    "southeast": "northwest",
}

STOPWORDS = frozenset(STOP_WORDS - set(DIRECTIONS))
"""spaCy's English stop words (function words and very common verbs and adverbs), directions excepted."""

_HEADER = re.compile(r"^-=\s*(.+?)\s*=-\s*$", re.MULTILINE)
_WORD = re.compile(r"[a-z]+")


def clean_feedback(text: str) -> str:
    """The game's answer without the banner art, the trailing ``>`` prompt and status line, and blank runs."""
    lines = text.replace("\r", "").split("\n")
    kept: list[str] = []
    for line in lines:
        if line.lstrip().startswith(">"):
            break
        if "$$" in line or (re.fullmatch(r"[\s_|\\/$]+", line or " ") and line.strip()):
            continue
        kept.append(line.rstrip())
    out = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


def room_header(text: str) -> str | None:
    """The room name from a ``-= Kitchen =-`` header (lower case), or None."""
    found = _HEADER.findall(text)
    return found[-1].strip().lower() if found else None


def words(text: str) -> list[str]:
    """Lower-case alphabetic tokens."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """Lemmas of the content words of ``text`` (stop words dropped), in order."""
    return [lemma(w) for w in words(text) if w not in STOPWORDS]


def command_words(command: str) -> list[str]:
    """A command's verb (its first word, kept even when a stop word such as ``take`` or ``put``) and the lemmas
    of its content words."""
    return list(_command_words(command))


@functools.lru_cache(maxsize=65536)
def _command_words(command: str) -> tuple[str, ...]:
    ws = words(command)
    if not ws:
        return ()
    return (lemma(ws[0]), *(lemma(w) for w in ws[1:] if w not in STOPWORDS))


def sentences(text: str) -> list[str]:
    """Instruction-sized pieces of ``text``: sentences, and the lines of a list (a recipe's directions)."""
    pieces: list[str] = []
    for block in re.split(r"\n+", text):
        block = block.strip()
        if not block:
            continue
        for sent in re.split(r"(?<=[.!?])\s+", block):
            sent = sent.strip()
            if sent:
                pieces.append(sent)
    return pieces


def command_verb(command: str) -> str:
    """The first word of a command (its verb)."""
    parts = command.split()
    return parts[0].lower() if parts else ""


def command_direction(command: str) -> str | None:
    """The direction of a movement command (``go north`` -> ``north``), else None."""
    parts = command.lower().split()
    if len(parts) == 2 and parts[0] == "go" and parts[1] in DIRECTIONS:
        return parts[1]
    if len(parts) == 1 and parts[0] in DIRECTIONS:
        return parts[0]
    return None


__all__ = [
    "DIRECTIONS",
    "OPPOSITE",
    "STOPWORDS",
    "clean_feedback",
    "command_direction",
    "command_verb",
    "command_words",
    "content_words",
    "lemma",
    "room_header",
    "sentences",
    "words",
]
