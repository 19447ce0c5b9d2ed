"""Per-turn cost of the substrate as the agent uses it, over many learning turns (BENCHMARKS.md, S/A).

One command::

    .venv/bin/python benchmarks/substrate/bench_turns.py [--turns 200] [--neurons 20000] [--repeats 3]
        [--learning stdp|assembly]

Each agent turn does what cogarch/nodes.py (encode, learn) does with ``substrate.learning``: ``stdp`` (the
default): ``encode(embedding)`` + ``present_concepts(concepts, code, learn=True)`` + ``bind_memory(key,
concepts)``; ``assembly`` (the earlier rule): ``encode`` + ``stimulate(code, 50 ms, learn=True)`` +
``bind(code, key)``. The turns are synthetic: 20 recurring topics (random 384-d directions), each turn = its
topic + Gaussian noise (cosine to the topic about 0.6), topics visited in a random order; a turn mentions 2-4 of
its topic's 6 concepts (120 concepts in all), in random order. Turn cost is reported as wall time and as the
process's CPU time (the figure that holds on a shared host). Every ``--every`` turns the network is probed:
the mean firing rate over 1 s of undriven idle activity (background drive only, no learning; overall, concept
layer, and the busiest excitatory layer) and one 200 ms idle burst (what the agent's idle loop runs), with its
wall time and trigger count.

Reports per window of turns: turn wall time p50/p95 (ms), idle rate (Hz), burst wall (ms), triggers; plus
build time, connectivity bytes, and peak RSS. Medians over ``--repeats`` fresh substrates (different seeds).
Writes benchmarks/results/substrate_turns.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from snn_substrate import Substrate, SubstrateConfig


def one_run(turns: int, neurons: int, every: int, seed: int, learning: str) -> dict:
    t0 = time.perf_counter()
    sub = Substrate(SubstrateConfig(neurons=neurons, seed=seed), device="cpu")
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(20, 384))
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    windows = []
    times: list[float] = []
    cpu: list[float] = []
    for turn in range(1, turns + 1):
        topic = int(rng.integers(20))
        x = topics[topic] + 0.07 * rng.normal(size=384)
        picked = rng.choice(6, int(rng.integers(2, 5)), replace=False)
        concepts = [(f"t{topic}c{i}", "thing") for i in picked]
        t, c = time.perf_counter(), time.process_time()
        code = sub.encode(x)
        if learning == "stdp":
            sub.present_concepts(concepts, code=code, learn=True)
            sub.bind_memory(f"m{turn}", [k for k, _ in concepts])
        else:
            sub.stimulate(code, 50.0, learn=True)
            sub.bind(code, f"m{turn}")
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if turn % every == 0:
            idle = sub.run(1000.0, learn=False)
            tb = time.perf_counter()
            trig = sub.idle(200.0)
            burst = time.perf_counter() - tb
            w = times[-every:]
            windows.append(
                {
                    "turns": turn,
                    "turn_ms_p50": 1000 * statistics.median(w),
                    "turn_ms_p95": 1000 * float(np.percentile(w, 95)),
                    "turn_cpu_ms_p50": 1000 * statistics.median(cpu[-every:]),
                    "idle_rate_hz": idle.rates_hz["all"],
                    "idle_rate_concept_hz": idle.rates_hz["concept_E"],
                    "idle_rate_max_layer_hz": max(v for k, v in idle.rates_hz.items() if k.endswith("_E")),
                    "burst_ms": 1000 * burst,
                    "triggers": len(trig),
                    "plastic_weight_mean": sub.stats()["plastic_weight_mean"],
                }
            )
    st = sub.stats()
    return {
        "seed": seed,
        "build_s": build_s,
        "bytes": st["bytes"],
        "synapses": st["synapses"],
        "turn_ms_p50_all": 1000 * statistics.median(times),
        "turn_cpu_ms_p50_all": 1000 * statistics.median(cpu),
        "windows": windows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--neurons", type=int, default=20_000)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--learning", choices=["stdp", "assembly"], default="stdp")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "substrate_turns.json"
    )
    a = ap.parse_args()
    runs = [one_run(a.turns, a.neurons, a.every, seed, a.learning) for seed in range(a.repeats)]
    med = lambda xs: statistics.median(xs)  # noqa: E731
    print(
        f"neurons {a.neurons}, synapses {runs[0]['synapses']}, connectivity {runs[0]['bytes'] / 1e6:.1f} MB, "
        f"build {med([r['build_s'] for r in runs]):.2f} s (median of {a.repeats})"
    )
    print(
        f"{'turns':>6} {'turn p50 ms':>12} {'turn p95 ms':>12} {'cpu p50 ms':>11} {'idle Hz':>8} {'concept Hz':>10} "
        f"{'max E Hz':>9} {'burst ms':>9} {'triggers':>8}"
    )
    table = []
    for i in range(len(runs[0]["windows"])):
        rows = [r["windows"][i] for r in runs]
        row = {k: med([x[k] for x in rows]) for k in rows[0]}
        table.append(row)
        print(
            f"{row['turns']:>6} {row['turn_ms_p50']:>12.1f} {row['turn_ms_p95']:>12.1f} {row['turn_cpu_ms_p50']:>11.1f} "
            f"{row['idle_rate_hz']:>8.2f} {row['idle_rate_concept_hz']:>10.2f} {row['idle_rate_max_layer_hz']:>9.2f} "
            f"{row['burst_ms']:>9.1f} {row['triggers']:>8.0f}"
        )
    summary = {
        "neurons": a.neurons,
        "turns": a.turns,
        "repeats": a.repeats,
        "learning": a.learning,
        "turn_cpu_ms_p50_all_median": med([r["turn_cpu_ms_p50_all"] for r in runs]),
        "build_s_median": med([r["build_s"] for r in runs]),
        "bytes": runs[0]["bytes"],
        "turn_ms_p50_all_median": med([r["turn_ms_p50_all"] for r in runs]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "table": table,
        "runs": runs,
    }
    print(
        f"turn p50 over all turns: {summary['turn_ms_p50_all_median']:.1f} ms wall, "
        f"{summary['turn_cpu_ms_p50_all_median']:.1f} ms CPU; peak RSS {summary['peak_rss_mb']:.0f} MB"
    )
    out = a.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
