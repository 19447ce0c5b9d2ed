"""CoAT search with ScriptedLLM: UCT, backpropagation, associations in prompts, budgets, judge, determinism,
environment mode, exports and events."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from reasoning.config import SearchSettings
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import InvalidInputError, StructuredOutputError
from reasoning.llm import Completion, GenerationOptions, Message
from reasoning.search import (
    Association,
    CoATSearch,
    Evaluation,
    GenerativeAssociator,
    LexicalAssociator,
    LLMJudge,
    OptionScoringJudge,
    SearchEvent,
    SearchResult,
)
from reasoning.search.coat import ANSWER_MAX_TOKENS, answer_facts, chain_facts
from reasoning.search.thoughts import ANSWER_SYSTEM, clean_thought, parse_answer, spell_as
from reasoning.search.tree import (
    Node,
    add_child,
    backpropagate,
    mark_exhausted,
    new_tree,
    select,
    uct_score,
    update_node,
)


def settings(**kw: object) -> SearchSettings:
    return SearchSettings.model_validate(kw)


def counter_llm(prefix: str = "thought") -> ScriptedLLM:
    """Replies 'thought 1', 'thought 2', ... in call order (each a distinct, non-final thought)."""
    state = {"i": 0}

    def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
        state["i"] += 1
        return f"{prefix} {state['i']}"

    return ScriptedLLM(fn)


class TableEvaluator:
    """F_g from a table keyed by the last thought (default 0.1); F_a = mean association score."""

    def __init__(self, table: dict[str, float], default: float = 0.1) -> None:
        self.table = table
        self.default = default
        self.calls: list[tuple[str, list[str], list[Association], str | None]] = []

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        self.calls.append((question, list(path), list(associations), answer))
        score = self.table.get(path[-1], self.default)
        assoc = sum(a.score for a in associations) / len(associations) if associations else 0.0
        return Evaluation(score, assoc)


class FixedAssociator:
    """Every node gets the same associations."""

    def __init__(self, *found: Association) -> None:
        self.found = list(found)

    def __call__(self, question: str, path: Sequence[str]) -> list[Association]:
        return list(self.found)


# ---------------------------------------------------------------------------- pure tree functions


def test_uct_picks_the_expected_child() -> None:
    tree = new_tree("q")
    tree, a = add_child(tree, 0, Node(0, None, 0, "a", visits=2, value_sum=1.0))  # Q = 0.5
    tree, b = add_child(tree, 0, Node(0, None, 0, "b", visits=1, value_sum=0.4))  # Q = 0.4, less visited
    tree = with_root_visits(tree, 3)
    # UCT(a) = 0.5 + sqrt(ln 3 / 2) = 1.241; UCT(b) = 0.4 + sqrt(ln 3 / 1) = 1.448
    assert uct_score(tree, a, 1.0) == pytest.approx(0.5 + math.sqrt(math.log(3) / 2))
    assert uct_score(tree, b, 1.0) == pytest.approx(0.4 + math.sqrt(math.log(3)))
    assert select(tree, 1.0) == b
    # with no exploration the better mean wins
    assert select(tree, 0.0) == a


def with_root_visits(tree, visits):  # type: ignore[no-untyped-def]

    return update_node(tree, replace(tree.root, visits=visits))


def test_select_skips_exhausted_children_and_returns_none_when_all_are() -> None:
    tree = new_tree("q")
    tree, a = add_child(tree, 0, Node(0, None, 0, "a", visits=1, value_sum=0.9))
    tree, b = add_child(tree, 0, Node(0, None, 0, "b", visits=1, value_sum=0.1))
    tree = with_root_visits(tree, 2)
    tree = mark_exhausted(tree, a)
    assert select(tree, 1.0) == b
    tree = mark_exhausted(tree, b)
    assert tree.root.exhausted
    assert select(tree, 1.0) is None


def test_backpropagate_adds_a_visit_and_the_value_to_every_ancestor() -> None:
    tree = new_tree("q")
    tree, a = add_child(tree, 0, Node(0, None, 0, "a", visits=1, value_sum=0.3))
    tree, c = add_child(tree, a, Node(0, None, 0, "c", visits=1, value_sum=0.7))
    before = tree
    tree = backpropagate(tree, c, 0.7)
    assert [(n.visits, n.value_sum) for n in tree.nodes] == [(1, 0.7), (2, 1.0), (2, 1.4)]
    assert before.nodes[1].visits == 1  # the old value is untouched


# ---------------------------------------------------------------------------- the driver


def test_search_backpropagates_as_computed_by_hand() -> None:
    # iteration 1 expands the root into thought 1 (0.2) and thought 2 (0.8): root N=1, W=0.8
    # iteration 2 selects thought 2 (UCT 0.8 > 0.2, ln 1 = 0) and expands it into 3 (0.5) and 4 (0.6):
    #   thought 2: N=2, W=0.8+0.6=1.4; root: N=2, W=1.4
    evaluator = TableEvaluator({"thought 1": 0.2, "thought 2": 0.8, "thought 3": 0.5, "thought 4": 0.6})
    search = CoATSearch(
        counter_llm(),
        evaluator=evaluator,
        settings=settings(max_nodes=4, branching=2, max_depth=4),
        conclude=False,
    )
    result = search.run("what?")
    nodes = result.tree.nodes
    assert [n.thought for n in nodes] == ["", "thought 1", "thought 2", "thought 3", "thought 4"]
    assert nodes[3].parent == 2 and nodes[4].parent == 2
    assert (nodes[0].visits, nodes[0].value_sum) == (2, pytest.approx(1.4))
    assert (nodes[2].visits, nodes[2].value_sum) == (2, pytest.approx(1.4))
    assert (nodes[1].visits, nodes[1].value_sum) == (1, pytest.approx(0.2))
    assert (nodes[4].visits, nodes[4].value_sum) == (1, pytest.approx(0.6))
    assert result.stopped_by == "nodes"
    # no answer was stated: the best node is the highest-valued one, thought 2
    assert result.best_id == 2 and result.answer == "thought 2" and result.value == pytest.approx(0.8)
    # the next selection would go: root -> thought 2 (1.289 > 1.033) -> thought 4 (1.433 > 1.333)
    assert select(result.tree, 1.0) == 4


def test_associations_are_fetched_per_node_and_appear_in_the_next_prompts() -> None:
    calls: list[tuple[str, list[str]]] = []

    def associator(question: str, path: Sequence[str]) -> list[Association]:
        calls.append((question, list(path)))
        last = path[-1] if path else "the question"
        return [Association(f"fact about {last}", (f"id-{len(calls)}",), 0.5)]

    llm = counter_llm()
    evaluator = TableEvaluator({"thought 1": 0.9})
    search = CoATSearch(
        llm,
        associator=associator,
        evaluator=evaluator,
        settings=settings(max_nodes=3, branching=1, recall_from="thought"),
    )
    result = search.run("why?")
    # the root, then every new node, once each
    assert calls == [("why?", []), ("why?", ["thought 1"]), ("why?", ["thought 1", "thought 2"]),
                     ("why?", ["thought 1", "thought 2", "thought 3"])]  # fmt: skip
    assert result.tree.nodes[1].associations == (Association("fact about thought 1", ("id-2",), 0.5),)
    prompts = ["\n".join(m["content"] for m in call[0]) for call in llm.calls]  # the whole conversation
    assert "fact about the question" in prompts[0]
    assert "fact about thought 1" not in prompts[0]
    assert "fact about thought 1" in prompts[1] and "fact about the question" in prompts[1]
    assert "fact about thought 2" in prompts[2]
    # the evaluator saw each node's associations; F_a enters V with beta = 0.5
    assert evaluator.calls[0][2] == [Association("fact about thought 1", ("id-2",), 0.5)]
    assert result.tree.nodes[1].value == pytest.approx(0.9 + 0.5 * 0.5)
    assert result.associations[0] == result.tree.nodes[1].associations


def test_candidates_are_deduplicated() -> None:
    llm = ScriptedLLM(lambda m, o: "Same thought." if o.temperature == 0 else "same   THOUGHT")
    result = CoATSearch(llm, evaluator=TableEvaluator({}), settings=settings(max_nodes=3, branching=3)).run(
        "q"
    )
    assert len(result.tree.root.children) == 1


def test_expansion_that_produces_nothing_is_a_dead_end() -> None:
    result = CoATSearch(ScriptedLLM(lambda m, o: "   "), evaluator=TableEvaluator({})).run("q")
    assert result.nodes == 0
    assert result.stopped_by == "exhausted"
    assert result.answer == ""


def test_judge_acceptance_stops_early() -> None:
    script = ScriptedLLM.replies("Step one.", "Answer: 42")
    evaluator = TableEvaluator({"Answer: 42": 0.95, "Step one.": 0.5})
    result = CoATSearch(script, evaluator=evaluator, settings=settings(branching=1, max_nodes=20)).run("6*7?")
    assert result.stopped_by == "judge"
    assert result.accepted and result.answer == "42"
    assert result.nodes == 2
    assert result.chain == ["Step one.", "Answer: 42"]


def test_evaluator_acceptance_also_stops() -> None:
    class Accepting:
        def __call__(self, q: str, p: Sequence[str], a: Sequence[Association], ans: str | None) -> Evaluation:
            return Evaluation(0.1, 0.0, accepted=ans is not None)

    result = CoATSearch(ScriptedLLM.replies("Answer: yes"), evaluator=Accepting()).run("q?")
    assert result.stopped_by == "judge" and result.answer == "yes"


def test_node_budget_stops_with_best_so_far() -> None:
    evaluator = TableEvaluator({"thought 2": 0.7})
    result = CoATSearch(
        counter_llm(), evaluator=evaluator, settings=settings(max_nodes=5, branching=2), conclude=False
    ).run("q")
    assert result.stopped_by == "nodes" and result.nodes == 5
    assert result.answer == "thought 2" and result.value == pytest.approx(0.7)


def test_depth_budget_stops_and_forces_a_final_answer() -> None:
    llm = counter_llm()
    evaluator = TableEvaluator({"thought 2": 0.6})
    result = CoATSearch(
        llm, evaluator=evaluator, settings=settings(max_depth=2, branching=1, max_nodes=50)
    ).run("q")
    assert result.stopped_by == "depth"
    assert max(n.depth for n in result.tree.nodes) == 2
    # the last prompt asked for the answer, and the thought at the depth limit counts as the answer
    assert "Answer: <answer>' now" in llm.calls[-1][0][-1]["content"]
    assert result.answer == "thought 2" and result.tree.nodes[2].answer == "thought 2"


def test_token_budget_stops_with_best_so_far() -> None:
    evaluator = TableEvaluator({"thought 1": 0.3})
    result = CoATSearch(
        counter_llm(), evaluator=evaluator, settings=settings(max_tokens=60, max_nodes=100), conclude=False
    ).run("a question")
    assert result.stopped_by == "tokens"
    node = result.tree.nodes[1].tokens  # every node costs the same here: one more would not fit
    assert result.tokens < 60 <= result.tokens + node
    assert result.nodes >= 1 and result.answer == "thought 1"


def test_time_budget_stops_with_best_so_far() -> None:
    ticks = {"t": 0.0}

    def clock() -> float:
        ticks["t"] += 1.0
        return ticks["t"]

    evaluator = TableEvaluator({"thought 1": 0.4})
    search = CoATSearch(
        counter_llm(),
        evaluator=evaluator,
        settings=settings(max_seconds=6, max_nodes=100),
        clock=clock,
        conclude=False,
    )
    result = search.run("q")
    assert result.stopped_by == "time"
    assert 1 <= result.nodes < 100
    assert result.answer == "thought 1"


def test_budget_hit_inside_an_expansion_keeps_finished_children() -> None:
    # 2 children fit in the token budget, the third call starts beyond it
    evaluator = TableEvaluator({"thought 1": 0.2, "thought 2": 0.9})
    llm = counter_llm()
    search = CoATSearch(
        llm, evaluator=evaluator, settings=settings(max_tokens=70, branching=3), conclude=False
    )
    result = search.run("q")
    assert result.stopped_by == "tokens"
    assert len(result.tree.root.children) == 2
    assert result.tree.root.visits == 1 and result.tree.root.value_sum == pytest.approx(0.9)


def test_deterministic_for_a_seed() -> None:
    def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
        rng = random.Random(options.seed)
        return rng.choice(["try a", "try b", "try c", "try d", "Answer: x", "Answer: y"])

    def evaluate(q: str, p: Sequence[str], a: Sequence[Association], ans: str | None) -> Evaluation:
        return Evaluation(random.Random(p[-1] + str(len(p))).random() * 0.8)

    def run(seed: int) -> str:
        search = CoATSearch(ScriptedLLM(fn), evaluator=evaluate, seed=seed, settings=settings(max_nodes=10))
        data = search.run("q").to_dict()
        del data["seconds"]  # wall time is the only thing a seed does not fix
        return json.dumps(data)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_progress_events_stream() -> None:
    events: list[SearchEvent] = []
    CoATSearch(
        counter_llm(), evaluator=TableEvaluator({}), settings=settings(max_nodes=4), on_event=events.append
    ).run("q")
    assert events[0].kind == "start" and events[-1].kind == "stop" and events[-1].text == "nodes"
    node_events = [e for e in events if e.kind == "node"]
    assert [e.nodes for e in node_events] == [1, 2, 3, 4]
    assert all(b.tokens >= a.tokens for a, b in itertools.pairwise(events))


def test_empty_question_is_invalid() -> None:
    with pytest.raises(InvalidInputError):
        CoATSearch(counter_llm(), evaluator=TableEvaluator({})).run("  ")


# ---------------------------------------------------------------------------- exports


def _result() -> SearchResult:
    def associator(question: str, path: Sequence[str]) -> list[Association]:
        return [Association('a "quoted" fact\nwith newline', ("f1",), 0.8)]

    script = ScriptedLLM.replies("Think first.", "Maybe B.", "Answer: A")
    return CoATSearch(
        script,
        associator=associator,
        evaluator=TableEvaluator({"Answer: A": 0.95}),
        settings=settings(branching=1),
    ).run('Which "letter"?')


def test_json_export_parses_and_holds_the_tree() -> None:
    result = _result()
    data = json.loads(result.to_json())
    assert data["answer"] == "A" and data["stopped_by"] == "judge"
    assert data["chain"] == ["Think first.", "Maybe B.", "Answer: A"]
    assert len(data["tree"]["nodes"]) == result.nodes + 1
    assert data["tree"]["nodes"][1]["associations"][0]["source_ids"] == ["f1"]
    assert data["associations"][0][0]["text"].startswith("a ")


_DOT_LINE = re.compile(
    r'^\s*(n\d+ \[label="(?:[^"\\]|\\.)*"[^\]]*\];|n\d+ -> n\d+( \[style=bold\])?;|node \[.*\];)$'
)


def test_dot_export_is_a_well_formed_digraph() -> None:
    result = _result()
    lines = result.to_dot().splitlines()
    assert lines[0] == "digraph coat {" and lines[-1] == "}"
    for line in lines[1:-1]:
        assert _DOT_LINE.match(line), line
    edges = [line for line in lines if "->" in line]
    assert len(edges) == result.nodes


def test_text_rendering_marks_the_chain() -> None:
    text = _result().render_text()
    assert 'Q: Which "letter"?' in text
    assert "* #3" in text and "[accepted]" in text and '~ a "quoted" fact with newline (f1)' in text
    assert text.splitlines()[-1].startswith("answer: A")


# ---------------------------------------------------------------------------- evaluators and associators


def test_llm_judge_reads_structured_output_and_falls_back() -> None:
    judge = LLMJudge(
        ScriptedLLM.replies('{"thought_score": 8, "association_score": 5, "final_answer_correct": true}')
    )
    ev = judge("q", ["Answer: 1"], [Association("f")], "1")
    assert (ev.thought_score, ev.association_score, ev.accepted) == (0.8, 0.5, True)
    assert judge.usage.total_tokens > 0
    ev = LLMJudge(ScriptedLLM.replies("I'd say 7 out of 10"))("q", ["step"], [], None)
    assert ev.thought_score == pytest.approx(0.7) and not ev.accepted
    ev = LLMJudge(ScriptedLLM.replies("no idea"))("q", ["step"], [], None)
    assert ev.thought_score == 0.0 and ev.rationale == "unparsed verdict"


def test_llm_judge_repairs_junk_then_raises_a_typed_error_when_asked() -> None:
    seen: list[int] = []

    def junk_then_json(messages: Sequence[Message], options: GenerationOptions) -> str:
        seen.append(len(messages))
        return "sure! {not json" if len(seen) == 1 else '{"thought_score": 6}'

    judge = LLMJudge(ScriptedLLM(junk_then_json), retries=1)
    ev = judge("q", ["step"], [], None)
    assert ev.thought_score == pytest.approx(0.6) and seen == [2, 4]  # re-asked with the error appended
    strict = LLMJudge(ScriptedLLM.replies("{junk"), retries=1, on_invalid="raise")
    with pytest.raises(StructuredOutputError) as info:
        strict("q", ["step"], [], None)
    assert info.value.raw == "{junk" and strict.usage.total_tokens > 0


def test_option_scoring_judge_yes_no_and_candidates() -> None:
    def score(messages: Sequence[Message], option: str) -> float:
        text = messages[-1]["content"]
        if option in ("yes", "no"):
            good = "Paris" in text
            return math.log(0.8 if (option == "yes") == good else 0.2)
        return 0.0 if option == "Ostria" else -2.0

    llm = ScriptedLLM(score=score)
    judge = OptionScoringJudge(llm)
    assert judge("q", ["It is Paris."], [], None).thought_score == pytest.approx(0.8)
    assert judge("q", ["It is Rome."], [], None).thought_score == pytest.approx(0.2)
    assert judge.usage.total_tokens > 0
    cand = OptionScoringJudge(
        llm, candidates=lambda q: ["Ostria", "Velan", "Dorn"], association_mode="scores"
    )
    ev = cand("q", ["x", "Answer: ostria"], [Association("f", score=0.6)], "ostria")
    assert ev.thought_score == pytest.approx(1 / (1 + 2 * math.exp(-2)))
    assert ev.association_score == pytest.approx(0.6)
    assert cand("q", ["Answer: Rome"], [], "Rome").thought_score == 0.0


def test_lexical_associator_follows_the_last_thought() -> None:
    facts = {
        "f1": "Zorvan lives in Kelmoor.",
        "f2": "Kelmoor is a city in Ostria.",
        "f3": "Mirel lives in Dastow.",
        "f4": "Dastow is a city in Velan.",
    }
    assoc = LexicalAssociator(facts, k=1)
    assert assoc("Which country does Zorvan live in?", [])[0].source_ids == ("f1",)
    hop = assoc("Which country does Zorvan live in?", ["Zorvan lives in Kelmoor."])
    assert hop[0].source_ids == ("f2",) and hop[0].score == 1.0
    assert assoc("nothing matches", []) == []


def test_generative_associator_parses_lines() -> None:
    llm = ScriptedLLM.replies("- Paris is in France.\n- paris is in france.\n* The Seine flows there.\n")
    assoc = GenerativeAssociator(llm, max_items=3)
    out = assoc("q", ["Paris"])
    assert [a.text for a in out] == ["Paris is in France.", "The Seine flows there."]
    assert assoc.usage.total_tokens > 0


def test_thought_parsing() -> None:
    assert parse_answer("So the answer is: Ostria.") == "Ostria"
    assert parse_answer("Answer: 42") == "42"
    assert parse_answer("Zorvan lives in Kelmoor.") is None
    assert clean_thought("\n\nStep 2: go north\nmore") == "go north"
    assert clean_thought("The answer is:\n\nOstria.\nmore") == "The answer is: Ostria."  # a lead-in
    assert parse_answer(clean_thought("The answer is:\nOstria.")) == "Ostria"


class ConfidentLLM:
    """A ScriptedLLM whose completions report a mean token log-probability, as the local engine's do."""

    def __init__(self, inner: ScriptedLLM, logprob: Callable[[str], float]) -> None:
        self.inner, self.logprob = inner, logprob
        self.name = inner.name

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        done = self.inner.complete(messages, options)
        return replace(done, logprob=self.logprob(done.text))

    def stream(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Any:
        return self.inner.stream(messages, options)


def test_confidence_values_thoughts_without_an_evaluator_call() -> None:
    texts = iter(["Step one.", "Step two.", "Answer: 42"])
    llm = ConfidentLLM(ScriptedLLM(lambda m, o: next(texts)), lambda t: -0.5 if t == "Step one." else -1.0)
    evaluator = TableEvaluator({"Answer: 42": 0.7})
    assoc = FixedAssociator(Association("a fact", ("f",), 0.4))
    found = CoATSearch(
        llm,
        associator=assoc,
        evaluator=evaluator,
        settings=settings(branching=3, max_nodes=3, confidence="thoughts", answer_from="node"),
    ).run("6*7?")
    one, two, answer = found.tree.nodes[1:]
    assert one.thought_score == pytest.approx(math.exp(-0.5)) and two.thought_score == pytest.approx(
        math.exp(-1)
    )
    assert one.association_score == 0.0  # F_a: what its associations add (the root already recalled "a fact")
    assert one.value == pytest.approx(math.exp(-0.5))
    assert answer.thought_score == 0.7  # answers still go to the evaluator
    assert [c[3] for c in evaluator.calls] == ["42"]  # ... and only they


def test_confidence_all_values_answers_too_and_accepts_none_early() -> None:
    llm = ConfidentLLM(ScriptedLLM(lambda m, o: "Answer: 42" if o.temperature == 0 else f"Answer: {o.seed}"),
                       lambda t: -0.01 if t == "Answer: 42" else -2.0)  # fmt: skip
    evaluator = TableEvaluator({})
    found = CoATSearch(
        llm, evaluator=evaluator, settings=settings(branching=3, max_nodes=3, confidence="all")
    ).run("6*7?")
    assert not evaluator.calls and not found.accepted  # confidence 0.99 >= accept_value, yet not accepted
    assert found.nodes == 3 and found.answer == "42"  # the most confident answer
    assert found.value == pytest.approx(math.exp(-0.01))


def test_evaluator_values_every_thought_when_asked_or_when_no_logprob() -> None:
    for llm, value in [
        (ConfidentLLM(counter_llm(), lambda t: -0.1), "off"),
        (counter_llm(), "thoughts"),  # the scripted engine reports no logprob
    ]:
        evaluator = TableEvaluator({})
        CoATSearch(llm, evaluator=evaluator, settings=settings(max_nodes=3, confidence=value)).run("q")
        assert len(evaluator.calls) == 3


def test_candidates_are_asked_not_to_copy_their_path_or_siblings() -> None:
    avoided: list[tuple[str, ...]] = []

    def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
        avoided.append(options.avoid)
        return f"step {len(avoided)}"

    CoATSearch(
        ScriptedLLM(fn), evaluator=TableEvaluator({"step 1": 0.9}), settings=settings(max_nodes=4)
    ).run("q")
    assert avoided[:4] == [(), ("step 1",), ("step 1", "step 2"), ("step 1",)]  # siblings, then step 1's path


def test_a_thought_repeating_a_step_of_its_path_is_dropped() -> None:
    llm = ScriptedLLM(lambda m, o: "Same step." if o.temperature == 0 else f"step {o.seed}")
    result = CoATSearch(
        llm, evaluator=TableEvaluator({"Same step.": 0.9}), settings=settings(max_nodes=4, branching=2)
    ).run("q")
    first = result.tree.nodes[result.tree.root.children[0]]
    assert first.thought == "Same step."
    assert all(result.tree.nodes[c].thought != "Same step." for c in first.children)


def test_default_evaluator_is_the_llm_judge() -> None:
    llm = ScriptedLLM(lambda m, o: '{"thought_score": 10}' if o.schema is not None else "Answer: 3")
    result = CoATSearch(llm).run("1+2?")
    assert result.stopped_by == "judge" and result.answer == "3"


class RecallByTopic:
    """Associations by the newest line of the path given (the question at the root): a fact per topic, to see
    which node recalled what."""

    def __init__(self, facts: dict[str, list[str]]) -> None:
        self.facts = facts
        self.calls: list[list[str]] = []

    def __call__(self, question: str, path: Sequence[str]) -> list[Association]:
        self.calls.append(list(path))
        query = path[-1] if path else question
        return [
            Association(text, (f"id-{text}",), 1.0)
            for topic, texts in self.facts.items()
            if topic in query
            for text in texts
        ]


def test_the_answer_is_generated_from_the_winning_paths_facts_only() -> None:
    # the root recalls Ann's fact; "go left" recalls Lev's facts, "go right" Rob's; the left branch is the more
    # confident one
    def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
        if messages[0]["content"] == ANSWER_SYSTEM:  # the answer step
            return "Answer: Lplace"
        return "go right" if options.temperature else "go left"

    llm = ConfidentLLM(ScriptedLLM(fn), lambda t: -0.1 if t == "go left" else -1.5)
    assoc = RecallByTopic({"Where": ["Ann's friend is Lev."], "left": ["Lev likes tea.", "Lev lives in Lplace."],
                           "right": ["Rob lives in Rplace.", "Ann's friend is Rob."]})  # fmt: skip
    result = CoATSearch(
        llm, associator=assoc, settings=settings(max_nodes=2, branching=2, answer_facts=3)
    ).run("Where does Ann's friend live?")
    assert [n.thought for n in result.tree.nodes[1:]] == ["go left", "go right"]
    assert result.chain == ["go left"] and result.concluded and result.answer == "Lplace"
    # the path's facts linked into a chain from the question: friend -> Lev -> Lev's home ("likes tea" is left
    # out: it links to nothing the chain needs); nothing from the right branch
    assert [a.text for a in result.answered_from] == ["Ann's friend is Lev.", "Lev lives in Lplace."]
    last = llm.inner.calls[-1][0][-1]["content"]
    assert "Lev lives in Lplace." in last and "Rob" not in last and "tea" not in last
    assert last.endswith("Where does Ann's friend live?")  # the facts, then the question
    # ablation: from the whole tree, the other branch's facts compete (Ann's friend is Rob too)
    tree = CoATSearch(
        llm, associator=assoc, settings=settings(max_nodes=2, branching=2, answer_from="tree")
    ).run("Where does Ann's friend live?")
    assert "Rob lives in Rplace." in [a.text for a in tree.answered_from]


def test_facts_are_linked_into_a_chain_from_the_question() -> None:
    facts = [Association(t, (), 1.0) for t in ["Vanlo lives in Belsen.", "Gal's coach is Vanqua.",
             "Vanqua lives in Drotel.", "Gal's teacher is Vanlo.", "Gal lives in Omfen.", "Vanlo's coach is Fen.",
             "Fen lives in Zorom."]]  # fmt: skip

    def chain(question: str, limit: int = 3) -> list[str]:
        return [a.text for a in chain_facts(question, facts, limit)]

    assert chain("Where does Gal's teacher live?") == ["Gal's teacher is Vanlo.", "Vanlo lives in Belsen."]
    assert chain("Where does the coach of Gal's teacher live?") == [
        "Gal's teacher is Vanlo.", "Vanlo's coach is Fen.", "Fen lives in Zorom."]  # fmt: skip
    assert chain("Where does the coach of Gal's teacher live?", limit=2) == [
        "Gal's teacher is Vanlo.", "Vanlo's coach is Fen."]  # fmt: skip
    assert chain("Where does Gal live?") == ["Gal lives in Omfen."]
    assert chain("What is the weather like?") == []  # nothing speaks of the question
    # linked from its middle, the chain still follows what it brought ("Kak" after "Ris's teacher is Kak.")
    middle = [Association(t, (), 1.0) for t in ["Kak lives in Dro.", "Van's sister is Vka.", "Ris lives in Utk.",
              "Ris's teacher is Kak.", "Tel's sister is Ris.", "Tel lives in Qua."]]  # fmt: skip
    assert [a.text for a in chain_facts("Where does the teacher of Tel's sister live?", middle, 3)] == [
        "Ris's teacher is Kak.", "Tel's sister is Ris.", "Kak lives in Dro."]  # fmt: skip
    # words are compared as lemmas: "grew" is the question's "grow", so it links nothing new to the chain
    grown = [
        Association(t, (), 1.0) for t in ["Ana's boss is Pry.", "Pry grew up in Kir.", "Ana grew up in Aph."]
    ]
    assert [a.text for a in chain_facts("Where did Ana's boss grow up?", grown, 3)] == [
        "Ana's boss is Pry.", "Pry grew up in Kir."]  # fmt: skip


def test_the_answers_facts_are_listed_in_the_order_the_search_reached_them() -> None:
    def recalled(*texts: str) -> tuple[Association, ...]:
        return tuple(Association(t, (), 1.0) for t in texts)

    root = replace(new_tree("q").root, associations=recalled("Tel's sister is Ris.", "Tel lives in Qua."))
    path = [root, Node(1, 0, 1, thought="a", associations=recalled("Ris lives in Utk.", "Ris's teacher is Kak.")),
            Node(2, 1, 2, thought="b", associations=recalled("Kak lives in Dro.", "Van's sister is Vka."))]  # fmt: skip
    given = [a.text for a in answer_facts("Where does the teacher of Tel's sister live?", path, 3)]
    assert given == ["Tel's sister is Ris.", "Ris's teacher is Kak.", "Kak lives in Dro."]  # hop by hop


def test_a_node_recalls_for_its_thought_and_what_its_parent_recalled() -> None:
    assoc = RecallByTopic({"Where": ["A's friend is Bo."], "Bo": ["Bo lives in Oslo."]})
    CoATSearch(counter_llm(), associator=assoc, evaluator=TableEvaluator({}),
               settings=settings(max_nodes=2, branching=1)).run("Where does A's friend live?")  # fmt: skip
    # the root recalls for the question; node 1 for the root's facts and its thought; node 2 for node 1's
    # new facts and its thought (the root's are not repeated)
    assert assoc.calls == [[], ["A's friend is Bo.\nthought 1"],
                           ["A's friend is Bo.\nthought 1", "Bo lives in Oslo.\nthought 2"]]  # fmt: skip
    # ablations: the thought alone; the root only
    thought = RecallByTopic({"Where": ["A's friend is Bo."]})
    CoATSearch(counter_llm(), associator=thought, evaluator=TableEvaluator({}),
               settings=settings(max_nodes=2, branching=1, recall_from="thought")).run("Where?")  # fmt: skip
    assert thought.calls == [[], ["thought 1"], ["thought 1", "thought 2"]]
    root = RecallByTopic({"Where": ["A's friend is Bo."]})
    found = CoATSearch(counter_llm(), associator=root, evaluator=TableEvaluator({}),
                       settings=settings(max_nodes=2, branching=1, recall_from="root")).run("Where?")  # fmt: skip
    assert root.calls == [[]] and all(not n.associations for n in found.tree.nodes[1:])


def test_a_confident_nodes_association_score_counts_only_what_is_new_on_its_path() -> None:
    llm = ConfidentLLM(counter_llm(), lambda t: -0.5)
    assoc = RecallByTopic({"q": ["old fact."], "thought": ["old fact.", "new fact."]})
    found = CoATSearch(llm, associator=assoc, settings=settings(max_nodes=1, confidence="all")).run("q")
    node = found.tree.nodes[1]
    assert [a.text for a in node.associations] == ["old fact.", "new fact."]
    assert node.association_score == pytest.approx(0.5)  # (0 + 1) / 2: the root already had "old fact."


class CostingLLM(ScriptedLLM):
    """A ScriptedLLM that says what a prompt costs (its whole prompt: no prefix cache), as the local engine."""

    def prompt_cost(self, messages: Sequence[Message]) -> int:
        return sum(len(m["content"].split()) for m in messages)


def test_the_token_budget_is_hard_when_the_engine_prices_prompts() -> None:
    counter = itertools.count(1)
    llm = CostingLLM(
        lambda m, o: "Answer: x" if m[0]["content"] == ANSWER_SYSTEM else f"step {next(counter)} here"
    )
    long = " ".join(["word"] * 40)  # the answer prompt costs more than the static reserve's 60
    assoc = RecallByTopic({"": [f"a fact about q with {long}."]})
    nodes = []
    for budget in (300, 400, 600):
        search = CoATSearch(
            llm,
            associator=assoc,
            evaluator=TableEvaluator({}),
            settings=settings(max_tokens=budget, max_nodes=50),
        )
        found = search.run("q?")
        assert found.stopped_by == "tokens" and found.concluded and found.answer == "x"
        assert found.tokens <= budget  # never overrun, the final answer included
        assert llm.calls[-1][1].max_tokens == ANSWER_MAX_TOKENS  # the loop kept back what the answer costs
        nodes.append(found.nodes)
    assert nodes[0] < nodes[1] < nodes[2]


def test_an_answer_short_of_budget_keeps_the_end_of_its_chain() -> None:
    counter = itertools.count(1)
    llm = ScriptedLLM(  # prices no prompt: the answer step estimates its prompt from its characters
        lambda m, o: "Answer: x" if m[0]["content"] == ANSWER_SYSTEM else f"step {next(counter)} here"
    )
    pad = "about " * 20
    assoc = RecallByTopic({"Where": [f"Ann's friend is Bo {pad}."], "Bo": [f"Bo lives in Oslo {pad}."]})
    short = []
    for budget in range(150, 400, 10):  # some budgets leave room for one of the chain's two facts only
        found = CoATSearch(
            llm,
            associator=assoc,
            evaluator=TableEvaluator({}),
            settings=settings(max_tokens=budget, max_nodes=50),
        ).run("Where does Ann's friend live?")
        given = [a.text for a in found.answered_from]
        if found.concluded and len(given) == 1:
            short.append(given[0])
    assert short and all(text.startswith("Bo lives in Oslo") for text in short)  # the fact that answers


def test_a_name_the_answer_nearly_copied_is_spelled_as_its_facts_spell_it() -> None:
    facts = ["Gal's teacher is Vanlo.", "Vanlo's coach is Galfen.", "Galfen lives in Zoromtel."]
    assert spell_as("The coach lives in Zoramel.", facts) == "The coach lives in Zoromtel."
    assert spell_as("Vanlo lives in Paris on Monday.", facts) == "Vanlo lives in Paris on Monday."  # not near
    assert (
        spell_as("Zortex", ["A lives in Zortel.", "B lives in Zorten."]) == "Zortex"
    )  # as near to two names

    def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
        return "Answer: Zoramel" if messages[0]["content"] == ANSWER_SYSTEM else "go on"

    assoc = RecallByTopic({"Where": facts})
    for spell, expected in ((True, "Zoromtel"), (False, "Zoramel")):
        result = CoATSearch(
            ScriptedLLM(fn), associator=assoc, settings=settings(max_nodes=1, spell_as_facts=spell)
        ).run("Where does Gal's teacher's coach live?")
        assert result.concluded and result.answer == expected
