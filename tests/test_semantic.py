"""The semantic layer's pure parts: the ontology, the offline parser, persona induction."""

from __future__ import annotations

import pytest

from memory.nlp import available
from memory.records import Fact, Scene
from memory.semantic.base import Statement, Triple
from memory.semantic.ontology import canonical, excluded_by, render, single_valued
from memory.semantic.persona import Support, induce

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


@needs_spacy
def test_names_in_other_clause_shapes_and_coreference() -> None:
    assert ("bob", "aunt", "Wilma", False) in extract("Meet Wilma, my aunt.")
    assert ("bob", "uncle", "Horst", False) in extract("Horst, my uncle, lives in Kiel.")
    assert ("Horst", "lives_in", "Kiel", False) in extract("There's my uncle Horst, who lives in Kiel.")
    assert ("bob", "has_pet", "Crumble", False) in extract("We have a hamster whose name is Crumble.")
    assert ("bob", "has_pet", "Crumble", False) in extract("I bought a hamster and named it Crumble.")
    assert ("bob", "has_pet", "Crumble", True) in extract("Our hamster Crumble had to be put down.")
    # "my sister" without a name is the one "she" stands for next
    assert ("bob's sister", "works_as", "nurse", False) in extract(
        "My sister lives in Oslo.", "She works as a nurse."
    )
    # "it" stands for the thing named before it; "it" with nothing before it states nothing
    assert ("bob", "dislikes", "karaoke", False) in extract("My friends sing karaoke and I detest it.")
    assert extract("I hate it when it rains.") == []


@needs_spacy
def test_more_english_for_the_same_relations() -> None:
    assert ("bob", "works_as", "pilot", False) in extract("Last year I became a pilot.")
    assert ("bob", "allergic_to", "cashews", False) in extract("I have an allergy to cashews.")
    assert ("bob", "allergic_to", "sesame", False) in extract("I've got a sesame allergy.")
    assert ("bob", "dislikes", "opera", False) in extract("I stopped liking opera.")
    # times are never objects; a taste of a time of day is a taste
    assert not [t for t in extract("I've been a chef for years.") if t[2] == "years"]
    assert ("bob", "dislikes", "mornings", False) in extract("I can't bear mornings.")


class _Matcher:
    """A stand-in for the embedder's matcher: the relation each pattern states, from a table."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.seen: list[str] = []

    def match(self, patterns: list[str]) -> list[object]:
        from memory.semantic.relations import Match

        self.seen.extend(patterns)
        return [Match(self.table[p], 0.8, 0.2) if p in self.table else None for p in patterns]


@needs_spacy
def test_sentences_the_lexicon_does_not_read_go_to_the_matcher_and_the_object_must_fit() -> None:
    from memory.semantic.parser import ParseExtractor

    def run(text: str, table: dict[str, str]) -> tuple[list[tuple[str, str, str]], list[str]]:
        matcher = _Matcher(table)
        out = ParseExtractor(matcher=matcher)([Statement("ep_0", text, "bob", T0)])  # type: ignore[arg-type]
        return [(t.subject, t.relation, t.object) for t in out], matcher.seen

    got, seen = run("Acme pays my salary.", {"X pays my salary.": "works_for"})
    assert got == [("bob", "works_for", "Acme")]
    # an occupation is a job, whatever part of work the sentence matched; a place needs a name
    got, _ = run("I spend my days as a welder.", {"I spend my days as a X.": "works_for"})
    assert ("bob", "works_as", "welder") in got
    got, seen = run("I feel at home in my little town.", {"I feel at home in my X.": "lives_in"})
    assert "I feel at home in my X." in seen and got == []
    # the polarity of a taste comes from the words, not the embedder
    got, _ = run("Karaoke bores me.", {"X bores me.": "likes"})
    assert got == [("bob", "dislikes", "Karaoke")]
    # read by the lexicon, about someone else, or hypothetical: never sent
    _, seen = run("I live in Lyon.", {})
    assert seen == []
    _, seen = run("The weather is lovely today.", {})
    assert seen == []
    _, seen = run("I would move to Oslo.", {})
    assert seen == []


@pytest.mark.integration
@needs_spacy
def test_the_bundled_embedder_matches_other_words_with_the_ontology() -> None:
    from memory.embedders import LocalEmbedder
    from memory.semantic.parser import ParseExtractor
    from memory.semantic.relations import RelationMatcher

    extractor = ParseExtractor(matcher=RelationMatcher(LocalEmbedder(batch_size=8)))
    texts = ["Quito is the city I call home.", "Acme pays my salary.", "I went to Paris last week."]
    out = extractor([Statement(f"ep_{i}", t, "bob", T0) for i, t in enumerate(texts)])
    got = {(t.source, t.relation, t.object) for t in out}
    assert ("ep_0", "lives_in", "Quito") in got
    assert ("ep_1", "works_for", "Acme") in got
    assert not [t for t in out if t.source == "ep_2"]  # a visit is not a home


def test_support_counts_each_scene_once_by_its_members_and_once_by_its_summary() -> None:
    fact = Fact("fa_1", "bob", "bob", "likes", "Opera", "bob likes opera", 0.0, None, 0.8, ("ep_1", "ep_2"))
    scenes = [
        Scene("sc_1", "bob", "a quiet week", ("ep_1", "ep_2")),  # both sources: one scene
        Scene("sc_2", "bob", "opera night", ("ep_2",)),  # a source, and it names the object
        Scene("sc_3", "bob", "the opera house", ("ep_9",)),  # names it only
        Scene("sc_4", "bob", "chess club", ("ep_8",)),
    ]
    assert Support(scenes)(fact) == 4
    assert Support([])(fact) == 0
    assert Support(scenes, episodes={"ep_1"})(fact) == 1 + 2  # only the given episodes' scenes are indexed
    # a summary naming the object twice counts once, at its start and at its end, and never across two summaries
    named = [
        Scene(f"sc_{i}", "bob", text, ()) for i, text in enumerate(["opera, opera", "op", "era", "la opera"])
    ]
    assert Support(named)(fact) == 2
