"""The typed state that flows through the cognitive graph (and is checkpointed after every node).

Everything in it is plain data (str, numbers, lists, dicts) so any checkpointer can store it. ``history`` is the
only channel that accumulates across turns (bounded); every other key describes the current turn and is reset by
``perceive`` (or ``tick`` on the idle path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

HISTORY_LIMIT = 40
"""Messages kept in the conversation's checkpointed short-term history."""

Mode = Literal["chat", "game", "idle"]


def append_history(
    left: list[dict[str, Any]] | None, right: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Reducer of ``history``: append, keeping the last :data:`HISTORY_LIMIT` messages."""
    merged = [*(left or []), *(right or [])]
    return merged[-HISTORY_LIMIT:]


@dataclass(frozen=True)
class RecalledItem:
    """One memory that entered the turn, and why: an item of the turn state's ``recalled`` list as callers see it
    (``Reply.recalled``, ``ActResult.recalled``, a game policy's ``GameContext.recalled``)."""

    id: str
    kind: str
    text: str
    score: float
    why: str
    sources: list[str] = field(default_factory=list)
    suspicious: bool = False


def recalled_items(state: Mapping[str, Any]) -> list[RecalledItem]:
    """The turn's recalled items (``state["recalled"]``, plain dicts in the checkpoint) as :class:`RecalledItem`."""
    return [RecalledItem(**item) for item in state.get("recalled", [])]


class TurnState(TypedDict, total=False):
    """State of one user's thread."""

    # input
    mode: Mode
    user: str
    text: str
    t: float
    think: bool
    admissible: list[str]
    info: dict[str, Any]
    reward: float | None
    idle_seconds: float
    request: dict[
        str, Any
    ]  # the turn's instruction, context, sampling, client tools (cogarch.turns.TurnOptions)
    tool_messages: list[dict[str, Any]]  # this turn's tool calls and results, in OpenAI's message shape
    # bookkeeping
    turn: int
    turn_id: str
    history: Annotated[list[dict[str, Any]], append_history]
    # per-turn results
    code: list[int]
    associations: list[dict[str, Any]]
    concepts: list[list[str]]
    recalled: list[dict[str, Any]]
    persona: list[str]
    confidence: float
    route: str
    reply: str
    tool_calls: list[dict[str, Any]]  # calls of the last model answer not run yet (OpenAI's shape)
    tool_steps: int
    finish_reason: str
    command: str
    search: dict[str, Any] | None
    tokens: dict[str, int]
    stored: list[str]
    timings: dict[str, float]
    triggers: list[dict[str, Any]]
    actions: list[dict[str, Any]]


__all__ = ["HISTORY_LIMIT", "Mode", "RecalledItem", "TurnState", "append_history", "recalled_items"]
