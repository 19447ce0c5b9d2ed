"""An OpenAI chat-completions request body, read into one agent turn (:class:`ChatRequest`).

How the fields map (the agent keeps its own conversation state and memory, so a request is one turn):

- the last ``user`` message is the turn's input;
- ``system`` / ``developer`` messages are the turn's instruction (added to the agent's system prompt, never
  stored as memories);
- earlier ``user`` / ``assistant`` messages that the agent's conversation window does not hold are context for
  the turn (in the prompt, not stored: they are the client's history, not something the agent was told); the
  ones it holds are not repeated;
- after the last user message, an ``assistant`` message with ``tool_calls`` and one ``tool`` message per call
  continue a turn that ended in client-side tool calls;
- ``temperature``, ``top_p``, ``max_completion_tokens`` (or ``max_tokens``), ``stop``, ``seed`` go to the model;
  ``response_format`` ``json_object`` / ``json_schema`` makes the reply JSON (validated, re-asked when invalid);
- ``tools`` / ``tool_choice`` are client-side tools: their calls end the turn and go back to the client;
  ``parallel_tool_calls: false`` keeps the first call only.

Fields that would change the answer but are not supported (``n`` > 1, audio, logprobs, penalties, logit bias,
predicted outputs, legacy ``functions``) are refused with :class:`RequestError` (HTTP 400), never ignored.
Fields that do not change the answer (``metadata``, ``store``, ``service_tier``, ...) are accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cogarch.turns import TurnOptions
from reasoning.llm import Message, ToolCall, ToolSpec

CONTEXT_LIMIT = 20
"""Unseen earlier messages kept as context (the most recent ones)."""

KNOWN = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "user",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "n",
        "think",
    }
)
HARMLESS = frozenset(
    {
        "metadata",
        "store",
        "service_tier",
        "safety_identifier",
        "prompt_cache_key",
        "reasoning_effort",
        "verbosity",
    }
)
"""Accepted and without effect on the answer."""
UNSUPPORTED = {
    "audio": "audio output is not supported",
    "modalities": "only text output is supported",
    "logprobs": "logprobs are not supported",
    "top_logprobs": "logprobs are not supported",
    "frequency_penalty": "frequency_penalty is not supported",
    "presence_penalty": "presence_penalty is not supported",
    "logit_bias": "logit_bias is not supported",
    "prediction": "predicted outputs are not supported",
    "functions": "legacy 'functions' are not supported: use 'tools'",
    "function_call": "legacy 'function_call' is not supported: use 'tool_choice'",
    "web_search_options": "web search is not supported",
}


class RequestError(ValueError):
    """The request cannot be served as asked; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ChatRequest:
    """One turn, as read from a request body."""

    text: str
    options: TurnOptions
    stream: bool
    include_usage: bool
    parallel_tool_calls: bool


