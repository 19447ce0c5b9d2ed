"""Environment mode on a real TextWorld game (``cogarch.environments.TextWorldEnv`` through
``ResultEnvAdapter``): with the same number of real steps, look-ahead on copies beats greedy action choice.

The game is a tiny coin collector built by ``tw-make`` (go south, go east, take the coin: score 1). Both
players use the same action prior, a scripted model that ranks "look", "inventory" and "examine ..." first
(the distracted prior of a weak model), and the same value (the game's reward only). Greedy choice is the
search with depth 1: it takes a reward it can see one step ahead, else the prior's favourite. The search
looks 3 steps ahead on copies of the game, so it sees the coin behind the two moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from cogarch.environments import TextWorldEnv
from cogarch.episodes.games import GeneratorSpec, build_game
from reasoning.config import SearchSettings
from reasoning.engines.scripted import ScriptedLLM
from reasoning.llm import Message
from reasoning.search import Association, CoATSearch, CopyableEnv, Evaluation, ResultEnvAdapter

pytestmark = pytest.mark.integration  # tw-make takes ~10 s


@pytest.fixture(scope="module")
def coin_game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = GeneratorSpec(generator="tw-coin_collector", seed=7, options={"level": 3})
    return build_game(spec, tmp_path_factory.mktemp("tw-search"))


def distracted(messages: Sequence[Message], option: str) -> float:
    return 0.0 if option in ("look", "inventory") or option.startswith("examine") else -1.0


def reward_only(q: str, p: Sequence[str], a: Sequence[Association], ans: str | None) -> Evaluation:
    return Evaluation(0.0)


def look_ahead(depth: int) -> SearchSettings:
    """Depth ``depth``, every admissible command a child; the scripted model's tokens are not a limit."""
    return SearchSettings.model_validate(
        {"max_depth": depth, "max_nodes": 80, "branching": 8, "max_tokens": 10**9}
    )


def play(game: Path, depth: int, real_steps: int) -> tuple[float, list[str], int]:
    """Play with one search per real step; returns (score, commands executed, real steps taken)."""
    env = TextWorldEnv(game)
    try:
        first = env.reset()
        real = ResultEnvAdapter(env, first)
        assert isinstance(real, CopyableEnv)
        search = CoATSearch(
            ScriptedLLM(score=distracted),
            evaluator=reward_only,
            settings=look_ahead(depth),
        )
        goal = str(first.info.get("objective") or "find the coin")
        score, taken = 0.0, []
        observation = first.observation
        for _ in range(real_steps):
            result = search.run_env(real, goal, observation=observation)
            assert len(env.commands) == len(taken)  # the search stepped copies only
            observation, reward, done = real.step(result.actions[0])
            taken.append(result.actions[0])
            score += reward
            if done:
                break
        return score, taken, len(env.commands)
    finally:
        env.close()


def test_search_beats_greedy_on_a_textworld_game_with_the_same_real_steps(coin_game: Path) -> None:
    greedy_score, greedy_taken, greedy_steps = play(coin_game, depth=1, real_steps=3)
    search_score, search_taken, search_steps = play(coin_game, depth=3, real_steps=3)
    assert greedy_steps == 3 and search_steps == 3
    assert greedy_score == 0.0 and greedy_taken == ["inventory"] * 3
    assert search_score == 1.0 and search_taken == ["go south", "go east", "take coin"]


def test_textworld_look_ahead_leaves_the_real_game_alone(coin_game: Path) -> None:
    env = TextWorldEnv(coin_game)
    try:
        first = env.reset()
        search = CoATSearch(
            ScriptedLLM(score=distracted),
            evaluator=reward_only,
            settings=look_ahead(3),
        )
        result = search.run_env(ResultEnvAdapter(env, first), "find the coin", observation=first.observation)
        assert env.commands == []
        assert result.actions == ["go south", "go east", "take coin"] and result.value == 1.0
        assert result.tree.nodes[result.best_id].reward == 1.0
    finally:
        env.close()
