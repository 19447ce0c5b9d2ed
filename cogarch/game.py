"""The seam between the agent and a game-playing policy: what a policy may know at one step
(:class:`GameContext`) and what it must do (:class:`ActionPolicy`). The agent's act node calls a policy
through it; the policies themselves are :mod:`cogarch.episodes`. A module of its own, with no heavy imports,
so the agent's context can name the type without loading the game code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class GameContext:
    """What the policy may know at one step (never the game's hidden state).

    Attributes:
        observation: the environment's latest text.
        admissible: the commands the environment offers now (may be empty).
        info: player-visible info: objective, inventory, description, score, moves, max_score.
        recalled: what memory recalled for this step (``cogarch.state.RecalledItem`` in the agent; objects with
            ``.kind``, ``.text``, ``.score`` from other callers), screened items left out.
        llm: the agent's LLM (may implement ``OptionScorer``); None: heuristics only.
        memory: the agent's ``memory.Memory`` (namespace ``user``), or None.
        step: the step number (0 at reset).
        user: the memory namespace.
        episode: the id of this observation's episode in ``memory`` (stored before the policy runs, or later in
            the same turn under this id); the source of the world-model facts the policy writes. None: the
            policy writes none.
        t: the observation's time (epoch seconds; the facts' valid time). None: now.
    """

    observation: str
    admissible: Sequence[str] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    recalled: Sequence[Any] = ()
    llm: Any = None
    memory: Any = None
    step: int = 0
    user: str = "default"
    episode: str | None = None
    t: float | None = None


@runtime_checkable
class ActionPolicy(Protocol):
    """Chooses environment commands and learns from their outcome."""

    def choose(self, ctx: GameContext) -> str: ...

    def observe(
        self, ctx: GameContext, command: str, next_observation: str, reward: float, done: bool
    ) -> None: ...


__all__ = ["ActionPolicy", "GameContext"]
