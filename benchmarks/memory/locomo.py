"""Benchmark M: evidence recall@k on LoCoMo with the bundled embedder and no LLM.

    .venv/bin/python benchmarks/memory/locomo.py [--data ../shared/data/locomo/locomo_dev.json]
        [--embedder local|hash] [--cache FILE] [--ablation] [--store postgres --postgres-url URL]
        [--lexical-budget N]

Ingests every turn of each conversation as an episode (in order, ``dia_id`` and session date in metadata,
the image caption appended to the text as ``[image: ...]``), consolidates, then recalls k items for each
question of categories 1-4 and maps them to the first k distinct source turns. Writes
``benchmarks/results/memory_locomo.json``.

``--ablation`` recalls the same questions from the same consolidated stores once per row of :data:`ABLATION`
(``MemorySettings.recall`` weights, through the public API): dense only with the speakers' names in the query;
dense only (the names left out); + BM25; + the other signals without the graph walk; + the phrase-graph PPR
without synonym edges; + synonym edges (the defaults); then the defaults without one mechanism: the neighbour
turns as candidates, the speaker signal, the unnamed dense query (the row without the walk is the fourth); and
session 10's defaults. Every table is also given per conversation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from memory import Memory, Recollection
from memory.config import MemorySettings, RecallWeights
from memory.embedders.base import Embedder, HashEmbedder, Vectors
from memory.index import InMemoryIndex

CATS = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (5, 10, 25)
_NO_EXTRAS = {
    "ppr": 0.0,
    "adj": 0.0,
    "ent": 0.0,
    "speaker": 0.0,
    "when": 0.0,
    "window": 0.0,
    "recency": 0.0,
    "importance": 0.0,
}
ABLATION: dict[str, RecallWeights] = {
    "dense only, speakers' names in the query": RecallWeights(unnamed_dense=False, lex=0.0, **_NO_EXTRAS),
    "dense only": RecallWeights(lex=0.0, **_NO_EXTRAS),
    "+ BM25": RecallWeights(**_NO_EXTRAS),
    "+ contiguity, neighbours, speaker, dates, priors": RecallWeights(ppr=0.0),
    "+ phrase-graph PPR": RecallWeights(synonym=0.0),
    "+ synonym edges (all)": RecallWeights(),
    "all but neighbour turns": RecallWeights(neighbours=0),
    "all but the speaker": RecallWeights(speaker=0.0),
    "all but the unnamed dense query": RecallWeights(unnamed_dense=False),
    "session 10's defaults": RecallWeights(unnamed_dense=False, lex=1.0, ppr=1.5, adj=0.4, speaker=0.75),
}


class CachedEmbedder:
    """Benchmark-only: memoises vectors by text in an .npz file (reruns skip the model)."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner, self.path = inner, path
        self.cache: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path, allow_pickle=False)
            self.cache = dict(zip(json.loads(str(data["texts"])), data["vectors"], strict=True))

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def name(self) -> str:
        return self.inner.name

    def __call__(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.inner(missing), strict=True))
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        texts = list(self.cache)
        np.savez(self.path, texts=json.dumps(texts), vectors=np.stack([self.cache[t] for t in texts]))


def parse_date(s: str) -> float:
    # LoCoMo: "1:56 pm on 8 May, 2023"
    return datetime.strptime(s.strip(), "%I:%M %p on %d %B, %Y").timestamp()


def turns(conv: dict) -> list[dict]:
    c = conv["conversation"]
    out = []
    sessions = sorted(int(m.group(1)) for key in c if (m := re.fullmatch(r"session_(\d+)", key)))
    for n in sessions:
        if not isinstance(c[f"session_{n}"], list):
            continue
        date = c.get(f"session_{n}_date_time", "")
        ts = parse_date(date) if date else 0.0
        for i, t in enumerate(c[f"session_{n}"]):
            text = t["text"] + (f" [image: {t['blip_caption']}]" if t.get("blip_caption") else "")
            out.append(
                {
                    "text": text,
                    "speaker": t["speaker"],
                    "timestamp": ts + 30 * i,
                    "metadata": {"dia_id": t["dia_id"], "session": f"session_{n}", "date": date},
                }
            )
    return out


