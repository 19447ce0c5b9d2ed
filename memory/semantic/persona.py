"""Persona induction (Bi-Mem's global profile) from current facts, calibrated by the scenes that mention them.

The persona of a namespace describes its owner (the subject whose id is the namespace, as the agent stores
each user's own words; otherwise the subject most facts are about) in fixed slots, each a short line:

| slot | from the owner's current facts |
|---|---|
| ``name`` | ``name`` |
| ``home`` | ``lives_in`` (and ``from``: "Porto (from Lyon)") |
| ``work`` | ``works_as`` at ``works_for``; ``studies`` at ``studies_at`` |
| ``family`` | kinship relations ("sister Greta, partner Anna") |
| ``pets`` | ``has_pet`` with the pet's kind ("Rufus (beagle)") |
| ``preferences`` | "likes ...; dislikes ..." |
| ``constraints`` | ``allergic_to``, ``avoids``, ``diet``, ``condition`` |
| ``plans`` | ``plans`` |

Calibration by scenes: a fact's support is the number of scenes holding one of its source episodes plus the
number of scenes whose summary names its object. Multi-valued slots list their items by support, then
confidence, then recency, and keep at most :data:`MAX_ITEMS`; an item whose fact is uncertain (confidence below
:data:`MIN_CONFIDENCE`) enters only when a scene supports it twice. The persona is recomputed from current
facts after every extraction, so a closed fact leaves it at once (a move changes ``home``).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from memory.records import Fact, Scene
from memory.semantic.ontology import category

MAX_ITEMS = 6
MIN_CONFIDENCE = 0.6
SLOTS = ("name", "home", "work", "family", "pets", "preferences", "constraints", "plans")


@dataclass(frozen=True)
class Slot:
    """One induced persona slot: its value line and the episodes it rests on."""

    slot: str
    value: str
    evidence: tuple[str, ...]


def owner_of(namespace: str, facts: Sequence[Fact]) -> str | None:
    """Whom the namespace's persona describes: the subject named like the namespace, else the most frequent
    subject of identity, home and work facts; None without facts."""
    subjects = Counter(f.subject for f in facts)
    for subject in subjects:
        if subject.lower() == namespace.lower():
            return subject
    personal = Counter(f.subject for f in facts if category(f.relation) in ("identity", "home", "work"))
    best = (personal or subjects).most_common(1)
    return best[0][0] if best else None


_SEPARATOR = "\x00"
"""Joins the summaries :class:`Support` searches (a character no summary's words contain)."""


class Support:
    """A fact's support: the scenes that hold one of its source episodes, plus the scenes whose summary names its
    object. The scenes are read once (which scenes hold each episode, of ``episodes`` only when given: the
    sources of the facts that will be asked about; the summaries lower-cased and joined), and each object's
    count is kept: a persona of F facts over S scenes costs one pass over the members, and one search of the
    joined summaries per distinct object (jumping to the next summary after each match), not F passes over
    every scene's members, nor a Python loop over every summary per object."""

    def __init__(self, scenes: Sequence[Scene], episodes: Collection[str] | None = None) -> None:
        self._holding: dict[str, set[int]] = {}
        for i, scene in enumerate(scenes):
            for member in scene.members:
                if episodes is None or member in episodes:
                    self._holding.setdefault(member, set()).add(i)
        self._summaries = [scene.summary.lower() for scene in scenes]
        self._joined = _SEPARATOR.join(self._summaries)
        self._starts = list(itertools.accumulate((len(t) + 1 for t in self._summaries), initial=0))
        self._naming: dict[str, int] = {}

    def __call__(self, fact: Fact) -> int:
        obj = fact.object.lower()
        if obj not in self._naming:
            self._naming[obj] = self._named_by(obj)
        holding: set[int] = set()
        for source in fact.sources:
            holding |= self._holding.get(source, set())
        return len(holding) + self._naming[obj]

    def _named_by(self, obj: str) -> int:
        """How many summaries contain ``obj``."""
        if not obj or _SEPARATOR in obj:
            return sum(obj in summary for summary in self._summaries)
        count, at = 0, self._joined.find(obj)
        # a match lies within one summary (the separator is not in obj): count it, go to the next summary
        while at >= 0:
            count += 1
            at = self._joined.find(obj, self._starts[bisect.bisect_right(self._starts, at)])
        return count


def induce(namespace: str, facts: Sequence[Fact], scenes: Sequence[Scene] = ()) -> list[Slot]:
    """The persona slots of ``namespace`` from its facts (current ones are used) and scenes (module docstring)."""
    current = [f for f in facts if f.valid_to is None]
    owner = owner_of(namespace, current)
    if owner is None:
        return []
    mine = [f for f in current if f.subject == owner]
    kinds = {f.subject.lower(): f.object for f in current if f.relation == "is_a" and f.object != "person"}
    support = Support(scenes, {source for f in mine for source in f.sources})

    def ranked(relations: Sequence[str] | None = None, cat: str | None = None) -> list[Fact]:
        chosen = [
            f
            for f in mine
            if (relations is not None and f.relation in relations)
            or (cat is not None and category(f.relation) == cat)
        ]
        backing = {f.id: support(f) for f in chosen}
        kept = [f for f in chosen if f.confidence >= MIN_CONFIDENCE or backing[f.id] >= 2]
        kept.sort(key=lambda f: (-backing[f.id], -f.confidence, -f.valid_from))
        unique: dict[tuple[str, str], Fact] = {}
        for f in kept:
            unique.setdefault((f.relation, f.object.lower()), f)
        return list(unique.values())[:MAX_ITEMS]

    def latest(relation: str) -> Fact | None:
        found = [f for f in mine if f.relation == relation]
        return max(found, key=lambda f: f.valid_from) if found else None

    out: list[Slot] = []

    def emit(slot: str, value: str, used: Sequence[Fact]) -> None:
        if value:
            evidence = tuple(dict.fromkeys(s for f in used for s in f.sources))
            out.append(Slot(slot, value, evidence))

    name = latest("name")
    if name is not None:
        emit("name", name.object, [name])
    home, origin = latest("lives_in"), latest("from")
    if home is not None or origin is not None:
        text = home.object if home is not None else ""
        if origin is not None:
            text = f"{text} (from {origin.object})" if text else f"from {origin.object}"
        emit("home", text, [f for f in (home, origin) if f is not None])
    job, employer = latest("works_as"), latest("works_for")
    study, school = latest("studies"), latest("studies_at")
    work = []
    if job is not None or employer is not None:
        work.append(" at ".join(f.object for f in (job, employer) if f is not None))
    if study is not None or school is not None:
        work.append("studies " + " at ".join(f.object for f in (study, school) if f is not None))
    emit("work", "; ".join(work), [f for f in (job, employer, study, school) if f is not None])
    family = ranked(cat="family") + ranked(cat="social")
    emit("family", ", ".join(f"{f.relation} {f.object}" for f in family), family)
    pets = ranked(["has_pet"])
    emit(
        "pets",
        ", ".join(
            f.object + (f" ({kinds[f.object.lower()]})" if f.object.lower() in kinds else "") for f in pets
        ),
        pets,
    )
    likes, dislikes = ranked(["likes"]), ranked(["dislikes"])
    parts = []
    if likes:
        parts.append("likes " + ", ".join(f.object for f in likes))
    if dislikes:
        parts.append("dislikes " + ", ".join(f.object for f in dislikes))
    emit("preferences", "; ".join(parts), likes + dislikes)
    health = ranked(cat="health")
    labels = {"allergic_to": "allergic to ", "avoids": "avoids ", "diet": "", "condition": ""}
    emit("constraints", "; ".join(labels.get(f.relation, "") + f.object for f in health), health)
    plans = ranked(["plans"])
    emit("plans", "; ".join(f.object for f in plans), plans)
    return out


__all__ = ["MAX_ITEMS", "MIN_CONFIDENCE", "SLOTS", "Slot", "Support", "induce", "owner_of"]
