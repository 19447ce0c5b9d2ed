"""The world model's semantic graph kept in the agent's memory as facts (AriGraph's graph, bi-temporal).

Each triplet the world model believes is a current fact of the memory namespace (``Memory.add_facts``), with
the observation's episode as its source; what the agent stops believing is closed, not deleted. The
memory's rules (:mod:`memory.semantic.ontology`, world relations) keep one place per thing: when a thing is
taken, the fact ``(knife, on, table)`` gets ``valid_to`` and ``superseded_by`` = ``(knife, in, inventory)``
and stays queryable as the past (``Memory.facts(as_of=...)``); recall finds the current one. A step reads the
graph back from the current facts (:meth:`MemoryFacts.load`), so memory, not the policy, holds the map, the
object locations and the inventory. A new game closes the world facts of the one before (:meth:`MemoryFacts.start`).

Triplet relations map to memory relations one to one, except ``is`` open/closed/locked (the relation
``openness``) and ``has exit`` (``has_exit``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from cogarch.worldmodel.graph import EXIT, STATE_GROUPS, Triplet
from memory.semantic.base import Triple
from memory.semantic.ontology import WORLD, render, shares_value_with

_STATES = frozenset().union(*STATE_GROUPS)
_TO_MEMORY = {EXIT: "has_exit"}
_FROM_MEMORY = {"has_exit": EXIT, "openness": "is"}
RELATIONS = frozenset(WORLD) | {"is"}
"""The memory relations that make up the world model (the ontology's world relations, and ``is`` for other
states an extractor may read)."""


def memory_relation(t: Triplet) -> str:
    """The memory relation of a triplet."""
    if t.relation == "is" and t.object in _STATES:
        return "openness"
    return _TO_MEMORY.get(t.relation, t.relation)


def triplet(subject: str, relation: str, obj: str) -> Triplet:
    """The triplet of a memory fact."""
    return Triplet(subject, _FROM_MEMORY.get(relation, relation), obj)


class MemoryFacts:
    """The world model's triplets as the current facts of one memory namespace.

    Args:
        memory: a ``memory.Memory``.
        namespace: the agent's namespace (the user).
    """

    def __init__(self, memory: Any, namespace: str) -> None:
        self.memory = memory
        self.namespace = namespace
        self.written = 0  # facts created, and closed (observability)
        self.closed = 0
        self.seconds = 0.0  # wall time reading and writing memory

    def load(self) -> set[Triplet]:
        """What memory holds current about the world."""
        began = time.perf_counter()
        out = {
            triplet(f.subject, f.relation, f.object)
            for f in self.memory.facts(namespace=self.namespace, current_only=True)
            if f.relation in RELATIONS
        }
        self.seconds += time.perf_counter() - began
        return out

    def start(self, *, source: str, t: float | None = None) -> int:
        """A new game begins: close every current world fact of the namespace (an earlier game's map and
        things; kept as the past). Returns how many were closed."""
        when = time.time() if t is None else t
        current = {
            (f.subject, f.relation)
            for f in self.memory.facts(namespace=self.namespace, current_only=True)
            if f.relation in RELATIONS
        }
        triples = [Triple(s, r, "", "", source, when, closes=True) for s, r in sorted(current)]
        if not triples:
            return 0
        closed: int = self.memory.add_facts(triples, namespace=self.namespace)[1]
        self.closed += closed
        return closed

    def write(
        self, before: Iterable[Triplet], after: Iterable[Triplet], *, source: str, t: float | None = None
    ) -> tuple[int, int]:
        """Make memory's current facts go from ``before`` to ``after``: the new triplets are stated (memory
        closes what they contradict: a thing's old place, a door's old state), and the ones dropped without a
        replacement (a thing no longer seen where it was) are closed. ``source``: the observation's episode id.
        Returns (created, closed)."""
        old, new = set(before), set(after)
        when = time.time() if t is None else t
        replaced = {(x.subject, memory_relation(x)) for x in new - old}
        replaced |= {(s, r) for s, rel in set(replaced) for r in shares_value_with(rel)}
        triples = [
            Triple(x.subject, memory_relation(x), x.object, "", source, when, closes=True)
            for x in sorted(old - new)
            if (x.subject, memory_relation(x)) not in replaced
        ]
        for x in sorted(new - old):
            rel = memory_relation(x)
            triples.append(Triple(x.subject, rel, x.object, render(x.subject, rel, x.object), source, when))
        if not triples:
            return 0, 0
        began = time.perf_counter()
        created, closed = self.memory.add_facts(triples, namespace=self.namespace)
        self.seconds += time.perf_counter() - began
        self.written += created
        self.closed += closed
        return created, closed


__all__ = ["RELATIONS", "MemoryFacts", "memory_relation", "triplet"]
