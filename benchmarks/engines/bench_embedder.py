"""Benchmark: the bundled all-MiniLM-L6-v2 embedder, batched by length vs one text at a time.

Texts: the turns of the LoCoMo development conversation (``../shared/data/locomo/locomo_dev.json``), realistic
chat lengths; synthetic sentences when the file is absent. Same process, same texts, interleaved runs; the
ratio is the number to read (target: batched >= 3x one-at-a-time on 2 cores).

Run:
    .venv/bin/python benchmarks/engines/bench_embedder.py [--texts 512] [--runs 3] [--batch 16]
Writes benchmarks/results/engines_embedder.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "engines_embedder.json"  # --threads N: engines_embedder_tN.json
LOCOMO = ROOT.parent / "shared" / "data" / "locomo" / "locomo_dev.json"


def load_texts(n: int) -> tuple[list[str], str]:
    texts: list[str] = []
    if LOCOMO.is_file():
        data = json.loads(LOCOMO.read_text())
        samples = data if isinstance(data, list) else [data]
        for sample in samples:
            conversation = sample.get("conversation", {})
            for key, value in conversation.items():
                if key.startswith("session_") and isinstance(value, list):
                    texts.extend(
                        f"{t.get('speaker', '')}: {t.get('text', '')}" for t in value if isinstance(t, dict)
                    )
    source = "locomo_dev turns"
    if not texts:
        rng = random.Random(0)
        words = [
            "the",
            "a",
            "cat",
            "dog",
            "went",
            "to",
            "market",
            "and",
            "bought",
            "some",
            "fresh",
            "bread",
            "yesterday",
            "with",
            "friends",
        ]
        texts = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 60))) for _ in range(n)]
        source = "synthetic"
    random.Random(0).shuffle(texts)
    return texts[:n], source


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--single", type=int, default=128, help="texts embedded one at a time per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the embedder's default)")
    args = parser.parse_args()

    import torch

    from memory.embedders.local import LocalEmbedder

    texts, source = load_texts(args.texts)
    t = time.perf_counter()
    embedder = LocalEmbedder(batch_size=args.batch, device="cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    load_s = time.perf_counter() - t
    embedder(texts[:8])  # warm-up
    batched, single = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        embedder(texts)
        batched.append(len(texts) / (time.perf_counter() - t))
        subset = texts[: args.single]
        t = time.perf_counter()
        for text in subset:
            embedder([text])
        single.append(len(subset) / (time.perf_counter() - t))
    ratio = statistics.median(b / s for b, s in zip(batched, single, strict=True))
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": os.getloadavg()[0],
        "texts": len(texts),
        "source": source,
        "mean_chars": sum(map(len, texts)) / len(texts),
        "batch_size": args.batch,
        "load_s": load_s,
        "batched_texts_per_s_median": statistics.median(batched),
        "one_at_a_time_texts_per_s_median": statistics.median(single),
        "speedup_median": ratio,
        "runs": args.runs,
    }
    out = RESULTS.with_name(f"engines_embedder_t{args.threads}.json") if args.threads else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    print(f"-> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
