"""The relations of personal facts: a small ontology, with the rules that say when facts contradict.

A fact is ``(subject, relation, object)``. Canonical relations (below) carry a category (the persona slot they
feed), a cardinality and exclusions; any other relation is *open* (a snake_case verb phrase such as ``speaks``
or ``drives``): stored and recalled, never superseded by another value.

| category | relations | cardinality |
|---|---|---|
| identity | ``name``, ``age``, ``birthday``, ``nationality`` | single |
| identity | ``is_a`` (an entity's type: person, dog...) | multi |
| family | ``mother``, ``father``, ``partner`` (wife, husband, girlfriend, boyfriend, fiance) | single |
| family | ``sister``, ``brother``, ``sibling``, ``son``, ``daughter``, ``child``, ``parent``, ``cousin`` | multi |
| family | ``grandmother``, ``grandfather``, ``grandchild``, ``aunt``, ``uncle``, ``niece``, ``nephew`` | multi |
| social | ``friend``, ``colleague``, ``boss``, ``roommate``, ``neighbour`` | multi (``boss`` single) |
| home | ``lives_in`` (current home), ``from`` (where one grew up or was born) | single |
| work | ``works_as`` (occupation), ``works_for`` (employer), ``studies`` (subject), ``studies_at`` (school) | single |
| pets | ``has_pet`` (the pet's name, else its species) | multi |
| likes | ``likes`` (also hobbies and favourites) | multi, excludes ``dislikes`` |
| dislikes | ``dislikes`` | multi, excludes ``likes`` |
| health | ``allergic_to``, ``condition``, ``avoids`` (foods, drinks, habits); ``diet`` | multi (``diet`` single) |
| plans | ``plans`` (what one intends or is going to do) | multi |

World relations (:data:`WORLD`: where things are and how places connect, e.g. an agent's map of a text
game; not persona categories and not offered to an LLM extractor of personal facts):

| relations | cardinality |
|---|---|
| ``in``, ``on``, ``at`` (a thing's place) | single, and shared: a thing is in one place at a time |
| ``north`` ... ``southwest``, ``up``, ``down`` (the place that way) | single per direction |
| ``openness`` (open, closed, locked) | single |
| ``has_exit`` (a direction one can leave by) | multi |

Contradiction (Graphiti's rule, per namespace): a new fact contradicts the current facts with the same
subject and a single-valued relation (or one sharing its value, :func:`shares_value_with`) but another
object, and the current facts with the same subject and object under a relation it excludes (liking what one
disliked). Contradicted facts are closed, never deleted.
A *closing* statement ("I don't live in Lyon anymore", "I quit my job", "Rufus died") closes the current facts
it names without asserting a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Category = Literal[
    "identity",
    "family",
    "social",
    "home",
    "work",
    "pets",
    "likes",
    "dislikes",
    "health",
    "plans",
    "world",
    "open",
]


@dataclass(frozen=True)
class Relation:
    """One canonical relation: its name, category, cardinality, exclusions and a description."""

    name: str
    category: Category
    single: bool
    description: str
    excludes: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()
    """Other single-valued relations holding the same one value of a subject (``in``/``on``/``at``: a thing
    is in one place at a time, whatever the preposition)."""


def _r(
    name: str, category: Category, single: bool, description: str, excludes: tuple[str, ...] = ()
) -> Relation:
    return Relation(name, category, single, description, excludes)


KIN_SINGLE = ("mother", "father", "partner")
KIN_MULTI = (
    "sister",
    "brother",
    "sibling",
    "son",
    "daughter",
    "child",
    "grandmother",
    "grandfather",
    "grandchild",
    "aunt",
    "uncle",
    "cousin",
    "niece",
    "nephew",
    "parent",
)
SOCIAL = ("friend", "colleague", "roommate", "neighbour")

RELATIONS: dict[str, Relation] = {
    r.name: r
    for r in [
        _r("name", "identity", True, "the person's name"),
        _r("age", "identity", True, "the person's age in years"),
        _r("birthday", "identity", True, "the person's birthday"),
        _r("nationality", "identity", True, "the person's nationality"),
        _r("is_a", "identity", False, "what kind of entity it is (person, dog, ...)"),
        *[_r(k, "family", True, f"the person's {k}") for k in KIN_SINGLE],
        *[_r(k, "family", False, f"one of the person's {k}s") for k in KIN_MULTI],
        *[_r(k, "social", False, f"one of the person's {k}s") for k in SOCIAL],
        _r("boss", "social", True, "the person's boss"),
        _r("lives_in", "home", True, "where the person lives now"),
        _r("from", "home", True, "where the person comes from, grew up or was born"),
        _r("works_as", "work", True, "the person's occupation or job title"),
        _r("works_for", "work", True, "the organisation the person works for"),
        _r("studies", "work", True, "what the person studies"),
        _r("studies_at", "work", True, "the school or university the person attends"),
        _r("has_pet", "pets", False, "a pet the person has"),
        _r(
            "likes",
            "likes",
            False,
            "something the person likes, loves, enjoys or does as a hobby",
            ("dislikes",),
        ),
        _r("dislikes", "dislikes", False, "something the person dislikes or hates", ("likes",)),
        _r("allergic_to", "health", False, "something the person is allergic to"),
        _r("condition", "health", False, "a health condition the person has"),
        _r("avoids", "health", False, "food, drink or habits the person avoids"),
        _r("diet", "health", True, "the person's diet (vegetarian, vegan, ...)"),
        _r("plans", "plans", False, "something the person plans or intends to do"),
    ]
}

PLACE = ("in", "on", "at")
DIRECTIONS = (
    "north",
    "south",
    "east",
    "west",
    "up",
    "down",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
)

WORLD: dict[str, Relation] = {
    r.name: r
    for r in [
        *[
            Relation(p, "world", True, f"the place a thing is {p}", shares=tuple(o for o in PLACE if o != p))
            for p in PLACE
        ],
        *[Relation(d, "world", True, f"the place one reaches going {d}") for d in DIRECTIONS],
        Relation("openness", "world", True, "whether a thing is open, closed or locked"),
        Relation("has_exit", "world", False, "a direction one can leave a place by"),
    ]
}
"""Relations of a world's state (module docstring): kept apart from :data:`RELATIONS`, the personal facts an
extractor is asked for."""


PHRASINGS: dict[str, tuple[str, ...]] = {
    "name": ("My name is X.", "I am called X."),
    "lives_in": ("I live in X.", "X is where I live now.", "My home is in X.", "I moved to X."),
    "from": ("I come from X.", "I was born and raised in X."),
    "works_as": ("I work as X.", "X is my occupation."),
    "works_for": ("I work for X.", "X is the company I work at."),
    "likes": ("I like X.", "I love X.", "I enjoy X."),
    "dislikes": ("I dislike X.", "I hate X."),
    "allergic_to": ("I am allergic to X.", "X causes me an allergy."),
    "plans": ("I plan to X.", "I intend to X in the future."),
}
"""First-person phrasings of the relations a sentence about oneself states with one object ``X``: what
:mod:`memory.semantic.relations` compares a sentence with when the parser's lexicon has no frame for it."""


