"""Benchmark E, agent level (EMBER's figure): exchanges until the first substrate-triggered proactive action.

Protocol: a fresh data directory; a scripted conversation with recurring person-topic pairs
(``conversation.py``); after each exchange, 8 simulated idle hours (``Agent.idle``, accelerated clock). The
count is the number of exchanges before the first proactive action whose surfaced memories (its ``cause``) are
episodes of this conversation. The control repeats it with plasticity off and must see zero triggers. Real
substrate (default size) and real memory; the LLM is scripted (it replies and writes the proactive message),
embeddings by the bundled all-MiniLM-L6-v2 (``--embedder hash`` for a model-free run).

Target: <= 5 exchanges (EMBER: 7), zero triggers in the control.

    python benchmarks/agent/bench_proactive.py [--max-exchanges 12] [--runs 3] [--embedder local|hash]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversation import exchanges

from cogarch.agent import Agent
from cogarch.clock import ManualClock
from reasoning.engines.scripted import ScriptedLLM

EIGHT_HOURS = 8 * 3600.0
START = 1_767_261_600.0  # 2026-01-01 10:00 UTC: daytime, no quiet-hours questions


def run(plasticity: bool, max_exchanges: int, seed: int, embedder: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        agent = Agent.open(
            tmp,
            llm=ScriptedLLM(),
            embedder=embedder,
            clock=ManualClock(START),
            substrate={"plasticity": plasticity, "seed": seed},
        )
        first = None
        surfaced: list[str] = []
        own: set[str] = set()
        wall = []
        try:
            for i, message in enumerate(exchanges(max_exchanges), 1):
                reply = agent.chat(message, user="u")
                own.update(reply.stored)
                start = time.perf_counter()
                actions = agent.idle(EIGHT_HOURS, user="u")
                wall.append(time.perf_counter() - start)
                for action in actions:
                    if action.cause and set(action.cause) <= own:
                        first, surfaced = i, [agent.memory.get(k).text for k in action.cause]
                        break
                if first is not None and plasticity:
                    break
            triggers = sum(1 for e in agent.proactive_log("u", 10_000) if e["kind"] == "trigger")
        finally:
            agent.close()
    return {
        "plasticity": plasticity,
        "seed": seed,
        "first_action_exchange": first,
        "surfaced": surfaced,
        "triggers": triggers,
        "idle_8h_wall_s_median": statistics.median(wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-exchanges", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embedder", choices=["local", "hash"], default="local")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/agent_proactive.json"))
    args = parser.parse_args()
    if args.embedder == "local":
        from memory.config import EmbeddingSettings
        from memory.embedders import build_embedder

        embedder = build_embedder(EmbeddingSettings())
    else:
        from memory.embedders.base import HashEmbedder

        embedder = HashEmbedder(384)
    results = [run(True, args.max_exchanges, seed, embedder) for seed in range(args.runs)]
    controls = [run(False, 5, seed, embedder) for seed in range(args.runs)]
    firsts = [r["first_action_exchange"] for r in results]
    print(f"{'run':>4} {'first action after':>20} {'control triggers':>17} {'idle 8h wall s':>15}")
    for r, c in zip(results, controls, strict=True):
        print(
            f"{r['seed']:>4} {r['first_action_exchange']!s:>20} {c['triggers']:>17} {r['idle_8h_wall_s_median']:>15.2f}"
        )
    summary = {
        "benchmark": "E-agent first proactive action",
        "embedder": args.embedder,
        "runs": results,
        "controls": controls,
        "median_first_action_exchange": statistics.median(
            [f for f in firsts if f is not None] or [float("nan")]
        ),
        "control_triggers_total": sum(c["triggers"] for c in controls),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("runs", "controls")}))


if __name__ == "__main__":
    main()
