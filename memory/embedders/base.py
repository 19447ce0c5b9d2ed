"""The embedder contract and the deterministic hash embedder used by tests.

An embedder is a callable ``embedder(texts) -> ndarray`` of shape ``(len(texts), embedder.dim)``, dtype
float32, each row L2-normalised (so a dot product is the cosine similarity). It has a ``name`` that identifies
the vector space: stores refuse to mix vectors of different embedders.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit vectors. ``dim`` and ``name`` are fixed for the embedder's lifetime."""

    @property
    def dim(self) -> int: ...

    @property
    def name(self) -> str: ...

    def __call__(self, texts: Sequence[str]) -> Vectors: ...


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """A deterministic bag-of-words embedder: each lower-cased token (and token bigram) hashes to a signed
    coordinate. Texts sharing words are similar; no model, no randomness across runs or processes.

    For tests and examples only: it knows no synonyms.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError("HashEmbedder needs dim >= 8")
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def name(self) -> str:
        return f"hash-{self._dim}"

    def __call__(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = _TOKEN.findall(text.lower())
            features = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
            for feature in features:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self._dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, index] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0  # empty text: a fixed unit vector, never NaN
        return out


__all__ = ["Embedder", "HashEmbedder", "Vectors"]
