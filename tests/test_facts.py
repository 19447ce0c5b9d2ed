"""Facts through the memory: bi-temporal storage, contradictions, as-of, persona, both extractors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cogarch import Agent
from cogarch.clock import ManualClock
from memory import Memory
from memory.embedders.base import HashEmbedder
from memory.index import InMemoryIndex
from memory.nlp import available
from memory.semantic.base import Triple
from memory.semantic.ontology import render
from reasoning.config import LLMSettings
from reasoning.engines.litellm_engine import LiteLLMEngine
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import InvalidInputError
from reasoning.llm import GenerationOptions, Message
from reasoning.testing import StubReply, StubServer

needs_spacy = pytest.mark.skipif(not available(), reason="no spaCy English pipeline installed")

JAN = datetime(2024, 1, 10, 12, tzinfo=UTC).timestamp()
DAY = 86400.0


def open_memory(path: Path, **kwargs: object) -> Memory:
    return Memory.open(path, embedder=HashEmbedder(64), index=InMemoryIndex(), **kwargs)  # type: ignore[arg-type]


def say(m: Memory, text: str, t: float, speaker: str = "bob") -> None:
    m.remember(text, namespace="bob", speaker=speaker, timestamp=t)
    m.consolidate(namespace="bob")


def by_object(m: Memory, relation: str) -> dict[str, object]:
    return {f.object: f for f in m.facts(namespace="bob") if f.relation == relation}


@needs_spacy
def test_a_contradiction_closes_the_old_fact_and_keeps_it(tmp_path: Path) -> None:
    with open_memory(tmp_path, settings=None) as m:
        say(m, "I live in Lyon.", JAN)
        say(m, "I moved to Porto last week.", JAN + 60 * DAY)
        homes = {f.object: f for f in m.facts(namespace="bob") if f.relation == "lives_in"}
        lyon, porto = homes["Lyon"], homes["Porto"]
        assert porto.current and porto.subject == "bob"
        assert not lyon.current and lyon.superseded_by == porto.id
        assert lyon.valid_to == porto.valid_from < JAN + 60 * DAY  # the move happened last week, not today
        assert [
            f.object for f in m.facts(namespace="bob", current_only=True) if f.relation == "lives_in"
        ] == ["Porto"]


def test_stated_facts_keep_one_place_per_thing_and_the_old_place_as_past(tmp_path: Path) -> None:
    def where(thing: str, relation: str, place: str, t: float) -> Triple:
        text = render(thing, relation, place)
        return Triple(thing, relation, place, text, source=f"ep_{int(t)}", valid_from=t)

    with open_memory(tmp_path) as m:
        m.remember("You see a knife in the box.", namespace="bob", id="ep_1", timestamp=JAN)
        assert m.add_facts([where("knife", "in", "box", JAN)], namespace="bob") == (1, 0)
        assert m.add_facts([where("knife", "in", "box", JAN + 5)], namespace="bob") == (0, 0)  # restated
        assert m.add_facts([where("knife", "on", "table", JAN + 10)], namespace="bob") == (1, 1)
        facts = {(f.relation, f.object): f for f in m.facts(namespace="bob")}
        box, table = facts[("in", "box")], facts[("on", "table")]
        assert not box.current and box.superseded_by == table.id and box.valid_to == JAN + 10
        assert box.sources == (f"ep_{int(JAN)}", f"ep_{int(JAN + 5)}")  # a restatement adds its source
        assert [f.object for f in m.facts(namespace="bob", current_only=True)] == ["table"]
        assert [f.object for f in m.facts(namespace="bob", as_of=JAN + 1)] == ["box"]
        recalled = m.recall("where is the knife", namespace="bob", k=3)
        assert recalled[0].text == "knife is on table"
        closing = Triple("knife", "on", "table", "", source="ep_9", valid_from=JAN + 20, closes=True)
        assert m.add_facts([closing], namespace="bob") == (0, 1)  # no longer seen there: ended, nothing new
        assert m.facts(namespace="bob", current_only=True) == []
        with pytest.raises(InvalidInputError):
            m.add_facts([Triple("knife", "in", "", "", source="ep_1", valid_from=JAN)], namespace="bob")


@needs_spacy
def test_as_of_answers_what_was_true_then(tmp_path: Path) -> None:
    with open_memory(tmp_path) as m:
        say(m, "I live in Lyon.", JAN)
        say(m, "I work as a sound engineer.", JAN + DAY)
        say(m, "I moved to Porto last week.", JAN + 60 * DAY)
        say(m, "I quit my job and now I work as a teacher.", JAN + 90 * DAY)

        def at(t: float, relation: str) -> list[str]:
            return [f.object for f in m.facts(namespace="bob", as_of=t) if f.relation == relation]

        assert at(JAN + 10 * DAY, "lives_in") == ["Lyon"] and at(JAN + 10 * DAY, "works_as") == [
            "sound engineer"
        ]
        assert at(JAN + 70 * DAY, "lives_in") == ["Porto"] and at(JAN + 70 * DAY, "works_as") == [
            "sound engineer"
        ]
        assert at(JAN + 100 * DAY, "works_as") == ["teacher"]
        assert at(JAN - DAY, "lives_in") == []
        assert at(JAN + 10 * DAY, "lives_in") == at(
            datetime(2024, 1, 20, tzinfo=UTC), "lives_in"
        )  # a datetime
        assert m.facts(namespace="bob", as_of="2024-01-20") == m.facts(namespace="bob", as_of=JAN + 10 * DAY)


@needs_spacy
def test_transaction_time_records_when_the_memory_learned_and_unlearned(tmp_path: Path) -> None:
    with open_memory(tmp_path) as m:
        before = time.time()
        say(m, "I live in Lyon.", JAN)
        between = time.time()
        time.sleep(0.01)
        say(m, "I moved to Porto last week.", JAN + 60 * DAY)
        homes = by_object(m, "lives_in")
        lyon, porto = homes["Lyon"], homes["Porto"]
        assert before <= lyon.recorded <= between < porto.recorded  # type: ignore[attr-defined]
        assert lyon.expired is not None and lyon.expired >= porto.recorded  # type: ignore[attr-defined]
        assert porto.expired is None  # type: ignore[attr-defined]
        # what the memory believed between the two statements: Lyon, still current; Porto not yet known
        then = [f for f in m.facts(namespace="bob", known_at=between) if f.relation == "lives_in"]
        assert [(f.object, f.current) for f in then] == [("Lyon", True)]
        # the same question about today, asked of today's knowledge: Porto
        now = m.facts(namespace="bob", as_of=JAN + 70 * DAY, known_at=time.time())
        assert [f.object for f in now if f.relation == "lives_in"] == ["Porto"]


@needs_spacy
def test_persona_follows_a_change(tmp_path: Path) -> None:
    with open_memory(tmp_path) as m:
        say(m, "My name is Bob.", JAN)
        say(m, "My sister Greta lives in Hamburg.", JAN + DAY)
        say(m, "I live in Lyon and I have a beagle named Rufus.", JAN + 2 * DAY)
        slots = {s.slot: s.value for s in m.persona("bob")}
        assert slots["home"] == "Lyon" and slots["name"] == "Bob"
        assert slots["family"] == "sister Greta" and slots["pets"] == "Rufus (beagle)"
        say(m, "I moved to Porto last week.", JAN + 60 * DAY)
        say(m, "Sadly Rufus died yesterday.", JAN + 70 * DAY)
        slots = {s.slot: s.value for s in m.persona("bob")}
        assert slots["home"] == "Porto" and "pets" not in slots
        home = next(s for s in m.persona("bob") if s.slot == "home")
        assert home.evidence and all(m.get(e).text for e in home.evidence)  # type: ignore[union-attr]


@needs_spacy
def test_the_agent_replies_state_no_facts_and_restatements_do_not_duplicate(tmp_path: Path) -> None:
    with open_memory(tmp_path) as m:
        say(m, "I live in Paris.", JAN, speaker="agent")
        say(m, "I live in Lyon.", JAN + DAY)
        say(m, "Like I said, I live in Lyon.", JAN + 2 * DAY)
        homes = [f for f in m.facts(namespace="bob") if f.relation == "lives_in"]
        assert [(f.subject, f.object) for f in homes] == [("bob", "Lyon")]
        assert len(homes[0].sources) == 2


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


def stub_llm(server: StubServer) -> LiteLLMEngine:
    settings = LLMSettings.model_validate(
        {"model": "openai/stub-model", "api_base": server.url, "timeout_s": 5}
    )
    return LiteLLMEngine(settings)


def test_a_capable_model_extracts_through_structured_output(tmp_path: Path, server: StubServer) -> None:
    server.clear()
    facts = {
        "facts": [
            {"subject": "I", "relation": "moved to", "object": "Porto", "source": 0, "when": "last week"},
            {"subject": "Greta", "relation": "is_sister_of", "object": "bob", "source": 1},
        ]
    }
    server.enqueue(StubReply.json(facts))
    with open_memory(tmp_path, llm=stub_llm(server)) as m:
        assert type(m.extractor).__name__ == "LLMExtractor"  # auto: a model that is not the bundled 135M one
        m.remember("I moved to Porto last week.", namespace="bob", speaker="bob", timestamp=JAN)
        m.remember("Greta is my sister.", namespace="bob", speaker="bob", timestamp=JAN)
        m.consolidate(namespace="bob")
        got = {(f.subject, f.relation, f.object) for f in m.facts(namespace="bob")}
        assert ("bob", "lives_in", "Porto") in got  # "I" is the speaker, "moved to" is canonical
        porto = next(f for f in m.facts(namespace="bob") if f.object == "Porto")
        assert JAN - 14 * DAY < porto.valid_from < JAN  # "last week"
        assert {s.slot: s.value for s in m.persona("bob")}["home"] == "Porto"


def test_a_malformed_extraction_stores_nothing_half_made(tmp_path: Path, server: StubServer) -> None:
    server.clear()
    half_valid = '{"facts": [{"subject": "I", "relation": "lives_in", "object": "Lyon"}, {"subject": "I", "relation": 5}]}'
    server.enqueue(*[StubReply(text=half_valid) for _ in range(3)])  # the first try and both repairs
    with open_memory(tmp_path, llm=stub_llm(server)) as m:
        m.remember("I live in Lyon.", namespace="bob", speaker="bob", timestamp=JAN)
        m.consolidate(namespace="bob")
        assert m.facts(namespace="bob") == [] and m.persona("bob") == []
        assert (m.stats("bob")["unconsolidated"], m.stats("bob")["facts_pending"]) == (
            0,
            0,
        )  # done: not retried
        assert any(e["op"] == "extract_failed" for e in m.audit_log("bob"))
        assert server.pending == 0


@needs_spacy
def test_the_persona_enters_the_prompt(tmp_path: Path) -> None:
    prompts: list[str] = []

    def reply(messages: list[Message], options: GenerationOptions) -> str:
        prompts.append(messages[0]["content"])
        return "Noted."

    clock = ManualClock(JAN)
    with Agent.open(
        tmp_path,
        llm=ScriptedLLM(reply),
        embedder=HashEmbedder(64),
        clock=clock,
        memory={"facts": "parser"},
        substrate={"enabled": False},
    ) as agent:
        agent.chat("I live in Lyon and I work as a nurse.", user="bob")
        agent.idle(8 * 3600, user="bob")  # consolidation: facts, then the persona (on the agent's worker)
        assert agent.wait_consolidated("bob", timeout=60)
        agent.chat("What should I cook tonight?", user="bob")
        assert "What you know about the user" in prompts[-1]
        assert '"home: Lyon"' in prompts[-1] and '"work: nurse"' in prompts[-1]
        assert json.dumps("home: Lyon") not in prompts[0]


@needs_spacy
def test_recall_answers_a_question_about_a_time_with_the_facts_valid_then(tmp_path: Path) -> None:
    with open_memory(tmp_path) as m:
        say(m, "I live in Lyon.", JAN)
        say(m, "I love hiking.", JAN + DAY)
        say(m, "I moved to Porto last week.", JAN + 60 * DAY)
        items = m.recall("Where did I live in January?", namespace="bob", k=3)
        homes = [r for r in items if r.kind == "fact" and r.text.startswith("bob lives in")]
        assert (
            homes[0].text.startswith("bob lives in Lyon (from 2024-01-10 until") and "as-of" in homes[0].why
        )
        assert homes[0].current is False
        now = m.recall("Where do I live?", namespace="bob", k=3)
        assert any(r.kind == "fact" and r.text == "bob lives in Porto" and r.current for r in now)
