"""Light text analysis with no model: tokens, keywords, named entities, temporal cues.

Used by the write path (entities, lexical index) and by recall (query analysis). Everything here is a pure
function; English heuristics, deliberately simple and cheap (microseconds per turn).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_CAP_SEQ = re.compile(r"\b([A-Z][a-z]+(?:\s+(?:of\s+|the\s+)?[A-Z][a-z]+)*)\b")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "just",
        "really",
        "like",
        "get",
        "got",
        "go",
        "going",
        "yeah",
        "yes",
        "oh",
        "hey",
        "hi",
        "wow",
        "thanks",
        "thank",
        "lot",
        "much",
        "well",
        "one",
        "would",
    ]
)

QUESTION_WORDS = frozenset(
    [
        "what",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "why",
        "how",
        "did",
        "does",
        "do",
        "is",
        "are",
        "was",
        "were",
    ]
)

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}

_TEMPORAL_CUE = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|last\s+(?:week|weekend|month|year|night|sunday|monday|tuesday|"
    r"wednesday|thursday|friday|saturday)|next\s+(?:week|month|year)|ago|recently|this\s+(?:week|weekend|"
    r"month|year|morning)|since|(?:19|20)\d\d|january|february|march|april|june|july|august|september|october|"
    r"november|december|weekend|sunday|monday|tuesday|wednesday|thursday|friday|saturday|a\s+few\s+"
    r"(?:days|weeks|months|years))\b",
    re.IGNORECASE,
)
_WHEN_QUESTION = re.compile(
    r"^\s*(when|what\s+(?:year|month|date|day|time)|how\s+long|how\s+many\s+"
    r"(?:years|months|weeks|days))\b",
    re.IGNORECASE,
)
_PAST_QUESTION = re.compile(
    r"\b(used\s+to|before|previously|formerly|originally|in\s+the\s+past|no\s+longer|anymore|earlier|"
    r"first|old|former|past|history|ever)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_MONTH_YEAR = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+((?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words)."""
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def keywords(text: str) -> list[str]:
    """Content words: tokens minus stopwords and one-letter tokens, in order, duplicates removed."""
    seen: dict[str, None] = {}
    for w in words(text):
        if len(w) > 1 and w not in STOPWORDS and w not in QUESTION_WORDS:
            seen.setdefault(w, None)
    return list(seen)


def entities(text: str, *, known: frozenset[str] = frozenset()) -> list[str]:
    """Candidate named entities: runs of capitalised words (not a lone sentence-initial stopword), plus any
    ``known`` names (lower-cased) that occur as words. Returns normalised lower-case names, duplicates removed.
    """
    found: dict[str, None] = {}
    for match in _CAP_SEQ.finditer(text):
        name = match.group(1)
        low = name.lower()
        if low in STOPWORDS or low in QUESTION_WORDS or low in MONTHS:
            continue
        parts = [p for p in low.split() if p not in STOPWORDS]
        if not parts:
            continue
        found.setdefault(" ".join(parts), None)
    if known:
        toks = set(words(text))
        for name in known:
            if name in toks:
                found.setdefault(name, None)
    return list(found)


def has_temporal_cue(text: str) -> bool:
    """Whether the text mentions a time (yesterday, last week, a month, a year...)."""
    return _TEMPORAL_CUE.search(text) is not None


def is_when_question(query: str) -> bool:
    """Whether the query asks for a time ("When did...", "What year...", "How long...")."""
    return _WHEN_QUESTION.search(query) is not None


def asks_about_past(query: str) -> bool:
    """Whether the query asks about a past state ("used to", "before", "previously"...)."""
    return _PAST_QUESTION.search(query) is not None


def query_time_window(query: str) -> tuple[float, float] | None:
    """The time window a query names, as epoch seconds ``[start, end)``: "in May 2023" -> that month,
    "in 2022" -> that year. None when the query names no absolute date.
    """
    m = _MONTH_YEAR.search(query)
    if m:
        month, year = MONTHS[m.group(1).lower()], int(m.group(2))
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return start.timestamp(), end.timestamp()
    y = _YEAR.search(query)
    if y:
        year = int(y.group(1))
        return datetime(year, 1, 1, tzinfo=UTC).timestamp(), datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()
    return None


def fts_terms(text: str, *, limit: int = 24) -> list[str]:
    """The lexical search terms of ``text``: its keywords without double quotes (at most ``limit``)."""
    return [t for t in (k.replace('"', "") for k in keywords(text)[:limit]) if t]


def fts_query(text: str, *, limit: int = 24) -> str:
    """An FTS5 MATCH expression OR-ing the quoted keywords of ``text`` ("" when none)."""
    return " OR ".join(f'"{t}"' for t in fts_terms(text, limit=limit))


__all__ = [
    "MONTHS",
    "STOPWORDS",
    "asks_about_past",
    "entities",
    "fts_query",
    "fts_terms",
    "has_temporal_cue",
    "is_when_question",
    "keywords",
    "query_time_window",
    "words",
]
