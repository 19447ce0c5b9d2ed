"""What a scene shows of its members: an extractive summary and a centroid vector (no model)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from memory.store.base import Vector
from reasoning.words import keywords


def summary(texts: Sequence[str]) -> str:
    """Extractive scene summary: top keywords, then the first sentence of the most keyword-dense text."""
    counter: Counter[str] = Counter()
    for t in texts:
        counter.update(keywords(t))
    top = [w for w, _ in counter.most_common(6)]
    best = max(texts, key=lambda t: sum(w in t.lower() for w in top), default="")
    head = best.split(". ")[0][:200]
    return f"About {', '.join(top)}: {head}" if top else head


def centroid(vectors: Sequence[Vector]) -> Vector | None:
    """The unit mean of ``vectors`` (None when there are none)."""
    if not vectors:
        return None
    mean = np.mean(np.stack(vectors), axis=0)
    unit: Vector = (mean / (float(np.linalg.norm(mean)) or 1.0)).astype(np.float32)
    return unit


__all__ = ["centroid", "summary"]
