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

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel

Role = Literal["system", "user", "assistant", "tool"]


class Message(TypedDict):
    """One chat message, the OpenAI shape.

    An assistant message that calls tools carries ``tool_calls`` (OpenAI's list of
    ``{"id", "type": "function", "function": {"name", "arguments"}}``); a ``tool`` message answers one call and
    carries its ``tool_call_id``.
    """

    role: Role
    content: str
    tool_calls: NotRequired[list[dict[str, Any]]]
    tool_call_id: NotRequired[str]
    name: NotRequired[str]


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
class ToolSpec:
    """A tool the model may call: OpenAI's function description.

    Attributes:
        name: the function name (``^[A-Za-z0-9_-]{1,64}$``).
        description: what it does, for the model.
        parameters: the JSON schema of its arguments (an object schema).
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_openai(self) -> dict[str, Any]:
        """``{"type": "function", "function": {"name", "description", "parameters"}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    @classmethod
    def from_openai(cls, tool: Mapping[str, Any]) -> ToolSpec:
        """The spec of an OpenAI ``tools`` entry (``{"type": "function", "function": {...}}``).

        Raises:
            ValueError: not a function tool, or no name.
        """
        if tool.get("type", "function") != "function" or not isinstance(tool.get("function"), Mapping):
            raise ValueError("only tools of type 'function' with a 'function' object are supported")
        function = tool["function"]
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a tool function needs a 'name'")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, Mapping):
            raise ValueError(f"the parameters of tool {name!r} must be a JSON schema object")
        return cls(name=name, description=str(function.get("description") or ""), parameters=dict(parameters))


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: OpenAI's tool-call shape.

    Attributes:
        id: the call's id (a ``tool`` message answers it with this ``tool_call_id``).
        name: the tool's name.
        arguments: the arguments as the model wrote them (a JSON text; may be invalid JSON).
    """

    id: str
    name: str
    arguments: str = "{}"

    def to_openai(self) -> dict[str, Any]:
        """``{"id", "type": "function", "function": {"name", "arguments"}}``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    @classmethod
    def from_openai(cls, call: Mapping[str, Any]) -> ToolCall:
        """The call of an OpenAI ``tool_calls`` entry (arguments given as a dict are written as JSON)."""
        function = call.get("function") or {}
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        return cls(id=str(call.get("id") or ""), name=str(function.get("name") or ""), arguments=arguments)


def tool_calls_message(calls: Sequence[ToolCall], content: str = "") -> Message:
    """The assistant message that made ``calls``."""
    return {"role": "assistant", "content": content, "tool_calls": [c.to_openai() for c in calls]}


def tool_result(call_id: str, content: str, name: str = "") -> Message:
    """The ``tool`` message that answers call ``call_id``."""
    message: Message = {"role": "tool", "content": content, "tool_call_id": call_id}
    if name:
        message["name"] = name
    return message


ToolChoice = str
"""``"auto"`` (the model decides), ``"none"`` (no tool), ``"required"`` (some tool), or a tool's name."""


@dataclass(frozen=True)
class Usage:
    """Token usage of one call (or a sum of calls).

    ``cached_tokens`` of the prompt tokens came from the engine's prefix cache (their keys and values were kept
    from an earlier call, so the model did not run them again); engines without a cache report 0.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def computed_tokens(self) -> int:
        """The tokens the model ran: total minus the cached prompt tokens."""
        return self.total_tokens - self.cached_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
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
        finish_reason: "stop", "length", "tool_calls" or the provider's value.
        parsed: the validated object when a pydantic ``schema`` was given and the text matched it.
        tool_calls: the tools the model called (``finish_reason`` is then "tool_calls").
        logprob: the mean log-probability per generated token of the reply (the end of turn included when
            generated), under the distribution it was decoded from: the model's confidence in its own words.
            None when the engine does not report it (the local engine reports it, except for constrained
            JSON decoding; remote engines do not).
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str = "stop"
    parsed: Any = None
    tool_calls: tuple[ToolCall, ...] = ()
    logprob: float | None = None


@dataclass(frozen=True)
class StreamChunk:
    """A piece of a streamed completion. The last chunk has ``done=True`` and carries the usage and the tools
    the model called (whole calls: engines assemble the providers' argument deltas), and ``logprob`` when the
    engine reports it (see :class:`Completion`)."""

    delta: str
    done: bool = False
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    logprob: float | None = None


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling options shared by every engine.

    Attributes:
        max_tokens: upper bound on generated tokens (None: the engine's default).
        temperature: 0 means greedy / deterministic.
        top_p: nucleus sampling mass (None: the engine's default).
        stop: strings that end generation.
        seed: sampling seed, where the engine supports one.
        schema: request structured output matching this pydantic model or JSON schema.
        avoid: texts the reply should not copy at length, such as the assistant's earlier replies. The local
            engine never continues a run of ``AVOID_NGRAM`` tokens taken from them; remote engines ignore it.
        tools: tools the model may call (OpenAI function calling); its calls come back in
            ``Completion.tool_calls`` / the final ``StreamChunk.tool_calls``.
        tool_choice: see :data:`ToolChoice`; ignored without ``tools``.
        constrained: decode structured output under the schema's constraint where the engine can (the local
            engine, for flat object schemas: :mod:`reasoning.engines.json_decoding`); others ignore it.
    """

    max_tokens: int | None = None
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    schema: Schema | None = None
    avoid: tuple[str, ...] = ()
    top_p: float | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    constrained: bool = False


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
    ``end_of_turn=False`` leaves out the end of the reply (the option is a passage that need not end the turn:
    token surprise, :mod:`memory.segmentation`).
    """

    def score_options(
        self,
        messages: Sequence[Message],
        options: Sequence[str],
        *,
        normalize: bool = True,
        end_of_turn: bool = True,
    ) -> list[float]: ...


@runtime_checkable
class PromptCoster(Protocol):
    """An engine that can say what a prompt would cost before running it: ``prompt_cost(messages)`` is the
    number of prompt tokens a call would compute now (a prefix-caching engine does not compute the part it
    holds), so a caller with a hard token budget can size a generation to fit."""

    def prompt_cost(self, messages: Sequence[Message]) -> int: ...


__all__ = [
    "LLM",
    "Completion",
    "GenerationOptions",
    "Message",
    "OptionScorer",
    "PromptCoster",
    "Role",
    "Schema",
    "StreamChunk",
    "ToolCall",
    "ToolChoice",
    "ToolSpec",
    "Usage",
    "assistant",
    "system",
    "tool_calls_message",
    "tool_result",
    "user",
]
