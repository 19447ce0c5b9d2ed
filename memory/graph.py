"""Personalized PageRank over a small local subgraph of the memory graph (HippoRAG 2, GAAMA).

Given nodes ``0..n-1``, weighted undirected edges and a personalization vector ``p`` (the seed scores),
iterate ``r <- (1 - alpha) * p + alpha * W^T r`` with ``W`` the row-normalised adjacency. Hub dampening
(GAAMA): an edge into a node of global degree ``d`` is scaled by ``1 / log(e + d)``, so that a person mentioned
in every turn does not drain activation from specific links. Pure functions, numpy only.
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
    norm_w = w / out_w[src]
    dangling = out_w == 0
    r = p.copy()
    for _ in range(iterations):
        spread = np.bincount(dst, weights=r[src] * norm_w, minlength=n)
        spread += r[dangling].sum() * p  # dangling mass restarts
        r = (1 - alpha) * p + alpha * spread
    return r


__all__ = ["hub_weight", "personalized_pagerank"]
