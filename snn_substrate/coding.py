"""Population code: an embedding of any dimension -> exactly k active sensory neurons.

1. z-score standardisation across the embedding's dimensions: ``z = (x - mean(x)) / std(x)`` (a constant
   vector maps to zeros), so the code ignores the embedding's offset and scale.
2. A fixed sparse signed projection into sensory space: sensory neuron j sums ``fan_in`` standardised
   dimensions with random signs, ``y_j = sum_m s_jm z[d_jm]`` (a sparse Johnson-Lindenstrauss map; the
   dimensions and signs are drawn from a generator seeded by (seed, dim), so every embedding size has its own
   fixed map and the sensory statistics do not depend on the size).
3. Top-k: the k largest ``y_j``, ties broken by the lower index; returned sorted.

The same embedding always gives the same code; embeddings at a smaller angle share more of their top-k units
(the projection preserves inner products in expectation), so similar texts overlap more.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch


class Code(NamedTuple):
    """A population code: sorted sensory neuron indices (int64 numpy array of length k)."""

    indices: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.indices.size)

    def union(self, other: Code) -> Code:
        """Both codes at once (a co-occurrence), sorted and deduplicated."""
        return Code(np.union1d(self.indices, other.indices).astype(np.int64))

    def overlap(self, other: Code) -> int:
        """Number of shared units."""
        return int(np.intersect1d(self.indices, other.indices).size)


@lru_cache(maxsize=16)
def _projection(
    dim: int, n_sensory: int, fan_in: int, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    g = torch.Generator().manual_seed((seed * 1_000_003 + dim) & 0x7FFFFFFFFFFFFFFF)
    idx = torch.randint(0, dim, (n_sensory, fan_in), generator=g)
    sign = torch.randint(0, 2, (n_sensory, fan_in), generator=g).to(torch.float32) * 2.0 - 1.0
    return idx.numpy(), sign.numpy()


def population_code(
    embedding: npt.ArrayLike, n_sensory: int, k: int, *, seed: int = 0, fan_in: int = 32
) -> Code:
    """Encode ``embedding`` (any 1-D length >= 1) as exactly ``min(k, n_sensory)`` sensory indices.

    Raises:
        ValueError: empty or non-1-D embedding, non-finite values, n_sensory < 1 or k < 1.
    """
    x = np.asarray(embedding, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("the embedding must be a non-empty 1-D vector")
    if not np.all(np.isfinite(x)):
        raise ValueError("the embedding contains NaN or infinite values")
    if n_sensory < 1 or k < 1:
        raise ValueError("n_sensory and k must be >= 1")
    sd = x.std()
    z = (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)
    idx, sign = _projection(int(x.size), n_sensory, min(fan_in, max(1, x.size)), seed)
    y = (z.astype(np.float32)[idx] * sign).sum(axis=1, dtype=np.float32).astype(np.float64)
    k = min(k, n_sensory)
    # stable top-k: sort by (-y, index)
    order = np.lexsort((np.arange(n_sensory), -y))[:k]
    return Code(np.sort(order).astype(np.int64))
