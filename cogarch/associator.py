"""The associator the agent gives the CoAT search: associations for a node come from the user's memory.

For a node whose path of thoughts is ``path``, the query is the question plus the latest thought; the
recollections (which already include the substrate's spreading activation through the memory graph) become
``Association`` s with their source ids, so every association in a search tree is traceable to episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cogarch import gateway


class MemoryAssociator:
    """``Associator`` backed by :class:`memory.Memory` for one namespace."""

    def __init__(self, memory: Any, namespace: str, *, k: int = 3) -> None:
        self._memory = memory
        self._namespace = namespace
        self._k = k

    def __call__(self, question: str, path: Sequence[str]) -> list[Any]:
        from reasoning.search import Association

        query = f"{question}\n{path[-1]}" if path else question
        out = []
        for r in self._memory.recall(query, namespace=self._namespace, k=self._k):
            if gateway.looks_like_injection(r.text):
                continue
            sources = tuple(str(getattr(s, "id", s)) for s in getattr(r, "sources", []))
            out.append(Association(text=r.text, source_ids=sources, score=float(r.score)))
        return out


__all__ = ["MemoryAssociator"]
