"""Environment mode (LATS, Zhou et al. 2024): search over environment commands with look-ahead on copies.

The tree's edges are commands; a child's observation comes from stepping a *copy* of its parent's
environment, so the real environment never moves during the search. A node's value adds the reward
collected from the root to it: V(n) = F_g + beta * F_a + reward_weight * R(n). The caller then executes the
first command of the best chain in the real environment (one real step per search), as LATS does.

The environments are :class:`reasoning.environment.CopyableEnvironment` (the one protocol, e.g.
``cogarch.environments.TextWorldEnv``); :class:`ResultEnvAdapter` gives the search its internal view of one,
:class:`CopyableEnv` (``step`` -> ``(observation, reward, done)``, ``copy``, ``admissible_commands``). Copies
that have a ``close`` method are closed when the search ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from reasoning.environment import CopyableEnvironment, StepResult
from reasoning.llm import LLM, Message, OptionScorer, Usage, system, user
from reasoning.search.evaluators import estimate_tokens


@runtime_checkable
class CopyableEnv(Protocol):
    """An environment that can be copied, so a search can look ahead without touching the real one."""

    def step(self, command: str) -> tuple[str, float, bool]:
        """Execute ``command``; return (observation, reward of this step, done)."""
        ...

    def copy(self) -> CopyableEnv:
        """An independent copy in the same state."""
        ...

    def admissible_commands(self) -> list[str]:
        """The commands that make sense in the current state (may be empty when done)."""
        ...


class ResultEnvAdapter:
    """The search's view (:class:`CopyableEnv`) of a :class:`~reasoning.environment.CopyableEnvironment` (e.g.
    ``cogarch.environments.TextWorldEnv``), given its latest result.

    Args:
        env: the environment, in the state that ``last`` describes.
        last: the result of its ``reset()`` or latest ``step`` (for the admissible commands); None: unknown.
        opened: when given, every copy made is appended to it, so the caller can close them all.

    ``copy()`` copies the wrapped environment (TextWorld replays the commands in a fresh game); ``close()``
    closes the wrapped one.
    """

    def __init__(
        self,
        env: CopyableEnvironment,
        last: StepResult | None,
        opened: list[CopyableEnvironment] | None = None,
    ) -> None:
        self.env = env
        self.last = last
        self.opened = opened

    def step(self, command: str) -> tuple[str, float, bool]:
        self.last = self.env.step(command)
        return self.last.observation, float(self.last.reward), bool(self.last.done)

    def copy(self) -> ResultEnvAdapter:
        twin = self.env.copy()
        if self.opened is not None:
            self.opened.append(twin)
        return ResultEnvAdapter(twin, self.last, self.opened)

    def admissible_commands(self) -> list[str]:
        return [] if self.last is None or self.last.done else list(self.last.admissible)

    def close(self) -> None:
        self.env.close()


ActionProposer = Callable[[str, Sequence[str], Sequence[str], int], list[str]]
"""``proposer(goal, history, admissible, k) -> up to k commands``; ``history`` holds the
(command, observation) texts from the root."""


def env_messages(goal: str, history: Sequence[str]) -> list[Message]:
    """The prompt of an action choice: the goal, then the recent commands and observations."""
    recent = "\n".join(history[-6:])
    return [
        system("You play a text adventure. Choose the next command that makes progress towards the goal."),
        user(f"Goal: {goal}\n{recent}\nNext command:"),
    ]


class ScoredActionProposer:
    """Ranks the admissible commands by the model's likelihood (option scoring) and keeps the top k.

    Ties keep the admissible order. Token use is estimated (prompt + command, per command) into ``usage``.
    """

    def __init__(
        self, scorer: OptionScorer, *, token_counter: Callable[[str], int] = estimate_tokens
    ) -> None:
        self._scorer = scorer
        self._count = token_counter
        self.usage = Usage()

    def __call__(self, goal: str, history: Sequence[str], admissible: Sequence[str], k: int) -> list[str]:
        if not admissible:
            return []
        messages = env_messages(goal, history)
        prompt = sum(self._count(m["content"]) for m in messages)
        self.usage = self.usage + Usage(prompt * len(admissible), sum(self._count(a) for a in admissible))
        scores = self._scorer.score_options(messages, list(admissible), normalize=True)
        order = sorted(range(len(admissible)), key=lambda i: (-scores[i], i))
        return [admissible[i] for i in order[:k]]


def default_proposer(llm: LLM) -> ActionProposer:
    """Option scoring when the engine can score, else the first k admissible commands."""
    if isinstance(llm, OptionScorer):
        return ScoredActionProposer(llm)

    def first_k(goal: str, history: Sequence[str], admissible: Sequence[str], k: int) -> list[str]:
        return list(admissible[:k])

    return first_k


__all__ = [
    "ActionProposer",
    "CopyableEnv",
    "ResultEnvAdapter",
    "ScoredActionProposer",
    "default_proposer",
    "env_messages",
]
