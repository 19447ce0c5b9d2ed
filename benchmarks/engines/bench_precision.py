"""Benchmark: lower-precision weights for the pure-torch SmolLM2 decoder, against float32.

Variants: float32 (the engine's choice), bfloat16 weights, int8 dynamic quantization of the Linear layers
(``torch.ao.quantization.quantize_dynamic``, per-tensor and per-channel; per-channel keeps the output
projection in float32). For each: the time to score 10 commands in 8 text-adventure scenes (median), a
300-token prefill, ms per generated token, and how often the option RANKING equals float32's (top-1 and the
full order). A variant is only worth adopting when the rankings stay the same.

Run:
    .venv/bin/python benchmarks/engines/bench_precision.py
Writes benchmarks/results/engines_precision.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "engines_precision.json"
SYSTEM = "You are playing a text adventure. Reply with the single best command."
SCENES = [
    (
        "-= Kitchen =-\nA closed fridge stands here, a counter holds a knife and a red apple. Exits: north, east.\n"
        "Goal: prepare a meal.",
        [
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
        ],
    ),
    (
        "-= Bedroom =-\nA bed, a wardrobe (closed) and a locked chest. A brass key lies on the bed. Exits: south.\n"
        "Goal: open the chest.",
        [
            "take brass key",
            "unlock chest with brass key",
            "open wardrobe",
            "go south",
            "look",
            "examine bed",
            "open chest",
            "inventory",
            "sleep",
            "drop key",
        ],
    ),
    (
        "-= Garden =-\nA shed to the west, a gate to the north (closed). A shovel leans on the wall.\n"
        "Goal: dig up the treasure.",
        [
            "take shovel",
            "dig",
            "go west",
            "open gate",
            "go north",
            "look",
            "examine shed",
            "inventory",
            "eat shovel",
            "climb wall",
        ],
    ),
    (
        "-= Cellar =-\nIt is dark. You hear dripping water. A lantern hangs on a hook. Stairs lead up.\n"
        "Goal: find the wine.",
        [
            "take lantern",
            "light lantern",
            "go up",
            "look",
            "examine hook",
            "inventory",
            "drink water",
            "listen",
            "search cellar",
            "turn on lantern",
        ],
    ),
    (
        "-= Living room =-\nA sofa, a TV (off), a remote control on the table. A door to the east.\n"
        "Goal: watch the news.",
        [
            "take remote",
            "turn on TV",
            "sit on sofa",
            "go east",
            "look",
            "examine table",
            "inventory",
            "open door",
            "watch TV",
            "push sofa",
        ],
    ),
    (
        "-= Bathroom =-\nA sink, a mirror, a towel on the rack. The bathtub is full of water. Exit: west.\n"
        "Goal: take a bath.",
        [
            "get in bathtub",
            "take towel",
            "look in mirror",
            "go west",
            "look",
            "turn on sink",
            "inventory",
            "drain bathtub",
            "examine towel",
            "wash hands",
        ],
    ),
    (
        "-= Office =-\nA desk with a drawer (closed), a computer, a note on the desk. Exit: north.\n"
        "Goal: read the password.",
        [
            "read note",
            "open drawer",
            "take note",
            "turn on computer",
            "go north",
            "look",
            "inventory",
            "examine desk",
            "type password",
            "sit down",
        ],
    ),
    (
        "-= Forest path =-\nTall trees. A wolf blocks the path north. You carry a piece of meat. Exit: south.\n"
        "Goal: get past the wolf.",
        [
            "give meat to wolf",
            "throw meat",
            "go north",
            "go south",
            "attack wolf",
            "look",
            "inventory",
            "climb tree",
            "shout",
            "wait",
        ],
    ),
]


def _int8(directory: Path, *, per_channel: bool) -> Any:
    import torch
    from torch import nn
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    from reasoning.engines.llama import Linear, load_llama

    model = load_llama(directory)
    scope = model.layers if per_channel else model
    if not per_channel:  # quantize the (tied) output projection too, as its own matrix
        model.lm_head = nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=False)
        model.lm_head.weight = nn.Parameter(model.embed_tokens.weight.detach().clone(), requires_grad=False)
    for module in scope.modules():
        if type(module) is Linear:  # quantize_dynamic converts exact nn.Linear only
            module.__class__ = nn.Linear
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {nn.Linear: qconfig}, dtype=torch.qint8)


def main() -> None:
    import torch

    from reasoning.engines.llama import load_llama
    from reasoning.engines.local import CACHE_SUBDIR, LocalEngine
    from reasoning.llm import system, user

    cache = Path(tempfile.gettempdir()) / "cogarch-test-models"
    engine = LocalEngine(cache_dir=cache, device="cpu")
    directory = cache / CACHE_SUBDIR
    variants = {
        "float32": engine._model,
        "bfloat16": load_llama(directory, dtype=torch.bfloat16),
        "int8 dynamic, per-tensor": _int8(directory, per_channel=False),
        "int8 dynamic, per-channel, float32 output layer": _int8(directory, per_channel=True),
    }

    def ranking(scores: list[float]) -> list[int]:
        return sorted(range(len(scores)), key=lambda i: -scores[i])

    rows: dict[str, Any] = {}
    reference: list[list[float]] = []
    for name, model in variants.items():
        engine._model = model
        times, all_scores = [], []
        for scene, commands in SCENES:
            engine.clear_prefix_cache()
            messages = [system(SYSTEM), user(scene + "\nWhat do you do?")]
            started = time.perf_counter()
            all_scores.append(engine.score_options(messages, commands))
            times.append(time.perf_counter() - started)
        reference = reference or all_scores
        ids = torch.randint(0, model.config.vocab_size, (1, 300), generator=torch.Generator().manual_seed(0))
        cache_kv = model.new_cache()
        with torch.inference_mode():
            started = time.perf_counter()
            model(ids, cache_kv, last_only=True)
            prefill = time.perf_counter() - started
            for _ in range(2):
                model(torch.tensor([[5]]), cache_kv)
            started = time.perf_counter()
            for _ in range(8):
                model(torch.tensor([[5]]), cache_kv)
            per_token = (time.perf_counter() - started) / 8
        pairs = list(zip(all_scores, reference, strict=True))
        rows[name] = {
            "score_10_options_s_median": statistics.median(times),
            "prefill_300_tokens_s": prefill,
            "ms_per_token": per_token * 1000,
            "top1_agreement": f"{sum(ranking(a)[0] == ranking(b)[0] for a, b in pairs)}/{len(pairs)}",
            "full_ranking_agreement": f"{sum(ranking(a) == ranking(b) for a, b in pairs)}/{len(pairs)}",
            "max_score_difference": max(abs(x - y) for a, b in pairs for x, y in zip(a, b, strict=True)),
        }
        print(name, rows[name], flush=True)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": os.getloadavg()[0],
        "variants": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"-> {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
