"""Running an episode script: games (by path or generated) and scripted conversations, over several runs.

``run_script`` writes, in ``out_dir``: one JSONL trace per run (``<name>-run<i>.jsonl``) and ``results.json``
rewritten after every completed run, so an interrupted script keeps the traces and results of the runs that
finished. Each run starts from an empty memory namespace (``<user>-run<i>``, erased first with the agent's
``forget_user``), so a rerun after an interruption stores and recalls the run once. The agent comes from
``agent_factory(policy, run_index)``: the CLI passes one that opens the full ``cogarch.Agent`` (the cognitive
cycle) or, with ``--direct``, a :class:`PolicyAgent`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogarch.environments.conversation import ConversationEnv, Turn
from cogarch.environments.textworld_env import TextWorldEnv
from cogarch.episodes.agent_adapter import EpisodeAgent
from cogarch.episodes.games import build_game
from cogarch.episodes.lookahead import Lookahead
from cogarch.episodes.policy import ActionPolicy, RandomPolicy, WorldModelPolicy
from cogarch.episodes.runner import EpisodeResult, StepCallback, run_episode
from cogarch.episodes.script import AblationName, ConversationSpec, EpisodeScript

AgentFactory = Callable[[ActionPolicy | None, int], Any]
"""``(policy, run_index) -> agent``: a game agent (``act``) or, for conversations, a chat agent (``chat``)."""


def make_policy(ablation: AblationName, seed: int, *, consult_llm: bool = True) -> ActionPolicy:
    """The policy of one run: the world-model policy (or an ablation), or the random reference.
    ``consult_llm=False``: the policy never asks the agent's LLM."""
    if ablation == "random":
        return RandomPolicy(seed=seed)
    return WorldModelPolicy(ablation, seed=seed, consult_llm=consult_llm)


def resolve_game(script: EpisodeScript, cache_dir: Path) -> Path:
    """The game file of a TextWorld script (built with tw-make when it gives generator settings)."""
    tw = script.environment.textworld
    assert tw is not None
    if tw.generate is not None:
        return build_game(tw.generate, cache_dir)
    assert tw.game is not None
    return tw.game


def play_game(
    game: Path,
    agent: EpisodeAgent,
    policy: ActionPolicy | None,
    *,
    user: str,
    max_steps: int,
    trace_path: Path | None,
    on_step: StepCallback | None = None,
    truth: bool = True,
    lookahead: Callable[[TextWorldEnv], Lookahead] | None = None,
) -> EpisodeResult:
    """One episode of ``game``; world-model accuracy is scored when the policy keeps a world model.

    ``lookahead``: ``env -> look-ahead`` (e.g. ``lambda env: build_lookahead(env, llm, settings.search)``),
    given to a policy that takes one (``WorldModelPolicy.lookahead``); None: no look-ahead.
    """
    env = TextWorldEnv(game, truth=truth)
    try:
        if lookahead is not None and isinstance(policy, WorldModelPolicy):
            policy.lookahead = lookahead(env)
        world = getattr(policy, "world", None)
        return run_episode(
            env,
            agent,
            user=user,
            max_steps=max_steps,
            trace_path=trace_path,
            on_step=on_step,
            world=(lambda: world)
            if world is not None and getattr(policy, "ablation", "") == "full"
            else None,
        )
    finally:
        env.close()