def text_of(content: Any, where: str = "message content") -> str:
    """A message's text: a string, or the text parts of a content list (other parts are refused)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise RequestError(f"{where}: only text parts are supported, not {kind!r}", "messages")
            parts.append(str(part.get("text", "")))
        return "\n".join(parts)
    raise RequestError(f"{where} must be a string or a list of text parts", "messages")


def _unsupported(body: Mapping[str, Any]) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise RequestError("n > 1 is not supported: the agent gives one reply per turn", "n")
    for key, why in UNSUPPORTED.items():
        value = body.get(key)
        if key == "modalities" and value in (None, ["text"]):
            continue
        if key in ("frequency_penalty", "presence_penalty") and value in (None, 0, 0.0):
            continue
        if value in (None, False, {}, []):
            continue
        raise RequestError(why, key)
    unknown = sorted(set(body) - KNOWN - HARMLESS - set(UNSUPPORTED))
    if unknown:
        raise RequestError(f"unsupported fields: {', '.join(unknown)}", unknown[0])


def _number(body: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestError(f"'{key}' must be a number in [{low:g}, {high:g}]", key)
    return float(value)


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RequestError(f"'{key}' must be a positive integer", key)
        return value
    return None


def _stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops) or len(stops) > 4:
        raise RequestError("'stop' must be a string or a list of up to 4 strings", "stop")
    return tuple(stops)


def _seed(body: Mapping[str, Any]) -> int | None:
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RequestError("'seed' must be an integer", "seed")
    return seed


def _response_format(body: Mapping[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if not isinstance(schema, Mapping):
            raise RequestError(
                "response_format json_schema needs 'json_schema': {'name', 'schema'}", "response_format"
            )
        return dict(schema)
    raise RequestError(
        "response_format type must be 'text', 'json_object' or 'json_schema'", "response_format"
    )


def _tools(body: Mapping[str, Any]) -> tuple[tuple[ToolSpec, ...], str]:
    raw = body.get("tools") or []
    if not isinstance(raw, list):
        raise RequestError("'tools' must be a list", "tools")
    try:
        specs = tuple(ToolSpec.from_openai(t) for t in raw if isinstance(t, Mapping))
    except ValueError as exc:
        raise RequestError(str(exc), "tools") from None
    if len(specs) != len(raw):
        raise RequestError("every tool must be an object", "tools")
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        if not isinstance(name, str) or not name:
            raise RequestError("tool_choice must be 'auto', 'none', 'required' or a function", "tool_choice")
        choice = name
    if not isinstance(choice, str):
        raise RequestError("tool_choice must be 'auto', 'none', 'required' or a function", "tool_choice")
    return specs, choice


def _exchange(after: list[Mapping[str, Any]]) -> list[Message]:
    """The tool-call continuation after the last user message, checked: every call answered, no other
    messages."""
    out: list[Message] = []
    calls: dict[str, str] = {}
    answered: set[str] = set()
    for message in after:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            raw = message["tool_calls"]
            if not isinstance(raw, list):
                raise RequestError("'tool_calls' must be a list", "messages")
            parsed = [ToolCall.from_openai(c) for c in raw if isinstance(c, Mapping)]
            calls.update({c.id: c.name for c in parsed})
            out.append(
                {
                    "role": "assistant",
                    "content": text_of(message.get("content"), "assistant content"),
                    "tool_calls": [c.to_openai() for c in parsed],
                }
            )
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in calls:
                raise RequestError(
                    "a tool message answers no tool call of the assistant before it", "messages"
                )
            answered.add(call_id)
            out.append(
                {
                    "role": "tool",
                    "content": text_of(message.get("content"), "tool content"),
                    "tool_call_id": call_id,
                    "name": calls[call_id],
                }
            )
        else:
            raise RequestError(
                "after the last user message only an assistant message with tool_calls and its tool results may "
                "follow",
                "messages",
            )
    missing = sorted(set(calls) - answered)
    if missing:
        raise RequestError(f"tool calls without a tool message: {', '.join(missing)}", "messages")
    return out


def _said(text: str) -> str:
    return " ".join(text.casefold().split())


def parse_chat_request(body: Mapping[str, Any], seen: Callable[[], list[str]]) -> ChatRequest:
    """The turn a request body asks for. ``seen()`` gives the texts of the agent's conversation window (asked
    only when the request carries earlier messages).

    Raises:
        RequestError: an unsupported field or a malformed value (the message names it).
    """
    _unsupported(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, Mapping) for m in messages):
        raise RequestError("'messages' must be a non-empty list of message objects", "messages")
    roles = ("system", "developer", "user", "assistant", "tool")
    for message in messages:
        if message.get("role") not in roles:
            raise RequestError(
                f"unknown message role {message.get('role')!r}: use one of {roles}", "messages"
            )
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    if last < 0:
        raise RequestError("'messages' holds no user message: the last user message is the turn", "messages")
    text = text_of(messages[last].get("content"), "the user message")
    if not text.strip():
        raise RequestError("the last user message is empty", "messages")
    instruction = "\n\n".join(
        text_of(m.get("content"), "a system message")
        for m in messages
        if m.get("role") in ("system", "developer")
    ).strip()
    earlier: list[Message] = [
        {"role": m["role"], "content": text_of(m.get("content"))}
        for m in messages[:last]
        if m.get("role") in ("user", "assistant") and text_of(m.get("content")).strip()
    ]
    if earlier:
        known = {_said(t) for t in seen()}
        earlier = [m for m in earlier if _said(m["content"]) not in known]
    specs, choice = _tools(body)
    options = TurnOptions(
        instruction=instruction or None,
        context=earlier[-CONTEXT_LIMIT:],
        temperature=_number(body, "temperature", 0.0, 2.0),
        top_p=_number(body, "top_p", 0.0, 1.0),
        max_tokens=_max_tokens(body),
        stop=_stop(body),
        seed=_seed(body),
        response_format=_response_format(body),
        tools=specs,
        tool_choice=choice,
        tool_messages=_exchange(list(messages[last + 1 :])),
    )
    stream_options = body.get("stream_options") or {}
    parallel = body.get("parallel_tool_calls")
    return ChatRequest(
        text=text,
        options=options,
        stream=bool(body.get("stream", False)),
        include_usage=bool(isinstance(stream_options, Mapping) and stream_options.get("include_usage")),
        parallel_tool_calls=parallel is not False,
    )


__all__ = ["CONTEXT_LIMIT", "ChatRequest", "RequestError", "parse_chat_request", "text_of"]
