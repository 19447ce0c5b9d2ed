"""Benchmark M (scale): ingestion throughput and recall latency at N synthetic records.

    .venv/bin/python benchmarks/memory/scale.py --sizes 1000 10000 100000 [--index chroma|inmemory]
        [--dir DIR] [--no-consolidate] [--ingest-only] [--queries 200] [--incremental 1000]
        [--store postgres --postgres-url URL [--chroma-url URL]] [--text zipf|locomo] [--grow]

Synthetic episodes: 12 words drawn from a Zipf(1.0) distribution over a 20k-word vocabulary (so, as in real
text, a few words occur in a large share of the records: the case that makes BM25 expensive), 5 speakers,
one record per minute. HashEmbedder 384-d so the model's cost is excluded: "excluding the query embedding"
means the query vector is computed before the timer starts. Queries: 6 words from the same distribution,
recall k=10 with the automatic deep walk. Wall-clock and CPU-time (this process, all threads) percentiles: on a
shared machine the wall clock includes waiting for the cores.

``--dir DIR`` keeps each store in ``DIR/n<N>`` and reuses it when it already holds N records (the 1M point
takes long to ingest); ``--no-consolidate`` skips consolidation (no entity / similarity edges).
With ``--store postgres`` the records of size N live in the schema ``scale_n<N>`` of that database (reused when it
already holds N records, like ``--dir``) and, with ``--chroma-url``, the vectors in that Chroma server
(collection prefix ``scale<N>``).
``--phrases keywords`` builds the synthetic store's phrase nodes with the no-model fallback of
:mod:`memory.phrases` (names and content words) instead of spaCy: parsing 100k records of random words costs
most of an hour on 2 shared cores and gives phrases of no meaning; the graph has the same shape (a node per
content word, hubs for the common ones). The incremental step below always parses with spaCy.

``--text locomo`` makes records of English instead: each one to three sentences of LoCoMo development turns
(``--turns``) drawn at random, and the queries LoCoMo's questions; records then exercise the write path's tagging
(the injection screen parses the turns with an order verb) and lexical search sees English term frequencies.
``--grow`` builds one store of the largest size and measures recall each time it reaches a size of ``--sizes``
(ingest paused meanwhile), so one fill gives the whole trend; the ingest rate is reported per segment.
``--measure-only`` measures recall on the kept store of the largest size as it is (a fill stopped early).
``--lexical-budget N`` sets ``MemorySettings.lexical_budget`` (default: the store's, ``lexical_postings``).

``--server-pids PID...`` (Linux; the local Postgres server's postmaster and the Chroma server) adds the CPU time
those processes and their children spent during each recall to this process's: what a recall costs the cores
in all, the figure a loaded shared host does not distort the way it distorts the wall clock (clock ticks of
10 ms: read the percentiles, not single values).

``--incremental M`` then adds M English conversation turns (LoCoMo development turns, from ``--turns``, cycled
with a suffix so that none repeats) to the consolidated store and times ``consolidate`` of just those
(segmentation, phrase extraction with spaCy, phrase nodes, synonym edges against every phrase vector of the
store, associative links, scenes, facts and persona): the incremental-consolidation figure, wall and CPU time,
beside the time one spaCy parse of the same turns takes in the same run (the floor of any consolidation that
parses them). The store is copied first when it is
kept (``--dir``), so it can be reused. Writes ``benchmarks/results/memory_scale.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from memory import Memory, nlp
from memory.config import MemorySettings
from memory.embedders.base import HashEmbedder
from memory.text import without_names

TURNS = "/work/shared/data/locomo/locomo_dev.json"

NS = "scale"


class Precomputed(HashEmbedder):
    """HashEmbedder whose query vectors can be pre-computed (so recall timing excludes embedding)."""

    cache: dict[str, np.ndarray] = {}  # noqa: RUF012  (benchmark-only, replaced per run)

    def __call__(self, texts):  # type: ignore[no-untyped-def]
        if len(texts) == 1 and texts[0] in self.cache:
            return self.cache[texts[0]][None, :]
        return super().__call__(texts)


class Zipf:
    """Words ``w0..w{n-1}`` with probability proportional to ``1 / (rank + 1)``."""

    def __init__(self, n: int = 20000, seed: int = 0) -> None:
        p = 1.0 / np.arange(1, n + 1)
        self.p = p / p.sum()
        self.vocab = np.array([f"w{i}" for i in range(n)])
        self.rng = np.random.default_rng(seed)

    def texts(self, count: int, length: int) -> list[str]:
        idx = self.rng.choice(len(self.vocab), size=(count, length), p=self.p)
        return [" ".join(row) for row in self.vocab[idx]]


class English:
    """Records of one to three sentences of LoCoMo turns drawn at random (seeded); queries are its questions."""

    def __init__(self, path: str, seed: int = 0) -> None:
        data = json.loads(Path(path).read_text())
        turns = [
            t["text"]
            for conv in data
            for key, session in conv["conversation"].items()
            if key.startswith("session_") and isinstance(session, list)
            for t in session
        ]
        self.sentences = [s for t in turns for s in re.split(r"(?<=[.!?])\s+", t) if len(s.split()) >= 3]
        self.questions = [str(q["question"]) for conv in data for q in conv["qa"]]
        self.rng = np.random.default_rng(seed)

    def texts(self, count: int, length: int = 0) -> list[str]:  # ``length`` unused: the Zipf signature
        sizes = self.rng.integers(1, 4, size=count)
        picks = self.rng.integers(0, len(self.sentences), size=int(sizes.sum()))
        out, at = [], 0
        for size in sizes:
            out.append(" ".join(self.sentences[i] for i in picks[at : at + size]))
            at += size
        return out

    def queries(self, count: int) -> list[str]:
        return list(self.rng.permutation(self.questions)[:count])


@contextlib.contextmanager
def _store_dir(root: str | None, n: int) -> Iterator[Path]:
    if root:
        path = Path(root) / f"n{n}"
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)


@contextlib.contextmanager
def _phrase_nodes(kind: str) -> Iterator[None]:
    """Within the block, consolidation takes its phrase nodes from spaCy or from the no-model fallback."""
    available = nlp.available
    if kind == "keywords":
        nlp.available = lambda: False  # type: ignore[assignment]  # benchmark-only switch
    try:
        yield
    finally:
        nlp.available = available  # type: ignore[assignment]


def english_turns(path: str, count: int) -> list[str]:
    """``count`` distinct conversation turns: the file's LoCoMo turns in order, cycled with a round suffix."""
    texts = [
        t["text"]
        for conv in json.loads(Path(path).read_text())
        for key, session in conv["conversation"].items()
        if key.startswith("session_") and isinstance(session, list)
        for t in session
    ]
    return [
        texts[i % len(texts)] + ("" if i < len(texts) else f" (round {i // len(texts)})")
        for i in range(count)
    ]


