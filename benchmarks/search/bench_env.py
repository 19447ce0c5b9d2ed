"""Benchmark R (environment mode): look-ahead search vs greedy action choice on TextWorld games, with the same
number of real environment steps.

Both players use the same action prior (which commands to try first) and the same value (the game's reward,
collected on copies of the game: ``CoATSearch.run_env`` through ``ResultEnvAdapter``). Greedy choice is the
search with depth 1: it takes a reward visible one step ahead, else the prior's favourite. The search looks
``--depth`` steps ahead (at most ``--nodes`` nodes per real step) and executes the first command of its best
chain. Priors: ``uniform`` (no knowledge: the game's admissible order), ``distracted`` ("look", "inventory",
"examine ..." first, as a weak model tends to), ``local`` (SmolLM2 option scoring of the commands given the
goal and the recent observations).

Run:  nice -n 10 python benchmarks/search/bench_env.py --games /tmp/tw_dev/games --steps 20
(games from /work/shared/data/textworld/make_dev_games.sh). Writes benchmarks/results/search_env.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cogarch.environments import TextWorldEnv
from reasoning.config import SearchSettings
from reasoning.engines.scripted import ScriptedLLM
from reasoning.llm import Message
from reasoning.search import Association, CoATSearch, Evaluation, ResultEnvAdapter


def distracted(messages: Sequence[Message], option: str) -> float:
    return 0.0 if option in ("look", "inventory") or option.startswith("examine") else -1.0


def reward_only(q: str, p: Sequence[str], a: Sequence[Association], ans: str | None) -> Evaluation:
    return Evaluation(0.0)


def prior(name: str) -> Any:
    if name == "uniform":
        return ScriptedLLM(score=lambda m, o: 0.0)
    if name == "distracted":
        return ScriptedLLM(score=distracted)
    if name == "local":
        from cogarch.settings import Settings
        from reasoning.config import LLMSettings
        from reasoning.engines import build_llm

        return build_llm(LLMSettings(), cache_dir=Path(Settings.load().data_dir) / "models")
    raise SystemExit(f"unknown prior {name!r}")


def play(game: Path, llm: Any, depth: int, nodes: int, steps: int, branching: int) -> dict[str, Any]:
    env = TextWorldEnv(game)
    started = time.perf_counter()
    try:
        first = env.reset()
        real = ResultEnvAdapter(env, first)
        search = CoATSearch(
            llm,
            evaluator=reward_only,
            settings=SearchSettings.model_validate(
                {
                    "max_depth": depth,
                    "max_nodes": nodes,
                    "branching": branching,
                    "max_tokens": 10**9,
                    "max_seconds": 600,
                }
            ),
        )
        goal = str(first.info.get("objective") or "win the game")
        score, taken, done = 0.0, [], False
        observation = first.observation
        for _ in range(steps):
            result = search.run_env(real, goal, observation=observation[-600:])
            observation, reward, done = real.step(result.actions[0])
            taken.append(result.actions[0])
            score += reward
            if done:
                break
        return {"score": score, "max_score": env.max_score, "steps": len(taken), "done": done,
                "won": bool(getattr(real.last, "won", False)), "commands": taken,
                "seconds": time.perf_counter() - started}  # fmt: skip
    finally:
        env.close()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--games", default="/tmp/tw_dev/games")
    ap.add_argument("--only", default="cook_l1,cook_l2,coin_l10,hunt_l5", help="game names (comma-separated)")
    ap.add_argument("--prior", default="uniform,distracted")
    ap.add_argument("--steps", type=int, default=20, help="real environment steps per game")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=60)
    ap.add_argument("--branching", type=int, default=8)
    ap.add_argument("--out", default="benchmarks/results/search_env.json")
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for prior_name in args.prior.split(","):
        llm = prior(prior_name)
        for name in args.only.split(","):
            game = Path(args.games) / f"{name}.z8"
            for player, depth in (("greedy", 1), ("search", args.depth)):
                res = play(game, llm, depth, args.nodes, args.steps, args.branching)
                rows.append({"game": name, "prior": prior_name, "player": player, "depth": depth, **res})
                print(f"{name:<10} {prior_name:<10} {player:<7} score {res['score']:.0f}/{res['max_score']:.0f} "
                      f"in {res['steps']} steps ({res['seconds']:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
                out.write_text(
                    json.dumps({"config": vars(args), "loadavg": os.getloadavg(), "rows": rows}, indent=1)
                )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
