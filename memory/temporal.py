"""Time expressions in English, resolved against a reference time: the valid time of a stated fact.

``find_times(text, ref)`` finds the time expressions of a text and resolves each to a :class:`Span`
(``[start, end)`` in epoch seconds, UTC) relative to ``ref``, the moment the text was said:

- calendar anchors: "yesterday", "today", "tomorrow", "last/this/next week|weekend|month|year",
  "last Monday", "on Friday", "earlier this year";
- offsets: "three weeks ago", "a couple of months ago", "in two weeks", "a few days ago";
- absolute dates: "in 2019", "March 2021", "3 March 2021", "March 3rd", "in March" (the latest March not after
  ``ref``, or the next one with a future tense marker);
- each span carries its role in a validity interval: ``since X`` and ``from X`` start it, ``until X`` ends
  it, ``for N units`` is a duration ending at ``ref`` (present perfect: "I have lived here for two years"),
  anything else is the time of the event the clause states ("I moved to Porto last week").

:func:`valid_time` turns those roles into the ``(valid_from, valid_to)`` of a fact stated in a clause.
Pure functions, no model; the phrases are general English, not any data set's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from memory.text import MONTHS

DAY = 86400.0

Role = Literal["at", "since", "until", "for"]

_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
    "several": 4,
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UNIT = r"(day|week|weekend|month|year|decade)s?"
_NUM = r"(\d+|" + "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True)) + r"|half\s+a)"
_MONTH = r"(" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ago", re.compile(rf"\b{_NUM}\s+{_UNIT}\s+ago\b")),
    ("in_n", re.compile(rf"\bin\s+{_NUM}\s+{_UNIT}\b")),
    ("for_n", re.compile(rf"\bfor\s+(?:the\s+(?:last|past)\s+)?{_NUM}\s+{_UNIT}\b")),
    ("for_n", re.compile(r"\bfor\s+the\s+(?:last|past)\s+()(day|week|month|year|decade)\b")),
    ("rel_unit", re.compile(rf"\b(last|this|next|past|previous|coming)\s+{_UNIT}\b")),
    ("earlier", re.compile(r"\b(earlier|later)\s+this\s+(week|month|year)\b")),
    ("rel_day", re.compile(r"\b(yesterday|today|tonight|tomorrow|this\s+morning|this\s+evening)\b")),
    ("weekday", re.compile(rf"\b(last|this|next|on)?\s*({'|'.join(_WEEKDAYS)})s?\b")),
    ("dmy", re.compile(rf"\b{_ORD}\s+(?:of\s+)?{_MONTH}(?:,?\s+((?:19|20)\d\d))?\b")),
    ("mdy", re.compile(rf"\b{_MONTH}\s+{_ORD}(?:,?\s+((?:19|20)\d\d))?\b")),
    ("month_year", re.compile(rf"\b{_MONTH}\s+(?:of\s+)?((?:19|20)\d\d)\b")),
    ("month", re.compile(rf"\b(?:(last|this|next|in|since|until|till|from|of|by)\s+){_MONTH}\b")),
    ("year", re.compile(r"\b(?:in|since|until|till|from|of|by|around)\s+((?:19|20)\d\d)\b")),
]
_RANK = {"dmy": -3, "mdy": -3, "month_year": -2}
"""Patterns tried first where matches overlap ("since March 3rd" is a day, not a month)."""
_ROLE_BEFORE = re.compile(r"\b(since|from|starting|as\s+of|until|till|up\s+to|through)\s*$")
_FUTURE = re.compile(r"\b(will|'ll|going\s+to|gonna|plan(?:s|ning)?\s+to|next|tomorrow|soon)\b")


@dataclass(frozen=True)
class Span:
    """A resolved time expression: ``[start, end)`` in epoch seconds, its role, and where it was found.

    ``role``: "at" (the time of the event), "since" (validity starts), "until" (validity ends), "for" (a
    duration ending at the reference time). ``text`` is the matched phrase; ``begin``/``stop`` its offsets.
    """

    start: float
    end: float
    role: Role
    text: str
    begin: int
    stop: int


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _day(d: datetime) -> datetime:
    return d.replace(hour=0, minute=0, second=0, microsecond=0)


def _add_months(d: datetime, months: int) -> datetime:
    total = d.year * 12 + d.month - 1 + months
    return d.replace(year=total // 12, month=total % 12 + 1, day=1)


def _number(word: str) -> float:
    word = " ".join(word.lower().split())
    if word.isdigit():
        return float(word)
    if word.startswith("half"):
        return 0.5
    return float(_NUMBERS.get(word, 1))


def _unit_span(unit: str, anchor: datetime, shift: int) -> tuple[datetime, datetime]:
    """The calendar unit containing ``anchor`` moved by ``shift`` units (weeks start on Monday)."""
    if unit == "day":
        start = _day(anchor) + timedelta(days=shift)
        return start, start + timedelta(days=1)
    if unit == "week":
        start = _day(anchor) - timedelta(days=anchor.weekday()) + timedelta(weeks=shift)
        return start, start + timedelta(weeks=1)
    if unit == "weekend":
        monday = _day(anchor) - timedelta(days=anchor.weekday()) + timedelta(weeks=shift)
        start = monday + timedelta(days=5)
        return start, start + timedelta(days=2)
    if unit == "month":
        start = _add_months(_day(anchor).replace(day=1), shift)
        return start, _add_months(start, 1)
    if unit == "year":
        start = datetime(anchor.year + shift, 1, 1, tzinfo=UTC)
        return start, datetime(anchor.year + shift + 1, 1, 1, tzinfo=UTC)
    start = datetime(anchor.year // 10 * 10 + 10 * shift, 1, 1, tzinfo=UTC)  # decade
    return start, datetime(start.year + 10, 1, 1, tzinfo=UTC)


def _offset(unit: str, n: float) -> timedelta:
    days = {"day": 1, "week": 7, "weekend": 7, "month": 30.44, "year": 365.25, "decade": 3652.5}[unit]
    return timedelta(days=days * n)


def _month_number(word: str) -> int:
    word = word.lower().rstrip(".")
    for name, number in MONTHS.items():
        if name.startswith(word[:3]):
            return number
    raise ValueError(word)


def _month_span(month: int, year: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, _add_months(start, 1)


def _resolve(kind: str, m: re.Match[str], ref: datetime, future: bool) -> tuple[datetime, datetime] | None:
    g = m.groups()
    if kind == "ago":
        point = ref - _offset(g[1], _number(g[0]))
        return _day(point), _day(point) + timedelta(days=1)
    if kind == "in_n":
        point = ref + _offset(g[1], _number(g[0]))
        return _day(point), _day(point) + timedelta(days=1)
    if kind == "for_n":
        return ref - _offset(g[1], _number(g[0]) if g[0] else 1), ref
    if kind == "rel_unit":
        shift = {"last": -1, "past": -1, "previous": -1, "this": 0, "next": 1, "coming": 1}[g[0]]
        return _unit_span(g[1], ref, shift)
    if kind == "earlier":
        start, end = _unit_span(g[1], ref, 0)
        return (start, ref) if g[0] == "earlier" else (ref, end)
    if kind == "rel_day":
        word = g[0].split()[-1]
        shift = {"yesterday": -1, "tomorrow": 1}.get(word, 0)
        return _unit_span("day", ref, shift)
    if kind == "weekday":
        target = _WEEKDAYS.index(g[1])
        delta = (ref.weekday() - target) % 7
        if g[0] == "next" or (future and g[0] in (None, "on", "this")):
            delta = -((target - ref.weekday()) % 7 or 7)
        elif g[0] == "last" and delta == 0:
            delta = 7
        day = _day(ref) - timedelta(days=delta)
        return day, day + timedelta(days=1)
    if kind in ("dmy", "mdy"):
        day_s, month_s, year_s = (g[0], g[1], g[2]) if kind == "dmy" else (g[1], g[0], g[2])
        month, day_n = _month_number(month_s), int(day_s)
        year = int(year_s) if year_s else ref.year
        try:
            point = datetime(year, month, day_n, tzinfo=UTC)
        except ValueError:
            return None
        if not year_s and point > ref and not future:
            point = point.replace(year=year - 1)
        elif not year_s and point < _day(ref) and future:
            point = point.replace(year=year + 1)
        return point, point + timedelta(days=1)
    if kind == "month_year":
        return _month_span(_month_number(g[0]), int(g[1]))
    if kind == "month":
        month, prefix = _month_number(g[1]), g[0]
        if g[1] == "may" and prefix in ("of", "by"):
            return None  # "by May" is rare, "may" mostly the modal verb
        if prefix == "this":
            year = ref.year
        elif prefix == "next" or (future and prefix not in ("last", "since")):
            year = ref.year if month > ref.month else ref.year + 1  # the next one
        elif prefix == "last":
            year = ref.year if month < ref.month else ref.year - 1  # the one before this month
        else:
            year = ref.year if month <= ref.month else ref.year - 1  # the latest one begun
        return _month_span(month, year)
    if kind == "year":
        year = int(g[0])
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    return None


def _role(kind: str, text: str, before: str) -> Role:
    if kind == "for_n":
        return "for"
    head = text.split()[0] if text.split() else ""
    marker = _ROLE_BEFORE.search(before)
    word = head if head in ("since", "from", "until", "till") else (marker.group(1) if marker else "")
    if word in ("since", "from", "starting") or word.startswith("as"):
        return "since"
    if word in ("until", "till", "through") or word.startswith("up"):
        return "until"
    return "at"


def find_times(text: str, ref: float) -> list[Span]:
    """Every time expression of ``text`` resolved against ``ref`` (epoch seconds), in text order; overlapping
    matches keep the most specific (a full date over a bare month). A future marker in the text ("will", "next",
    "going to") resolves bare months and weekdays forward."""
    low = text.lower()
    now = _dt(ref)
    future = _FUTURE.search(low) is not None
    found: list[Span] = []
    taken: list[tuple[int, int]] = []
    candidates = []
    for rank, (kind, pattern) in enumerate(_PATTERNS):
        for m in pattern.finditer(low):
            candidates.append((_RANK.get(kind, rank), m.start(), kind, m))
    for _, _, kind, m in sorted(candidates, key=lambda c: (c[0], c[1])):
        if any(m.start() < e and s < m.end() for s, e in taken):
            continue
        try:
            span = _resolve(kind, m, now, future)
        except (ValueError, OverflowError):
            span = None
        if span is None:
            continue
        taken.append((m.start(), m.end()))
        role = _role(kind, m.group(0), low[: m.start()])
        found.append(Span(span[0].timestamp(), span[1].timestamp(), role, m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda s: s.begin)


def valid_time(text: str, ref: float) -> tuple[float | None, float | None]:
    """The validity interval a clause states, ``(valid_from, valid_to)``; None where it says nothing.

    "since March" -> from the start of March; "until 2019" -> to the start of 2019; "for two years" -> from two
    years before ``ref``; an event time ("last week", "in 2019") -> from its start. The first of each kind wins.
    """
    start: float | None = None
    end: float | None = None
    for span in find_times(text, ref):
        if span.role == "until":
            end = span.start if end is None else end
        elif start is None:
            start = span.start
    return start, end


def is_future(text: str, ref: float) -> bool:
    """Whether the clause places its event after ``ref`` (a plan, not yet a fact)."""
    spans = [s for s in find_times(text, ref) if s.role == "at"]
    return bool(spans) and all(s.start >= ref - 1 for s in spans) and any(s.start > ref for s in spans)


def window(text: str, ref: float) -> tuple[float, float] | None:
    """The time window a question names, ``[start, end)``, resolved against ``ref`` ("in January", "last
    year", "in May 2023"); None when it names none."""
    spans = find_times(text, ref)
    if not spans:
        return None
    return spans[0].start, spans[0].end


__all__ = ["DAY", "Span", "find_times", "is_future", "valid_time", "window"]
