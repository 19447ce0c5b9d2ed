"""The LLM contract: chat completion, streaming, structured output, token usage, option scoring.

An engine is anything with ``complete`` and ``stream`` (the :class:`LLM` protocol). Engines that can score
candidate continuations by log-likelihood also satisfy :class:`OptionScorer`. Cross-cutting behaviour (retry,
rate limiting, accounting, structured-output repair) lives in wrappers that are themselves LLMs
(``reasoning.wrappers``).

Structured output: pass ``schema=`` a pydantic model class (or a JSON-schema dict). The engine asks the model
for JSON matching it and returns the raw text in ``Completion.text``; ``Completion.parsed`` holds the validated
pydantic object when the text matched, else ``None``. Use :func:`reasoning.structured.generate_structured`
(or the ``StructuredRepair`` wrapper) to get a validated object or a typed ``StructuredOutputError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    """One chat message, the OpenAI shape."""

    role: Role
    content: str


def system(content: str) -> Message:
    """A system message."""
    return {"role": "system", "content": content}


def user(content: str) -> Message:
    """A user message."""
    return {"role": "user", "content": content}


def assistant(content: str) -> Message:
    """An assistant message."""
    return {"role": "assistant", "content": content}


@dataclass(frozen=True)
class Usage:
    """Token usage of one call (or a sum of calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


Schema = type[BaseModel] | dict[str, Any]
"""A pydantic model class, or a JSON schema as a dict."""


@dataclass(frozen=True)
class Completion:
    """The result of one chat completion.

    Attributes:
        text: the generated text (for structured output, the raw JSON text).
        usage: tokens used by this call.
        model: the engine's model name.
        finish_reason: "stop", "length" or the provider's value.
        parsed: the validated object when a pydantic ``schema`` was given and the text matched it.
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str = "stop"
    parsed: Any = None


@dataclass(frozen=True)
class StreamChunk:
    """A piece of a streamed completion. The last chunk has ``done=True`` and carries the usage."""

    delta: str
    done: bool = False
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling options shared by every engine.

    Attributes:
        max_tokens: upper bound on generated tokens (None: the engine's default).
        temperature: 0 means greedy / deterministic.
        stop: strings that end generation.
        seed: sampling seed, where the engine supports one.
        schema: request structured output matching this pydantic model or JSON schema.
        avoid: texts the reply should not copy at length, such as the assistant's earlier replies. The local
            engine never continues a run of ``AVOID_NGRAM`` tokens taken from them; remote engines ignore it.
    """

    max_tokens: int | None = None
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    schema: Schema | None = None
    avoid: tuple[str, ...] = ()


@runtime_checkable
class LLM(Protocol):
    """A chat model.

    ``complete`` returns the whole answer; ``stream`` yields :class:`StreamChunk` s, the last with ``done=True``.
    Both raise :class:`reasoning.errors.LLMError` (or a subclass) on failure, never a provider's own exception.
    """

    @property
    def name(self) -> str:
        """A human-readable model identifier (e.g. ``openai/gpt-4o-mini``)."""
        ...

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        """Generate a completion for ``messages``."""
        ...

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        """Generate a completion piece by piece."""
        ...


@runtime_checkable
class OptionScorer(Protocol):
    """An engine that can rank candidate continuations.

    ``score_options(messages, options)`` returns, for each option, the total log-likelihood of the option's
    tokens as the assistant's reply to ``messages`` (higher is more likely). ``normalize=True`` divides by the
    option's token count (mean log-likelihood), which compares options of different lengths fairly.
    """

    def score_options(
        self, messages: Sequence[Message], options: Sequence[str], *, normalize: bool = True
    ) -> list[float]: ...


__all__ = [
    "LLM",
    "Completion",
    "GenerationOptions",
    "Message",
    "OptionScorer",
    "Role",
    "Schema",
    "StreamChunk",
    "Usage",
    "assistant",
    "system",
    "user",
]
