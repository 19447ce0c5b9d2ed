"""Benchmark: the bundled SmolLM2-135M LocalEngine.

Measures, each in a fresh Python process so caches and imports are honest:
- cold start: first construction with an empty cache directory (GGUF dequantisation + writing the cache);
- second start: the whole child process (interpreter start, ``import torch``, the engine module, engine
  construction from the cache; target <= 3 s), wall and CPU time (CPU time ~ the wall time on an idle
  machine: a loaded machine inflates wall time several-fold), with the import and construction parts, and
  whether transformers got imported (it should not be);
then, in this process: greedy tokens/s, the latency of scoring 10 candidate commands (one packed pass after
the prompt) against scoring them one call each, and a "full history" agent loop: the prompt grows by one
game step per turn and 10 commands are scored per turn, with the prefix cache and with it cleared per call.

Run (2 cores, shared machine: report medians):
    .venv/bin/python benchmarks/engines/bench_local_engine.py [--runs 3] [--threads N]
Writes benchmarks/results/engines_local.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "engines_local.json"

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
from reasoning.engines.local import LocalEngine
t1 = time.perf_counter()
engine = LocalEngine(cache_dir=__import__("pathlib").Path({cache!r}), device="cpu", threads={threads} or None)
t2 = time.perf_counter()
print(json.dumps({{"imports_s": t1 - t0, "construct_s": t2 - t1, "from_cache": engine.loaded_from_cache,
                  "transformers_imported": "transformers" in sys.modules}}))
"""


def child_load(cache: Path, threads: int) -> dict[str, Any]:
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(cache=str(cache), threads=threads)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU time is what the wall time would be on an idle machine (one thread, files in the page cache).
    result["process_cpu_s"] = (cpu.ru_utime - cpu_before.ru_utime) + (cpu.ru_stime - cpu_before.ru_stime)
    return result


STEPS = [
    ("open fridge", "You open the fridge. Inside: a carton of milk and an egg."),
    ("take egg", "You take the egg from the fridge."),
    ("go north", "-= Pantry =-\nShelves full of jars. A bag of flour sits on the floor. Exit: south."),
    ("take flour", "You pick up the bag of flour."),
    ("go south", "-= Kitchen =-\nYou are back in the kitchen. The fridge is open."),
    ("take knife", "You take the knife from the counter."),
    ("look", "A kitchen. An open fridge, a counter, a stove. Exits: north, east."),
    ("go east", "-= Dining room =-\nA long table with six chairs. Exit: west."),
    ("go west", "-= Kitchen =-\nThe kitchen, as before."),
    ("inventory", "You carry: an egg, a bag of flour, a knife."),
]


def history_loop(engine: Any, commands: list[str], *, turns: int) -> dict[str, Any]:
    """A "full history" agent: every turn appends the last command and observation to the prompt and scores
    10 commands. Returns the median seconds per turn with the prefix cache and with it cleared per call."""
    from reasoning.llm import Message, assistant, system, user

    def run(reuse: bool) -> tuple[list[float], list[list[float]]]:
        messages: list[Message] = [
            system("You are playing a text adventure. Reply with the single best command."),
            user(
                "-= Kitchen =-\nA closed fridge, a counter with a knife. Exits: north, east.\nGoal: bake a cake."
            ),
        ]
        times, scores = [], []
        for command, observation in STEPS[:turns]:
            if not reuse:
                engine.clear_prefix_cache()
            t = time.perf_counter()
            scores.append(engine.score_options(messages, commands))
            times.append(time.perf_counter() - t)
            messages += [assistant(command), user(observation)]
        return times, scores

    run(True)  # warm-up
    cached, cached_scores = run(True)
    fresh, fresh_scores = run(False)
    agree = max(
        abs(a - b)
        for x, y in zip(cached_scores, fresh_scores, strict=True)
        for a, b in zip(x, y, strict=True)
    )
    return {
        "history_turns": turns,
        "history_prompt_tokens_last": len(engine._kv_ids),
        "history_turn_s_median_prefix_cache": statistics.median(cached),
        "history_turn_s_median_no_cache": statistics.median(fresh),
        "history_max_score_difference": agree,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: the engine's default, all CPUs but one)"
    )
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--turns", type=int, default=8, help="turns of the growing-history loop")
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

    history = history_loop(engine, commands, turns=args.turns)

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": os.getloadavg()[0],
        "cold_construct_s": cold["construct_s"],
        "cold_process_s": cold["process_s"],
        "cold_process_cpu_s": cold["process_cpu_s"],
        "second_start_process_s_median": statistics.median(w["process_s"] for w in warm),
        "second_start_process_cpu_s_median": statistics.median(w["process_cpu_s"] for w in warm),
        "second_start_imports_s_median": statistics.median(w["imports_s"] for w in warm),
        "second_start_construct_s_median": statistics.median(w["construct_s"] for w in warm),
        "second_start_all_from_cache": all(bool(w["from_cache"]) for w in warm),
        "second_start_imported_transformers": any(bool(w["transformers_imported"]) for w in warm),
        "greedy_tokens_per_s_median": statistics.median(rates),
        "score_10_options_batched_s_median": statistics.median(batched),
        "score_10_options_one_by_one_s_median": statistics.median(single),
        **history,
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
