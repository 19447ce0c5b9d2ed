"""Benchmark M, "segmentation": event boundaries by the bundled model's token surprise (EM-LLM) against the
embedding rule of consolidation, scored on LoCoMo's session boundaries.

    .venv/bin/python benchmarks/memory/segmentation.py [--data ../shared/data/locomo/locomo_dev.json]
        [--context 128] [--conversations N] [--out benchmarks/results/memory_segmentation.json]

Each conversation's turns ("speaker: text") are read as one stream with the session marks and times removed
(consolidation also cuts at session changes and time gaps; here the content alone must find them). The rules
are :mod:`memory.segmentation`'s, which consolidation runs (setting ``memory.segmentation``). Per turn:

- **embedding surprise** (consolidation's rule, :func:`memory.segmentation.segment`): ``1 - cos`` of the turn's
  all-MiniLM-L6-v2 vector with the current event's centroid; a boundary where it exceeds ``mean + gamma * std``
  of the last 30 surprises (its size cap of 12 turns reported as a separate row: with it every event is short);
- **token surprise** (EM-LLM): the mean negative log-likelihood per token of the turn given the preceding
  ``--context`` tokens of the stream, from SmolLM2-135M's option scoring (the turn scored as the continuation of
  the transcript); a boundary where it exceeds ``mean + gamma * std`` of the last 30 turns;
- **token surprise refined by similarity** (EM-LLM's refinement, with the embedder in place of attention keys):
  each boundary moves within +-2 turns to where the similarity of the 3 turns before and the 3 after is
  lowest, and boundaries closer than 3 turns merge.

Scored against the true session boundaries: precision, recall and F1 with a tolerance of one turn (each true
boundary matched at most once), and the same at equal counts (each signal's top-K positions, K = the number of
true boundaries; the ranking, free of the threshold).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from memory.embedders.local import LocalEmbedder
from memory.segmentation import (
    CONTEXT_TOKENS,
    GAMMA,
    WINDOW,
    refine,
    segment,
    threshold_boundaries,
    token_surprise,
)
from reasoning.engines.local import LocalEngine

TOLERANCE = 1


def turns_of(conversation: dict[str, Any]) -> tuple[list[str], list[int]]:
    """The conversation's turns in order and the indices where a new session starts (not the first)."""
    c = conversation["conversation"]
    sessions = sorted(int(m.group(1)) for key in c if (m := re.fullmatch(r"session_(\d+)", key)))
    texts: list[str] = []
    starts: list[int] = []
    for n in sessions:
        if not isinstance(c[f"session_{n}"], list) or not c[f"session_{n}"]:
            continue
        if texts:
            starts.append(len(texts))
        for t in c[f"session_{n}"]:
            caption = f" [image: {t['blip_caption']}]" if t.get("blip_caption") else ""
            texts.append(f"{t['speaker']}: {t['text']}{caption}")
    return texts, starts


def score(predicted: list[int], truth: list[int]) -> dict[str, float]:
    """Precision, recall and F1 of boundaries within ``TOLERANCE`` turns, each true boundary matched once."""
    free = set(truth)
    hits = 0
    for p in predicted:
        near = [t for t in free if abs(t - p) <= TOLERANCE]
        if near:
            free.discard(min(near, key=lambda t: abs(t - p)))
            hits += 1
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"predicted": len(predicted), "precision": precision, "recall": recall, "f1": f1}


