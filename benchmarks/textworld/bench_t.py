"""Benchmark T: the TextWorld agent on the development games (AriGraph's protocol).

150 steps per episode, 3 runs per game (seeds 0..2), normalised score = final score / max score; also steps,
LLM tokens, wall time per step and time per step excluding the LLM. Conditions: full architecture, the three
ablations (no-memory, full-history, rag) and the random reference. The policy is driven directly
(``PolicyAgent``: world model + plan + LLM option scoring), without the chat agent's memory cycle.

    .venv/bin/python benchmarks/textworld/bench_t.py --games /tmp/tw_dev/games --llm local
    (build the games first: ../shared/data/textworld/make_dev_games.sh /tmp/tw_dev/games)

Writes ``benchmarks/results/textworld_t[_<llm>].json`` (or ``--out``) after every episode, so partial results
survive; ``--resume`` skips the episodes already in it; ``--merge A.json B.json`` prints the table of several
files (e.g. of two processes run in parallel).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

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
        self.llm, self.seconds = llm, 0.0
        if hasattr(llm, "score_options"):
            self.score_options = self._score

    @property
    def name(self) -> str:
        return str(self.llm.name)

    def _score(self, messages: Any, options: Any, *, normalize: bool = True) -> list[float]:
        t = time.perf_counter()
        try:
            return list(self.llm.score_options(messages, options, normalize=normalize))
        finally:
            self.seconds += time.perf_counter() - t

    def complete(self, messages: Any, options: Any = None) -> Any:
        t = time.perf_counter()
        try:
            return self.llm.complete(messages, options)
        finally:
            self.seconds += time.perf_counter() - t

    def stream(self, messages: Any, options: Any = None) -> Any:
        return self.llm.stream(messages, options)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--games", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--run-ids", default=None, help="only these runs (comma-separated), e.g. 2")
    ap.add_argument("--max-steps", type=int, default=150)
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--only", default=",".join(GAMES))
    ap.add_argument("--llm", choices=["local", "none"], default="local")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--game-major", action="store_true", help="all conditions of a game before the next game")
    ap.add_argument(
        "--run-major", action="store_true", help="run 0 of every condition and game, then run 1..."
    )
    ap.add_argument("--resume", action="store_true", help="keep the episodes already in --out, skip them")
    ap.add_argument("--merge", type=Path, nargs="*", help="only print the table of these results files")
    args = ap.parse_args()
    if args.merge:
        rows = [e for f in args.merge for e in json.loads(f.read_text())["episodes"]]
        print_table(summarize(rows), runs=True)
        return

    from cogarch.environments import TextWorldEnv
    from cogarch.episodes import PolicyAgent, make_policy, run_episode

    out = args.out or Path(__file__).resolve().parents[1] / "results" / f"textworld_t_{args.llm}.json"
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
        for g in args.only.split(",")
        for r in (map(int, args.run_ids.split(",")) if args.run_ids else range(args.runs))
    ]
    if args.game_major:  # every condition on a game before the next game: partial results stay comparable
        plan.sort(key=lambda x: (args.only.split(",").index(x[1]), x[2]))
    if args.run_major:  # every condition and game once before the next run: partial results stay balanced
        plan.sort(key=lambda x: x[2])
    for cond, game, run in plan:
        if (cond, game, run) in done:
            continue
        if True:
            if True:
                env = TextWorldEnv(args.games / f"{game}.z8")
                policy = make_policy(cond, run)  # type: ignore[arg-type]
                before = llm.seconds if llm is not None else 0.0
                res = run_episode(
                    env, PolicyAgent(policy, llm=llm if cond != "random" else None), max_steps=args.max_steps
                )
                env.close()
                llm_s = (llm.seconds - before) if llm is not None else 0.0
                row = {
                    "condition": cond,
                    "game": game,
                    "run": run,
                    **res.as_dict(),
                    "llm_s": round(llm_s, 3),
                    "time_per_step_excl_llm_s": round((res.time_s - llm_s) / max(res.steps, 1), 4),
                }
                rows.append(row)
                print(
                    f"{cond:13} {game:10} run {run}: {res.normalized:.2f} in {res.steps} steps, "
                    f"{res.tokens} tokens, {res.time_per_step_s:.3f} s/step",
                    flush=True,
                )
                summary = summarize(rows)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(
                    json.dumps(
                        {
                            "llm": args.llm,
                            "max_steps": args.max_steps,
                            "runs": args.runs,
                            "machine": machine(),
                            "elapsed_s": round(time.time() - started),
                            "load_average": os.getloadavg(),
                            "summary": summary,
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
            "per_run": {
                run: round(statistics.mean(r["normalized_score"] for r in rs if r["run"] == run), 3)
                for run in sorted({r["run"] for r in rs})
            },
        }
    return out


def print_table(summary: dict[str, dict[str, Any]], *, runs: bool = False) -> None:
    print(f"{'condition':13} {'score':>6} {'steps':>6} {'tokens':>7} {'s/step':>7} {'excl LLM':>8} wins")
    for cond, s in summary.items():
        print(
            f"{cond:13} {s['mean_normalized_score']:6.3f} {s['mean_steps']:6.1f} {s['mean_tokens']:7d} "
            f"{s['median_s_per_step']:7.3f} {s['median_s_per_step_excl_llm']:8.4f} {s['wins']}/{s['episodes']}"
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