def incremental(path: Path, n: int, m: int, turns: str) -> dict[str, float]:
    """Seconds to consolidate ``m`` new English turns into the consolidated store at ``path`` (on a copy)."""
    nlp.extract_phrases("warm up")  # load spaCy before the timer: a running agent has it loaded
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store"
        shutil.copytree(path, copy)
        with Memory.open(copy, embedder=HashEmbedder(384)) as mem:
            items = [
                {"text": t, "speaker": f"s{i % 2}", "timestamp": 1.7e9 + 60.0 * (n + i)}
                for i, t in enumerate(english_turns(turns, m))
            ]
            mem.remember_many(items, namespace=NS)
            t0, c0 = time.perf_counter(), time.process_time()
            counts = mem.consolidate(namespace=NS)
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
    # the floor: one spaCy parse of the same turns (a trailing space: none is among the kept parses)
    t1, c1 = time.perf_counter(), time.process_time()
    nlp.parse_many([str(item["text"]) + " " for item in items])
    parse_s, parse_cpu = time.perf_counter() - t1, time.process_time() - c1
    print(
        f"  incremental consolidation of {m} turns into {n}: {took:.1f} s (CPU {cpu:.1f} s; parsing them alone "
        f"{parse_s:.1f} s, CPU {parse_cpu:.1f} s) {counts}",
        flush=True,
    )
    return {
        "incremental_turns": m,
        "incremental_consolidate_s": took,
        "incremental_consolidate_cpu_s": cpu,
        "incremental_parse_s": parse_s,
        "incremental_parse_cpu_s": parse_cpu,
        "incremental_phrases": counts["entities"],
    }


