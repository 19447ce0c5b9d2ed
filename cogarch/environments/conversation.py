"""``ConversationEnv``: a scripted conversation as an environment (memory and persona episodes).

The observation of each step is the next user turn; the agent's command is its reply. Expectations are
checked by the runner (``must_recall`` after a turn: the agent's recalled items or reply contain the text).
The score counts met expectations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cogarch.environments.base import StepResult


@dataclass(frozen=True)
class Turn:
    """One user turn and what the agent must show after it."""

    user: str
    must_recall: tuple[str, ...] = ()
    reply_contains: tuple[str, ...] = ()


@dataclass
class ConversationEnv:
    """Plays ``turns`` in order; ``step(reply)`` scores the previous turn's ``reply_contains`` expectation."""

    turns: Sequence[Turn]
    _i: int = 0
    _score: float = 0.0
    results: list[bool] = field(default_factory=list)

    @property
    def max_score(self) -> float | None:
        return float(sum(1 for t in self.turns if t.must_recall or t.reply_contains))

    def _obs(self, reward: float) -> StepResult:
        done = self._i >= len(self.turns)
        text = "" if done else self.turns[self._i].user
        return StepResult(
            observation=text,
            info={"score": self._score, "moves": self._i},
            score=self._score,
            reward=reward,
            done=done,
            won=done and self._score == self.max_score,
        )

    def reset(self) -> StepResult:
        self._i, self._score, self.results = 0, 0.0, []
        return self._obs(0.0)

    def current(self) -> Turn | None:
        return self.turns[self._i] if self._i < len(self.turns) else None

    def record(self, met: bool) -> None:
        """The runner reports whether the current turn's expectations were met (before ``step``)."""
        turn = self.current()
        if turn is not None and (turn.must_recall or turn.reply_contains):
            self.results.append(met)
            self._score += 1.0 if met else 0.0

    def step(self, command: str) -> StepResult:
        self._i += 1
        return self._obs(0.0)

    def close(self) -> None:
        return None


__all__ = ["ConversationEnv", "Turn"]
