"""Benchmark M (ingest bound): where ``remember_many``'s time goes, and how close it is to what the parts allow.

    .venv/bin/python benchmarks/memory/ingest_bound.py [--n 10000] [--bundled 2000] [--threads 1]
        [--store postgres --postgres-url URL --chroma-url URL --server-pids PID...] [--out FILE]

Records: English, one to three sentences of LoCoMo development turns (as ``scale.py --text locomo``), 5 speakers.
Each condition writes into a fresh memory (a fresh Postgres schema and Chroma collection with ``--store
postgres``), in calls of 5000 records, conditions interleaved, ``--runs`` times:

- ``store path``: ``remember_many`` with the hash embedder (vectors almost free), i.e. tagging (the gateway and
  its injection screen) + the store's transaction + the vector index. Ablation: ``no batched screen`` (the screen
  parses one text at a time, as before). (``benchmarks/results/memory_ingest_bound*.json`` were written by this
  script's first version, commit c46e081, which also measured a pipelined ``remember_many``: see BENCHMARKS.md.)
- ``bundled``: ``remember_many`` with the bundled all-MiniLM-L6-v2 on ``--threads`` torch threads (the default is
  all CPUs but one), on the first ``--bundled`` records, and ``embedder alone``:
  the same embedder on the same texts (``speaker: text``) at batch sizes 8, 16, 32, the best of which bounds any
  ingest with that embedder.

With ``--server-pids`` (Linux: the Postgres postmaster and the Chroma server), the CPU time those processes and
their children spent is reported per record beside this process's: on a shared host this is the comparable
figure (``cores needed = CPU ms per record x records/s``). Writes ``benchmarks/results/memory_ingest_bound.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from scale import TURNS, English, cpu_seconds

import memory.memory as memory_module
from memory import Memory, nlp
from memory.config import MemorySettings
from memory.embedders.base import Embedder, HashEmbedder
from memory.embedders.local import LocalEmbedder
from memory.gateway import tag
from memory.records import embed_text

SPEAKERS = ["Caroline", "Melanie", "Jon", "Gina", "John"]


@contextlib.contextmanager
def ablated(condition: str) -> Iterator[None]:
    """Within the block, ``remember_many``'s injection screen parses one text at a time (``no batched screen``)."""
    saved = memory_module.tag_many
    if condition == "no batched screen":
        memory_module.tag_many = lambda texts, **kw: [tag(t, **kw) for t in texts]
    try:
        yield
    finally:
        memory_module.tag_many = saved


def items(texts: list[str]) -> list[dict[str, Any]]:
    return [
        {"text": t, "speaker": SPEAKERS[i % 5], "timestamp": 1.7e9 + 60.0 * i} for i, t in enumerate(texts)
    ]


def ingest(args: argparse.Namespace, embedder: Embedder, records: list[dict[str, Any]]) -> dict[str, float]:
    """``remember_many`` of ``records`` into a fresh memory: records/s and CPU ms per record. The conditions write
    the same texts: the parses kept from the previous one are dropped first."""
    nlp._parsed.clear()  # benchmark-only: no condition may reuse the parses of the one before
    tag_ = uuid.uuid4().hex[:8]
    settings = MemorySettings(
        store=args.store,
        postgres_url=args.postgres_url,
        postgres_schema=f"ingest_{tag_}" if args.store == "postgres" else None,
        chroma_url=args.chroma_url,
        collection_prefix=f"ingest{tag_}" if args.chroma_url else "cogarch",
    )
    with tempfile.TemporaryDirectory() as tmp, Memory.open(tmp, settings, embedder=embedder) as mem:
        servers0 = cpu_seconds(args.server_pids) if args.server_pids else 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(records), 5000):
            mem.remember_many(records[start : start + 5000], namespace="bench")
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        servers = cpu_seconds(args.server_pids) - servers0 if args.server_pids else float("nan")
        if args.store == "postgres":
            with mem.store.pool.connection() as conn:  # type: ignore[attr-defined]
                conn.execute(f"DROP SCHEMA ingest_{tag_} CASCADE")
            mem.index._client.delete_collection(mem.index.collection_name("bench"))  # type: ignore[attr-defined]
    n = len(records)
    return {
        "records_per_s": n / took,
        "client_cpu_ms_per_record": 1e3 * cpu / n,
        "servers_cpu_ms_per_record": 1e3 * servers / n,
    }


def embedder_alone(embedder: LocalEmbedder, texts: list[str]) -> dict[str, float]:
    """Texts per second of the embedder alone at batch sizes 8, 16, 32."""
    out = {}
    for batch in (8, 16, 32):
        embedder._batch_size = batch
        t0 = time.perf_counter()
        embedder(texts)
        out[f"batch_{batch}"] = len(texts) / (time.perf_counter() - t0)
    embedder._batch_size = 16
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000, help="records of the store-path conditions")
    p.add_argument("--bundled", type=int, default=2000, help="records of the bundled-embedder conditions")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all CPUs but one)")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--turns", default=TURNS)
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--postgres-url", default=None)
    p.add_argument("--chroma-url", default=None)
    p.add_argument("--server-pids", type=int, nargs="*", default=[])
    p.add_argument("--out", default="benchmarks/results/memory_ingest_bound.json")
    args = p.parse_args()
    records = items(English(args.turns, seed=7).texts(args.n))
    rows: dict[str, list[dict[str, float]]] = {}
    hashed = HashEmbedder(384)
    bundled = LocalEmbedder(threads=args.threads) if args.bundled else None
    if bundled is not None:
        bundled(["warm up"])
    ingest(args, hashed, records[:200])  # warm up: spaCy, connections
    for run in range(args.runs):
        for condition in ("store path", "no batched screen"):
            with ablated(condition):
                rows.setdefault(condition, []).append(ingest(args, hashed, records))
            print(run, condition, rows[condition][-1], flush=True)
        if bundled is not None:
            part = records[: args.bundled]
            rows.setdefault("bundled", []).append(ingest(args, bundled, part))
            print(run, "bundled", rows["bundled"][-1], flush=True)
            alone = embedder_alone(bundled, [embed_text(r["text"], r["speaker"]) for r in part])
            rows.setdefault("embedder alone", []).append(alone)
            print(run, "embedder alone", alone, flush=True)
    summary = {
        condition: {key: float(np.median([r[key] for r in runs])) for key in runs[0]}
        for condition, runs in rows.items()
    }
    if "bundled" in summary:
        bound = max(summary["embedder alone"].values())
        summary["bundled"]["share_of_embedder_bound"] = summary["bundled"]["records_per_s"] / bound
    result = {
        "args": {k: v for k, v in vars(args).items() if k != "postgres_url"},
        "median": summary,
        "runs": rows,
    }
    print(json.dumps(summary, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