def top_k(scores: list[float], k: int) -> list[int]:
    """The ``k`` highest-scoring positions (after the first), at least 3 turns apart."""
    chosen: list[int] = []
    for i in sorted(range(1, len(scores)), key=lambda i: -scores[i]):
        if all(abs(i - j) >= 3 for j in chosen):
            chosen.append(i)
        if len(chosen) == k:
            break
    return sorted(chosen)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/work/shared/data/locomo/locomo_dev.json")
    p.add_argument("--context", type=int, default=CONTEXT_TOKENS)
    p.add_argument("--conversations", type=int, default=None, help="only the first N conversations")
    p.add_argument("--out", default="benchmarks/results/memory_segmentation.json")
    args = p.parse_args()
    conversations = json.loads(Path(args.data).read_text())[: args.conversations]
    embedder = LocalEmbedder()
    engine = LocalEngine()
    rows: dict[str, dict[str, list[int]]] = {}
    per_conversation: dict[str, dict[str, dict[str, float]]] = {}
    truth_all: list[int] = []
    offset = 0
    seconds = 0.0
    turns = 0
    for conv in conversations:
        texts, truth = turns_of(conv)
        vectors = np.asarray(embedder(texts), dtype=np.float64)
        n = len(texts)
        began = time.perf_counter()
        llm = token_surprise(engine, texts, args.context)
        seconds += time.perf_counter() - began
        turns += n
        labels_capped = segment(vectors, [None] * n, [0.0] * n)
        capped = [i for i in range(1, n) if labels_capped[i] != labels_capped[i - 1]]
        emb_scores = [0.0] + [
            1.0
            - float(
                vectors[i]
                @ vectors[max(0, i - 5) : i].mean(0)
                / (np.linalg.norm(vectors[max(0, i - 5) : i].mean(0)) or 1.0)
            )
            for i in range(1, n)
        ]
        emb = _uncapped(vectors)
        tok = threshold_boundaries(llm)
        k = len(truth)
        per = {
            "embedding rule (consolidation, size cap 12)": capped,
            "embedding rule without the size cap": emb,
            "token surprise (SmolLM2-135M)": tok,
            "token surprise refined by similarity": refine(tok, vectors),
            "top-K embedding surprise (5-turn centroid)": top_k(emb_scores, k),
            "top-K token surprise": top_k(llm, k),
            "top-K token surprise refined by similarity": refine(top_k(llm, k), vectors),
        }
        per_conversation[str(conv.get("sample_id", len(per_conversation)))] = {
            name: score(found, truth) for name, found in per.items()
        }
        for name, found in per.items():
            rows.setdefault(name, {"predicted": []})["predicted"] += [offset + b for b in found]
        truth_all += [offset + b for b in truth]
        offset += n + 10  # conversations far apart: no match across them
    result = {
        "turns": turns,
        "true_boundaries": len(truth_all),
        "token_surprise_ms_per_turn": 1000 * seconds / max(1, turns),
        "context_tokens": args.context,
        "conversations": len(conversations),
        "rows": {name: score(r["predicted"], truth_all) for name, r in rows.items()},
        "per_conversation": per_conversation,
        "mean_f1": {
            name: float(np.mean([scores[name]["f1"] for scores in per_conversation.values()]))
            for name in rows
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(
        f"{turns} turns, {len(truth_all)} session boundaries; "
        f"token surprise {result['token_surprise_ms_per_turn']:.0f} ms/turn"
    )
    print("| rule | boundaries | precision | recall | F1 |\n|---|---|---|---|---|")
    for name, s in result["rows"].items():
        print(f"| {name} | {s['predicted']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
    ids = list(per_conversation)
    print(f"\nF1 per conversation\n| rule | {' | '.join(ids)} | mean |\n|---|{'---|' * (len(ids) + 1)}")
    for name in rows:
        f1s = " | ".join(f"{per_conversation[c][name]['f1']:.3f}" for c in ids)
        print(f"| {name} | {f1s} | {result['mean_f1'][name]:.3f} |")


def _uncapped(vectors: np.ndarray) -> list[int]:
    """Consolidation's surprise rule (centroid of the current event, ``mean + gamma * std``) without its cap."""
    out: list[int] = []
    centroid = vectors[0].copy()
    surprises: list[float] = []
    for i in range(1, len(vectors)):
        c = centroid / (np.linalg.norm(centroid) or 1.0)
        s = 1.0 - float(vectors[i] @ c)
        window = surprises[-WINDOW:]
        threshold = (np.mean(window) + GAMMA * np.std(window)) if len(window) >= 5 else 0.9
        surprises.append(s)
        if s > threshold:
            out.append(i)
            centroid = np.zeros_like(centroid)
        centroid = centroid + vectors[i]
    return out


if __name__ == "__main__":
    main()
