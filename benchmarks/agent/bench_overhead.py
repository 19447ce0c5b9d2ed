"""Benchmark A: time per chat turn spent outside the LLM, and cold start of ``cogarch chat``.

Overhead: an agent on a data directory pre-filled with N synthetic episodes (N = 10k, 100k) answers chat turns
with a scripted LLM (no model time); the time per turn outside the LLM is the turn's wall time minus the
``respond`` node (where the LLM call lives; with the scripted LLM it is near zero anyway). It includes perceive,
encode (query embedding + substrate stimulation), recall, learn (store + bind) and the LangGraph checkpoints.
Embeddings: the hash embedder for the pre-fill and the turns (model-free, so the pre-fill of 100k records is
quick); the bundled MiniLM's single-query embedding time is measured apart and reported beside it.

Cold start: wall time from launching ``cogarch chat`` on an existing data directory (after a first run has cached
the converted model) to its first prompt, in a pseudo-terminal.

Targets (2 CPU cores): turn overhead p50 <= 100 ms at 10k and 100k memories; cold start <= 10 s.

    python benchmarks/agent/bench_overhead.py [--sizes 10000 100000] [--turns 30] [--no-cold-start]
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

import numpy as np

WORDS = [
    "alice",
    "bob",
    "chen",
    "dana",
    "marathon",
    "bread",
    "violin",
    "garden",
    "paris",
    "berlin",
    "tokyo",
    "coffee",
    "tennis",
    "piano",
    "book",
    "movie",
    "train",
    "office",
    "sister",
    "brother",
    "doctor",
    "dentist",
    "birthday",
    "holiday",
    "recipe",
    "project",
    "meeting",
    "deadline",
]


def synthetic(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "text": " ".join(rng.choice(WORDS, size=12)),
            "speaker": "user",
            "timestamp": 1.7e9 + i * 60.0,
            "metadata": {"i": i},
        }
        for i in range(n)
    ]


def overhead(n: int, turns: int, substrate: bool) -> dict[str, Any]:
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM

    with tempfile.TemporaryDirectory() as tmp:
        embedder = HashEmbedder(384)
        agent = Agent.open(
            tmp,
            llm=ScriptedLLM(),
            embedder=embedder,
            substrate={"enabled": substrate},
            memory={"consolidate_every": 10**9},
        )
        start = time.perf_counter()
        items = synthetic(n)
        for i in range(0, n, 5000):
            agent.memory.remember_many(items[i : i + 5000], namespace="u")
        fill_s = time.perf_counter() - start
        samples, nodes = [], []
        rng = np.random.default_rng(1)
        for t in range(turns + 3):
            reply = agent.chat(" ".join(rng.choice(WORDS, size=8)) + "?", user="u")
            if t >= 3:  # warm-up: substrate build, first checkpoints
                samples.append(reply.latency_s - reply.timings.get("respond", 0.0))
                nodes.append(reply.timings)
        agent.close()
    per_node = {k: statistics.median(t.get(k, 0.0) for t in nodes) * 1000 for k in nodes[0]}
    return {
        "memories": n,
        "substrate": substrate,
        "fill_s": fill_s,
        "p50_ms": statistics.median(samples) * 1000,
        "p95_ms": float(np.percentile(samples, 95)) * 1000,
        "per_node_median_ms": per_node,
    }


def query_embedding_ms() -> float:
    from memory.config import EmbeddingSettings
    from memory.embedders import build_embedder

    embedder = build_embedder(EmbeddingSettings())
    embedder(["warm up"])
    times = []
    for i in range(20):
        start = time.perf_counter()
        embedder([f"Where does my sister live, question {i}?"])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def cold_start(runs: int) -> dict[str, Any]:
    import pexpect

    exe = str(Path(sys.executable).with_name("cogarch"))
    with tempfile.TemporaryDirectory() as tmp:
        first = _time_to_prompt(pexpect, exe, tmp)  # converts and caches the model
        later = [_time_to_prompt(pexpect, exe, tmp) for _ in range(runs)]
    return {"first_run_s": first, "cold_start_s_median": statistics.median(later), "runs": later}


def _time_to_prompt(pexpect: Any, exe: str, data_dir: str) -> float:
    start = time.perf_counter()
    child = pexpect.spawn(
        exe, ["chat", "--data-dir", data_dir, "--no-proactive"], encoding="utf-8", timeout=300
    )
    child.expect("you>")
    elapsed = time.perf_counter() - start
    child.sendeof()
    child.expect(pexpect.EOF)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--no-cold-start", action="store_true")
    parser.add_argument("--cold-start-only", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/agent_overhead.json"))
    args = parser.parse_args()
    if args.cold_start_only:
        print(json.dumps(cold_start(3)))
        return
    rows = [overhead(n, args.turns, substrate=True) for n in args.sizes]
    result: dict[str, Any] = {
        "benchmark": "A agent overhead",
        "rows": rows,
        "query_embedding_ms_minilm": query_embedding_ms(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    if not args.no_cold_start:
        result["cold_start"] = cold_start(3)
    print(f"{'memories':>9} {'p50 ms':>8} {'p95 ms':>8}  per node (median ms)")
    for r in rows:
        nodes = ", ".join(f"{k} {v:.0f}" for k, v in r["per_node_median_ms"].items())
        print(f"{r['memories']:>9} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f}  {nodes}")
    print(f"MiniLM query embedding: {result['query_embedding_ms_minilm']:.1f} ms")
    if "cold_start" in result:
        print(
            f"cold start to first prompt: {result['cold_start']['cold_start_s_median']:.1f} s "
            f"(first run {result['cold_start']['first_run_s']:.1f} s)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
