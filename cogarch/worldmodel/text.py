"""Small text utilities shared by perception, planning and scoring: TextWorld feedback cleaning, content words,
English verb synonyms and instruction splitting.

Everything here is generic English or generic text-adventure convention (the prompt line ``>`` ends the
game's answer; instructions come as sentences). Nothing names a game family's objects.
"""

from __future__ import annotations

import re

DIRECTIONS = (
    "north",
    "south",
    "east",
    "west",
    "up",
    "down",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
)
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

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "from",
        "in",
        "on",
        "into",
        "onto",
        "at",
        "with",
        "for",
        "and",
        "or",
        "then",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "you",
        "your",
        "i",
        "me",
        "my",
        "we",
        "our",
        "he",
        "she",
        "they",
        "them",
        "their",
        "if",
        "once",
        "do",
        "does",
        "did",
        "done",
        "so",
        "as",
        "by",
        "up",
        "out",
        "off",
        "over",
        "some",
        "any",
        "all",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "will",
        "would",
        "should",
        "could",
        "can",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "just",
        "also",
        "first",
        "next",
        "after",
        "before",
        "following",
        "finally",
        "okay",
        "ok",
        "good",
        "got",
        "well",
        "please",
        "need",
        "want",
        "try",
        "attempt",
        "make",
        "effort",
        "trouble",
        "much",
        "too",
        "succeed",
        "accomplished",
        "way",
        "while",
        "when",
        "where",
        "get",
        "let",
        "lets",
        "us",
        "am",
        "now",
    ]
)

# Generic English verb synonyms, folded to one canonical verb (commands use the canonical form).
_SYNONYMS = {
    "travel": "go",
    "move": "go",
    "head": "go",
    "venture": "go",
    "walk": "go",
    "trip": "go",
    "go": "go",
    "pick": "take",
    "retrieve": "take",
    "grab": "take",
    "recover": "take",
    "fetch": "take",
    "obtain": "take",
    "place": "put",
    "set": "put",
    "ensure": "",
    "look": "look",
    "check": "examine",
    "read": "examine",
    "consume": "eat",
    "enjoy": "eat",
    "devour": "eat",
    "unlock": "unlock",
    "shut": "close",
}

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


def canonical(word: str) -> str:
    """A word folded through the synonym table (``travel`` -> ``go``), plural ``s`` kept."""
    return _SYNONYMS.get(word, word)


def stem(word: str) -> str:
    """A crude English stem: roasting/roasted -> roast, frying/fried -> fry, slicing/sliced -> slic."""
    for suffix, repl in (
        ("ying", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("e", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def content_words(text: str) -> list[str]:
    """Canonical content words of ``text``, stopwords dropped, order kept."""
    out = []
    for w in words(text.replace("pick-up", "pick up")):
        c = canonical(w)
        if c and c not in STOPWORDS:
            out.append(c)
    return out


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
    "canonical",
    "clean_feedback",
    "command_direction",
    "command_verb",
    "content_words",
    "room_header",
    "sentences",
    "stem",
    "words",
]