def run_conversation(
    spec: ConversationSpec,
    agent: Any,
    *,
    user: str,
    trace_path: Path | None,
    on_step: StepCallback | None = None,
) -> EpisodeResult:
    """Play the turns through ``agent.chat``; an expectation is met when a recalled item or the reply contains
    each expected text (case-insensitive)."""
    from cogarch.episodes.runner import StepRecord, _emit

    env = ConversationEnv([Turn(t.user, tuple(t.must_recall), tuple(t.reply_contains)) for t in spec.turns])
    start = time.perf_counter()
    res = env.reset()
    tokens = 0
    fh = open(trace_path, "w", encoding="utf-8") if trace_path is not None else None  # noqa: SIM115
    steps = 0
    try:
        while not res.done:
            turn = env.current()
            assert turn is not None
            reply = agent.chat(res.observation, user=user)
            recalled = [str(getattr(r, "text", r)) for r in getattr(reply, "recalled", [])]
            text = str(getattr(reply, "text", reply))
            pool = " ".join(recalled).lower()
            met = all(x.lower() in pool or x.lower() in text.lower() for x in turn.must_recall) and all(
                x.lower() in text.lower() for x in turn.reply_contains
            )
            env.record(met)
            usage = getattr(reply, "tokens", None)
            used = int(getattr(usage, "total_tokens", usage or 0) or 0)
            tokens += used
            res = env.step(text)
            steps += 1
            _emit(
                fh,
                on_step,
                StepRecord(
                    steps, text, turn.user, res.score, 0.0, res.done, None, [r[:200] for r in recalled], used
                ),
            )
    finally:
        if fh is not None:
            fh.close()
    elapsed = time.perf_counter() - start
    return EpisodeResult(
        res.score,
        env.max_score,
        steps,
        bool(env.results) and all(env.results),
        False,
        tokens,
        round(elapsed, 3),
        round(elapsed / max(steps, 1), 4),
        trace=str(trace_path) if trace_path else None,
    )


@dataclass
class ScriptResult:
    """Every run of a script and whether the expectations held."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        scores = [r["normalized_score"] for r in self.runs]
        return {
            "name": self.name,
            "runs": self.runs,
            "mean_normalized_score": round(sum(scores) / len(scores), 4) if scores else None,
            "passed": self.passed,
            "failures": self.failures,
        }


def _fresh_namespace(agent: Any, user: str) -> None:
    """Erase what a previous attempt of this run left in the agent's memory (a rerun after an interruption
    must neither store the run twice nor recall its first attempt). Agents without ``forget_user`` keep
    nothing across runs."""
    forget = getattr(agent, "forget_user", None)
    if callable(forget):
        forget(user)


def run_script(
    script: EpisodeScript,
    out_dir: str | Path,
    *,
    agent_factory: AgentFactory,
    cache_dir: str | Path,
    on_step: Callable[[int, Any], None] | None = None,
    on_run: Callable[[int, EpisodeResult], None] | None = None,
) -> ScriptResult:
    """Run every run of ``script``; see the module docstring for the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ScriptResult(script.name)
    game = resolve_game(script, Path(cache_dir)) if script.environment.textworld is not None else None
    for i, seed in enumerate(script.run_seeds()):
        trace = out / f"{script.name}-run{i}.jsonl"
        user = f"{script.user}-run{i}"
        cb: StepCallback | None = (lambda rec, i=i: on_step(i, rec)) if on_step is not None else None
        if game is not None:
            policy = make_policy(script.ablation, seed)
            agent = agent_factory(policy, i)
            _fresh_namespace(agent, user)
            try:
                res = play_game(
                    game, agent, policy, user=user, max_steps=script.max_steps, trace_path=trace, on_step=cb
                )
            finally:
                agent.close()
        else:
            assert script.environment.conversation is not None
            agent = agent_factory(None, i)
            _fresh_namespace(agent, user)
            try:
                res = run_conversation(
                    script.environment.conversation, agent, user=user, trace_path=trace, on_step=cb
                )
            finally:
                agent.close()
        row = {"run": i, "seed": seed, **res.as_dict()}
        result.runs.append(row)
        if script.expect.min_score is not None and res.normalized < script.expect.min_score:
            result.failures.append(
                f"run {i}: normalised score {res.normalized:.2f} < {script.expect.min_score}"
            )
        if script.expect.must_win and not res.won:
            result.failures.append(f"run {i}: did not win")
        (out / "results.json").write_text(json.dumps(result.as_dict(), indent=2), encoding="utf-8")
        if on_run is not None:
            on_run(i, res)
    return result


__all__ = [
    "AgentFactory",
    "ScriptResult",
    "make_policy",
    "play_game",
    "resolve_game",
    "run_conversation",
    "run_script",
]
