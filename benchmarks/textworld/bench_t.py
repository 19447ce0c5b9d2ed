"""Benchmark T: the TextWorld agent on game sets (AriGraph's protocol).

150 steps per episode, 3 runs per game (seeds 0..2), normalised score = final score / max score; also steps,
steps relative to the walkthrough (hand-written games), LLM tokens, wall time per step and time per step
excluding the LLM. Conditions: full architecture, the three ablations (no-memory, full-history, rag; they remove
memory only, see ``cogarch.episodes.policy``) and the random reference.

Game sets (``--set``), built on first use into ``--games`` (default ``benchmarks/textworld/games/``, gitignored):
- ``dev``: the development generator games (``../shared/data/textworld/make_dev_games.sh``);
- ``plain``: the hand-written plain-English games (``plain_games.py``), reported against their walkthroughs;
- ``arigraph``: AriGraph-style cooking (tw-cooking, 3 ingredients, cutting and cooking, 6-9 rooms, closed
  doors), seeds not in the development set.

The agent (``--agent``): ``agent`` (default) is ``cogarch.Agent`` opened on a fresh data directory with the
user's default settings (memory with the bundled embedder, substrate, checkpoints), playing through
``Agent.act``, as ``cogarch textworld play`` does; ``policy`` drives the policy directly (``PolicyAgent``,
no memory cycle), which is cheaper.

    .venv/bin/python benchmarks/textworld/bench_t.py --set dev --llm local
    .venv/bin/python benchmarks/textworld/bench_t.py --set plain --llm none --agent policy

Writes ``benchmarks/results/textworld_t[_<set>]_<llm>.json`` (or ``--out``) after every episode, so partial
results survive; ``--resume`` skips the episodes already in it; ``--merge A.json B.json`` prints the table of
several files (e.g. of two processes run in parallel).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED_DEV = next(  # ../shared beside the checkout (a worktree may sit one level deeper)
    (
        p / "shared" / "data" / "textworld" / "make_dev_games.sh"
        for p in HERE.parents
        if (p / "shared" / "data" / "textworld" / "make_dev_games.sh").is_file()
    ),
    HERE.parents[2] / "shared" / "data" / "textworld" / "make_dev_games.sh",
)
ARIGRAPH_COOKING = {  # name -> tw-cooking settings (held out of the development set: other seeds)
    "ag_cook_a": {"recipe": 3, "take": 3, "go": 6, "cook": True, "cut": True, "open": True, "seed": 701},
    "ag_cook_b": {"recipe": 3, "take": 3, "go": 9, "cook": True, "cut": True, "open": True, "seed": 702},
    "ag_cook_c": {"recipe": 3, "take": 3, "go": 9, "cook": True, "cut": True, "open": True, "seed": 703},
}
GAMES = [
    "cook_l1",
    "cook_l2",
    "cook_l3",
    "cook_l4",
    "cook_l5",
    "hunt_l5",
    "hunt_l15",
    "coin_l10",
    "coin_l110",
]
CONDITIONS = ["full", "random", "no-memory", "full-history", "rag"]


class TimedLLM:
    """Measures the time spent in the LLM (the benchmark reports time per step excluding it)."""

    def __init__(self, llm: Any) -> None:
        self.llm, self.seconds, self.calls = llm, 0.0, 0
        if hasattr(llm, "score_options"):
            self.score_options = self._score

    @property
    def name(self) -> str:
        return str(self.llm.name)

    def _score(self, messages: Any, options: Any, *, normalize: bool = True) -> list[float]:
        t = time.perf_counter()
        self.calls += 1
        try:
            return list(self.llm.score_options(messages, options, normalize=normalize))
        finally:
            self.seconds += time.perf_counter() - t

    def complete(self, messages: Any, options: Any = None) -> Any:
        t = time.perf_counter()
        self.calls += 1
        try:
            return self.llm.complete(messages, options)
        finally:
            self.seconds += time.perf_counter() - t

    def stream(self, messages: Any, options: Any = None) -> Any:
        return self.llm.stream(messages, options)


def build_set(name: str, games: Path) -> dict[str, dict[str, Any]]:
    """Build (or reuse) the games of set ``name`` in ``games``; returns name -> metadata (walkthrough length
    for hand-written games)."""
    games.mkdir(parents=True, exist_ok=True)
    if name == "dev":
        if not all((games / f"{g}.z8").is_file() for g in GAMES):
            subprocess.run(["bash", str(SHARED_DEV), str(games)], check=True, env=_tool_env())
        return {g: {} for g in GAMES}
    if name == "plain":
        sys.path.insert(0, str(HERE))
        import plain_games

        index = plain_games.build_all(games)
        return {g: {"walkthrough_steps": len(row["walkthrough"])} for g, row in index.items()}
    if name == "arigraph":
        from cogarch.episodes.games import GeneratorSpec, build_game

        out: dict[str, dict[str, Any]] = {}
        for game, opts in ARIGRAPH_COOKING.items():
            options = {k: v for k, v in opts.items() if k != "seed"}
            built = build_game(
                GeneratorSpec(generator="tw-cooking", seed=int(opts["seed"]), options=options), games
            )
            for suffix in (".z8", ".json"):
                shutil.copyfile(built.with_suffix(suffix), (games / game).with_suffix(suffix))
            out[game] = {}
        return out
    raise SystemExit(f"unknown game set {name!r}: dev, plain or arigraph")


def _tool_env() -> dict[str, str]:
    """The environment with this interpreter's scripts (tw-make) first on PATH."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def make_agent(kind: str, policy: Any, llm: Any, data_root: Path) -> Any:
    """The agent of one episode: ``cogarch.Agent`` on a fresh data directory (the user's path) or the policy
    driven directly."""
    from cogarch.episodes import PolicyAgent

    if kind == "policy":
        return PolicyAgent(policy, llm=llm)
    from cogarch.agent import Agent

    # llm=None would make the Agent build its default model: pass the shared one, or a model-less agent
    return Agent.open(
        tempfile.mkdtemp(dir=data_root), policy=policy, llm=llm if llm is not None else _NoLLM()
    )


