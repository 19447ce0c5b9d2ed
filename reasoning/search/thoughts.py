"""Expansion: prompting for the next thought, parsing answers, and deduplicating candidate thoughts.

A thought is one short reasoning step. A thought that states ``Answer: X`` is final: the node is terminal
with answer X. At the last allowed depth the prompt asks for the final answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from reasoning.llm import Message, system, user
from reasoning.search.associations import Association

ThoughtPrompt = Callable[[str, str, Sequence[str], Sequence[Association], bool], list[Message]]
"""``prompt(question, context, path, associations, final) -> messages`` for the next thought."""

THOUGHT_SYSTEM = (
    "Solve the question step by step using the facts. Reply with ONE next step: one short sentence. "
    "When you know the final answer, reply exactly 'Answer: <answer>'."
)


def thought_messages(
    question: str, context: str, path: Sequence[str], associations: Sequence[Association], final: bool
) -> list[Message]:
    """The default expansion prompt: context, facts (the path's associations), the steps so far."""
    parts: list[str] = []
    if context:
        parts.append(context.strip())
    if associations:
        parts.append("Facts:\n" + "\n".join(f"- {a.text}" for a in associations))
    parts.append(f"Question: {question}")
    if path:
        parts.append("Steps so far:\n" + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(path)))
    parts.append("Reply with 'Answer: <answer>' now." if final else "Next step:")
    return [system(THOUGHT_SYSTEM), user("\n".join(parts))]


_ANSWER = re.compile(r"(?i)\banswer\s*(?:is)?\s*[:：]\s*(.+)")
_STEP_PREFIX = re.compile(r"(?i)^\s*(?:step\s*\d*\s*[:.)-]|\d+\s*[.)]|[-*])\s*")


def clean_thought(text: str, *, max_chars: int = 300) -> str:
    """The first non-empty line, without list or "Step n:" prefixes, cut to ``max_chars``."""
    for line in text.strip().splitlines():
        line = _STEP_PREFIX.sub("", line).strip()
        if line:
            return line[:max_chars]
    return ""


def parse_answer(thought: str) -> str | None:
    """The answer stated by ``Answer: X`` in a thought (X without a trailing period), else None."""
    match = _ANSWER.search(thought)
    if not match:
        return None
    answer = match.group(1).strip().rstrip(".").strip()
    return answer or None


def dedup_key(thought: str) -> str:
    """Thoughts equal up to case, punctuation and spacing share a key."""
    return " ".join(re.findall(r"[a-z0-9]+", thought.lower()))


def unique_associations(groups: Sequence[Sequence[Association]]) -> list[Association]:
    """The associations of several nodes, first occurrence kept, in order."""
    seen: set[str] = set()
    out: list[Association] = []
    for group in groups:
        for a in group:
            key = dedup_key(a.text)
            if key not in seen:
                seen.add(key)
                out.append(a)
    return out


__all__ = [
    "THOUGHT_SYSTEM",
    "ThoughtPrompt",
    "clean_thought",
    "dedup_key",
    "parse_answer",
    "thought_messages",
    "unique_associations",
]
