"""Environment mode (LATS): look-ahead on copies of a tiny fake environment beats greedy action choice."""

from __future__ import annotations

from collections.abc import Sequence

from reasoning.config import SearchSettings
from reasoning.engines.scripted import ScriptedLLM
from reasoning.search import Association, CoATSearch, CopyableEnv, Evaluation, ResultEnvAdapter


class Corridor:
    """Position 0..3. 'right' moves on (reward 1 on reaching 3, which ends the game); 'grab' takes a small
    prize of 0.2 and ends the game at once. A greedy one-step chooser grabs; look-ahead walks right."""

    def __init__(self, pos: int = 0, done: bool = False) -> None:
        self.pos = pos
        self.done = done
        self.steps = 0

    def step(self, command: str) -> tuple[str, float, bool]:
        self.steps += 1
        if self.done:
            return "The game is over.", 0.0, True
        if command == "grab":
            self.done = True
            return "You grab a coin. The door slams shut.", 0.2, True
        if command == "right":
            self.pos += 1
            if self.pos == 3:
                self.done = True
                return "You find the treasure!", 1.0, True
            return f"You are in room {self.pos}.", 0.0, False
        return "Nothing happens.", 0.0, False

    def copy(self) -> Corridor:
        return Corridor(self.pos, self.done)

    def admissible_commands(self) -> list[str]:
        return [] if self.done else ["grab", "right", "wait"]


def no_opinion(q: str, p: Sequence[str], a: Sequence[Association], ans: str | None) -> Evaluation:
    return Evaluation(0.0)


def play(depth: int, real_steps: int) -> tuple[float, list[str]]:
    env = Corridor()
    assert isinstance(env, CopyableEnv)
    search = CoATSearch(
        ScriptedLLM(),
        evaluator=no_opinion,
        settings=SearchSettings.model_validate({"max_depth": depth, "max_nodes": 40, "branching": 3}),
    )
    score, taken = 0.0, []
    for _ in range(real_steps):
        result = search.run_env(env, "find the treasure")
        assert env.steps == 0 or len(taken) == env.steps  # the search never stepped the real environment
        _, reward, done = env.step(result.actions[0])
        taken.append(result.actions[0])
        score += reward
        if done:
            break
    return score, taken


def test_look_ahead_finds_the_rewarding_command() -> None:
    env = Corridor()
    search = CoATSearch(
        ScriptedLLM(), evaluator=no_opinion, settings=SearchSettings.model_validate({"max_depth": 3})
    )
    result = search.run_env(env, "find the treasure", observation="You are in room 0.")
    assert result.actions == ["right", "right", "right"]
    assert result.answer == "right"
    assert result.value == 1.0
    assert env.pos == 0 and env.steps == 0
    assert result.chain[-1] == "> right\nYou find the treasure!"


def test_search_beats_greedy_with_the_same_real_steps() -> None:
    greedy_score, greedy_taken = play(depth=1, real_steps=3)
    search_score, search_taken = play(depth=3, real_steps=3)
    assert greedy_taken == ["grab"] and greedy_score == 0.2
    assert search_taken == ["right", "right", "right"] and search_score == 1.0


def test_env_search_respects_the_node_budget() -> None:
    search = CoATSearch(
        ScriptedLLM(), evaluator=no_opinion, settings=SearchSettings.model_validate({"max_nodes": 2})
    )
    result = search.run_env(Corridor(), "find the treasure")
    assert result.stopped_by == "nodes" and result.nodes == 2


class Outcome:
    """The shape of ``cogarch.environments.StepResult`` (observation, reward, done, admissible)."""

    def __init__(self, observation: str, reward: float, done: bool, admissible: tuple[str, ...]) -> None:
        self.observation, self.reward, self.done, self.admissible = observation, reward, done, admissible


class ResultCorridor:
    """The corridor behind a result-returning API (like TextWorldEnv), counting open copies."""

    open_copies = 0

    def __init__(self, inner: Corridor | None = None) -> None:
        self.inner = inner or Corridor()

    def step(self, command: str) -> Outcome:
        obs, reward, done = self.inner.step(command)
        return Outcome(obs, reward, done, tuple(self.inner.admissible_commands()))

    def copy(self) -> ResultCorridor:
        ResultCorridor.open_copies += 1
        return ResultCorridor(self.inner.copy())

    def close(self) -> None:
        ResultCorridor.open_copies -= 1


def test_result_env_adapter_searches_and_closes_every_copy() -> None:
    real = ResultCorridor()
    adapter = ResultEnvAdapter(real, Outcome("You are in room 0.", 0.0, False, ("grab", "right", "wait")))
    assert isinstance(adapter, CopyableEnv) and adapter.admissible_commands() == ["grab", "right", "wait"]
    search = CoATSearch(
        ScriptedLLM(), evaluator=no_opinion, settings=SearchSettings.model_validate({"max_depth": 3})
    )
    result = search.run_env(adapter, "find the treasure", observation="You are in room 0.")
    assert result.actions == ["right", "right", "right"] and result.value == 1.0
    assert real.inner.steps == 0 and ResultCorridor.open_copies == 0
    assert adapter.step("grab") == ("You grab a coin. The door slams shut.", 0.2, True)
    assert adapter.admissible_commands() == []
