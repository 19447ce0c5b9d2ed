"""The world model's semantic graph: (subject, relation, object) triplets (AriGraph, 2024).

Triplets such as ``(kitchen, north, pantry)``, ``(knife, on, table)``, ``(knife, in, inventory)``,
``(fridge, is, open)``, ``(you, at, kitchen)``. In the agent the graph is a view of its memory's current facts
(:mod:`cogarch.worldmodel.facts`), and the episodic part is memory's: each fact's source is the observation
(an episode) it was read from.

Outdated knowledge is replaced, not accumulated: a thing is in one place at a time (``in``/``on``/``at`` are
exclusive per subject), a state pair (``open``/``closed``) is exclusive, and re-perceiving a room or a
container's contents replaces what was believed about it (``replace_scope``).

Navigation: room-to-room edges are direction relations; ``path(a, b)`` is breadth-first search over them;
``frontier_path(room)`` is the shortest path to a room with an exit never taken (exploration of unexplored
exits, as AriGraph's agent does).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from cogarch.worldmodel.text import DIRECTIONS

LOCATIVE = frozenset({"in", "on", "at"})
STATE_GROUPS = ({"open", "closed", "locked"},)
EXIT = "has exit"


class Triplet(NamedTuple):
    """One fact the agent believes: ``subject --relation--> object`` (lower-case names)."""

    subject: str
    relation: str
    object: str

    def text(self) -> str:
        return f"{self.subject}, {self.relation}, {self.object}"


@dataclass
class TripletGraph:
    """Mutable triplet store with replacement of outdated facts and path-finding."""

    triplets: set[Triplet] = field(default_factory=set)

    # --- updates ---------------------------------------------------------------------------------
    def add(self, t: Triplet) -> None:
        """Add ``t``, removing what it makes outdated (another place of the same thing, another state)."""
        if t.relation in LOCATIVE:
            self.triplets -= {x for x in self.triplets if x.subject == t.subject and x.relation in LOCATIVE}
        elif t.relation == "is":
            for group in STATE_GROUPS:
                if t.object in group:
                    self.triplets -= {
                        x
                        for x in self.triplets
                        if x.subject == t.subject and x.relation == "is" and x.object in group
                    }
        elif t.relation in DIRECTIONS:
            # one neighbour per direction
            self.triplets -= {x for x in self.triplets if x.subject == t.subject and x.relation == t.relation}
        self.triplets.add(t)

    def replace_scope(self, relation: str, container: str, new: Iterable[Triplet]) -> None:
        """Replace everything believed to be ``relation`` ``container`` (e.g. in the kitchen) by ``new``."""
        self.triplets -= {x for x in self.triplets if x.relation == relation and x.object == container}
        for t in new:
            self.add(t)

    def discard(self, t: Triplet) -> None:
        self.triplets.discard(t)

    # --- queries ---------------------------------------------------------------------------------
    def location(self, subject: str = "you") -> str | None:
        for t in self.triplets:
            if t.subject == subject and t.relation == "at":
                return t.object
        return None

    def rooms(self) -> set[str]:
        out = {t.object for t in self.triplets if t.relation == "at" and t.subject == "you"}
        for t in self.triplets:
            if t.relation in DIRECTIONS:
                out |= {t.subject, t.object}
            elif t.relation == EXIT:
                out.add(t.subject)
        return out

    def exits(self, room: str) -> dict[str, str | None]:
        """Known exits of ``room``: direction -> neighbouring room (None while unexplored)."""
        out: dict[str, str | None] = {
            t.object: None for t in self.triplets if t.subject == room and t.relation == EXIT
        }
        for t in self.triplets:
            if t.subject == room and t.relation in DIRECTIONS:
                out[t.relation] = t.object
        return out

    def unexplored(self, room: str) -> list[str]:
        return sorted(d for d, r in self.exits(room).items() if r is None)

    def path(self, start: str, goal: str) -> list[str] | None:
        """Directions leading from ``start`` to ``goal`` by known edges (BFS), None when unknown."""
        if start == goal:
            return []
        prev: dict[str, tuple[str, str]] = {}
        queue = deque([start])
        seen = {start}
        while queue:
            room = queue.popleft()
            for direction, nxt in sorted(self.exits(room).items()):
                if nxt is None or nxt in seen:
                    continue
                prev[nxt] = (room, direction)
                if nxt == goal:
                    steps = []
                    cur = goal
                    while cur != start:
                        cur, d = prev[cur]
                        steps.append(d)
                    return steps[::-1]
                seen.add(nxt)
                queue.append(nxt)
        return None

    def frontier_path(self, start: str) -> list[str] | None:
        """Shortest known path from ``start`` ending with an unexplored exit, None when nothing is left."""
        queue: deque[tuple[str, list[str]]] = deque([(start, [])])
        seen = {start}
        while queue:
            room, steps = queue.popleft()
            todo = self.unexplored(room)
            if todo:
                return [*steps, todo[0]]
            for direction, nxt in sorted(self.exits(room).items()):
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, [*steps, direction]))
        return None

    def room_of(self, entity: str) -> str | None:
        """The room ``entity`` is believed to be in (following in/on/at through its holders), ``inventory``
        when carried, None when unknown."""
        rooms = self.rooms()
        seen = {entity}
        cur = entity
        while True:
            holder = next(
                (t.object for t in self.triplets if t.subject == cur and t.relation in LOCATIVE), None
            )
            if holder is None or holder in seen:
                return None
            if holder in rooms or holder == "inventory":
                return holder
            seen.add(holder)
            cur = holder

    def about(self, entity: str) -> list[Triplet]:
        """Triplets mentioning ``entity`` (as subject or object)."""
        return sorted(t for t in self.triplets if entity in (t.subject, t.object))

    def summary(self, limit: int = 40) -> str:
        """A compact text of the non-navigation triplets, for a prompt."""
        lines = [t.text() for t in sorted(self.triplets) if t.relation != EXIT]
        return "\n".join(lines[:limit])


__all__ = ["EXIT", "Triplet", "TripletGraph"]
