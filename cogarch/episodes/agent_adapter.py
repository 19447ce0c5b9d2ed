"""The agent an episode runner drives: the ``EpisodeAgent`` protocol and ``PolicyAgent``.

The runner needs ``act(observation, *, user, admissible, info, reward) -> ActResult`` and ``close()``: the
lead's ``cogarch.Agent`` offers exactly that (its act node calls the same :class:`ActionPolicy`).
``PolicyAgent`` is the direct path used when no full Agent is wanted (benchmarks of the policy alone, tests):
it remembers each observation in ``memory.Memory`` (when given), recalls for the plan, and calls the policy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cogarch.episodes.policy import ActionPolicy, GameContext


@dataclass
class EpisodeActResult:
    """Same shape as the Agent's ``ActResult``: the command, what was recalled, tokens and latency."""

    command: str
    recalled: list[Any] = field(default_factory=list)
    tokens: int = 0
    latency_s: float = 0.0


@runtime_checkable
class EpisodeAgent(Protocol):
    """What the episode runner drives (the lead's ``Agent`` satisfies it)."""

    def act(
        self,
        observation: str,
        *,
        user: str,
        admissible: Sequence[str],
        info: Mapping[str, Any] | None = None,
        reward: float | None = None,
    ) -> Any: ...

    def close(self) -> None: ...


class PolicyAgent:
    """Calls ``policy`` directly, with optional memory (episodes remembered and recalled) and LLM.

    Args:
        policy: the action policy (one per episode).
        llm: the LLM handed to the policy (None: heuristics only).
        memory: a ``memory.Memory`` (None: no long-term memory; the policy's own world model still works).
        recall_k: recollections per step.
    """

    def __init__(
        self, policy: ActionPolicy, *, llm: Any = None, memory: Any = None, recall_k: int = 3
    ) -> None:
        self.policy = policy
        self.llm = llm
        self.memory = memory
        self.recall_k = recall_k
        self._step = 0
        self._prev: tuple[GameContext, str] | None = None

    def act(
        self,
        observation: str,
        *,
        user: str,
        admissible: Sequence[str],
        info: Mapping[str, Any] | None = None,
        reward: float | None = None,
    ) -> EpisodeActResult:
        start = time.perf_counter()
        if self._prev is not None:
            ctx0, cmd0 = self._prev
            self.policy.observe(ctx0, cmd0, observation, float(reward or 0.0), False)
        recalled: list[Any] = []
        episode: str | None = None
        if self.memory is not None:
            episode = self.memory.remember(
                observation, namespace=user, speaker="environment", metadata={"step": self._step}
            )
            query = observation[-300:]
            recalled = list(self.memory.recall(query, namespace=user, k=self.recall_k))
        ctx = GameContext(
            observation=observation,
            admissible=tuple(admissible),
            info=dict(info or {}),
            recalled=recalled,
            llm=self.llm,
            memory=self.memory,
            step=self._step,
            user=user,
            episode=episode,
        )
        tokens_before = int(getattr(self.policy, "tokens", 0))
        command = self.policy.choose(ctx)
        self._prev = (ctx, command)
        self._step += 1
        tokens = int(getattr(self.policy, "tokens", 0)) - tokens_before
        return EpisodeActResult(command, recalled, tokens, time.perf_counter() - start)

    def close(self) -> None:
        return None


__all__ = ["EpisodeActResult", "EpisodeAgent", "PolicyAgent"]
