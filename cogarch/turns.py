"""``TurnOptions``: what a caller asks of one turn beyond its message (the OpenAI request's other fields).

The agent keeps its own conversation state and memory; a request may still bring:

- ``instruction``: a system message for this turn, added to the agent's system prompt (never stored);
- ``context``: earlier messages the agent has not seen (a client that kept its own history), shown in the
  prompt after the agent's own window, never stored;
- sampling: ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed`` (None: the settings' values);
- ``response_format``: a JSON schema dict the reply must match (``{"type": "object"}`` for plain JSON);
- ``tools``: client-side tools (their calls end the turn and go back to the caller, who runs them) and
  ``tool_choice``;
- ``tool_messages``: the continuation of a turn that ended in client-side calls: the assistant message with
  the calls and one ``tool`` message per call (OpenAI's shape);
- ``request_id``: the caller's id of this request (the server's ``Idempotency-Key`` header): the turn's id, and
  so its episodes' ids, derive from it, so a retry of a request that was stored but not answered (its process
  died) stores nothing twice.

:meth:`TurnOptions.to_state` makes the plain data the graph checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reasoning.errors import InvalidInputError
from reasoning.llm import GenerationOptions, Message, ToolChoice, ToolSpec


@dataclass(frozen=True)
class TurnOptions:
    """See the module docstring. Every field is optional."""

    instruction: str | None = None
    context: Sequence[Message] = ()
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    seed: int | None = None
    response_format: Mapping[str, Any] | None = None
    tools: Sequence[ToolSpec] = ()
    tool_choice: ToolChoice = "auto"
    tool_messages: Sequence[Message] = field(default=())
    request_id: str | None = None

    def to_state(self) -> dict[str, Any]:
        """The checkpointable form: the ``request`` of the turn's state (tool messages go apart)."""
        return {
            "instruction": self.instruction,
            "context": [dict(m) for m in self.context],
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "response_format": dict(self.response_format) if self.response_format is not None else None,
            "tools": [t.to_openai() for t in self.tools],
            "tool_choice": self.tool_choice,
            "request_id": self.request_id,
        }

    def check(self, server_tools: Sequence[str]) -> None:
        """Raise :class:`InvalidInputError` for values no model could honour.

        Raises:
            InvalidInputError: a client tool named like a server tool, a ``tool_choice`` naming no tool, a
                sampling value out of range.
        """
        names = [t.name for t in self.tools]
        clash = sorted(set(names) & set(server_tools))
        if clash:
            raise InvalidInputError(
                f"client tools {clash} have the names of the agent's own tools", hint="rename them"
            )
        if len(set(names)) != len(names):
            raise InvalidInputError("two client tools share a name")
        known = {*names, *server_tools}
        if self.tool_choice not in ("auto", "none", "required") and self.tool_choice not in known:
            raise InvalidInputError(f"tool_choice names no tool: {self.tool_choice!r}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise InvalidInputError("temperature must be in [0, 2]")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise InvalidInputError("top_p must be in (0, 1]")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise InvalidInputError("max_tokens must be at least 1")


def generation_options(
    request: Mapping[str, Any], *, max_tokens: int, temperature: float
) -> GenerationOptions:
    """The sampling part of a turn's ``request`` over the settings' defaults (no tools, no avoid)."""
    chosen_temperature = request.get("temperature")
    chosen_max = request.get("max_tokens")
    response_format = request.get("response_format")
    return GenerationOptions(
        max_tokens=int(chosen_max) if chosen_max is not None else max_tokens,
        temperature=float(chosen_temperature) if chosen_temperature is not None else temperature,
        top_p=request.get("top_p"),
        stop=tuple(request.get("stop") or ()),
        seed=request.get("seed"),
        schema=dict(response_format) if response_format is not None else None,
    )


__all__ = ["TurnOptions", "generation_options"]