class _NoLLM:
    """For ``--llm none`` through the Agent: an LLM the game path never calls (the policy gets no scorer)."""

    name = "none"

    def complete(self, messages: Any, options: Any = None) -> Any:
        raise RuntimeError("no LLM in this benchmark condition")

    def stream(self, messages: Any, options: Any = None) -> Any:
        raise RuntimeError("no LLM in this benchmark condition")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", dest="game_set", choices=["dev", "plain", "arigraph"], default="dev")
    ap.add_argument("--games", type=Path, default=None, help="where the set's games are built and kept")
    ap.add_argument("--agent", choices=["agent", "policy"], default="agent")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--run-ids", default=None, help="only these runs (comma-separated), e.g. 2")
    ap.add_argument("--max-steps", type=int, default=150)
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--only", default=None, help="only these games (comma-separated)")
    ap.add_argument("--llm", choices=["local", "none"], default="local")
    ap.add_argument(
        "--unsure",
        type=float,
        default=None,
        help="the policy's Weights.unsure (the LLM re-ranks commands within it of the best); 'inf': every "
        "contender, as before the LLM was asked only where the rules are unsure",
    )
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--game-major", action="store_true", help="all conditions of a game before the next game")
    ap.add_argument(
        "--run-major", action="store_true", help="run 0 of every condition and game, then run 1..."
    )
    ap.add_argument("--resume", action="store_true", help="keep the episodes already in --out, skip them")
    ap.add_argument("--merge", type=Path, nargs="*", help="only print the table of these results files")
    args = ap.parse_args()
    if args.merge:
        merged = [e for f in args.merge for e in json.loads(f.read_text())["episodes"]]
        print_table(summarize(merged), runs=True)
        return

    from cogarch.environments import TextWorldEnv
    from cogarch.episodes import WorldModelPolicy, make_policy, run_episode

    games_dir = args.games or HERE / "games" / args.game_set
    meta = build_set(args.game_set, games_dir)
    names = args.only.split(",") if args.only else list(meta)
    suffix = "" if args.game_set == "dev" else f"_{args.game_set}"
    out = args.out or HERE.parent / "results" / f"textworld_t{suffix}_{args.llm}.json"
    llm: Any = None
    if args.llm == "local":
        from reasoning.config import LLMSettings
        from reasoning.engines import build_llm

        llm = TimedLLM(build_llm(LLMSettings(), cache_dir=Path.home() / ".cache" / "cogarch-bench"))
    rows: list[dict[str, Any]] = []
    if args.resume and out.is_file():
        rows = list(json.loads(out.read_text())["episodes"])
    done = {(r["condition"], r["game"], r["run"]) for r in rows}
    started = time.time()
    plan = [
        (c, g, r)
        for c in args.conditions.split(",")
        for g in names
        for r in (map(int, args.run_ids.split(",")) if args.run_ids else range(args.runs))
    ]
    if args.game_major:  # every condition on a game before the next game: partial results stay comparable
        plan.sort(key=lambda x: (names.index(x[1]), x[2]))
    if args.run_major:  # every condition and game once before the next run: partial results stay balanced
        plan.sort(key=lambda x: x[2])
    with tempfile.TemporaryDirectory(prefix="bench-t-") as data_root:
        for cond, game, run in plan:
            if (cond, game, run) in done:
                continue
            env = TextWorldEnv(games_dir / f"{game}.z8")
            policy = make_policy(cond, run, consult_llm=llm is not None)
            if args.unsure is not None and isinstance(policy, WorldModelPolicy):
                policy.w.unsure = args.unsure
            before = llm.seconds if llm is not None else 0.0
            calls_before = llm.calls if llm is not None else 0
            agent = make_agent(args.agent, policy, llm if cond != "random" else None, Path(data_root))
            try:
                res = run_episode(env, agent, user=f"{game}-{cond}-{run}", max_steps=args.max_steps)
            finally:
                agent.close()
                env.close()
            llm_s = (llm.seconds - before) if llm is not None else 0.0
            llm_calls = (llm.calls - calls_before) if llm is not None else 0
            row = {
                "condition": cond,
                "game": game,
                "run": run,
                "agent": args.agent,
                **res.as_dict(),
                **meta[game],
                "llm_s": round(llm_s, 3),
                "llm_calls": llm_calls,
                "unsure": policy.w.unsure if isinstance(policy, WorldModelPolicy) else None,
                **_memory_facts(policy),
                "time_per_step_excl_llm_s": round((res.time_s - llm_s) / max(res.steps, 1), 4),
            }
            rows.append(row)
            print(
                f"{cond:13} {game:10} run {run}: {res.normalized:.2f} in {res.steps} steps, "
                f"{res.tokens} tokens, {res.time_per_step_s:.3f} s/step",
                flush=True,
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(
                json.dumps(
                    {
                        "set": args.game_set,
                        "agent": args.agent,
                        "llm": args.llm,
                        "max_steps": args.max_steps,
                        "runs": args.runs,
                        "machine": machine(),
                        "elapsed_s": round(time.time() - started),
                        "load_average": os.getloadavg(),
                        "summary": summarize(rows),
                        "episodes": rows,
                    },
                    indent=1,
                )
            )
    print_table(summarize(rows))


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cond in dict.fromkeys(r["condition"] for r in rows):
        rs = [r for r in rows if r["condition"] == cond]
        per_game = {
            g: statistics.mean(r["normalized_score"] for r in rs if r["game"] == g)
            for g in dict.fromkeys(r["game"] for r in rs)
        }
        out[cond] = {
            "mean_normalized_score": round(statistics.mean(per_game.values()), 4),
            "per_game": {g: round(v, 3) for g, v in per_game.items()},
            "episodes": len(rs),
            "mean_steps": round(statistics.mean(r["steps"] for r in rs), 1),
            "mean_tokens": round(statistics.mean(r["tokens"] for r in rs)),
            "median_s_per_step": round(statistics.median(r["time_per_step_s"] for r in rs), 4),
            "median_s_per_step_excl_llm": round(
                statistics.median(r["time_per_step_excl_llm_s"] for r in rs), 4
            ),
            "wins": sum(r["won"] for r in rs),
            "llm_calls_per_step": round(
                sum(r.get("llm_calls", 0) for r in rs) / max(sum(r["steps"] for r in rs), 1), 3
            ),
            "median_first_step_s": round(statistics.median(r.get("first_step_s", 0.0) for r in rs), 3),
            "median_step_s": round(statistics.median(r.get("median_step_s", 0.0) for r in rs), 4),
            **_step_distribution(rs),
            "s_per_step_by_part": _parts(rs),
            "facts_s_per_step": round(
                sum(r.get("facts_s", 0.0) for r in rs) / max(sum(r["steps"] for r in rs), 1), 4
            ),
            "facts_created_per_episode": round(statistics.mean(r.get("facts_created", 0) for r in rs), 1),
            **_walkthrough_ratio(rs),
            "per_run": {
                run: round(statistics.mean(r["normalized_score"] for r in rs if r["run"] == run), 3)
                for run in sorted({r["run"] for r in rs})
            },
        }
    return out


def _memory_facts(policy: Any) -> dict[str, Any]:
    """What the policy's world model wrote to memory as facts, and the seconds it spent reading and writing
    them (none without the Agent's memory)."""
    facts = getattr(getattr(policy, "world", None), "facts", None)
    if facts is None:
        return {}
    return {"facts_created": facts.written, "facts_closed": facts.closed, "facts_s": round(facts.seconds, 3)}


def _step_distribution(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds per step pooled over the episodes' steps after their first: median and 90th percentile; the
    first steps (a new user's first turn) apart: median and max."""
    later = sorted(x for r in rs for x in r.get("step_latencies", [])[1:])
    first = [r["step_latencies"][0] for r in rs if r.get("step_latencies")]
    if not later or not first:
        return {}
    return {
        "later_steps": len(later),
        "later_step_median_s": round(statistics.median(later), 4),
        "later_step_p90_s": round(later[min(len(later) - 1, int(0.9 * len(later)))], 4),
        "later_steps_under_1s": round(sum(x < 1.0 for x in later) / len(later), 3),
        "first_step_median_s": round(statistics.median(first), 3),
        "first_step_max_s": round(max(first), 3),
    }


def _parts(rs: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per step in each part of the cycle (the Agent's nodes; ``llm`` the model's share, inside
    ``act``), the median over episodes."""
    parts = sorted({p for r in rs for p in r.get("timings", {})})
    out = {p: round(statistics.median(r.get("timings", {}).get(p, 0.0) for r in rs), 4) for p in parts}
    if parts:
        out["llm"] = round(statistics.median(r.get("llm_s", 0.0) / max(r["steps"], 1) for r in rs), 4)
    return out


def _walkthrough_ratio(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """Steps over walkthrough steps (hand-written games): the median over episodes, won episodes only; lost
    ones are counted in ``lost_to_walkthrough``."""
    rated = [r for r in rs if r.get("walkthrough_steps")]
    if not rated:
        return {}
    won = [r["steps"] / r["walkthrough_steps"] for r in rated if r["won"]]
    return {
        "median_steps_over_walkthrough": round(statistics.median(won), 2) if won else None,
        "steps_over_walkthrough": [round(x, 2) for x in won],
        "lost_to_walkthrough": len(rated) - len(won),
    }


def print_table(summary: dict[str, dict[str, Any]], *, runs: bool = False) -> None:
    print(f"{'condition':13} {'score':>6} {'steps':>6} {'tokens':>7} {'s/step':>7} {'excl LLM':>8} wins")
    for cond, s in summary.items():
        print(
            f"{cond:13} {s['mean_normalized_score']:6.3f} {s['mean_steps']:6.1f} {s['mean_tokens']:7d} "
            f"{s['median_s_per_step']:7.3f} {s['median_s_per_step_excl_llm']:8.4f} {s['wins']}/{s['episodes']}"
        )
        if s.get("s_per_step_by_part"):
            print(
                f"{'':13} s/step by part {s['s_per_step_by_part']}; median step {s['median_step_s']} s, "
                f"first step {s['median_first_step_s']} s; LLM calls/step {s['llm_calls_per_step']}; world facts "
                f"{s['facts_s_per_step']} s/step, {s['facts_created_per_episode']} created/episode"
            )
        if s.get("later_steps"):
            print(
                f"{'':13} steps after the first ({s['later_steps']}): median {s['later_step_median_s']} s, "
                f"p90 {s['later_step_p90_s']} s, under 1 s {s['later_steps_under_1s']:.0%}; first steps: median "
                f"{s['first_step_median_s']} s, max {s['first_step_max_s']} s"
            )
        if s.get("steps_over_walkthrough") is not None:
            print(
                f"{'':13} steps / walkthrough (won): median {s['median_steps_over_walkthrough']}, "
                f"{s['steps_over_walkthrough']}; not won: {s['lost_to_walkthrough']}"
            )
        if runs:
            print(f"{'':13} per game: {s['per_game']}")
            print(f"{'':13} per run (mean over the games it covers): {s['per_run']}")


def machine() -> str:
    import os
    import platform

    return f"{platform.machine()} {os.cpu_count()} cores (shared), Python {sys.version.split()[0]}"


if __name__ == "__main__":
    main()