def ingest(
    mem: Memory, source: Zipf | English, have: int, n: int, *, call: int, progress: bool
) -> float | None:
    """Add records ``have..n-1`` with ``remember_many`` in calls of ``call``; records per second (None: none)."""
    if n <= have:
        return None
    t0 = time.perf_counter()
    speakers = ["Caroline", "Melanie", "Jon", "Gina", "John"]
    for start in range(have, n, call):
        stop = min(n, start + call)
        texts = source.texts(stop - start, 12)
        items = [
            {"text": t, "speaker": speakers[i % 5], "timestamp": 1.7e9 + 60.0 * i}
            for i, t in zip(range(start, stop), texts, strict=True)
        ]
        mem.remember_many(items, namespace=NS)
        if progress and (stop // call) % 10 == 0:
            took = time.perf_counter() - t0
            print(f"  ingested {stop} in {took:.0f} s ({(stop - have) / took:.0f}/s)", flush=True)
    return (n - have) / (time.perf_counter() - t0)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of ``pids`` and of their live children (a Postgres server's backends), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return sum(t for pid, (ppid, t) in stats.items() if pid in pids or ppid in pids) / tick


def measure(mem: Memory, emb: Precomputed, queries: list[str], servers: list[int]) -> dict[str, float]:
    """Recall latency over ``queries`` (their vectors computed before the timer). With ``servers`` (the pids of
    the database and index servers), also the CPU time they spent on each recall, added to this process's."""
    # recall embeds the query without the namespace's speakers' names (RecallWeights.unnamed_dense): both forms
    speakers = mem.store.speakers(NS)
    forms = list(dict.fromkeys([*queries, *(without_names(q, speakers) for q in queries)]))
    emb.cache = dict(zip(forms, HashEmbedder(384)(forms), strict=True))
    for q in queries[:3]:  # warm caches
        mem.recall(q, namespace=NS, k=10)
    lat, cpu, total, deep = [], [], [], 0
    for q in queries:
        before = cpu_seconds(servers) if servers else 0.0
        t, c = time.perf_counter(), time.process_time()
        res = mem.recall_with_confidence(q, namespace=NS, k=10)
        lat.append(1e3 * (time.perf_counter() - t))
        cpu.append(1e3 * (time.process_time() - c))
        if servers:
            total.append(cpu[-1] + 1e3 * (cpu_seconds(servers) - before))
        deep += res.deep
    out = {
        "queries": len(queries),
        "deep_share": deep / len(queries),
        "recall_p50_ms": float(np.median(lat)),
        "recall_p95_ms": float(np.percentile(lat, 95)),
        "recall_cpu_p50_ms": float(np.median(cpu)),  # CPU time of this process (all threads)
        "recall_cpu_p95_ms": float(np.percentile(cpu, 95)),
    }
    if servers:  # CPU time of this process and the servers together: the recall's demand on the cores
        out |= {
            "recall_all_cpu_p50_ms": float(np.median(total)),
            "recall_all_cpu_p95_ms": float(np.percentile(total, 95)),
            "recall_all_cpu_mean_ms": float(np.mean(total)),  # exact: the ticks' rounding averages out
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--index", choices=["chroma", "inmemory"], default="chroma")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--dir", default=None, help="keep/reuse stores in DIR/n<N>")
    p.add_argument("--no-consolidate", action="store_true")
    p.add_argument("--ingest-only", action="store_true", help="only build the stores (with --dir)")
    p.add_argument(
        "--phrases", choices=["spacy", "keywords"], default="spacy", help="phrase nodes of the store"
    )
    p.add_argument("--incremental", type=int, default=0, help="then time consolidating this many new turns")
    p.add_argument("--turns", default=TURNS, help="LoCoMo-format file the new turns come from")
    p.add_argument("--out", default="benchmarks/results/memory_scale.json")
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--postgres-url", default=None)
    p.add_argument("--chroma-url", default=None, help="a Chroma server for the vectors (default: embedded)")
    p.add_argument("--text", choices=["zipf", "locomo"], default="zipf", help="synthetic words or English")
    p.add_argument("--grow", action="store_true", help="one store, recall measured at each size")
    p.add_argument(
        "--measure-only", action="store_true", help="measure recall on the kept store as it is (no ingest)"
    )
    p.add_argument("--call", type=int, default=5000, help="records per remember_many call")
    p.add_argument(
        "--lexical-budget",
        type=int,
        default=None,
        help="MemorySettings.lexical_budget (default: the store's)",
    )
    p.add_argument(
        "--server-pids", type=int, nargs="*", default=[], help="database/index server pids: CPU per recall"
    )
    args = p.parse_args()
    results: list[dict[str, object]] = []
    stores = [max(args.sizes)] if args.grow else args.sizes
    for n in stores:
        emb = Precomputed(384)
        source: Zipf | English = English(args.turns, seed=n) if args.text == "locomo" else Zipf(seed=n)
        with _store_dir(args.dir, n) as path:
            index = None
            if args.index == "inmemory":
                from memory.index import InMemoryIndex

                index = InMemoryIndex()
            settings = MemorySettings(
                store=args.store,
                postgres_url=args.postgres_url,
                postgres_schema=f"scale_n{n}" if args.store == "postgres" else None,
                chroma_url=args.chroma_url,
                collection_prefix=f"scale{n}" if args.chroma_url else "cogarch",
                lexical_budget=args.lexical_budget,
            )
            with Memory.open(path, settings, embedder=emb, index=index) as mem:
                have = mem.stats(NS)["episodes"]
                sizes = [have] if args.measure_only else sorted(args.sizes) if args.grow else [n]
                for size in sizes:
                    if size < have:
                        continue
                    t0, c0 = time.perf_counter(), time.process_time()
                    ingest_per_s = ingest(mem, source, have, size, call=args.call, progress=bool(args.dir))
                    ingest_cpu_ms = 1e3 * (time.process_time() - c0) / max(1, size - have)
                    ingest_s = time.perf_counter() - t0
                    row: dict[str, object] = {
                        "records": size,
                        "store": args.store,
                        "text": args.text,
                        "phrases": args.phrases,
                        "index": args.index + (" server" if args.chroma_url else ""),
                        "ingested": size - have,
                        "ingest_s": ingest_s,
                        "ingest_per_s": ingest_per_s,
                        "ingest_cpu_ms_per_record": ingest_cpu_ms if size > have else None,
                        "consolidated": not args.no_consolidate,
                        "lexical_budget": settings.lexical_postings,
                    }
                    have = size
                    if args.ingest_only:
                        print(row, flush=True)
                        continue
                    if not args.no_consolidate:
                        t1 = time.perf_counter()
                        with _phrase_nodes(args.phrases):
                            mem.consolidate(namespace=NS)
                        row["consolidate_s"] = time.perf_counter() - t1
                    if args.text == "locomo":
                        queries = English(args.turns, seed=10**9 + size).queries(args.queries)
                    else:
                        queries = [t + "?" for t in Zipf(seed=10**9 + size).texts(args.queries, 6)]
                    row |= measure(mem, emb, queries, args.server_pids)
                    print(row, flush=True)
                    results.append(row)
                    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                    Path(args.out).write_text(json.dumps(results, indent=2))
            if args.incremental and not args.no_consolidate and not args.grow:
                results[-1] |= incremental(path, n, args.incremental, args.turns)
                print(results[-1], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
