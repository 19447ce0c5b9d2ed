"""Benchmark M, the bound: what any re-ranking of today's recall candidates could reach on LoCoMo dev.

    .venv/bin/python benchmarks/memory/locomo_bound.py --keep DIR [--cache FILE] [--data ...]

Uses the consolidated stores ``locomo.py --keep DIR`` left (builds them if missing, as locomo.py does). For each
question of categories 1-4 it recalls ``k=25`` as the benchmark does, and records every candidate the fusion
scored (benchmark-only instrumentation of :func:`memory.recall._build`): the dense hits, the BM25 hits and the
episodes the walk added (``graph``), at the pool size that recall used (fast, or deep when its confidence was low).
Per category:

- ``dense / bm25 / walk / union``: the share of gold evidence turns among those candidates (a fact candidate
  counts its source turns), i.e. the recall ceiling of any re-ranking of them;
- ``oracle@5 / @10``: recall@k if the k places were filled perfectly from the union;
- ``recall@10``: what the fusion's order reaches (the benchmark's figure);
- ``rank of misses``: where the gold turns recall@10 misses sit in the fused order;
- ``word / phrase / synonym``: the share of gold turns that share a content word (singular form) with the
  question, a phrase node the question names that the walk starts from (mentioned by <= 100 episodes), or one
  reached through a synonym edge;
- ``next to top-10``: the gold turns outside the top 10 that are the previous or next turn of a top-10 turn.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import memory.recall as recall_module
from benchmarks.memory.locomo import CATS, CachedEmbedder, evidence, ranked_dia_ids, turns
from memory import Memory
from memory.config import EmbeddingSettings, MemorySettings
from memory.embedders import build_embedder
from memory.phrases import _singular, query_keys
from reasoning.words import keywords

_last: dict[str, Any] = {}
_build = recall_module._build


def _recording_build(store: Any, ns: str, scored: list[tuple[float, str, str]], *args: Any) -> Any:
    _last["scored"] = list(scored)
    _last["facts"] = args[1]
    return _build(store, ns, scored, *args)


def _stems(text: str) -> set[str]:
    return {_singular(w) or w for w in keywords(text)}


def _turn_no(dia: str) -> tuple[int, int]:
    m = re.fullmatch(r"D(\d+):(\d+)", dia)
    return (int(m.group(1)), int(m.group(2))) if m else (-1, -1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    recall_module._build = _recording_build  # type: ignore[assignment]
    data = json.loads(Path(args.data).read_text())
    emb = build_embedder(EmbeddingSettings())
    if args.cache:
        emb = CachedEmbedder(emb, Path(args.cache))  # type: ignore[assignment]
    acc: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    miss_ranks: dict[int, list[int]] = defaultdict(list)
    for conv in data:
        ns = conv["sample_id"]
        path = Path(args.keep) / ns
        with Memory.open(path, MemorySettings(), embedder=emb) as mem:
            if not (path / "built").exists():
                mem.remember_many(turns(conv), namespace=ns)
                mem.consolidate(namespace=ns)
                (path / "built").touch()
            store = mem.store
            eps = store.episodes(ns)
            dia_of = {e.id: e.metadata.get("dia_id") for e in eps}
            ep_of = {d: i for i, d in dia_of.items()}
            text_of = {e.metadata.get("dia_id"): e.text for e in eps}
            for q in conv["qa"]:
                gold_all = evidence(q)
                gold = gold_all & set(ep_of)
                cat = q["category"]
                if cat not in CATS or not gold_all:
                    continue
                recs = mem.recall(q["question"], namespace=ns, k=25)
                ranked = ranked_dia_ids(recs)
                facts = _last["facts"]
                src: dict[str, set[str]] = {"dense": set(), "bm25": set(), "walk": set(), "union": set()}
                order: list[str] = []
                for _, cid, why in _last["scored"]:
                    dias = (
                        [dia_of.get(cid)]
                        if cid.startswith("ep_")
                        else [dia_of.get(s) for s in facts[cid].sources]
                        if cid in facts
                        else []
                    )
                    dias = [d for d in dias if d]
                    for d in dias:
                        if d not in order:
                            order.append(d)
                    for key, mark in (("dense", "dense "), ("bm25", "bm25 "), ("walk", "graph")):
                        if mark in why:
                            src[key].update(dias)
                    src["union"].update(dias)
                n = len(gold_all)
                for key, found in src.items():
                    acc[cat][key].append(len(gold & found) / n)
                hit = len(gold & src["union"])
                acc[cat]["oracle@5"].append(min(5, hit) / n)
                acc[cat]["oracle@10"].append(min(10, hit) / n)
                acc[cat]["recall@10"].append(len(gold & set(ranked[:10])) / n)
                for g in gold - set(ranked[:10]):
                    miss_ranks[cat].append(order.index(g) + 1 if g in order else 0)
                # how the gold turns relate to the question
                qstems = _stems(q["question"])
                # the phrase nodes the walk starts from (a hub such as a speaker of every turn is not walked)
                named = {
                    e: m
                    for e, m in store.entities_named(ns, query_keys(q["question"])).items()
                    if m <= recall_module.EXPAND_MAX
                }
                syn = {
                    n2
                    for s, d, kind, _ in (e for n1 in named for e in store.edges_around(n1, 100))
                    if kind == "synonym"
                    for n2 in (s, d)
                } - set(named)
                top10 = {_turn_no(d) for d in ranked[:10]}
                for g in gold:
                    ments = {d for _, d, kind, _ in store.edges_of([ep_of[g]], kinds=["mentions"])}
                    acc[cat]["word"].append(float(bool(qstems & _stems(text_of[g]))))
                    acc[cat]["phrase"].append(float(bool(ments & set(named))))
                    acc[cat]["synonym"].append(float(bool(ments & (set(named) | syn))))
                    if g not in ranked[:10]:
                        s_no, t_no = _turn_no(g)
                        acc[cat]["next to top-10"].append(
                            float((s_no, t_no - 1) in top10 or (s_no, t_no + 1) in top10)
                        )
    if args.cache:
        emb.save()  # type: ignore[attr-defined]
    table: dict[str, dict[str, float]] = {}
    for cat, name in CATS.items():
        table[name] = {key: float(np.mean(v)) for key, v in acc[cat].items()} | {"n": len(acc[cat]["union"])}
        ranks = np.array(miss_ranks[cat])
        table[name]["misses"] = float(len(ranks))
        table[name]["misses in 11-25"] = float(((ranks > 10) & (ranks <= 25)).sum())
        table[name]["misses in 26-75"] = float(((ranks > 25) & (ranks <= 75)).sum())
        table[name]["misses beyond 75"] = float((ranks > 75).sum())
        table[name]["misses not candidates"] = float((ranks == 0).sum())
    allq = {
        key: float(np.mean([v for cat in CATS for v in acc[cat][key]]))
        for key in ("dense", "bm25", "walk", "union", "oracle@5", "oracle@10", "recall@10")
    }
    table["all (1-4)"] = allq
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="/work/shared/data/locomo/locomo_dev.json")
    p.add_argument("--keep", required=True, help="the stores of locomo.py --keep")
    p.add_argument("--cache", default=None, help="benchmark-only vector cache (.npz)")
    p.add_argument("--out", default="benchmarks/results/memory_locomo_bound.json")
    table = run(p.parse_args())
    for name, row in table.items():
        print(f"{name:<14}" + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
    Path(p.parse_args().out).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    sys.exit(main())
