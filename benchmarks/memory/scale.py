"""Benchmark M (scale): ingestion throughput and recall latency at N synthetic records.

    /work/venv/bin/python benchmarks/memory/scale.py --sizes 1000 10000 100000 [--index chroma|inmemory]

Synthetic episodes (random sentences over a 5k-word vocabulary, HashEmbedder 384-d so the model's cost is
excluded: "excluding the query embedding" means the query vector is computed before the timer starts).
Writes ``benchmarks/results/memory_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from memory import Memory
from memory.embedders.base import HashEmbedder


class Precomputed(HashEmbedder):
    """HashEmbedder whose query vectors can be pre-computed (so recall timing excludes embedding)."""

    cache: dict[str, np.ndarray] = {}  # noqa: RUF012  (benchmark-only, replaced per run)

    def __call__(self, texts):  # type: ignore[no-untyped-def]
        if len(texts) == 1 and texts[0] in self.cache:
            return self.cache[texts[0]][None, :]
        return super().__call__(texts)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--index", choices=["chroma", "inmemory"], default="chroma")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--out", default="benchmarks/results/memory_scale.json")
    args = p.parse_args()
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    results = []
    for n in args.sizes:
        emb = Precomputed(384)
        with tempfile.TemporaryDirectory() as tmp:
            index = None
            if args.index == "inmemory":
                from memory.index import InMemoryIndex

                index = InMemoryIndex()
            with Memory.open(tmp, embedder=emb, index=index) as mem:
                t0 = time.perf_counter()
                for start in range(0, n, 5000):
                    items = [
                        {
                            "text": " ".join(rng.choices(vocab, k=12)),
                            "speaker": f"s{i % 5}",
                            "timestamp": 1.7e9 + i,
                        }
                        for i in range(start, min(n, start + 5000))
                    ]
                    mem.remember_many(items, namespace="scale")
                ingest = time.perf_counter() - t0
                t1 = time.perf_counter()
                mem.consolidate(namespace="scale")
                consolidate = time.perf_counter() - t1
                queries = [" ".join(rng.choices(vocab, k=4)) for _ in range(args.queries)]
                emb.cache = dict(zip(queries, HashEmbedder(384)(queries), strict=True))
                lat = []
                for q in queries:
                    t = time.perf_counter()
                    mem.recall(q, namespace="scale", k=10)
                    lat.append(1e3 * (time.perf_counter() - t))
                row = {
                    "records": n,
                    "index": args.index,
                    "ingest_per_s": n / ingest,
                    "consolidate_s": consolidate,
                    "recall_p50_ms": float(np.median(lat)),
                    "recall_p95_ms": float(np.percentile(lat, 95)),
                }
                print(row, flush=True)
                results.append(row)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
