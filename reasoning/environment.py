"""The one environment protocol: a world an agent acts in by text commands (a text game, a simulated task).

``reset()`` starts an episode and returns the first :class:`StepResult`; ``step(command)`` applies one command.
``StepResult.info`` carries only what a player may know (objective, inventory, room description, score, moves,
max score); never the game's hidden state. Environments that can be duplicated in their current state
(:class:`CopyableEnvironment`) let a search look ahead on copies (``reasoning.search.ResultEnvAdapter``).
Concrete environments live in ``cogarch.environments`` (TextWorld); the protocol sits in the lowest package so
the search and the agent share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class StepResult:
    """The outcome of ``reset`` or ``step``.

    Attributes:
        observation: the text the player reads.
        admissible: commands the environment says are valid now (empty when it does not say).
        info: player-visible information (objective, inventory, description, score, moves, max_score).
        score: the score so far.
        reward: score gained by this step.
        done: the episode ended (won, lost, or the environment's own limit).
        won / lost: how it ended.
    """

    observation: str
    admissible: tuple[str, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    score: float = 0.0
    reward: float = 0.0
    done: bool = False
    won: bool = False
    lost: bool = False


@runtime_checkable
class Environment(Protocol):
    """A world the agent acts in by text commands."""

    @property
    def max_score(self) -> float | None:
        """The best achievable score, when known."""
        ...

    def reset(self) -> StepResult:
        """Start (or restart) the episode."""
        ...

    def step(self, command: str) -> StepResult:
        """Apply one command."""
        ...

    def close(self) -> None:
        """Release the environment's resources."""
        ...


@runtime_checkable
class CopyableEnvironment(Environment, Protocol):
    """An environment that can be duplicated in its current state."""

    def copy(self) -> CopyableEnvironment: ...


__all__ = ["CopyableEnvironment", "Environment", "StepResult"]
