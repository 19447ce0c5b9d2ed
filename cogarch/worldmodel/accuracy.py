"""World-model accuracy: precision and recall of the agent's triplets against the game's true facts.

The game's facts are predicates such as ``at(P, kitchen)``, ``at(fridge, kitchen)``, ``in(lettuce, fridge)``,
``on(knife, table)``, ``in(apple, I)``, ``north_of(pantry, kitchen)``, ``open(fridge)``, ``closed(door)``.
Mapping (agent triplet -> fact), names lower-cased:

==============================  ======================================
agent triplet                   game fact
==============================  ======================================
``(you, at, R)``                ``at(P, R)``
``(X, in, R)`` (R a room)       ``at(X, R)``
``(X, in, inventory)``          ``in(X, I)``
``(X, in, C)`` / ``(X, on, S)`` ``in(X, C)`` / ``on(X, S)``
``(R1, north, R2)``             ``north_of(R2, R1)`` (same for the other directions)
``(X, is, open)`` / ``closed``  ``open(X)`` / ``closed(X)``
==============================  ======================================

An agent name matches a game entity when equal, or when the entity's name ends the agent's name (the text
says "raw purple potato", the fact says "purple potato"). Only facts of these predicates are scored (the ones
perception can observe); recall counts all of them, including parts of the world not seen yet.
This is used only to measure the world model; the agent never sees the facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from cogarch.worldmodel.graph import Triplet

SCORED = frozenset({"at", "in", "on", "north_of", "south_of", "east_of", "west_of", "open", "closed"})
Fact = tuple[str, tuple[str, ...]]


class Accuracy(NamedTuple):
    precision: float
    recall: float
    agent_triplets: int
    true_facts: int


def _norm(name: str, entities: set[str]) -> str:
    name = name.lower().strip()
    if name in entities:
        return name
    for e in sorted(entities, key=len, reverse=True):
        if name.endswith(" " + e):
            return e
    return name


def triplet_to_fact(t: Triplet, rooms: set[str], entities: set[str]) -> Fact | None:
    s, r, o = _norm(t.subject, entities), t.relation, _norm(t.object, entities)
    if r == "at" and s == "you":
        return ("at", ("p", o))
    if r == "in" and o == "inventory":
        return ("in", (s, "i"))
    if r == "in" and o in rooms:
        return ("at", (s, o))
    if r in {"in", "on"}:
        return (r, (s, o))
    if r in {"north", "south", "east", "west"}:
        return (f"{r}_of", (o, s))
    if r == "is" and o in {"open", "closed"}:
        return (o, (s,))
    return None


def world_model_accuracy(triplets: Iterable[Triplet], facts: Iterable[Fact]) -> Accuracy:
    """Precision and recall of ``triplets`` against the scored ``facts`` (see the module table)."""
    truth = {(n, tuple(a.lower() for a in args)) for n, args in facts if n in SCORED}
    rooms = {args[1] for n, args in truth if n == "at" and args[0] == "p"}
    rooms |= {a for n, args in truth if n.endswith("_of") for a in args}
    entities = {a for _, args in truth for a in args}
    mapped = {f for f in (triplet_to_fact(t, rooms, entities) for t in triplets) if f is not None}
    hits = len(mapped & truth)
    precision = hits / len(mapped) if mapped else 0.0
    recall = hits / len(truth) if truth else 0.0
    return Accuracy(precision, recall, len(mapped), len(truth))


__all__ = ["SCORED", "Accuracy", "Fact", "triplet_to_fact", "world_model_accuracy"]
