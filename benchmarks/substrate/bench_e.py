"""Benchmark E (BENCHMARKS.md): the substrate as associative memory. One command::

    .venv/bin/python benchmarks/substrate/bench_e.py [--texts 300] [--k 32 128] [--neurons 20000]
        [--assembly-k 32] [--rule lateral|count]

1. Discrimination retention (population code, coding.population_code with the 20k substrate's sensory
   size). Texts: ``--texts`` distinct LoCoMo development turns (``../shared/data/locomo/locomo_dev.json``,
   longer than 20 characters, sampled with a fixed seed), embedded with the bundled all-MiniLM-L6-v2
   (``memory.embedders.build_embedder(EmbeddingSettings())``; 384-d). Sizes 768 and 1536 are a documented
   construction from the same real embeddings: ``x @ R`` with ``R`` (384 x d) having orthonormal rows
   (a random orthogonal embedding into d dimensions, seed 0), which keeps every inner product exactly, so
   the similarity structure is the real one and only the dimension changes.
   Metric: draw 200,000 random triples (a, b, c) of distinct texts; with ``s`` = cosine of the embeddings
   and ``o`` = number of shared code units, the triple's order is *preserved* when
   ``sign(o(a,b) - o(a,c)) == sign(s(a,b) - s(a,c))``; a tie in ``o`` counts as NOT preserved.
   Retention(delta) = share of preserved triples among those with ``|s(a,b) - s(a,c)| >= delta``.
   Reported for delta = 0 (every triple with distinct similarities), 0.05, 0.1 (the headline: orders that
   differ by at least 0.1 in cosine), 0.2.
2. Pattern completion. A fresh ``--neurons`` substrate (plasticity on) learns ``--memories`` assemblies:
   each text's code is stimulated with learning ``--reps`` times (all texts in turn, repeated). Then for
   each assembly, half of its concept-layer members (a random half) are driven directly
   (``Substrate.present``, stimulation drive, 50 ms, no learning); recalled = members of the withheld half
   that spike during those 50 ms. Completion = recalled / withheld, averaged over assemblies. Reported with
   the false-positive rate (share of non-member concept E neurons spiking in the same window) and a control
   (the same network and procedure with plasticity off). The substrate runs with ``code_k`` = k (the code
   measured in part 1) and ``assembly_k`` = ``--assembly-k`` (concept members = 2 x assembly_k; ``none``:
   follow the code, 2k members, the earlier coupling), assembly selection ``--rule``.

Writes benchmarks/results/substrate_e.json (``--out`` to change the name).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo_dev.json"


def load_texts(n: int) -> list[str]:
    d = json.loads(DATA.read_text())
    texts: list[str] = []
    for conv in d:
        for key, val in conv["conversation"].items():
            if key.startswith("session_") and isinstance(val, list):
                texts += [t["text"] for t in val if len(t["text"]) > 20]
    texts = list(dict.fromkeys(texts))
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), n, replace=False)]


def embed(texts: list[str]) -> np.ndarray:
    from memory.config import EmbeddingSettings
    from memory.embedders import build_embedder

    return np.asarray(build_embedder(EmbeddingSettings())(texts), dtype=np.float64)


def lift(e: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """Random orthogonal embedding of the rows of ``e`` into ``dim`` dimensions (inner products kept)."""
    if dim == e.shape[1]:
        return e
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, e.shape[1])))
    return e @ q.T  # q: (dim, 384) with orthonormal columns -> R = q.T has orthonormal rows


def retention(codes: list[np.ndarray], emb: np.ndarray, n_sensory: int, deltas: list[float]) -> dict:
    n = len(codes)
    m = np.zeros((n, n_sensory))
    for i, c in enumerate(codes):
        m[i, c] = 1.0
    ov = m @ m.T
    en = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = en @ en.T
    rng = np.random.default_rng(1)
    a, b, c = (rng.integers(n, size=200_000) for _ in range(3))
    ok = (a != b) & (a != c) & (b != c)
    a, b, c = a[ok], b[ok], c[ok]
    ds, do = sim[a, b] - sim[a, c], ov[a, b] - ov[a, c]
    out = {}
    for d in deltas:
        keep = np.abs(ds) >= max(d, 1e-12)
        out[f"delta_{d}"] = float(np.mean((do[keep] != 0) & (np.sign(do[keep]) == np.sign(ds[keep]))))
        out[f"triples_{d}"] = int(keep.sum())
    return out


def completion(
    emb: np.ndarray,
    k: int,
    neurons: int,
    memories: int,
    reps: int,
    plasticity: bool,
    assembly_k: int | None = 32,
    rule: str = "lateral",
) -> dict:
    from snn_substrate import Substrate, SubstrateConfig

    cfg = SubstrateConfig(
        neurons=neurons, code_k=k, plasticity=plasticity, assembly_k=assembly_k, assembly_rule=rule
    )
    sub = Substrate(cfg, device="cpu")
    codes = [sub.encode(e) for e in emb[:memories]]
    for _ in range(reps):
        for i, code in enumerate(codes):
            sub.stimulate(code, 50.0, learn=True)
            sub.bind(code, f"m{i}")
    ce = sub.layout.pop("concept_E")
    rng = np.random.default_rng(2)
    recalls, fps = [], []
    for i in range(memories):
        mem = sub.assembly_of(f"m{i}")
        mem = mem[(mem >= ce.start) & (mem < ce.stop)]
        perm = rng.permutation(mem)
        cue, rest = perm[: mem.size // 2], perm[mem.size // 2 :]
        counts = sub.present(cue, 50.0)
        recalls.append(float(np.mean(counts[rest] > 0)))
        others = np.setdiff1d(np.arange(ce.start, ce.stop), mem)
        fps.append(float(np.mean(counts[others] > 0)))
    return {
        "completion": statistics.mean(recalls),
        "completion_min": min(recalls),
        "false_positive_rate": statistics.mean(fps),
        "assembly_concept_members": int(2 * (k if assembly_k is None else assembly_k)),
        "assembly_k": assembly_k,
        "rule": rule,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--k", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--neurons", type=int, default=20_000)
    ap.add_argument("--memories", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--assembly-k", default="32", help="concept assembly = 2 x this; 'none': follow the code")
    ap.add_argument("--rule", default="lateral", choices=["lateral", "count"])
    ap.add_argument("--out", default="substrate_e.json", help="file name under benchmarks/results/")
    a = ap.parse_args()
    ak = None if a.assembly_k.lower() == "none" else int(a.assembly_k)
    from snn_substrate import population_code
    from snn_substrate.network import substrate_layout

    n_sens = substrate_layout(a.neurons).pop("sensory_E").size
    t0 = time.perf_counter()
    texts = load_texts(a.texts)
    e384 = embed(texts)
    print(f"{len(texts)} texts embedded in {time.perf_counter() - t0:.1f} s; sensory neurons {n_sens}")
    deltas = [0.0, 0.05, 0.1, 0.2]
    results: dict = {
        "texts": len(texts),
        "n_sensory": n_sens,
        "assembly_k": ak,
        "rule": a.rule,
        "retention": [],
        "completion": [],
    }
    print(f"{'dim':>5} {'k':>4} " + " ".join(f"{'d>=' + str(d):>9}" for d in deltas))
    for dim in (384, 768, 1536):
        e = lift(e384, dim)
        for k in a.k:
            codes = [population_code(x, n_sens, k).indices for x in e]
            r = retention(codes, e, n_sens, deltas)
            results["retention"].append({"dim": dim, "k": k, **r})
            print(f"{dim:>5} {k:>4} " + " ".join(f"{r[f'delta_{d}']:>9.3f}" for d in deltas))
    print(f"{'k':>4} {'plasticity':>10} {'completion':>10} {'min':>6} {'false pos':>9}")
    for k in a.k:
        for pl in (True, False):
            c = completion(e384, k, a.neurons, a.memories, a.reps, pl, ak, a.rule)
            results["completion"].append({"k": k, "plasticity": pl, **c})
            print(
                f"{k:>4} {pl!s:>10} {c['completion']:>10.3f} {c['completion_min']:>6.2f} "
                f"{c['false_positive_rate']:>9.3f}"
            )
    out = Path(__file__).resolve().parents[1] / "results" / a.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