KIN_WORDS = {
    **{k: k for k in (*KIN_SINGLE, *KIN_MULTI, *SOCIAL, "boss")},
    "mom": "mother",
    "mum": "mother",
    "mommy": "mother",
    "mama": "mother",
    "dad": "father",
    "daddy": "father",
    "papa": "father",
    "wife": "partner",
    "husband": "partner",
    "spouse": "partner",
    "girlfriend": "partner",
    "boyfriend": "partner",
    "fiance": "partner",
    "fiancé": "partner",
    "fiancee": "partner",
    "fiancée": "partner",
    "sis": "sister",
    "bro": "brother",
    "kid": "child",
    "grandma": "grandmother",
    "granny": "grandmother",
    "grandpa": "grandfather",
    "granddad": "grandfather",
    "grandson": "grandchild",
    "granddaughter": "grandchild",
    "stepmother": "mother",
    "stepfather": "father",
    "stepsister": "sister",
    "stepbrother": "brother",
    "coworker": "colleague",
    "co-worker": "colleague",
    "workmate": "colleague",
    "flatmate": "roommate",
    "housemate": "roommate",
    "neighbor": "neighbour",
    "manager": "boss",
    "bestie": "friend",
    "buddy": "friend",
    "pal": "friend",
}
"""Kinship and social nouns (lower-case lemma) -> relation."""

