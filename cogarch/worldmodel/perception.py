"""Rule-based perception of text-adventure conventions into triplets.

What it reads (conventions of Inform-style games such as TextWorld, not of one game family):

- a room header ``-= Kitchen =-`` -> ``(you, at, kitchen)``; a move ``go north`` that changes the room ->
  ``(old, north, new)`` and, tentatively, ``(new, south, old)``;
- exits: the environment's ``go <dir>`` commands and sentences naming a direction -> ``(room, has exit, dir)``;
- "On the X you see A, B and C" -> ``(a, on, x)``; "The X contains A and B" -> ``(a, in, x)``;
  "You see a closed X" -> ``(x, in, room)`` and ``(x, is, closed)``; "You see a X" -> ``(x, in, room)``;
- the inventory text "You are carrying: A, B" -> ``(a, in, inventory)``.

An optional extractor (``WorldModel.extractor``, text -> triplets) can add triplets beyond these patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cogarch.worldmodel.graph import EXIT, Triplet
from cogarch.worldmodel.text import DIRECTIONS, room_header

_ARTICLE = re.compile(r"^(a|an|the|some|two|three|four)\s+", re.IGNORECASE)
_LIST_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_ON = re.compile(
    r"on (?:the )?([\w' -]+?),? (?:you |there is |there are )?(?:can )?(?:see|make out|spot|notice|find)?\s*"
    r"(?:a |an |some |the )?(.+?)(?:\.|$)",
    re.IGNORECASE,
)
_ON_SIMPLE = re.compile(
    r"\bon the ([\w' -]+?) (?:you (?:can )?(?:see|make out|spot|notice)|is|are) (.+?)(?:\.|$)", re.IGNORECASE
)
_CONTAINS = re.compile(r"\bthe ([\w' -]+?) contains (.+?)(?:\.|$)", re.IGNORECASE)
_SEE = re.compile(
    r"\b(?:you (?:can )?(?:see|make out|spot|notice|smell|rummage)|there is|there's|look over there,)\s+"
    r"(?:a |an |the )((?:closed |opened |open |locked )?[\w' -]+?)(?:\.|,|!| here| that| which|$)",
    re.IGNORECASE,
)
_CARRY = re.compile(r"you are carrying:?\s*(.+)", re.IGNORECASE | re.DOTALL)


def _items(text: str) -> list[str]:
    out = []
    for part in _LIST_SPLIT.split(text.strip().rstrip(".!")):
        part = _ARTICLE.sub("", part.strip().lower()).strip(" .!")
        if part and len(part.split()) <= 5 and part not in {"nothing", "empty"}:
            out.append(part)
    return out


def _state(name: str) -> tuple[str, str | None]:
    for adj in ("closed", "opened", "open", "locked"):
        if name.startswith(adj + " "):
            return name[len(adj) + 1 :], ("open" if adj == "opened" else adj)
    return name, None


@dataclass
class Perception:
    """What one observation says about the world."""

    room: str | None
    exits: list[str] = field(default_factory=list)
    in_room: list[Triplet] = field(default_factory=list)
    contents: dict[tuple[str, str], list[Triplet]] = field(default_factory=dict)
    states: list[Triplet] = field(default_factory=list)
    inventory: list[str] | None = None


def perceive(
    observation: str,
    *,
    admissible: list[str] | tuple[str, ...] = (),
    inventory_text: str | None = None,
    description: str | None = None,
) -> Perception:
    """Parse an observation (and the environment's room description and inventory, when offered)."""
    text = description or observation
    room = room_header(observation) or room_header(text)
    p = Perception(room=room)
    dirs = {c.split()[1] for c in admissible if c.startswith("go ") and len(c.split()) == 2}
    for d in DIRECTIONS:
        if re.search(rf"\b{d}\b", text.lower()) and d in {"north", "south", "east", "west"}:
            dirs.add(d)
    p.exits = sorted(dirs & set(DIRECTIONS))
    if room is not None and room_header(text):
        body = text.split("=-", 1)[-1]
        for sent in re.split(r"(?<=[.!?])\s+", body.replace("\n", " ")):
            m = _CONTAINS.search(sent)
            if m:
                holder = _ARTICLE.sub("", m.group(1).lower()).strip()
                p.contents[("in", holder)] = [Triplet(i, "in", holder) for i in _items(m.group(2))]
                continue
            m = _ON_SIMPLE.search(sent)
            if m:
                holder = _ARTICLE.sub("", m.group(1).lower()).strip()
                p.contents[("on", holder)] = [Triplet(i, "on", holder) for i in _items(m.group(2))]
                continue
            for m in _SEE.finditer(sent):
                name = m.group(1).strip().lower()
                if any(d in name.split() for d in DIRECTIONS) or (
                    name.startswith(("exit", "way", "door")) and False
                ):
                    continue
                if re.search(r"\b(exit|entranceway|passageway|doorway|path|corridor to)\b", name):
                    continue
                name, state = _state(name)
                if len(name.split()) > 4:
                    continue
                p.in_room.append(Triplet(name, "in", room))
                if state:
                    p.states.append(Triplet(name, "is", state))
            m2 = re.search(r"the ([\w' -]+?) is empty", sent, re.IGNORECASE)
            if m2:
                holder = _ARTICLE.sub("", m2.group(1).lower()).strip()
                p.contents.setdefault(("in", holder), [])
    inv = inventory_text
    if inv is not None:
        if "carrying nothing" in inv.lower():
            p.inventory = []
        else:
            m = _CARRY.search(inv)
            if m:
                p.inventory = [_state(i)[0] for i in _items(m.group(1).replace("\n", ", "))]
    return p


def exit_triplets(room: str, exits: list[str]) -> list[Triplet]:
    return [Triplet(room, EXIT, d) for d in exits]


__all__ = ["Perception", "exit_triplets", "perceive"]
