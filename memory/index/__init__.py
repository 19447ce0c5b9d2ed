"""Vector indexes: the :class:`VectorIndex` contract, Chroma (embedded or server) and an in-memory index."""

from memory.index.base import Hit, VectorIndex
from memory.index.chroma import ChromaIndex, chroma_client
from memory.index.inmemory import InMemoryIndex

__all__ = ["ChromaIndex", "Hit", "InMemoryIndex", "VectorIndex", "chroma_client"]