ALIASES = {
    "moved_to": "lives_in",
    "relocated_to": "lives_in",
    "resides_in": "lives_in",
    "lives_at": "lives_in",
    "home": "lives_in",
    "home_city": "lives_in",
    "city": "lives_in",
    "location": "lives_in",
    "hometown": "from",
    "comes_from": "from",
    "born_in": "from",
    "grew_up_in": "from",
    "works_at": "works_for",
    "employed_by": "works_for",
    "employer": "works_for",
    "company": "works_for",
    "job": "works_as",
    "occupation": "works_as",
    "profession": "works_as",
    "job_title": "works_as",
    "is_employed_as": "works_as",
    "pet": "has_pet",
    "owns_pet": "has_pet",
    "loves": "likes",
    "enjoys": "likes",
    "hobby": "likes",
    "favorite": "likes",
    "favourite": "likes",
    "hates": "dislikes",
    "allergy": "allergic_to",
    "health_condition": "condition",
    "plans_to": "plans",
    "intends_to": "plans",
    "type": "is_a",
    "instance_of": "is_a",
    "full_name": "name",
    "called": "name",
    "spouse": "partner",
    "wife": "partner",
    "husband": "partner",
    "girlfriend": "partner",
    "boyfriend": "partner",
}
"""Other spellings of canonical relations (what an LLM or a caller may write) -> canonical name."""


def snake(text: str) -> str:
    """``"Lives In"`` -> ``lives_in``: lower case, non-alphanumerics collapsed to ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def canonical(relation: str) -> str:
    """The canonical name of ``relation`` (``"moved to"`` -> ``lives_in``, ``"Sister"`` -> ``sister``);
    an open relation comes back in snake_case."""
    rel = snake(relation)
    for prefix in ("has_", "is_", "my_", "the_"):  # has_sister, is_sister_of
        core = rel.removeprefix(prefix).removesuffix("_of")
        if core in KIN_WORDS and rel != "has_pet":
            return KIN_WORDS[core]
    rel = ALIASES.get(rel, rel)
    return KIN_WORDS.get(rel, rel)


def relation(name: str) -> Relation | None:
    """The canonical relation of personal facts called ``name``, or None (an open or a world relation)."""
    return RELATIONS.get(name)


def _known(name: str) -> Relation | None:
    return RELATIONS.get(name) or WORLD.get(name)


def single_valued(name: str) -> bool:
    """Whether a subject has at most one current value of this relation (open relations: no)."""
    found = _known(name)
    return found is not None and found.single


def shares_value_with(name: str) -> tuple[str, ...]:
    """The other relations whose current value a new ``name`` fact replaces (``on`` replaces ``in``: a thing
    is in one place at a time)."""
    found = _known(name)
    return found.shares if found is not None else ()


def excluded_by(name: str) -> tuple[str, ...]:
    """Relations whose current fact with the same subject and object a new ``name`` fact contradicts."""
    found = _known(name)
    return found.excludes if found is not None else ()


def category(name: str) -> Category:
    """The category (persona slot family) of a relation; ``open`` for relations outside the ontology."""
    found = _known(name)
    return found.category if found is not None else "open"


_TEMPLATES = {
    "name": "{s}'s name is {o}",
    "age": "{s} is {o} years old",
    "birthday": "{s}'s birthday is {o}",
    "nationality": "{s} is {o}",
    "is_a": "{s} is a {o}",
    "lives_in": "{s} lives in {o}",
    "from": "{s} is from {o}",
    "works_as": "{s} works as {o}",
    "works_for": "{s} works for {o}",
    "studies": "{s} studies {o}",
    "studies_at": "{s} studies at {o}",
    "has_pet": "{s} has a pet, {o}",
    "likes": "{s} likes {o}",
    "dislikes": "{s} dislikes {o}",
    "allergic_to": "{s} is allergic to {o}",
    "condition": "{s} has {o}",
    "avoids": "{s} avoids {o}",
    "diet": "{s} is {o}",
    "plans": "{s} plans to {o}",
    **{p: "{s} is " + p + " {o}" for p in PLACE},
    **{d: "{o} is " + d + (" from " if d in ("up", "down") else " of ") + "{s}" for d in DIRECTIONS},
    "openness": "{s} is {o}",
    "has_exit": "{s} has an exit to the {o}",
}


def render(subject: str, relation_name: str, obj: str) -> str:
    """The fact as a plain sentence (``bob lives in Porto``), what is embedded and shown."""
    template = _TEMPLATES.get(relation_name)
    if template is None and category(relation_name) in ("family", "social"):
        template = "{s}'s " + relation_name + " is {o}"
    if template is None:
        template = "{s} " + relation_name.replace("_", " ") + " {o}"
    return template.format(s=subject, o=obj)


__all__ = [
    "ALIASES",
    "KIN_WORDS",
    "PHRASINGS",
    "RELATIONS",
    "WORLD",
    "Category",
    "Relation",
    "canonical",
    "category",
    "excluded_by",
    "relation",
    "render",
    "shares_value_with",
    "single_valued",
    "snake",
]
