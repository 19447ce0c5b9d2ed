"""``CachingEmbedder``: the vectors of the most recent distinct texts, so a text embedded twice in one turn (the
agent's encode node and recall's query) is computed once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from memory.embedders.base import Embedder, Vectors


class CachingEmbedder:
    """Wraps an :class:`Embedder` with an LRU of the last ``size`` distinct texts and their vectors (thread-safe).
    ``name`` and ``dim`` are the inner embedder's, so stored vectors are the same as without the cache. Texts
    not in the cache are embedded in one inner call, in input order."""

    def __init__(self, inner: Embedder, size: int = 256) -> None:
        self.inner = inner
        self.size = size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # texts served from the cache (observability)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __call__(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            cached = {t: self._cache[t] for t in texts if t in self._cache}
            for text in cached:
                self._cache.move_to_end(text)
            self.hits += sum(t in cached for t in texts)
        missing = list(dict.fromkeys(t for t in texts if t not in cached))
        fresh = dict(zip(missing, self.inner(missing), strict=True)) if missing else {}
        with self._lock:
            for text, vector in fresh.items():
                self._cache[text] = vector
                self._cache.move_to_end(text)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([cached[t] if t in cached else fresh[t] for t in texts]).astype(
            np.float32, copy=False
        )


__all__ = ["CachingEmbedder"]
