"""Concepts and the memories bound to them: the substrate's units of meaning (no spiking here).

A concept is a canonical key (``"tomas"``, ``"sailing"``: the caller canonicalises) with a kind (``"person"``,
``"activity"``, ...). Its assembly is a fixed set of concept-layer excitatory neurons drawn by a generator
seeded with the substrate's seed and a hash of the key, so the same concept gets the same neurons in every
message, session and process, with no table needed to find them (the registry keeps them only for speed).
Kinds get assemblies in the category layer the same way.

The registry also keeps what the idle loop needs to choose where spontaneous activity ignites: when each
concept was last mentioned (in messages), how often, and the reward it was last presented under; and which
memories (external keys, e.g. episode ids) are bound to which concepts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


def hashed_members(seed: int, key: str, start: int, size: int, k: int) -> npt.NDArray[np.int64]:
    """``k`` distinct neuron ids in ``[start, start + size)`` determined by ``seed`` and ``key`` alone (sorted)."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    rng = np.random.default_rng([seed & 0xFFFFFFFF, digest])
    return np.sort(rng.choice(size, min(k, size), replace=False).astype(np.int64) + start)


@dataclass
class ConceptEntry:
    """One concept: its assembly, kind and history (``last``: message count at its latest mention)."""

    members: npt.NDArray[np.int64]
    kind: str
    last: int = 0
    mentions: int = 0
    reward: float = 0.0


@dataclass
class ConceptRegistry:
    """Concepts, kinds and memory bindings of one substrate (saved with it). Bindings change only through
    :meth:`bind` and :meth:`unbind`, which keep the index from each concept to its memories (lookups cost the
    size of the answer, not the number of memories)."""

    concepts: dict[str, ConceptEntry] = field(default_factory=dict)
    memories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    messages: int = 0
    _index: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]] | None = None
    _by_concept: dict[str, dict[str, None]] = field(default_factory=dict)
    _seq: dict[str, int] = field(default_factory=dict)  # binding order, for ties
    _next: int = 0

    def __post_init__(self) -> None:
        for i, (key, concepts) in enumerate(self.memories.items()):
            self._seq[key] = i
            for c in concepts:
                self._by_concept.setdefault(c, {})[key] = None
        self._next = len(self.memories)

    def seq(self, key: str) -> int:
        """When memory ``key`` was bound (larger: later)."""
        return self._seq.get(key, -1)

    def bind(self, key: str, concepts: tuple[str, ...]) -> None:
        """Bind memory ``key`` to ``concepts`` (replacing an earlier binding of the key; none: unbind)."""
        self.unbind(key)
        if concepts:
            self.memories[key] = concepts
            self._seq[key] = self._next
            self._next += 1
            for c in concepts:
                self._by_concept.setdefault(c, {})[key] = None

    def unbind(self, key: str) -> bool:
        """Remove memory ``key``'s binding; True if it existed."""
        concepts = self.memories.pop(key, None)
        self._seq.pop(key, None)
        for c in concepts or ():
            keys = self._by_concept.get(c, {})
            keys.pop(key, None)
            if not keys:
                self._by_concept.pop(c, None)
        return concepts is not None

    def bound(self, concept: str) -> list[str]:
        """Memory keys bound to ``concept``, oldest binding first."""
        return list(self._by_concept.get(concept, ()))

    def with_memories(self) -> list[str]:
        """Concept keys that at least one memory is bound to."""
        return [c for c in self._by_concept if c in self.concepts]

    def salience(self, key: str, tau_messages: float) -> float:
        """How likely spontaneous activity ignites ``key``: recency of its last mention (decaying over
        ``tau_messages`` messages), times 1 + the positive reward it was presented under, plus a floor."""
        e = self.concepts[key]
        recency = math.exp(-(self.messages - e.last) / max(tau_messages, 1e-9))
        return 0.05 + recency * (1.0 + max(0.0, e.reward))

    def index(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
        """(all members concatenated, owning concept's position, concept keys) for vectorised shares."""
        if self._index is None:
            names = list(self.concepts)
            mem = [self.concepts[k].members for k in names]
            flat = np.concatenate(mem) if mem else np.zeros(0, dtype=np.int64)
            owner = np.repeat(np.arange(len(names)), [m.size for m in mem]).astype(np.int64)
            self._index = (flat, owner, names)
        return self._index

    def add(self, key: str, members: npt.NDArray[np.int64], kind: str) -> ConceptEntry:
        entry = self.concepts.get(key)
        if entry is None:
            entry = self.concepts[key] = ConceptEntry(members, kind)
            self._index = None
        return entry

    def drop_unbound(self) -> None:
        """Remove concepts no memory is bound to any more (their keys are text; their weights stay, anonymous)."""
        keep = set(self.with_memories())
        gone = [k for k in self.concepts if k not in keep]
        for k in gone:
            del self.concepts[k]
        if gone:
            self._index = None

    def to_blob(self) -> dict[str, Any]:
        return {
            "concepts": {
                k: (e.members.tolist(), e.kind, e.last, e.mentions, e.reward)
                for k, e in self.concepts.items()
            },
            "memories": {k: list(v) for k, v in self.memories.items()},
            "messages": self.messages,
        }

    @classmethod
    def from_blob(cls, blob: dict[str, Any] | None) -> ConceptRegistry:
        if not blob:
            return cls()
        concepts = {
            str(k): ConceptEntry(np.asarray(m, dtype=np.int64), str(kind), int(last), int(n), float(r))
            for k, (m, kind, last, n, r) in blob.get("concepts", {}).items()
        }
        memories = {str(k): tuple(str(c) for c in v) for k, v in blob.get("memories", {}).items()}
        return cls(concepts, memories, int(blob.get("messages", 0)))


__all__ = ["ConceptEntry", "ConceptRegistry", "hashed_members"]