def evidence(q: dict) -> set[str]:
    return {e for item in q["evidence"] for e in re.split(r"[;\s]+", item) if e}


def ranked_dia_ids(recs: Sequence[Recollection]) -> list[str]:
    """The LoCoMo turn ids (``dia_id``) of recollections' source episodes, in rank order, each once."""
    ranked: list[str] = []
    for r in recs:
        for s in r.sources:
            d = s.metadata.get("dia_id")
            if d and d not in ranked:
                ranked.append(d)
    return ranked


def run(args: argparse.Namespace) -> dict:
    data = json.loads(Path(args.data).read_text())
    if args.embedder == "hash":
        embedder: Embedder = HashEmbedder(384)
    else:
        from memory.config import EmbeddingSettings
        from memory.embedders import build_embedder

        embedder = build_embedder(EmbeddingSettings())
    cached = CachedEmbedder(embedder, Path(args.cache)) if args.cache else None
    emb = cached or embedder
    rows = ABLATION if args.ablation else {"all signals": RecallWeights()}
    if args.rows:  # dev tuning: named rows of RecallWeights overrides, recalled from the same stores
        rows = {name: RecallWeights(**over) for name, over in json.loads(args.rows).items()}
    # the table and the latencies are of the defaults' row (else the last row)
    main_row = next((n for n, w in rows.items() if w == RecallWeights()), list(rows)[-1])
    per_row: dict[str, dict[int, dict[int, list[float]]]] = {
        name: defaultdict(lambda: defaultdict(list)) for name in rows
    }
    # the same per conversation, so a gain that comes from one conversation shows
    per_conv: dict[str, dict[str, dict[int, dict[int, list[float]]]]] = {
        name: defaultdict(lambda: defaultdict(lambda: defaultdict(list))) for name in rows
    }
    ingest_s = n_turns = 0.0
    latencies: list[float] = []
    for conv in data:
        ns = conv["sample_id"]
        items = turns(conv)
        with tempfile.TemporaryDirectory() as tmp:
            built = False
            # one schema per conversation: every row recalls from the store the first row built
            schema = f"locomo_{uuid.uuid4().hex[:12]}" if args.store == "postgres" else None
            for n_row, (name, weights) in enumerate(rows.items(), 1):
                settings = MemorySettings(
                    recall=weights,
                    store=args.store,
                    postgres_url=args.postgres_url,
                    postgres_schema=schema,
                    lexical_budget=args.lexical_budget,
                )
                # the in-memory index does not outlive its Memory: each row then ingests again
                index = InMemoryIndex() if args.inmemory else None
                if args.keep and not args.inmemory:
                    path = Path(args.keep) / ns
                    built = built or (path / "built").exists()
                else:
                    path = Path(tmp) / (name if args.inmemory else "store")
                with Memory.open(path, settings, embedder=emb, index=index) as mem:
                    if not built or args.inmemory:
                        t0 = time.perf_counter()
                        mem.remember_many(items, namespace=ns)
                        mem.consolidate(namespace=ns)
                        if not built:
                            ingest_s += time.perf_counter() - t0
                            n_turns += len(items)
                        built = True
                        if args.keep and not args.inmemory:
                            (path / "built").touch()
                    for q in conv["qa"]:
                        gold = evidence(q)
                        if q["category"] not in CATS or not gold:
                            continue
                        t1 = time.perf_counter()
                        recs = mem.recall(q["question"], namespace=ns, k=max(KS))
                        if name == main_row:
                            latencies.append(time.perf_counter() - t1)
                        ranked = ranked_dia_ids(recs)
                        for k in KS:
                            found = len(gold & set(ranked[:k])) / len(gold)
                            per_row[name][q["category"]][k].append(found)
                            per_conv[name][ns][q["category"]][k].append(found)
                    if args.store == "postgres" and n_row == len(rows):  # leave the database as it was
                        mem.forget(namespace=ns, all=True)  # (the schema stays, empty)
    if cached:
        cached.save()
    tables = {name: _table(per_cat) for name, per_cat in per_row.items()}
    table = tables[main_row]
    by_conv = {
        name: {ns: _table(per_cat) for ns, per_cat in convs.items()} for name, convs in per_conv.items()
    }
    return {
        "table": table,
        "by_conversation": by_conv[main_row],
        "ablation": tables if args.ablation or args.rows else {},
        "ablation_by_conversation": by_conv if args.ablation or args.rows else {},
        "turns": n_turns,
        "ingest_turns_per_s": n_turns / ingest_s if ingest_s else 0.0,
        "recall_p50_ms": 1e3 * float(np.median(latencies)),
        "recall_p95_ms": 1e3 * float(np.percentile(latencies, 95)),
        "embedder": emb.name,
        "store": args.store,
        "lexical_budget": MemorySettings(
            store=args.store, lexical_budget=args.lexical_budget
        ).lexical_postings,
        "data": args.data,
    }


