"""Triplets from an LLM (AriGraph's extraction step): the observation in, ``(subject, relation, object)`` out.

The prompt follows AriGraph's: the model lists the facts an observation states about the world, as short
triplets, with locations as ``in``/``on``/``at`` and states as ``is``, so they meet the rule-based perception's
relations and the graph's replacement of outdated facts (a thing's old place is dropped when it is seen in a
new one). The answer is structured output (``GenerationOptions.schema``): hosted models return JSON for the
schema, the bundled model is constrained to it. A reply that does not parse adds nothing (the rule-based
perception still runs): extraction never fails a step.

Use: ``WorldModel(extractor=LLMExtractor(llm))``, or ``WorldModelPolicy(extractor=...)``; the CLI's
``cogarch textworld play --llm-triplets``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from cogarch.worldmodel.graph import Triplet
from reasoning.errors import LLMError
from reasoning.llm import GenerationOptions, Message

PROMPT = (
    "You read observations from a text adventure game and extract the facts they state about the world as "
    "triplets (subject, relation, object). Use short lower-case names as they appear in the text. Use the "
    'relation "in", "on" or "at" for where things are (the inventory is "inventory"), "is" for states such '
    'as "open", "closed" or "locked", and a direction ("north", "east", ...) for how rooms connect. Extract '
    "only facts the observation states; no guesses. Reply with JSON."
)


class _Fact(BaseModel):
    subject: str = Field(max_length=80)
    relation: str = Field(max_length=40)
    object: str = Field(max_length=80)


class Facts(BaseModel):
    """The structured answer: the triplets of one observation."""

    triplets: list[_Fact] = Field(default_factory=list, max_length=40)


class LLMExtractor:
    """``observation -> triplets`` by one structured LLM call per observation (see the module docstring).

    Args:
        llm: any ``reasoning`` LLM (``complete`` with ``GenerationOptions.schema``).
        max_tokens: the answer's budget.
        max_chars: the observation is cut to this many characters.

    Attributes:
        tokens: LLM tokens spent so far.
    """

    def __init__(self, llm: Any, *, max_tokens: int = 384, max_chars: int = 1500) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.max_chars = max_chars
        self.tokens = 0

    def messages(self, observation: str) -> list[Message]:
        return [
            {"role": "system", "content": PROMPT},
            {"role": "user", "content": f"Observation:\n{observation[: self.max_chars]}"},
        ]

    def __call__(self, observation: str) -> list[Triplet]:
        if not observation.strip():
            return []
        try:
            completion = self.llm.complete(
                self.messages(observation), GenerationOptions(max_tokens=self.max_tokens, schema=Facts)
            )
        except LLMError:
            return []
        self.tokens += completion.usage.total_tokens
        parsed = completion.parsed
        if not isinstance(parsed, Facts):
            try:
                parsed = Facts.model_validate_json(completion.text)
            except ValidationError:
                return []
        out: list[Triplet] = []
        for fact in parsed.triplets:
            t = Triplet(*(" ".join(x.lower().split()) for x in (fact.subject, fact.relation, fact.object)))
            if all(t) and t not in out:
                out.append(t)
        return out


__all__ = ["PROMPT", "Facts", "LLMExtractor"]
