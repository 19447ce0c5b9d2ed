"""``WorldModel``: the triplet graph kept up to date from each step's observation, plus action memory.

Each step: read the graph from memory's current facts (when the world model has ``facts``: the agent's
memory), perceive (rule-based, optionally an LLM extractor), replace outdated triplets, write the changes back
to memory as facts sourced by the observation's episode (a moved thing's old place is closed, not deleted),
and remember which commands were tried where, which failed (the game refused them or nothing changed) and
which earned reward. Without ``facts`` the graph lives in the process (a policy without memory, tests).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cogarch.worldmodel.commands import parse_command, things_named
from cogarch.worldmodel.facts import MemoryFacts
from cogarch.worldmodel.graph import EXIT, Triplet, TripletGraph
from cogarch.worldmodel.perception import perceive
from cogarch.worldmodel.text import OPPOSITE, command_direction, command_verb

Extractor = Callable[[str], list[Triplet]]
"""Optional LLM extraction: observation text -> extra triplets."""

_FAIL = re.compile(
    r"(you can't|you cannot|can't see|that's not|i don't|i didn't understand|there is no|there's no|not something|"
    r"you need|you'll have to|isn't|aren't|is locked|nothing happens|you have to|not open|already|"
    r"you're not carrying|you don't|still needs?|needs to be|first need)",
    re.IGNORECASE,
)

_ARTICLES = re.compile(r"^(a|an|the)\s+")


@dataclass
class WorldModel:
    """The agent's belief state for one episode.

    Attributes:
        extractor: extra triplets per observation (an LLM's), or None.
        facts: where the graph is kept (the agent's memory), or None: in this object only.
        graph: the triplets believed now (read from ``facts`` at each step when given).
        previous_room: where the agent was before the last command.
    """

    extractor: Extractor | None = None
    facts: MemoryFacts | None = None
    graph: TripletGraph = field(default_factory=TripletGraph)
    previous_room: str | None = None
    tried: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed: set[tuple[str, str]] = field(default_factory=set)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    rewarded: set[str] = field(default_factory=set)
    last_observation: str = ""
    _inventory: list[str] = field(default_factory=list)  # the inventory text last read (to notice changes)
    _started: bool = False

    @property
    def inventory(self) -> list[str]:
        """What the agent carries, by the graph: ``(x, in, inventory)``."""
        return sorted(
            t.subject for t in self.graph.triplets if t.relation == "in" and t.object == "inventory"
        )

    @property
    def room(self) -> str:
        return self.graph.location() or "unknown"

    def observe(
        self,
        observation: str,
        *,
        admissible: Sequence[str] = (),
        info: Mapping[str, Any] | None = None,
        command: str | None = None,
        reward: float = 0.0,
        source: str | None = None,
        t: float | None = None,
    ) -> None:
        """Update the beliefs with the result of ``command`` (None at the start of an episode). ``source``: the
        observation's episode id in memory (the facts' source; without it nothing is written to memory);
        ``t``: the observation's time (the facts' valid time; default now)."""
        info = info or {}
        if self.facts is not None:
            if not self._started and source is not None:
                self.facts.start(source=source, t=t)  # a new game: the last one's world is past
                self._started = True
            self.graph.triplets = self.facts.load()
        before = set(self.graph.triplets)
        prev_room = self.graph.location()
        self.previous_room = prev_room
        description = info.get("description") if isinstance(info.get("description"), str) else None
        inventory = info.get("inventory") if isinstance(info.get("inventory"), str) else None
        p = perceive(
            observation, admissible=list(admissible), inventory_text=inventory, description=description
        )
        room = p.room or prev_room
        if p.room is not None:
            self.graph.add(Triplet("you", "at", p.room))
        if command is not None and prev_room is not None:
            key = (prev_room, command)
            self.tried[key] += 1
            moved = room is not None and room != prev_room
            failed = bool(_FAIL.search(observation[:200])) or (
                observation.strip() == self.last_observation.strip() and not moved and reward <= 0
            )
            direction = command_direction(command)
            if direction is not None:
                failed = not moved
                if moved and room is not None:
                    self.graph.add(Triplet(prev_room, direction, room))
                    back = OPPOSITE[direction]
                    if back not in self.graph.exits(room) or self.graph.exits(room).get(back) is None:
                        self.graph.add(Triplet(room, back, prev_room))
            if failed:
                self.failed.add(key)
                self.failures[key] += 1
            if reward > 0:
                self.rewarded.add(command)
            if reward > 0:
                self.failures = Counter({k: v for k, v in self.failures.items() if command_direction(k[1])})
            if reward > 0 or (p.inventory is not None and p.inventory != self._inventory):
                # the world changed: refused actions may work now (moves stay remembered); how often they were
                # refused still counts (failure_weight) until the score moves
                self.failed = {k for k in self.failed if command_direction(k[1]) is not None}
            self._apply_action(command, room, failed)
        if room is not None:
            for d in p.exits:
                if d not in self.graph.exits(room):
                    self.graph.add(Triplet(room, EXIT, d))
            if p.in_room or p.contents:
                self.graph.replace_scope("in", room, p.in_room)
            for (rel, holder), items in p.contents.items():
                self.graph.replace_scope(rel, holder, items)
            for state in p.states:
                self.graph.add(state)
        if p.inventory is not None:
            self._inventory = p.inventory
            self.graph.replace_scope("in", "inventory", [Triplet(i, "in", "inventory") for i in p.inventory])
        if room is not None:
            self._within_reach(room, admissible)
        if self.extractor is not None:
            for extracted in self.extractor(observation):
                self.graph.add(extracted)
        if self.facts is not None and source is not None:
            self.facts.write(before, self.graph.triplets, source=source, t=t)
        self.last_observation = observation

    def _within_reach(self, room: str, admissible: Sequence[str]) -> None:
        """What the admissible commands say is within reach: the things they name are here (in the room, or
        carried), and ``take X from Y`` says X is in (or on) Y. Adds only what the graph does not already
        place here."""
        held: dict[str, str] = {}
        for command in admissible:
            parsed = parse_command(command)
            if parsed.verb == "take" and len(parsed.objects) == 2 and parsed.prepositions[0] == "from":
                held[parsed.objects[0]] = parsed.objects[1]
        out: list[Triplet] = []
        for name in sorted(things_named(admissible) - set(held)):
            if self.graph.room_of(name) not in (room, "inventory"):
                out.append(Triplet(name, "in", room))
        for thing, holder in held.items():
            if not self._placed_in(thing, holder):
                out.append(Triplet(thing, "in", holder))
        for t in out:
            self.graph.add(t)

    def _placed_in(self, thing: str, holder: str) -> bool:
        return any(
            t.subject == thing and t.object == holder and t.relation in {"in", "on"}
            for t in self.graph.triplets
        )

    def _apply_action(self, command: str, room: str | None, failed: bool) -> None:
        """What a command that worked changed: a thing taken, dropped or put somewhere, a door's state."""
        if failed:
            return
        verb = command_verb(command)
        rest = command[len(verb) :].strip().lower()
        obj = _ARTICLES.sub("", re.split(r"\s+(?:from|with|on|in|into)\s+", rest)[0]).strip()
        out: list[Triplet] = []
        if verb in {"take", "pick"} and obj:
            out.append(Triplet(obj, "in", "inventory"))
        elif verb == "drop" and obj and room:
            out.append(Triplet(obj, "in", room))
        elif verb in {"put", "insert"} and obj:
            m = re.search(r"\s(on|into|in)\s+(?:the\s+)?(.+)$", rest)
            if m:
                out.append(Triplet(obj, "on" if m.group(1) == "on" else "in", m.group(2)))
        elif verb in {"open", "close", "unlock", "lock"} and obj:
            out.append(
                Triplet(
                    obj, "is", {"open": "open", "close": "closed", "unlock": "closed"}.get(verb, "locked")
                )
            )
        for t in out:
            self.graph.add(t)

    def was_failed(self, command: str, room: str | None = None) -> bool:
        return ((room or self.room), command) in self.failed

    def failure_weight(self, command: str, room: str | None = None) -> float:
        """1 per refusal while nothing changed since; refusals before a change count half."""
        key = ((room or self.room), command)
        count = self.failures[key]
        if not count:
            return 0.0
        return float(count) if key in self.failed else count - 0.5

    def times_tried(self, command: str, room: str | None = None) -> int:
        return self.tried[((room or self.room), command)]


__all__ = ["Extractor", "WorldModel"]
