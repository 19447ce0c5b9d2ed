"""Benchmark M (ingestion): ``remember_many`` with the bundled embedder vs embedding one text at a time.

    .venv/bin/python benchmarks/memory/ingest.py [--n 256]

Same texts (LoCoMo turns), same run: (a) the bundled embedder called once per text (the plain baseline),
(b) ``Memory.remember_many`` (batched embedding + SQLite + Chroma), (c) the following ``consolidate``.
Writes ``benchmarks/results/memory_ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from locomo import turns

from memory import Memory
from memory.config import EmbeddingSettings
from memory.embedders import build_embedder


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--data", default="/work/shared/data/locomo/locomo_dev.json")
    p.add_argument("--out", default="benchmarks/results/memory_ingest.json")
    args = p.parse_args()
    items = turns(json.loads(Path(args.data).read_text())[0])[: args.n]
    emb = build_embedder(EmbeddingSettings())
    emb(["warm up"])
    t0 = time.perf_counter()
    for it in items:
        emb([f"{it['speaker']}: {it['text']}"])
    one = len(items) / (time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp, Memory.open(tmp, embedder=emb) as mem:
        t1 = time.perf_counter()
        mem.remember_many(items, namespace="bench")
        batched = len(items) / (time.perf_counter() - t1)
        t2 = time.perf_counter()
        mem.consolidate(namespace="bench")
        cons = time.perf_counter() - t2
    res = {
        "n": len(items),
        "one_at_a_time_per_s": one,
        "remember_many_per_s": batched,
        "speedup": batched / one,
        "consolidate_s": cons,
    }
    print(res)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
