"""The vector index contract. The index is derived data: SQLite holds every record and its vector, so an index
can always be rebuilt (``Memory.reconcile(full=True)``). Each namespace is a separate collection, so no query
can cross namespaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from memory.embedders.base import Vectors


class Hit(NamedTuple):
    """One nearest neighbour: record id, its kind, and the cosine similarity to the query."""

    id: str
    kind: str
    similarity: float


@runtime_checkable
class VectorIndex(Protocol):
    """A per-namespace nearest-neighbour index over unit vectors (cosine similarity).

    All methods are idempotent (upsert of an existing id replaces it, delete of a missing id is a no-op), which
    is what makes replaying the outbox after a crash safe. Implementations raise
    :class:`reasoning.errors.MemoryBackendError` on backend failure.
    """

    def upsert(self, namespace: str, ids: Sequence[str], vectors: Vectors, kinds: Sequence[str]) -> None: ...

    def delete(self, namespace: str, ids: Sequence[str]) -> None: ...

    def query(
        self, namespace: str, vectors: Vectors, n: int, *, kind: str | None = None
    ) -> list[list[Hit]]: ...

    def ids(self, namespace: str) -> set[str]: ...

    def drop(self, namespace: str) -> None: ...

    def close(self) -> None: ...


__all__ = ["Hit", "VectorIndex"]
