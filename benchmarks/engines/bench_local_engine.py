"""Benchmark: the bundled SmolLM2-135M LocalEngine.

Measures, each in a fresh Python process so caches and imports are honest:
- cold start: first construction with an empty cache directory (GGUF dequantisation + writing the cache);
- cached start: construction with the cache present (target <= 3 s), after ``import torch`` and the
  transformers modules it uses (imports timed separately: a once-per-process cost the agent pays anyway for
  the bundled embedder), and the whole child process wall time;
then, in this process: greedy tokens/s, and the latency of scoring 10 candidate commands (batched over a
shared prompt cache) against scoring them one by one.

Run (2 cores, shared machine: report medians):
    /work/venv/bin/python benchmarks/engines/bench_local_engine.py [--runs 3] [--threads N]
Writes benchmarks/results/engines_local.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "engines_local.json"

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
from reasoning.engines.local import LocalEngine
# transformers' own import (~3-4 s here) is paid once per process, shared with the bundled embedder:
import transformers.models.llama.modeling_llama, transformers.tokenization_utils_fast
t1 = time.perf_counter()
engine = LocalEngine(cache_dir=__import__("pathlib").Path({cache!r}), device="cpu", threads={threads} or None)
t2 = time.perf_counter()
print(json.dumps({{"imports_s": t1 - t0, "construct_s": t2 - t1, "from_cache": engine.loaded_from_cache}}))
"""


def child_load(cache: Path, threads: int) -> dict[str, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(cache=str(cache), threads=threads)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: the engine's default, all CPUs but one)"
    )
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cogarch-bench-") as tmp:
        cache = Path(tmp)
        cold = child_load(cache, args.threads)
        warm = [child_load(cache, args.threads) for _ in range(args.runs)]

    import torch

    from reasoning.engines.local import LocalEngine
    from reasoning.llm import GenerationOptions, system, user

    engine = LocalEngine(
        cache_dir=Path(tempfile.gettempdir()) / "cogarch-test-models",
        device="cpu",
        threads=args.threads or None,
    )
    prompt = [user("Write a short story about a lighthouse keeper and a storm.")]
    options = GenerationOptions(max_tokens=args.tokens, temperature=0.0)
    engine.complete(prompt, GenerationOptions(max_tokens=4))  # warm-up
    rates = []
    for _ in range(args.runs):
        t = time.perf_counter()
        completion = engine.complete(prompt, options)
        rates.append(completion.usage.completion_tokens / (time.perf_counter() - t))

    messages = [
        system("You are playing a text adventure. Reply with the single best command."),
        user(
            "-= Kitchen =-\nYou are in a kitchen. A closed fridge stands here, a counter holds a knife and a "
            "red apple. Exits: north, east.\nGoal: prepare a meal. Inventory: nothing.\nWhat do you do?"
        ),
    ]
    commands = [
        "open fridge",
        "take knife",
        "take red apple",
        "go north",
        "go east",
        "examine counter",
        "look",
        "inventory",
        "slice red apple with knife",
        "close fridge",
    ]
    engine.score_options(messages, commands)  # warm-up
    batched, single = [], []
    for _ in range(max(3, args.runs)):
        t = time.perf_counter()
        engine.score_options(messages, commands)
        batched.append(time.perf_counter() - t)
        t = time.perf_counter()
        for command in commands:
            engine.score_options(messages, [command])
        single.append(time.perf_counter() - t)

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": os.getloadavg()[0],
        "cold_construct_s": cold["construct_s"],
        "cold_process_s": cold["process_s"],
        "cached_construct_s_median": statistics.median(w["construct_s"] for w in warm),
        "cached_imports_s_median": statistics.median(w["imports_s"] for w in warm),
        "cached_process_s_median": statistics.median(w["process_s"] for w in warm),
        "cached_all_from_cache": all(bool(w["from_cache"]) for w in warm),
        "greedy_tokens_per_s_median": statistics.median(rates),
        "score_10_options_batched_s_median": statistics.median(batched),
        "score_10_options_one_by_one_s_median": statistics.median(single),
        "runs": args.runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    print(f"-> {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
