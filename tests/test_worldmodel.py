"""World model: perception of text-adventure conventions, replacement of outdated triplets, path-finding,
plan matching, accuracy mapping."""

from __future__ import annotations

from cogarch.episodes.plan import Plan, match
from cogarch.worldmodel import Triplet, TripletGraph, WorldModel, perceive, world_model_accuracy
from cogarch.worldmodel.text import clean_feedback, content_words, lemma, words

KITCHEN = (
    "-= Kitchen =-\nYou arrive in a kitchen.\n\nYou can see a closed fridge. You see a table. On the table you "
    "make out a cookbook and a knife. The counter contains a red onion and a carrot.\n\n"
    "There is an exit to the north. You don't like doors? Why not try going west."
)


def test_perceive_room_objects_and_exits() -> None:
    p = perceive(KITCHEN, admissible=["go north", "go west", "look"])
    assert p.room == "kitchen"
    assert set(p.exits) == {"north", "west"}
    assert Triplet("fridge", "in", "kitchen") in p.in_room
    assert Triplet("fridge", "is", "closed") in p.states
    assert {t.subject for t in p.contents[("on", "table")]} == {"cookbook", "knife"}
    assert {t.subject for t in p.contents[("in", "counter")]} == {"red onion", "carrot"}


def test_inventory_and_clean_feedback() -> None:
    p = perceive("x", inventory_text="You are carrying:\n  a knife\n  a red apple")
    assert p.inventory == ["knife", "red apple"]
    assert clean_feedback("You take it.\n\n\n>    -= Kitchen =-0/3") == "You take it."


def test_outdated_triplets_are_replaced() -> None:
    g = TripletGraph()
    g.add(Triplet("knife", "on", "table"))
    g.add(Triplet("knife", "in", "inventory"))
    assert g.about("knife") == [Triplet("knife", "in", "inventory")]
    g.add(Triplet("fridge", "is", "closed"))
    g.add(Triplet("fridge", "is", "open"))
    assert Triplet("fridge", "is", "closed") not in g.triplets


def test_world_model_moves_paths_and_frontier() -> None:
    wm = WorldModel()
    wm.observe(KITCHEN, admissible=["go north", "go west"])
    wm.observe(
        "-= Pantry =-\nA pantry. There is an exit to the south.",
        admissible=["go south"],
        command="go north",
    )
    assert wm.room == "pantry"
    assert wm.graph.path("pantry", "kitchen") == ["south"]
    assert wm.graph.path("kitchen", "pantry") == ["north"]
    assert wm.graph.frontier_path("pantry") == ["south", "west"]
    wm.observe("You can't go that way.", admissible=["go south"], command="go east")
    assert wm.was_failed("go east", "pantry")


def test_plan_matching_is_generic_language() -> None:
    # no synonym table: the direction or the thing matches, the verb in other words lowers the match (the
    # LLM weighs such steps), a wrong direction never matches
    trip = set(content_words("Make an attempt to take a trip west."))
    assert 0.5 <= match("go west", trip) < 1.0
    assert match("go east", trip) == 0.0
    assert 0.5 <= match("take teaspoon", set(content_words("pick-up the teaspoon from the floor"))) < 1.0
    # inflections come from the lexicon: plurals and participles meet their lemma
    said = {lemma(w) for w in words("Take the baskets of eggs")}  # "take" is a stop word, but said
    assert match("take basket of eggs", set(content_words("Take the baskets of eggs")), said=said) == 1.0
    assert match("roast carrot with oven", set(content_words("The carrots are roasted"))) > 0.0
    plan = Plan()
    plan.add_text("First, go north. Then, travel east.")
    plan.set_known({"go", "north", "east"})
    assert plan.current is not None and "north" in plan.current.words
    plan.progress("go north", True, 0.0)
    assert plan.current is not None and "east" in plan.current.words


def test_accuracy_mapping() -> None:
    facts = [
        ("at", ("P", "kitchen")),
        ("at", ("fridge", "kitchen")),
        ("in", ("carrot", "fridge")),
        ("north_of", ("pantry", "kitchen")),
        ("open", ("fridge",)),
        ("in", ("knife", "I")),
    ]
    mine = [
        Triplet("you", "at", "kitchen"),
        Triplet("fridge", "in", "kitchen"),
        Triplet("raw carrot", "in", "fridge"),
        Triplet("kitchen", "north", "pantry"),
        Triplet("fridge", "is", "open"),
        Triplet("spoon", "in", "kitchen"),
    ]
    acc = world_model_accuracy(mine, facts)
    assert acc.agent_triplets == 6 and acc.true_facts == 6
    assert abs(acc.precision - 5 / 6) < 1e-9
    assert abs(acc.recall - 5 / 6) < 1e-9


def test_lemmas_come_from_the_lexicon() -> None:
    assert [lemma(w) for w in ("eggs", "knives", "roasted", "sliced", "fried", "stood")] == [
        "egg",
        "knife",
        "roast",
        "slice",
        "fry",
        "stand",
    ]
    assert content_words("Stand the oil can on the lamp stand") == ["stand", "oil", "lamp", "stand"]


def test_plan_sees_done_steps_through_participles() -> None:
    plan = Plan()
    plan.add_text("Slice the yellow potato.\nFry the yellow potato.")
    plan.set_known({"potato", "yellow"})
    plan.mark_satisfied({"sliced yellow potato"})
    assert [s.done for s in plan.steps] == [True, False]


def test_a_verb_inside_a_name_is_not_asked_for() -> None:
    plan = Plan()
    plan.add_text("dice the pork chop\nchop the yellow potato")
    plan.set_known({"pork", "chop", "potato", "yellow", "dice"})
    assert not plan.asks_for("chop pork chop with knife")
    assert plan.asks_for("dice pork chop with knife")
    assert plan.asks_for("chop yellow potato with knife")
