"""The semantic layer's pure parts: the ontology, the offline parser, persona induction."""

from __future__ import annotations

import pytest

from memory.nlp import available
from memory.records import Fact, Scene
from memory.semantic.base import Statement, Triple
from memory.semantic.ontology import canonical, excluded_by, render, single_valued
from memory.semantic.persona import induce

T0 = 1_718_200_000.0  # Wed 12 Jun 2024
DAY = 86400.0


def test_canonical_relations_and_their_rules() -> None:
    assert canonical("moved to") == "lives_in"
    assert canonical("has_sister") == "sister"
    assert canonical("Wife") == "partner"
    assert canonical("plays chess with") == "plays_chess_with"  # open relations stay, snake-cased
    assert single_valued("lives_in") and single_valued("works_as") and not single_valued("likes")
    assert not single_valued("speaks") and excluded_by("likes") == ("dislikes",)
    assert render("bob", "sister", "Greta") == "bob's sister is Greta"


needs_spacy = pytest.mark.skipif(not available(), reason="no spaCy English pipeline installed")


def extract(*texts: str, speaker: str = "bob") -> list[tuple[str, str, str, bool]]:
    from memory.semantic.parser import ParseExtractor

    out = ParseExtractor()([Statement(f"ep_{i}", t, speaker, T0 + i) for i, t in enumerate(texts)])
    return [(t.subject, t.relation, t.object, t.closes) for t in out]


def triples(*texts: str) -> list[Triple]:
    from memory.semantic.parser import ParseExtractor

    return ParseExtractor()([Statement(f"ep_{i}", t, "bob", T0) for i, t in enumerate(texts)])


@needs_spacy
def test_subjects_are_resolved_and_kin_are_people() -> None:
    got = extract("My sister Greta lives in Hamburg.")
    assert ("bob", "sister", "Greta", False) in got
    assert ("Greta", "is_a", "person", False) in got
    assert ("Greta", "lives_in", "Hamburg", False) in got
    assert ("bob", "partner", "Anna", False) in extract("Anna is my wife.")
    assert ("Anna", "works_as", "dentist", False) in extract(
        "My wife is called Anna.", "She works as a dentist."
    )


@needs_spacy
def test_work_home_pets_likes_health_and_plans() -> None:
    got = extract(
        "I work as a sound engineer.",
        "I live in Lyon.",
        "We adopted a beagle named Rufus.",
        "I'm a big fan of jazz and I can't stand mushrooms.",
        "I'm allergic to peanuts.",
        "I'm planning to visit Japan next spring.",
    )
    for fact in [
        ("bob", "works_as", "sound engineer"),
        ("bob", "lives_in", "Lyon"),
        ("bob", "has_pet", "Rufus"),
        ("Rufus", "is_a", "beagle"),
        ("bob", "likes", "jazz"),
        ("bob", "dislikes", "mushrooms"),
        ("bob", "allergic_to", "peanuts"),
        ("bob", "plans", "visit Japan"),
    ]:
        assert (*fact, False) in got


@needs_spacy
def test_closing_statements_and_negation() -> None:
    assert ("bob", "lives_in", "Lyon", True) in extract("I don't live in Lyon anymore.")
    quit_job = extract("I quit my job and now I work as a teacher.")
    assert ("bob", "works_as", "", True) in quit_job and ("bob", "works_as", "teacher", False) in quit_job
    assert ("bob", "dislikes", "coffee", False) in extract("I don't like coffee anymore.")
    assert ("bob", "has_pet", "Rufus", True) in extract("Our dog Rufus died last month.")


@needs_spacy
def test_valid_time_comes_from_the_statement() -> None:
    moved = next(t for t in triples("I moved to Porto last week.") if t.relation == "lives_in")
    assert T0 - 10 * DAY < moved.valid_from < T0 - 6 * DAY and moved.valid_to is None
    past = next(t for t in triples("I used to live in Berlin.") if t.relation == "lives_in")
    assert past.valid_to is not None  # a past state: closed when stored
    plan = extract("I'm moving to Berlin next month.")
    assert ("bob", "plans", "moving to Berlin", False) in plan or any(r == "plans" for _, r, _, _ in plan)
    assert not any(r == "lives_in" for _, r, _, _ in plan)  # a future move is not yet where one lives


@needs_spacy
def test_questions_small_talk_and_hypotheticals_state_nothing() -> None:
    assert (
        extract(
            "Where do you live?",
            "The weather is lovely today.",
            "If I lived in Paris I would be happy.",
            "I would love to live in Rome.",
            "I went to the cinema yesterday.",
            "Thanks for the chat!",
        )
        == []
    )


def fact(
    fid: str,
    subject: str,
    relation: str,
    obj: str,
    *,
    t: float = T0,
    to: float | None = None,
    conf: float = 0.8,
) -> Fact:
    return Fact(
        fid, "bob", subject, relation, obj, f"{subject} {relation} {obj}", t, to, conf, (f"ep_{fid}",)
    )


def test_persona_from_current_facts_follows_a_change() -> None:
    facts = [
        fact("1", "bob", "name", "Bob"),
        fact("2", "bob", "lives_in", "Lyon", to=T0 + DAY),
        fact("3", "bob", "lives_in", "Porto", t=T0 + DAY),
        fact("4", "bob", "works_as", "teacher"),
        fact("5", "bob", "sister", "Greta"),
        fact("6", "bob", "has_pet", "Rufus"),
        fact("7", "Rufus", "is_a", "beagle"),
        fact("8", "bob", "likes", "jazz"),
        fact("9", "bob", "dislikes", "mushrooms"),
        fact("10", "bob", "allergic_to", "peanuts"),
        fact("11", "Greta", "lives_in", "Hamburg"),
    ]
    slots = {s.slot: s.value for s in induce("bob", facts)}
    assert slots == {
        "name": "Bob",
        "home": "Porto",
        "work": "teacher",
        "family": "sister Greta",
        "pets": "Rufus (beagle)",
        "preferences": "likes jazz; dislikes mushrooms",
        "constraints": "allergic to peanuts",
    }


def test_persona_items_are_ordered_by_scene_support_and_uncertain_ones_need_it() -> None:
    facts = [
        fact("1", "bob", "likes", "chess", conf=0.8),
        fact("2", "bob", "likes", "opera", conf=0.8),
        fact("3", "bob", "likes", "knitting", conf=0.5),
    ]
    scenes = [
        Scene("sc_1", "bob", "About opera, evenings", ("ep_x",)),
        Scene("sc_2", "bob", "opera night", ("ep_2",)),
    ]
    assert {s.slot: s.value for s in induce("bob", facts, scenes)}["preferences"] == "likes opera, chess"
    scenes.append(Scene("sc_3", "bob", "knitting club", ("ep_3",)))
    assert "knitting" in {s.slot: s.value for s in induce("bob", facts, scenes)}["preferences"]
