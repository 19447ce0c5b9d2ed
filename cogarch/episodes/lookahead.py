"""LATS look-ahead for the game policy (Zhou et al. 2024): a tree search over commands on copies of the game.

Once per step the policy asks ``lookahead(goal, observation, candidates) -> command | None`` among its
contenders (the commands its own value and the LLM could still make win). :class:`EnvLookahead` runs the CoAT
search in environment mode (``reasoning.search.CoATSearch.run_env``): the root's children are exactly the
candidates, deeper levels come from the search's proposer (option scoring by the model, or the first
admissible commands), every child steps its own *copy* of the game, and a node's value is the evaluator's
score plus the reward collected on the copies. The first command of the best chain is the recommendation; the
policy adds ``Weights.lookahead`` to it. The real environment is never stepped by the search, and only what a
player sees on the copies (observation, score, admissible commands) is used, never the hidden state.

Cost: every node copies the game (a TextWorld copy replays the commands so far) and asks the evaluator; with
the bundled model that is seconds per step, so the look-ahead is off unless asked for
(``cogarch textworld play --lookahead``, budgets from ``Settings.search``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cogarch.environments.base import CopyableEnvironment
from reasoning.config import SearchSettings
from reasoning.search import CoATSearch, Evaluation
from reasoning.search.environment import ActionProposer, ResultEnvAdapter, default_proposer

Lookahead = Callable[[str, str, Sequence[str]], "str | None"]
"""``(goal, observation, candidates) -> the recommended candidate, or None``."""


class EnvSearch(Protocol):
    """What :class:`EnvLookahead` needs from a search (``CoATSearch`` satisfies it)."""

    def run_env(self, env: Any, goal: str, *, observation: str = "") -> Any: ...


class EnvLookahead:
    """The look-ahead on copies of ``env`` (see the module docstring).

    Args:
        env: the real environment (must offer ``copy()``); never stepped here.
        make_search: ``proposer -> search``; the proposer returns the candidates at the root and defers to
            ``deeper`` below it.
        deeper: proposes commands below the root (``(goal, history, admissible, k) -> commands``).
    """

    def __init__(
        self,
        env: CopyableEnvironment,
        make_search: Callable[[ActionProposer], EnvSearch],
        deeper: ActionProposer,
    ) -> None:
        self.env = env
        self.make_search = make_search
        self.deeper = deeper
        self.calls = 0
        self.last_result: Any = None

    def __call__(self, goal: str, observation: str, candidates: Sequence[str]) -> str | None:
        if len(candidates) < 2 or not goal.strip():
            return candidates[0] if candidates else None
        root_len = 1 if observation else 0
        shortlist = list(candidates)

        def propose(g: str, history: Sequence[str], admissible: Sequence[str], k: int) -> list[str]:
            if len(history) <= root_len:
                return shortlist
            return self.deeper(g, history, admissible, k)

        opened: list[Any] = []
        self.calls += 1
        try:
            result = self.make_search(propose).run_env(
                ResultEnvAdapter(self.env, None, opened), goal, observation=observation
            )
        finally:
            for twin in opened:
                twin.close()
        self.last_result = result
        actions = list(getattr(result, "actions", []) or [])
        return actions[0] if actions and actions[0] in shortlist else None


def reward_only(
    question: str, path: Sequence[str], associations: Sequence[Any], answer: str | None
) -> Evaluation:
    """An evaluator with no opinion: nodes are valued by the reward collected on the copies alone."""
    return Evaluation(0.0)


def build_lookahead(
    env: CopyableEnvironment, llm: Any, settings: SearchSettings, *, seed: int = 0
) -> EnvLookahead:
    """The default look-ahead: option scoring proposes deeper commands and values nodes (P(yes) that the
    step helps) when the engine scores options; an LLM judge with other engines; reward only without a model.

    Budgets come from ``settings`` (``max_nodes``, ``max_depth``, ``max_seconds``, ``max_tokens``); each
    expansion takes at most ``settings.branching`` commands, so the root tries the policy's best candidates.
    """
    from reasoning.llm import OptionScorer
    from reasoning.search import OptionScoringJudge

    evaluator: Any
    if llm is None:
        evaluator = reward_only
    elif isinstance(llm, OptionScorer):
        evaluator = OptionScoringJudge(llm, association_mode="scores")
    else:
        evaluator = None  # CoATSearch's LLM judge
    deeper: ActionProposer
    if llm is None:

        def deeper(goal: str, history: Sequence[str], admissible: Sequence[str], k: int) -> list[str]:
            return list(admissible[:k])

    else:
        deeper = default_proposer(llm)

    def make_search(proposer: ActionProposer) -> CoATSearch:
        from reasoning.engines.scripted import ScriptedLLM

        return CoATSearch(
            llm if llm is not None else ScriptedLLM(),
            evaluator=evaluator,
            settings=settings,
            seed=seed,
            action_proposer=proposer,
        )

    return EnvLookahead(env, make_search, deeper)


__all__ = ["EnvLookahead", "EnvSearch", "Lookahead", "build_lookahead", "reward_only"]
