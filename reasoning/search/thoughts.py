"""Expansion: prompting for the next thought, parsing answers, and deduplicating candidate thoughts.

A thought is one short reasoning step. A thought that states ``Answer: X`` is final: the node is terminal
with answer X. At the last allowed depth the prompt asks for the final answer.

The search's default prompt is a conversation (:func:`thought_conversation`): the question and the root's
facts, then each step of the path as the assistant's turn followed by its node's facts as the next user turn,
then the request. A node's prompt is its parent's prompt plus the node's thought and facts, so siblings share
their parent's whole prompt and a prefix-caching engine (the local one) runs only what is new. A flat
:data:`ThoughtPrompt` (all facts, then all steps) can be passed instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from reasoning.llm import LLM, Completion, GenerationOptions, Message, assistant, system, user
from reasoning.search.associations import Association

ThoughtPrompt = Callable[[str, str, Sequence[str], Sequence[Association], bool], list[Message]]
"""``prompt(question, context, path, associations, final) -> messages`` for the next thought."""

NEXT_STEP = "Next step:"
"""The request for one more step."""
ANSWER_NOW = "Reply with 'Answer: <answer>' now."
"""The request for the final answer at the end of a chain of thoughts (the last allowed depth)."""
ANSWER_SYSTEM = "Answer the question from the facts. Reply with 'Answer:' and the answer in a few words."
"""The system prompt of the answer step (:func:`answer_messages`)."""

THOUGHT_SYSTEM = (
    "Solve the question step by step using the facts. Reply with ONE next step: one short sentence. "
    "When you know the final answer, reply exactly 'Answer: <answer>'."
)


def thought_messages(
    question: str, context: str, path: Sequence[str], associations: Sequence[Association], final: bool
) -> list[Message]:
    """The default expansion prompt: context, the question, facts (the path's associations, root first), the
    steps so far, the request."""
    parts: list[str] = []
    if context:
        parts.append(context.strip())
    parts.append(f"Question: {question}")
    if associations:
        parts.append("Facts:\n" + "\n".join(f"- {a.text}" for a in associations))
    if path:
        parts.append("Steps so far:\n" + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(path)))
    parts.append(ANSWER_NOW if final else NEXT_STEP)
    return [system(THOUGHT_SYSTEM), user("\n".join(parts))]


def _facts_block(associations: Sequence[Association]) -> list[str]:
    return ["Facts:\n" + "\n".join(f"- {a.text}" for a in associations)] if associations else []


def thought_conversation(
    question: str,
    context: str,
    root_facts: Sequence[Association],
    steps: Sequence[tuple[str, Sequence[Association]]],
    request: str | None,
) -> list[Message]:
    """The search as a conversation: the question (after ``context``) and the root's facts; then for each step
    (thought, its node's facts) the thought as the assistant's turn and the facts as the next user turn; the
    last user turn ends with ``request`` (:data:`NEXT_STEP`, :data:`ANSWER_NOW`, or None for a judge that asks
    its own question). Every earlier user turn ends with :data:`NEXT_STEP`, the request its thought answered."""
    parts = ([context.strip()] if context else []) + [f"Question: {question}", *_facts_block(root_facts)]
    messages: list[Message] = [system(THOUGHT_SYSTEM)]
    for thought, facts in steps:
        messages += [user("\n".join([*parts, NEXT_STEP])), assistant(thought)]
        parts = _facts_block(facts)
    messages.append(user("\n".join(parts + ([request] if request else []))))
    return messages


def answer_messages(question: str, context: str, facts: Sequence[Association]) -> list[Message]:
    """The answer step's prompt: the context, the facts in the order given, then the question, last, so the
    model answers it rather than continuing the facts. (Measured with the bundled 135M model on the memory
    multi-hop set, the question's own chain of facts given: the question first and the request "Reply with
    'Answer: <answer>' now" last answered 26 of 60 and copied a fact word for word in 20; the question last
    answered 40 of 60 and copied a fact in 1. BENCHMARKS.md R2.)"""
    parts = ([context.strip()] if context else []) + _facts_block(facts) + [question]
    return [system(ANSWER_SYSTEM), user("\n".join(parts))]


STEP_STOPS = (".\n", "!\n", "?\n", ":\n\n", "\n\n")
"""Where a generated step ends: a line that ends a sentence, or a blank line. A line ending in ":" (say "The
answer is:") does not end the step, so its next line, where a small model puts the answer, is kept; a line
without final punctuation runs on to the token cap, and :func:`clean_thought` keeps the first line."""

_ANSWER = re.compile(r"(?i)\banswer\s*(?:is)?\s*[:：]\s*(.+)")
_STEP_PREFIX = re.compile(r"(?i)^\s*(?:step\s*\d*\s*[:.)-]|\d+\s*[.)]|[-*])\s*")


def clean_thought(text: str, *, max_chars: int = 300) -> str:
    """The first non-empty line, without list or "Step n:" prefixes, cut to ``max_chars``; a first line that
    only leads in (it ends with ":", as in "The answer is:") is joined with the next non-empty line."""
    lines = [ln for ln in (_STEP_PREFIX.sub("", raw).strip() for raw in text.strip().splitlines()) if ln]
    if not lines:
        return ""
    first = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return first[:max_chars]


def parse_answer(thought: str) -> str | None:
    """The answer stated by ``Answer: X`` in a thought (X without a trailing period), else None."""
    match = _ANSWER.search(thought)
    if not match:
        return None
    answer = match.group(1).strip().rstrip(".").strip()
    return answer or None


_NAME = re.compile(r"\b[A-Z][a-z]{3,}\b")
NAME_SIMILARITY = 0.8
"""How close (difflib's ratio, lower case) a word must be to a name of the facts to be written as that name."""


def spell_as(answer: str, sources: Sequence[str]) -> str:
    """``answer`` with each capitalised word of 4+ letters that ``sources`` do not hold written as the one name of
    ``sources`` it nearly spells (similarity >= :data:`NAME_SIMILARITY`; a word as near to two names, or to
    none, is kept). A small model copies a rare name from its facts with a letter wrong ("Zoramel" for
    "Zoromtel": 9 of the 20 wrong answers of the bundled model given a question's own chain of facts,
    BENCHMARKS.md R2); the answer then names a place its memory does not hold."""
    names = {m.group() for text in sources for m in _NAME.finditer(text)}

    def spelled(match: re.Match[str]) -> str:
        word = match.group()
        if word in names:
            return word
        near = sorted(
            ((SequenceMatcher(None, word.lower(), n.lower()).ratio(), n) for n in names), reverse=True
        )[:2]
        if not near or near[0][0] < NAME_SIMILARITY or (len(near) > 1 and near[1][0] == near[0][0]):
            return word
        return near[0][1]

    return _NAME.sub(spelled, answer)


def answer_from_facts(
    llm: LLM,
    question: str,
    context: str,
    facts: Sequence[Association],
    options: GenerationOptions,
    *,
    spell: bool = True,
) -> tuple[str, Completion]:
    """The answer step: one generation from :func:`answer_messages` with ``options``; the answer is the first
    line (:func:`clean_thought`), its "Answer: X" part when it states one, a name nearly copied from the facts
    written as they spell it (:func:`spell_as`; ``spell`` False: as generated). Returns (the answer, the
    completion, for its usage). CoAT's final answer and the benchmark's baselines answer through this one step.
    """
    completion = llm.complete(answer_messages(question, context, facts), options)
    thought = clean_thought(completion.text)
    answer = parse_answer(thought) or thought
    return (spell_as(answer, [question, *(a.text for a in facts)]) if spell else answer), completion


def dedup_key(thought: str) -> str:
    """Thoughts equal up to case, punctuation and spacing share a key."""
    return " ".join(re.findall(r"[a-z0-9]+", thought.lower()))


def is_echo(answer: str, texts: Sequence[str]) -> bool:
    """True when ``answer`` is no answer: empty, a question (it ends with "?"), or one of ``texts`` (the
    question, the user's own messages) up to case, punctuation and spacing."""
    key = dedup_key(answer)
    return not key or answer.rstrip().endswith("?") or any(key == dedup_key(t) for t in texts)


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
    "ANSWER_NOW",
    "ANSWER_SYSTEM",
    "NEXT_STEP",
    "STEP_STOPS",
    "THOUGHT_SYSTEM",
    "ThoughtPrompt",
    "answer_from_facts",
    "answer_messages",
    "clean_thought",
    "dedup_key",
    "is_echo",
    "parse_answer",
    "spell_as",
    "thought_conversation",
    "thought_messages",
    "unique_associations",
]
