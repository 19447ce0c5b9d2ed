"""System 2 in the agent: ``Agent.chat(think=True)`` runs the CoAT search with associations recalled from the
user's memory (nodes.deliberate + cogarch.associator.MemoryAssociator), on the scripted engine."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

from cogarch.agent import Agent
from cogarch.associator import MemoryAssociator
from cogarch.clock import ManualClock
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM
from reasoning.llm import GenerationOptions, Message
from reasoning.search.thoughts import ANSWER_SYSTEM

TOLD = [
    "Mia's violin teacher is called Sam.",
    "Sam's sister is named Lena.",
    "Lena lives in the town of Porto.",
    "Omar's piano teacher is called Ruth.",
    "Ruth lives in the town of Lyon.",
]


def _facts(messages: Sequence[Message]) -> list[str]:
    return re.findall(r"^- (.*)$", messages[-1]["content"], flags=re.M)


def hopping(messages: Sequence[Message], options: GenerationOptions) -> str:
    """A thought copies the newest fact of the prompt; asked for the answer, it names the last fact's last word;
    a chat reply says "ok"."""
    facts = _facts(messages)
    content = messages[-1]["content"]
    if messages[0]["content"] == ANSWER_SYSTEM:  # the search's answer step
        return f"Answer: {facts[-1].rstrip('.').split()[-1]}" if facts else "Answer: unknown"
    if "Next step:" in content:
        return facts[-1] if facts else "I do not know yet."
    return "ok"


def likes_facts(messages: Sequence[Message], option: str) -> float:
    """P(yes) grows with the facts the prompt holds: deeper chains look better."""
    return -1.0 / (1 + len(_facts(messages))) if option == "yes" else -0.5


def make_agent(data_dir: Path, llm: ScriptedLLM) -> Agent:
    return Agent.open(
        data_dir,
        llm=llm,
        embedder=HashEmbedder(256),
        clock=ManualClock(1.7e9),
        substrate={"enabled": False},
        # three memories per node: the hash embedder ranks the hop's fact third
        search={"max_nodes": 8, "branching": 2, "max_depth": 3, "max_tokens": 100_000, "associations": 3},
    )


def test_think_associations_are_recalled_from_stored_memories(data_dir: Path) -> None:
    with make_agent(data_dir, ScriptedLLM(hopping, score=likes_facts)) as agent:
        for text in TOLD:
            agent.chat(text, user="ada")
        stored = {e.id: e.text for e in agent.memory.episodes(namespace="ada")}
        reply = agent.chat("Where does the sister of Mia's teacher live?", user="ada", think=True)
    search = reply.search
    assert reply.searched and search is not None
    assert search["nodes"] >= 2 and search["depth"] >= 2
    chain_associations = [a for group in search["associations"] for a in group]
    assert chain_associations
    for a in chain_associations:  # every association is a stored memory, traceable by its id
        assert a["source_ids"][0] in stored
        assert a["text"] in stored[a["source_ids"][0]]
    # the hop: a node's association brings the fact its path led to, which the question does not name
    assert any("Porto" in a["text"] for a in chain_associations)
    assert reply.text and not reply.text.endswith("?")  # an answer (a word of a fact), not the question
    assert any(reply.text in text for text in stored.values())
    # the answer was generated from the winning path's recalled memories only (at most answer_facts = 3)
    given = search["answered_from"]
    assert search["concluded"] and 1 <= len(given) <= 3
    assert all(a["source_ids"][0] in stored for a in given)
    assert reply.text in given[-1]["text"]  # the scripted model names the last fact it is given


def test_interrupt_stops_the_search_with_the_best_so_far(data_dir: Path) -> None:
    calls = {"n": 0}
    agent_box: list[Agent] = []

    def interrupting(messages: Sequence[Message], options: GenerationOptions) -> str:
        if "Next step:" in messages[-1]["content"]:
            calls["n"] += 1
            if calls["n"] == 2:
                agent_box[0].interrupt("ada")  # Ctrl-C during the second thought
        return hopping(messages, options)

    with make_agent(data_dir, ScriptedLLM(interrupting, score=likes_facts)) as agent:
        agent_box.append(agent)
        for text in TOLD[:3]:
            agent.chat(text, user="ada")
        reply = agent.chat("Where does the sister of Mia's teacher live?", user="ada", think=True)
        assert reply.search is not None and reply.search["stopped_by"] == "interrupted"
        assert reply.search["nodes"] == 1 and reply.text  # the first thought; the second was cut off
        again = agent.chat("Where does the sister of Mia's teacher live?", user="ada", think=True)
        assert again.search is not None and again.search["stopped_by"] != "interrupted"  # the flag was reset


def test_an_answer_that_repeats_the_question_is_never_the_reply(data_dir: Path) -> None:
    question = "What should Sam bring to Mia's first lesson?"

    def parrot(messages: Sequence[Message], options: GenerationOptions) -> str:
        content = messages[-1]["content"]
        if messages[0]["content"] == ANSWER_SYSTEM or "Next step:" in content:
            return f"Answer: {question}"  # the search's every candidate echoes the question
        return "Her violin and the sheet music."

    with make_agent(data_dir, ScriptedLLM(parrot, score=likes_facts)) as agent:
        agent.chat("Mia starts violin lessons with Sam on Monday.", user="ada")
        reply = agent.chat(question, user="ada", think=True)
    assert reply.search is not None and reply.search["fallback"] == "respond"
    assert reply.text == "Her violin and the sheet music."


class RankedMemory:
    """A memory whose recall returns the first k of a fixed ranking (and counts the calls)."""

    def __init__(self, ranking: Sequence[SimpleNamespace]) -> None:
        self.ranking = list(ranking)
        self.windows: list[int] = []

    def recall(self, query: str, *, namespace: str, k: int) -> list[SimpleNamespace]:
        self.windows.append(k)
        return self.ranking[:k]


def _recollection(i: int, text: str, role: str = "input") -> SimpleNamespace:
    source = SimpleNamespace(id=f"ep{i}", metadata={"role": role})
    return SimpleNamespace(id=f"ep{i}", text=text, kind="episode", score=1.0 / (i + 1), sources=[source])


def test_left_out_recollections_do_not_crowd_out_the_next_hop() -> None:
    # the top of the ranking is what the chain knows already and the agent's own echoes; the hop's fact is 12th
    ranking = [_recollection(i, "agent: Bo lives in", role="output") for i in range(6)]
    ranking += [_recollection(6 + i, "ada: A's friend is Bo.") for i in range(5)]
    ranking += [_recollection(11, "ada: Bo lives in Oslo."), _recollection(12, "ada: Cy lives in Rome.")]
    memory = RankedMemory(ranking)
    found = MemoryAssociator(memory, "ada", k=1)(
        "Where does A's friend live?", ["A's friend is Bo.\nBo is the friend."]
    )
    assert [a.text for a in found] == ["Bo lives in Oslo."]
    assert memory.windows == [3, 12]  # widened once, as far as needed
    assert MemoryAssociator(RankedMemory(ranking[:5]), "ada", k=1)("Where?", ["x"]) == []  # nothing to keep


def test_a_node_keeps_first_what_follows_its_step() -> None:
    # recall ranks a neighbour of the telling first; the node keeps the fact that names what its step brought
    ranking = [_recollection(0, "ada: Cy lives in Rome."), _recollection(1, "ada: Bo lives in Oslo.")]
    step = "A's friend is Bo.\nI need to know where the friend lives."
    found = MemoryAssociator(RankedMemory(ranking), "ada", k=1)("Where does A's friend live?", [step])
    assert [a.text for a in found] == ["Bo lives in Oslo."]
    # the root has no step: recall's order stands
    root = MemoryAssociator(RankedMemory(ranking), "ada", k=1)("Where does A's friend live?", [])
    assert [a.text for a in root] == ["Cy lives in Rome."]
