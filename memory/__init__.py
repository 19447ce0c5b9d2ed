"""cogarch hierarchical memory: episodes, facts, scenes and persona on SQLite + ChromaDB, with hybrid recall.

See ``memory/README.md``. The public entry point is :class:`Memory`.
"""

from memory.memory import Memory
from memory.records import Episode, Fact, PersonaSlot, RecallResult, Recollection, Scene, Source

__all__ = [
    "Episode",
    "Fact",
    "Memory",
    "PersonaSlot",
    "RecallResult",
    "Recollection",
    "Scene",
    "Source",
]
