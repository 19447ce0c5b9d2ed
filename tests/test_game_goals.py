"""Goals read from an objective in plain words, command shapes, and ablations that remove only memory."""

from __future__ import annotations

from cogarch.episodes.goals import Goal, placement_goals
from cogarch.episodes.plan import Plan
from cogarch.episodes.policy import GameContext, WorldModelPolicy
from cogarch.worldmodel.commands import parse_command, placement, things_named

HALL = "-= Hall =-\nA narrow hall. A writing table stands by the wall. An oak door leads east."


def test_command_shapes() -> None:
    p = parse_command("take the oil can from workbench")
    assert (p.verb, p.objects, p.prepositions) == ("take", ("oil can", "workbench"), ("from",))
    assert placement("put oil can on lamp stand") == ("oil can", "lamp stand")
    assert placement("insert logbook into keeper's desk") == ("logbook", "keeper's desk")
    assert placement("unlock door with key") is None and placement("go north") is None
    assert things_named(["go east", "open sea chest", "take coin from sea chest"]) == {"sea chest", "coin"}


def test_placement_goals_from_plain_words() -> None:
    things = {"oil can", "lamp stand", "logbook", "keeper's desk", "workbench", "desk"}
    objective = (
        "The lamp has run dry. Carry the oil can over to the tower and stand it on the lamp stand, "
        "then file the logbook away in the keeper's desk."
    )
    assert placement_goals(objective, things) == [
        Goal("oil can", "lamp stand"),
        Goal("logbook", "keeper's desk"),
    ]
    # inflected mentions find their things; a thing named without a holder is no placement goal
    assert placement_goals(
        "Leave the baskets of eggs on the kitchen tables.", {"basket of eggs", "kitchen table"}
    ) == [Goal("basket of eggs", "kitchen table")]
    assert placement_goals("Find the coin.", {"coin", "table"}) == []


def _ctx(observation: str, admissible: list[str], step: int) -> GameContext:
    return GameContext(
        observation,
        admissible,
        {"objective": "Lay the silver coin on the writing table.", "inventory": "You are carrying nothing."},
        step=step,
    )


def test_a_goal_command_wins_and_the_no_memory_ablation_keeps_the_rules() -> None:
    admissible = ["examine writing table", "open oak door", "put silver coin on writing table", "look"]
    for ablation in ("full", "no-memory"):
        policy = WorldModelPolicy(ablation, seed=0)  # type: ignore[arg-type]
        assert policy.choose(_ctx(HALL, admissible, 0)) == "put silver coin on writing table"
    # without the goal the exploration rules still hold in the ablation: an unopened door before looking
    for ablation in ("full", "no-memory"):
        policy = WorldModelPolicy(ablation, seed=0)  # type: ignore[arg-type]
        assert policy.choose(_ctx(HALL, ["open oak door", "look", "inventory"], 0)) == "open oak door"


def test_no_memory_forgets_between_steps_and_full_remembers() -> None:
    pantry = "-= Pantry =-\nShelves. The hall is back to the west."
    full, bare = WorldModelPolicy("full"), WorldModelPolicy("no-memory")
    for policy in (full, bare):
        policy.choose(_ctx(HALL, ["go east", "look"], 0))
        policy.observe(_ctx(HALL, [], 0), "go east", pantry, 0.0, False)
        policy.choose(_ctx(pantry, ["go west", "look"], 1))
    assert full.world.graph.path("pantry", "hall") == ["west"]
    assert "hall" in full.world.graph.rooms()
    assert "hall" not in bare.world.graph.rooms()  # the map is memory: the ablation keeps none


class _EaterLLM:
    """Option scoring that always prefers eating."""

    name = "eater"

    def score_options(self, messages: object, options: list[str], *, normalize: bool = True) -> list[float]:
        return [1.0 if o.startswith("eat") else 0.0 for o in options]

    def complete(self, messages: object, options: object = None) -> object:
        raise NotImplementedError

    def stream(self, messages: object, options: object = None) -> object:
        raise NotImplementedError


def test_a_step_in_other_words_is_read_by_the_llm_only_at_its_things_last_use() -> None:
    kitchen = "-= Kitchen =-\nA kitchen."
    admissible = ["eat tomato", "drop tomato", "examine tomato", "look"]
    for objective, expect_eat in (
        ("Grill the tomato. Slice the tomato.", False),  # another step still needs the tomato
        ("Enjoy the tomato.", True),
    ):
        policy = WorldModelPolicy("full", seed=0)
        ctx = GameContext(
            kitchen,
            admissible,
            {"objective": objective, "inventory": "You are carrying: a tomato"},
            llm=_EaterLLM(),
        )
        assert (policy.choose(ctx) == "eat tomato") is expect_eat


def test_a_step_is_done_only_by_a_command_that_carries_it_out() -> None:
    """ "take tomato" (rewarded) carries out the list line "tomato", not "chop the tomato" too; a move in the
    direction a step names carries it out in other words; the step's own verb does."""
    plan = Plan()
    plan.add_text("Ingredients:\ntomato\nDirections:\nchop the tomato\ngrill the tomato")
    plan.set_known({"tomato"})
    plan.progress("take tomato", True, 1.0)
    done = [s.text for s in plan.steps if s.done]
    assert done == ["tomato"]
    plan.progress("chop tomato with knife", True, 1.0)
    assert [s.text for s in plan.steps if s.done] == ["tomato", "chop the tomato"]
    trip = Plan()
    trip.add_text("Take a trip west.")
    trip.set_known({"west", "trip"})
    trip.progress("go west", True, 0.0)
    assert trip.steps[0].done
