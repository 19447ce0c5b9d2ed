"""Light text analysis with no model: named entities, temporal cues, full-text query terms (tokens, stop words and
keywords are :mod:`reasoning.words`, imported here for this module's functions).

Used by the write path (entities, lexical index) and by recall (query analysis). Everything here is a pure
function; English heuristics, deliberately simple and cheap (microseconds per turn).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from reasoning.words import QUESTION_WORDS, STOPWORDS, keywords, words

_CAP_SEQ = re.compile(r"\b([A-Z][a-z]+(?:\s+(?:of\s+|the\s+)?[A-Z][a-z]+)*)\b")

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


def without_names(query: str, names: Iterable[str]) -> str:
    """``query`` without the whole-word, case-insensitive mentions of ``names`` (and their possessive "'s"), spaces
    collapsed; the query itself when nothing else would be left (``"Ann?"``).

    Recall embeds the query this way without the namespace's speakers (:func:`memory.recall.recall`): a sentence
    embedder weighs a name heavily, so "What does Ann like?" comes nearer to every turn Ann says or that
    addresses her than to "I love hiking" (LoCoMo dev, dense only: recall@10 0.456 with the names, 0.643
    without); who said it is the speaker signal's and BM25's part.
    """
    out, lowered = query, query.lower()
    # a substring test first: a namespace may have many speakers, a query names few
    named = {n.strip() for n in names if n and n.strip() and n.strip().lower() in lowered}
    for name in sorted(named, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(name)}(?:'s|'|’s)?(?!\w)", " ", out, flags=re.IGNORECASE)
    out = " ".join(out.split())
    return out if any(c.isalnum() for c in out) else query


def fts_terms(text: str, *, limit: int = 24) -> list[str]:
    """The lexical search terms of ``text``: its keywords without double quotes (at most ``limit``)."""
    return [t for t in (k.replace('"', "") for k in keywords(text)[:limit]) if t]


def fts_query(text: str, *, limit: int = 24) -> str:
    """An FTS5 MATCH expression OR-ing the quoted keywords of ``text`` ("" when none)."""
    return " OR ".join(f'"{t}"' for t in fts_terms(text, limit=limit))


__all__ = [
    "MONTHS",
    "asks_about_past",
    "entities",
    "fts_query",
    "fts_terms",
    "has_temporal_cue",
    "is_when_question",
    "query_time_window",
    "without_names",
]
