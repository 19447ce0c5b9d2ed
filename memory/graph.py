"""Personalized PageRank over a small local subgraph of the memory graph (HippoRAG 2, GAAMA).

Given nodes ``0..n-1``, weighted undirected edges and a personalization vector ``p`` (the seed scores),
iterate ``r <- (1 - alpha) * p + alpha * W^T r`` with ``W`` the row-normalised adjacency. Hub dampening
(GAAMA): an edge into a node of global degree ``d`` is scaled by ``1 / log(e + d)``, so that a person mentioned
in every turn does not drain activation from specific links. Pure functions, numpy only.

Seeding (HippoRAG 2): a phrase node the query names is seeded with its match score times its specificity
``1 / passages`` (the number of episodes that mention it), so a rare phrase outweighs a common one.

Synonym edges (HippoRAG 2): two phrase nodes whose embeddings have cosine ``>= threshold`` are linked, weight
the cosine, at most ``top_k`` per new node (:func:`synonym_pairs`), so "pottery class" and "ceramics course"
meet even though no episode mentions both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def hub_weight(degree: int) -> float:
    """Edge scaling for a node with ``degree`` edges: ``1 / log(e + degree)``, 1 for a leaf-ish node."""
    return 1.0 / math.log(math.e + max(0, degree))


def personalized_pagerank(
    n: int,
    edges: Sequence[tuple[int, int, float]],
    personalization: np.ndarray[Any, np.dtype[np.float64]],
    *,
    alpha: float = 0.5,
    iterations: int = 20,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """PPR scores (sum 1) of the ``n`` nodes.

    Args:
        n: number of nodes. edges: ``(i, j, w)`` undirected, ``w > 0``. personalization: non-negative, length n
        (normalised internally; uniform if all zero). alpha: probability of following an edge (1 - restart).
        iterations: power iterations (converges geometrically at rate alpha).
    """
    p = np.asarray(personalization, dtype=np.float64)
    total = p.sum()
    p = p / total if total > 0 else np.full(n, 1.0 / max(n, 1))
    if not edges or n == 0:
        return p
    src = np.array([e[0] for e in edges] + [e[1] for e in edges])
    dst = np.array([e[1] for e in edges] + [e[0] for e in edges])
    w = np.array([e[2] for e in edges] * 2, dtype=np.float64)
    out_w = np.bincount(src, weights=w, minlength=n)
    dangling = out_w <= 0
    norm_w = w / np.where(dangling, 1.0, out_w)[src]
    r = p.copy()
    for _ in range(iterations):
        spread = np.bincount(dst, weights=r[src] * norm_w, minlength=n)
        spread += r[dangling].sum() * p  # dangling mass restarts
        r = (1 - alpha) * p + alpha * spread
    return r


def specificity(passages: int) -> float:
    """Seed weight of a phrase node mentioned by ``passages`` episodes: ``1 / passages`` (1 for a new node)."""
    return 1.0 / max(1, passages)


BLOCK_FLOATS = 1 << 23
"""Similarities :func:`synonym_pairs` computes at once by default (32 MB of float32)."""


def synonym_pairs(
    new: np.ndarray[Any, np.dtype[np.float32]],
    old: np.ndarray[Any, np.dtype[np.float32]] | Sequence[np.ndarray[Any, np.dtype[np.float32]]],
    *,
    threshold: float,
    top_k: int,
    block: int | None = None,
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, cosine)`` linking row ``i`` of ``new`` to row ``j`` of ``old`` (unit vectors), sorted by
    ``i``, then most similar first.

    ``old`` is one matrix or several, whose rows are numbered one after another (so the stored vectors and the
    new ones can be searched together without copying them into one matrix). Each new row keeps its ``top_k``
    most similar old rows with cosine ``>= threshold``. To link new rows among themselves too, pass
    ``old = [old, new]`` and drop pairs ``j == len(old) + i`` (the caller's numbering). Works in blocks of
    ``block`` new rows (default: as many as fit :data:`BLOCK_FLOATS` similarities), every product written into
    one buffer, so memory stays ``block * len(old)`` floats and is touched afresh once per call, not once per
    block (fresh pages cost more than the product on a virtual machine: 1,500 new rows against 21,500 took
    1.4 s on a first call with blocks of 1,024 fresh rows, 0.5 s with one 32 MB buffer).
    """
    parts = [old] if isinstance(old, np.ndarray) else list(old)
    parts = [m for m in parts if len(m)]
    if len(new) == 0 or not parts:
        return []
    widest = max(len(m) for m in parts)
    block = block or max(1, BLOCK_FLOATS // widest)
    buffer = np.empty((min(block, len(new)) * widest,), dtype=np.result_type(new, *parts))
    found: list[tuple[np.ndarray[Any, Any], ...]] = []
    offset = 0
    for matrix in parts:
        for start in range(0, len(new), block):
            rows_new = new[start : start + block]
            sims = buffer[: len(rows_new) * len(matrix)].reshape(len(rows_new), len(matrix))
            np.matmul(rows_new, matrix.T, out=sims)
            # a high threshold leaves few pairs: select them first, then the top_k of each row among them
            rows, cols = np.nonzero(sims >= threshold)
            found.append((rows + start, cols + offset, sims[rows, cols]))
        offset += len(matrix)
    rows, cols, vals = (np.concatenate(column) for column in zip(*found, strict=True))
    order = np.lexsort((cols, -vals, rows))  # by row, then most similar first (ties: lower column first)
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, rows)  # index of each row's first pair
    keep = np.arange(len(rows)) - first < top_k
    return [(int(r), int(c), float(v)) for r, c, v in zip(rows[keep], cols[keep], vals[keep], strict=True)]


__all__ = ["BLOCK_FLOATS", "hub_weight", "personalized_pagerank", "specificity", "synonym_pairs"]
