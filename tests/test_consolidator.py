"""Consolidation off the turn (issue 24): the agent's worker consolidates after the turn returned, merges quick
requests, reports failures without failing a turn, drains at close; "foreground" consolidates in the turn.

A fact extractor that waits for the test (a ``threading.Event``) holds a consolidation in its fact step, so
every ordering below is forced by events, never by sleeps."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cogarch import Agent, Settings
from cogarch.events import Event
from memory import Memory
from memory.embedders.base import HashEmbedder
from memory.index import InMemoryIndex
from memory.semantic.base import Statement, Triple
from reasoning.engines.scripted import ScriptedLLM

WAIT_S = 60.0  # a bound for hangs only: every wait below returns as soon as its event is set


class HeldExtractor:
    """Reads "I live in X." as (speaker, lives_in, X); each call signals ``started`` and then waits for
    ``release`` (set at once unless the test holds it); raises ``failure`` while it is set."""

    name = "held"

    def __init__(self, *, held: bool = True) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        if not held:
            self.release.set()
        self.calls: list[list[str]] = []
        self.threads: list[str] = []
        self.failure: Exception | None = None

    def __call__(self, statements: Sequence[Statement]) -> list[Triple]:
        self.calls.append([s.text for s in statements])
        self.threads.append(threading.current_thread().name)
        self.started.set()
        assert self.release.wait(WAIT_S), "the test never released the extractor"
        if self.failure is not None:
            raise self.failure
        return [
            Triple(
                str(s.speaker),
                "lives_in",
                s.text.removeprefix("I live in ").rstrip("."),
                s.text,
                s.id,
                s.timestamp,
            )
            for s in statements
            if s.text.startswith("I live in ")
        ]


def open_agent(path: Path, extractor: HeldExtractor, **memory: Any) -> Agent:
    # a chat turn stores 2 episodes: every turn asks for a consolidation
    settings = Settings.load(
        data_dir=path, memory={"consolidate_every": 2, **memory}, substrate={"enabled": False}
    )
    mem = Memory.open(
        path / "memory",
        settings.memory,
        embedder=HashEmbedder(64),
        index=InMemoryIndex(),
        extractor=extractor,
    )
    return Agent(
        settings, llm=ScriptedLLM(lambda messages, options: "Noted."), embedder=HashEmbedder(64), memory=mem
    )


def homes(agent: Agent, user: str = "bob") -> list[str]:
    return sorted(f.object for f in agent.memory.facts(namespace=user) if f.relation == "lives_in")


def test_a_turn_returns_while_its_consolidation_runs_and_turns_go_on_meanwhile(tmp_path: Path) -> None:
    extractor = HeldExtractor()
    with open_agent(tmp_path, extractor) as agent:
        reply = agent.chat("I live in Lyon.", user="bob")
        assert reply.text == "Noted."
        assert extractor.started.wait(WAIT_S)  # the consolidation that turn asked for is in its fact step now
        status = agent.consolidation_status("bob")
        assert status.running and status.runs == 0
        assert homes(agent) == []  # not extracted yet: the turn did not wait for it
        # the held consolidation keeps no lock a turn needs: recall, reply and the episode write go through
        again = agent.chat("What do you know about me?", user="bob")
        assert again.text == "Noted." and not extractor.release.is_set()
        assert "What do you know about me?" in [e.text for e in agent.memory.episodes(namespace="bob")]
        assert extractor.threads == ["cogarch-consolidation"]
        extractor.release.set()
        assert agent.wait_consolidated("bob", timeout=WAIT_S)
        assert homes(agent) == ["Lyon"]
        assert agent.memory.stats("bob")["unconsolidated"] == 0  # the second turn's run took its episodes


def test_requests_during_a_run_merge_into_one_more_run(tmp_path: Path) -> None:
    extractor = HeldExtractor()
    with open_agent(tmp_path, extractor) as agent:
        agent.chat("I live in Lyon.", user="bob")
        assert extractor.started.wait(WAIT_S)
        for text in ("Hello again.", "I live in Porto.", "Still here."):  # three requests while one runs
            agent.chat(text, user="bob")
        assert agent.consolidation_status("bob").queued
        extractor.release.set()
        assert agent.wait_consolidated("bob", timeout=WAIT_S)
        status = agent.consolidation_status("bob")
        assert status.runs == 2 and status.failures == 0  # the running one, then one for everything since
        assert extractor.calls == [["I live in Lyon."], ["Hello again.", "I live in Porto.", "Still here."]]
        assert agent.memory.stats("bob")["unconsolidated"] == 0
        current = [f.object for f in agent.memory.facts(namespace="bob") if f.valid_to is None]
        assert current == ["Porto"]


def test_a_failing_consolidation_keeps_the_turn_is_reported_and_retried(tmp_path: Path) -> None:
    extractor = HeldExtractor(held=False)
    extractor.failure = RuntimeError("extractor crashed")
    events: list[Event] = []
    with open_agent(tmp_path, extractor) as agent:
        agent.subscribe(lambda e: events.append(e) if e.kind == "consolidated" else None)
        reply = agent.chat("I live in Lyon.", user="bob")
        assert reply.text == "Noted."
        assert agent.wait_consolidated("bob", timeout=WAIT_S)
        status = agent.consolidation_status("bob")
        assert (status.runs, status.failures) == (1, 1)
        assert status.last_error == "RuntimeError: extractor crashed"
        assert [e.data for e in events] == [{"error": "RuntimeError: extractor crashed"}]
        assert [e.text for e in agent.memory.episodes(namespace="bob")] == ["I live in Lyon.", "Noted."]
        assert homes(agent) == []  # its facts were not stored; the episode stays pending for the next run
        # the next reply says so; the next consolidation (the extractor mended) takes the pending episodes
        extractor.failure = None
        assert (
            agent.chat("Anything new?", user="bob").consolidation_error == "RuntimeError: extractor crashed"
        )
        assert agent.wait_consolidated("bob", timeout=WAIT_S)
        assert agent.consolidation_status("bob").last_error is None
        assert homes(agent) == ["Lyon"]
        assert agent.memory.stats("bob")["unconsolidated"] == 0
        assert agent.chat("Thanks.", user="bob").consolidation_error is None


def test_close_finishes_the_requested_consolidations(tmp_path: Path) -> None:
    extractor = HeldExtractor()
    agent = open_agent(tmp_path, extractor)
    agent.chat("I live in Lyon.", user="bob")
    assert extractor.started.wait(WAIT_S)
    agent.chat("I live in Porto.", user="bob")  # queued behind the running one
    closer = threading.Thread(target=agent.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # close waits for the held consolidation (and the queued one)
    extractor.release.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    with Memory.open(tmp_path / "memory", embedder=HashEmbedder(64), index=InMemoryIndex()) as memory:
        assert memory.stats("bob")["unconsolidated"] == 0
        assert [f.object for f in memory.facts(namespace="bob") if f.valid_to is None] == ["Porto"]


def test_forget_waits_for_the_running_consolidation_of_its_namespace(tmp_path: Path) -> None:
    extractor = HeldExtractor()
    with open_agent(tmp_path, extractor) as agent:
        agent.chat("I live in Lyon.", user="bob")
        assert extractor.started.wait(WAIT_S)
        lyon = next(e.id for e in agent.memory.episodes(namespace="bob") if e.text == "I live in Lyon.")
        forgetter = threading.Thread(target=agent.memory.forget, args=([lyon],), kwargs={"namespace": "bob"})
        forgetter.start()
        forgetter.join(0.2)
        assert forgetter.is_alive()  # it waits for the consolidation that reads the episode
        extractor.release.set()
        forgetter.join(WAIT_S)
        assert not forgetter.is_alive()
        assert agent.wait_consolidated("bob", timeout=WAIT_S)
        assert homes(agent) == []  # the fact extracted from the forgotten episode went with it


def test_foreground_consolidates_in_the_turn(tmp_path: Path) -> None:
    extractor = HeldExtractor(held=False)
    with open_agent(tmp_path, extractor, consolidate_in="foreground") as agent:
        agent.chat("I live in Lyon.", user="bob")
        assert homes(agent) == ["Lyon"]  # no wait: the turn consolidated before it returned
        assert extractor.threads == [threading.current_thread().name]
