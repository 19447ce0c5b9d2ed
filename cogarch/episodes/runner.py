"""Running episodes: one agent in one environment for at most ``max_steps`` commands, with a JSONL trace.

Every trace line: ``step``, ``command``, ``observation`` (the answer to the command), ``score``, ``reward``,
``done``, ``room``, ``recalled`` (texts), ``tokens``, ``latency_s``; the first line (step 0, command null) is
the opening observation. Lines are flushed as they are written, so an interrupted run keeps what it did.
Replaying a trace's commands in a fresh game reproduces its score (:func:`replay_commands`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cogarch.environments.base import HIDDEN_KEYS, Environment, StepResult
from cogarch.episodes.agent_adapter import EpisodeAgent
from cogarch.worldmodel.accuracy import world_model_accuracy
from cogarch.worldmodel.text import room_header
from reasoning.errors import InvalidInputError


@dataclass
class StepRecord:
    step: int
    command: str | None
    observation: str
    score: float
    reward: float
    done: bool
    room: str | None
    recalled: list[str] = field(default_factory=list)
    tokens: int = 0
    latency_s: float = 0.0
    wm_precision: float | None = None
    wm_recall: float | None = None


@dataclass
class EpisodeResult:
    """The outcome of one episode."""

    score: float
    max_score: float | None
    steps: int
    won: bool
    lost: bool
    tokens: int
    time_s: float
    time_per_step_s: float
    wm_precision: float | None = None
    wm_recall: float | None = None
    trace: str | None = None
    first_step_s: float = 0.0
    median_step_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step in each part of the agent's cycle (the agent's ``timings``, e.g. the Agent's nodes),
    averaged over the episode's steps; empty when the agent reports none."""
    step_latencies: list[float] = field(default_factory=list)
    """The agent's seconds for each step (its ``act``), in order (the distribution: first step, median, p90)."""

    @property
    def normalized(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["normalized_score"] = round(self.normalized, 4)
        return d


StepCallback = Callable[[StepRecord], None]


def run_episode(
    env: Environment,
    agent: EpisodeAgent,
    *,
    user: str = "episode",
    max_steps: int = 150,
    trace_path: str | Path | None = None,
    on_step: StepCallback | None = None,
    world: Callable[[], Any] | None = None,
) -> EpisodeResult:
    """Play one episode.

    Args:
        env: the environment (reset here).
        agent: anything with ``act(...)`` returning an object with ``.command`` (and optionally ``.recalled``,
            ``.tokens``).
        user: the memory namespace of the episode.
        max_steps: the step budget.
        trace_path: where to write the JSONL trace (None: no trace).
        on_step: called with each :class:`StepRecord` (the live view).
        world: returns the agent's current ``WorldModel`` (for accuracy against ``env.true_facts()``).

    Returns:
        The :class:`EpisodeResult`.
    """
    start = time.perf_counter()
    res = env.reset()
    _check_info(res)
    tokens = 0
    precisions: list[float] = []
    recalls: list[float] = []
    latencies: list[float] = []
    timings: dict[str, float] = {}
    fh = open(trace_path, "w", encoding="utf-8") if trace_path is not None else None  # noqa: SIM115
    try:
        _emit(
            fh,
            on_step,
            StepRecord(0, None, res.observation, res.score, 0.0, res.done, room_header(res.observation)),
        )
        steps = 0
        room = room_header(res.observation)
        reward: float | None = None
        while not res.done and steps < max_steps:
            t0 = time.perf_counter()
            out = agent.act(
                res.observation, user=user, admissible=res.admissible, info=res.info, reward=reward
            )
            command = str(out.command).strip() or "look"
            latency = time.perf_counter() - t0
            latencies.append(latency)
            for part, seconds in (getattr(out, "timings", None) or {}).items():
                timings[part] = timings.get(part, 0.0) + float(seconds)
            res = env.step(command)
            _check_info(res)
            steps += 1
            reward = res.reward
            room = room_header(res.observation) or room
            used = int(getattr(out, "tokens", 0) or 0)
            tokens += used
            rec = StepRecord(
                steps,
                command,
                res.observation,
                res.score,
                res.reward,
                res.done,
                room,
                [str(getattr(r, "text", r))[:200] for r in (getattr(out, "recalled", None) or [])],
                used,
                round(latency, 4),
            )
            if world is not None and hasattr(env, "true_facts"):
                wm = world()
                if wm is not None:
                    acc = world_model_accuracy(wm.graph.triplets, env.true_facts())
                    rec.wm_precision, rec.wm_recall = round(acc.precision, 4), round(acc.recall, 4)
                    precisions.append(acc.precision)
                    recalls.append(acc.recall)
            _emit(fh, on_step, rec)
        # let the agent learn from the last outcome
        if steps and hasattr(agent, "finish"):
            agent.finish(res.observation, reward or 0.0, user=user)
    finally:
        if fh is not None:
            fh.close()
    elapsed = time.perf_counter() - start
    return EpisodeResult(
        score=res.score,
        max_score=env.max_score,
        steps=steps,
        won=res.won,
        lost=res.lost,
        tokens=tokens,
        time_s=round(elapsed, 3),
        time_per_step_s=round(elapsed / max(steps, 1), 4),
        wm_precision=round(sum(precisions) / len(precisions), 4) if precisions else None,
        wm_recall=round(sum(recalls) / len(recalls), 4) if recalls else None,
        trace=str(trace_path) if trace_path is not None else None,
        first_step_s=round(latencies[0], 4) if latencies else 0.0,
        median_step_s=round(statistics.median(latencies), 4) if latencies else 0.0,
        timings={part: round(seconds / steps, 4) for part, seconds in timings.items()},
        step_latencies=[round(x, 4) for x in latencies],
    )


def _check_info(res: StepResult) -> None:
    leaked = HIDDEN_KEYS & set(res.info)
    if leaked:  # pragma: no cover - a contract violation by an environment
        raise AssertionError(f"environment leaked hidden state to the agent: {sorted(leaked)}")


def _emit(fh: Any, on_step: StepCallback | None, rec: StepRecord) -> None:
    if fh is not None:
        fh.write(json.dumps(asdict(rec)) + "\n")
        fh.flush()
    if on_step is not None:
        on_step(rec)


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL trace.

    Raises:
        InvalidInputError: a line is not JSON.
    """
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path}:{n}: not a JSON line: {exc}") from exc
    return out


def replay_commands(env: Environment, commands: Iterable[str]) -> StepResult:
    """Apply ``commands`` to a freshly reset ``env``; the final :class:`StepResult` (its score is checkable)."""
    res = env.reset()
    for c in commands:
        if res.done:
            break
        res = env.step(c)
    return res


__all__ = ["EpisodeResult", "StepRecord", "read_trace", "replay_commands", "run_episode"]
