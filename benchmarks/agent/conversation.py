"""The scripted conversation of benchmark E (agent level): recurring person-topic pairs, EMBER's setting."""

from __future__ import annotations

PAIRS = [
    ("Alice", "the Berlin marathon"),
    ("Bob", "his sourdough bread"),
    ("Chen", "the violin recital"),
]
TEMPLATES = [
    "{p} told me about {t} again today.",
    "I keep thinking about {p} and {t}.",
    "{p} asked whether I had news about {t}.",
    "We spoke with {p} about {t} over lunch.",
]


def exchanges(n: int) -> list[str]:
    """``n`` user messages cycling through the pairs, each pair recurring with varied wording."""
    out = []
    for i in range(n):
        person, topic = PAIRS[i % len(PAIRS)]
        out.append(TEMPLATES[(i // len(PAIRS)) % len(TEMPLATES)].format(p=person, t=topic))
    return out