def _table(per_cat: dict[int, dict[int, list[float]]]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for cat, name in CATS.items():
        values = {k: per_cat[cat][k] for k in KS}
        table[name] = {f"r@{k}": float(np.mean(v)) if v else float("nan") for k, v in values.items()}
        table[name]["n"] = len(values[5])
    allv = {k: [v for cat in CATS for v in per_cat[cat][k]] for k in KS}
    table["all (1-4)"] = {f"r@{k}": float(np.mean(allv[k])) for k in KS} | {"n": len(allv[5])}
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="/work/shared/data/locomo/locomo_dev.json")
    p.add_argument("--embedder", choices=["local", "hash"], default="local")
    p.add_argument("--cache", default=None, help="benchmark-only vector cache (.npz)")
    p.add_argument("--inmemory", action="store_true", help="use the in-memory index instead of Chroma")
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite", help="the system of record")
    p.add_argument(
        "--postgres-url", default=None, help="for --store postgres (each conversation in a new schema)"
    )
    p.add_argument(
        "--keep", default=None, help="keep each conversation's consolidated store here and reuse it on reruns"
    )
    p.add_argument(
        "--rows", default=None, help='JSON {"row": {weight: value}}: recall once per row (dev tuning)'
    )
    p.add_argument(
        "--lexical-budget",
        type=int,
        default=None,
        help="MemorySettings.lexical_budget (default: the store's)",
    )
    p.add_argument("--ablation", action="store_true", help="also recall with each row of ABLATION")
    p.add_argument("--out", default="benchmarks/results/memory_locomo.json")
    args = p.parse_args()
    res = run(args)
    print(f"{'category':<14}" + "".join(f"{'r@' + str(k):>8}" for k in KS) + f"{'n':>6}")
    for name, row in res["table"].items():
        print(f"{name:<14}" + "".join(f"{row['r@' + str(k)]:>8.3f}" for k in KS) + f"{row['n']:>6}")
    print(f"\n{'conversation':<14}" + "".join(f"{c[:11]:>14}" for c in res["table"]) + "  (r@5 / r@10)")
    for ns, tab in res["by_conversation"].items():
        print(f"{ns:<14}" + "".join(f"{v['r@5']:>7.3f}/{v['r@10']:.3f}" for v in tab.values()))
    if res["ablation"]:
        print("\nablation (same questions; r@5 / r@10; all 1-4 of each conversation last):")
        convs = list(res["by_conversation"])
        print(f"{'row':<30}" + "".join(f"{c[:11]:>14}" for c in [*res["table"], *convs]))
        for row, tab in res["ablation"].items():
            per = [res["ablation_by_conversation"][row][ns]["all (1-4)"] for ns in convs]
            print(f"{row:<30}" + "".join(f"{v['r@5']:>7.3f}/{v['r@10']:.3f}" for v in [*tab.values(), *per]))
    print(
        f"ingest {res['ingest_turns_per_s']:.1f} turns/s; recall p50 {res['recall_p50_ms']:.1f} ms "
        f"p95 {res['recall_p95_ms']:.1f} ms (query embedding included)"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    sys.exit(main())
