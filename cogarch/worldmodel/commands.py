"""The shape of a text-adventure command: its verb, the things it names and the prepositions between them.

The environment's admissible commands are the agent's vocabulary of things: ``take oil can from workbench``
names "oil can" and "workbench". Nothing here knows a game's objects; it reads the command grammar that
Inform-style games share (``verb thing [preposition thing]``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cogarch.worldmodel.text import DIRECTIONS

_SPLIT = re.compile(r"\s+(from|with|on|onto|upon|in|into|inside|to|at)\s+")
LOCATIVE_PREPOSITIONS = frozenset({"on", "onto", "upon", "in", "into", "inside"})


@dataclass(frozen=True)
class Parsed:
    """A command's shape: its verb, its objects and the prepositions between them."""

    verb: str
    objects: tuple[str, ...]
    prepositions: tuple[str, ...]


@functools.lru_cache(maxsize=65536)
def parse_command(command: str) -> Parsed:
    """``put oil can on lamp stand`` -> verb ``put``, objects (``oil can``, ``lamp stand``), prepositions
    (``on``). Articles are dropped; a bare direction has no objects."""
    text = command.strip().lower()
    verb, _, rest = text.partition(" ")
    if not rest or (verb == "go" and rest in DIRECTIONS):
        return Parsed(verb, (), ())
    parts = _SPLIT.split(rest)
    objects = tuple(re.sub(r"^(?:the|a|an|some)\s+", "", p.strip()) for p in parts[0::2])
    return Parsed(verb, tuple(o for o in objects if o), tuple(parts[1::2]))


def placement(command: str) -> tuple[str, str] | None:
    """(thing, holder) when ``command`` places one thing in or on another, else None."""
    p = parse_command(command)
    if len(p.objects) == 2 and p.prepositions and p.prepositions[0] in LOCATIVE_PREPOSITIONS:
        return p.objects[0], p.objects[1]
    return None


def things_named(commands: Iterable[str]) -> set[str]:
    """The names of things in ``commands`` (directions excluded)."""
    out: set[str] = set()
    for c in commands:
        out |= {o for o in parse_command(c).objects if o not in DIRECTIONS}
    return out


__all__ = ["LOCATIVE_PREPOSITIONS", "Parsed", "parse_command", "placement", "things_named"]
