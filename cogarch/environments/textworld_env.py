"""``TextWorldEnv``: the Environment protocol on the real ``textworld`` package.

Requests the player-visible EnvInfos (description, inventory, objective, score, max_score, moves, admissible
commands, won, lost); the game's facts are requested only with ``truth=True`` and then kept out of
``StepResult.info``: they are read through :meth:`TextWorldEnv.true_facts`, used by evaluation to score the
world model, never handed to the agent. ``copy()`` replays the commands so far in a fresh instance.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from cogarch.environments.base import StepResult
from cogarch.worldmodel.accuracy import Fact
from cogarch.worldmodel.text import clean_feedback
from reasoning.errors import InvalidInputError, MissingResourceError, UsageError

GAME_SUFFIXES = (".z8", ".ulx", ".z5", ".json")


def check_game_file(path: str | Path) -> Path:
    """``path`` as a Path, after checking it names a readable, sound TextWorld game.

    Raises:
        MissingResourceError: the file does not exist.
        InvalidInputError: it is not a game file (wrong suffix, empty, or not a Z-machine/Glulx story).
    """
    p = Path(path)
    if not p.is_file():
        raise MissingResourceError(
            f"game file {p} does not exist",
            hint="build one with `tw-make` or give generator settings in the episode script",
        )
    if p.suffix not in GAME_SUFFIXES:
        raise InvalidInputError(f"{p} is not a TextWorld game (expected {', '.join(GAME_SUFFIXES)})")
    head = p.read_bytes()[:64]
    if p.suffix == ".ulx" and not head.startswith(b"Glul"):
        raise InvalidInputError(f"game file {p} is corrupt (no Glulx header)", hint="rebuild it with tw-make")
    if p.suffix in {".z8", ".z5"} and (len(head) < 64 or head[0] not in (5, 8) or zipfile.is_zipfile(p)):
        raise InvalidInputError(
            f"game file {p} is corrupt (no Z-machine header)", hint="rebuild it with tw-make"
        )
    if p.suffix in {".z8", ".z5"} and not p.with_suffix(".json").is_file():
        raise MissingResourceError(
            f"game file {p} has no {p.with_suffix('.json').name} beside it",
            hint="TextWorld games come as .z8 + .json; rebuild it with tw-make",
        )
    return p


class TextWorldEnv:
    """One TextWorld game.

    Args:
        path: the ``.z8``/``.ulx`` game (its ``.json`` beside it).
        truth: also request the game's facts, for :meth:`true_facts` (evaluation only).

    Raises:
        MissingResourceError / InvalidInputError: see :func:`check_game_file`.
    """

    def __init__(self, path: str | Path, *, truth: bool = False) -> None:
        import textworld

        self.path = check_game_file(path)
        self._truth = truth
        infos = textworld.EnvInfos(
            description=True,
            inventory=True,
            objective=True,
            score=True,
            max_score=True,
            moves=True,
            admissible_commands=True,
            won=True,
            lost=True,
            facts=truth,
        )
        try:
            self._env: Any = textworld.start(os.fspath(self.path), request_infos=infos)
        except Exception as exc:  # textworld raises bare errors for unreadable games
            raise InvalidInputError(
                f"cannot load game {self.path}: {exc}", hint="rebuild it with tw-make"
            ) from exc
        self._state: Any = None
        self._score = 0.0
        self._max: float | None = None
        self.commands: list[str] = []

    @property
    def max_score(self) -> float | None:
        return self._max

    def _result(self, state: Any, reward: float, done: bool) -> StepResult:
        self._state = state
        score = float(state.get("score") or 0)
        self._max = float(state["max_score"]) if state.get("max_score") is not None else None
        info = {
            "objective": state.get("objective") or "",
            "inventory": clean_feedback(state.get("inventory") or ""),
            "description": clean_feedback(state.get("description") or ""),
            "score": score,
            "moves": int(state.get("moves") or 0),
            "max_score": self._max,
        }
        self._score = score
        return StepResult(
            observation=clean_feedback(state.feedback or ""),
            admissible=tuple(state.get("admissible_commands") or ()),
            info=info,
            score=score,
            reward=float(reward),
            done=bool(done),
            won=bool(state.get("won")),
            lost=bool(state.get("lost")),
        )

    def reset(self) -> StepResult:
        self.commands = []
        try:
            state = self._env.reset()
        except Exception as exc:
            raise InvalidInputError(
                f"cannot start game {self.path}: {exc}", hint="rebuild it with tw-make"
            ) from exc
        return self._result(state, 0.0, False)

    def step(self, command: str) -> StepResult:
        if self._state is None:
            raise UsageError("step() before reset()", hint="call reset() first")
        before = self._score
        state, _score, done = self._env.step(command)
        self.commands.append(command)
        res = self._result(state, 0.0, done)
        return StepResult(**{**res.__dict__, "reward": res.score - before})

    def true_facts(self) -> list[Fact]:
        """The game's current facts as ``(predicate, (arg, ...))`` (hidden state; evaluation only).

        Raises:
            UsageError: the environment was opened without ``truth=True``.
        """
        if not self._truth or self._state is None:
            raise UsageError("true facts were not requested", hint="open TextWorldEnv(path, truth=True)")
        return [(f.name, tuple(a.name for a in f.arguments)) for f in self._state.get("facts") or ()]

    def copy(self) -> TextWorldEnv:
        """A fresh instance of the game brought to the same state by replaying the commands."""
        twin = TextWorldEnv(self.path, truth=self._truth)
        twin.reset()
        for c in self.commands:
            twin.step(c)
        return twin

    def close(self) -> None:
        self._env.close()


__all__ = ["GAME_SUFFIXES", "TextWorldEnv", "check_game_file"]
