"""The substrate through the agent (issue 17): messages present their concepts, memories bind to them, probes
surface memories through learned links, and proactive actions carry their cue and path (log, events, chat)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli.chat import Session
from cli.common import console
from cogarch.agent import Agent, ProactiveAction
from cogarch.clock import ManualClock
from cogarch.events import Event
from cogarch.proactive import decide_on_triggers
from memory.embedders.base import HashEmbedder
from memory.nlp import available
from reasoning.engines.scripted import ScriptedLLM

pytestmark = pytest.mark.skipif(not available(), reason="no spaCy English pipeline installed")

START = 1_767_261_600.0  # 2026-01-01 10:00 UTC
TALK = [
    "Priya finally fired her first pottery bowl.",
    "Marcus beat his uncle at chess last night.",
    "It rained all afternoon.",
    "Priya signed up for an evening pottery course.",
    "The chess club made Marcus captain.",
]


def _agent(data_dir: Path, plasticity: bool = True) -> Agent:
    return Agent.open(
        data_dir,
        llm=ScriptedLLM(lambda m, o: '{"action": "message", "content": "How is the pottery going, Priya?"}'),
        embedder=HashEmbedder(384),
        clock=ManualClock(START),
        substrate={"plasticity": plasticity},
    )


def _talk(agent: Agent) -> tuple[dict[str, str], list[ProactiveAction]]:
    texts: dict[str, str] = {}
    actions: list[ProactiveAction] = []
    for message in TALK:
        reply = agent.chat(message, user="u")
        texts[reply.stored[0]] = message
        actions += agent.idle(8 * 3600, user="u")
    return texts, actions


def test_a_probe_surfaces_the_memories_of_its_topic_never_itself(data_dir: Path) -> None:
    with _agent(data_dir) as agent:
        _talk(agent)
        probe = "I ran into Priya yesterday."
        reply = agent.chat(probe, user="u")
        texts = [a.text for a in reply.associations]
        assert texts, "learned links should surface Priya's memories"
        assert all("pottery" in t for t in texts)
        assert probe not in texts


def test_without_plasticity_probes_surface_nothing_and_idle_never_acts(tmp_path: Path) -> None:
    with _agent(tmp_path, plasticity=False) as agent:
        _, actions = _talk(agent)
        assert actions == []
        assert agent.chat("I ran into Priya yesterday.", user="u").associations == []
        assert not [e for e in agent.proactive_log("u", 1000) if e["kind"] == "trigger"]


def test_a_proactive_action_names_its_cue_and_path_in_the_reply_log_and_events(data_dir: Path) -> None:
    with _agent(data_dir) as agent:
        events: list[Event] = []
        agent.subscribe(events.append)
        texts, actions = _talk(agent)
        assert actions
        action = actions[0]
        assert action.cue in texts and set(action.cause) <= set(texts)
        topic = "pottery" if "pottery" in texts[action.cue] else "chess"
        assert all(topic in texts[k] for k in action.cause)  # cue and surfaced memories belong to one pair
        assert action.path and all(p in texts[action.cue].lower() for p in action.path[:1])
        logged = [e for e in agent.proactive_log("u", 1000) if e["kind"] == "action"][-1]  # newest first
        assert logged["cue"] == action.cue and logged["path"] == action.path
        acted = [e.data for e in events if e.kind == "proactive" and e.data.get("acted")]
        assert acted and acted[0]["cue"] == action.cue and acted[0]["path"] == action.path


def test_a_message_that_names_none_of_the_surfaced_concepts_is_prefixed_with_them(data_dir: Path) -> None:
    llm = ScriptedLLM(lambda m, o: '{"action": "message", "content": "Dear , I hope you are well!"}')
    with Agent.open(data_dir, llm=llm, embedder=HashEmbedder(64), substrate={"enabled": False}) as agent:
        episode = agent.memory.remember("Priya fired her first pottery bowl.", namespace="u")
        trigger: dict[str, Any] = {
            "keys": [[episode, 0.9]],
            "path": ["priya", "pottery"],
            "concepts": ["priya", "pottery"],
            "cue": None,
            "t": START,
            "memories": [{"id": episode, "text": "Priya fired her first pottery bowl."}],
        }
        (action,) = decide_on_triggers(agent.context, "u", [trigger])
        assert action["content"].startswith("About Priya and pottery:")


def test_the_chat_shows_why_an_unprompted_message_came() -> None:
    action = ProactiveAction(
        "u", START, "message", "How is [bold]pottery[/]?", ["ep_1"], "ep_0", ["priya", "pottery"]
    )
    with console.capture() as captured:
        Session._show_proactive(None, action)  # type: ignore[arg-type]
    out = captured.get()
    assert "because: priya -> pottery" in out
    assert "[bold]pottery[/]" in out  # the model's text is shown as written, never as markup


@pytest.mark.integration
def test_the_bundled_model_writes_a_proactive_message_that_names_what_surfaced(data_dir: Path) -> None:
    import tempfile

    from reasoning.engines.local import LocalEngine

    llm = LocalEngine(
        cache_dir=Path(tempfile.gettempdir()) / "cogarch-test-models", device="cpu", max_tokens=48
    )
    with Agent.open(data_dir, llm=llm, embedder=HashEmbedder(64), substrate={"enabled": False}) as agent:
        first = agent.memory.remember("Priya finally fired her first pottery bowl.", namespace="u")
        second = agent.memory.remember("Priya signed up for an evening pottery course.", namespace="u")
        trigger: dict[str, Any] = {
            "keys": [[second, 0.8]],
            "path": ["priya", "pottery"],
            "concepts": ["priya", "pottery"],
            "cue": first,
            "t": START,
            "cue_memory": {"id": first, "text": "Priya finally fired her first pottery bowl."},
            "memories": [{"id": second, "text": "Priya signed up for an evening pottery course."}],
        }
        actions = decide_on_triggers(agent.context, "u", [trigger])
        for action in actions:  # the model may decline; whatever it sends names what surfaced
            assert "priya" in action["content"].lower() or "pottery" in action["content"].lower()
            assert not action["content"].startswith("Dear ,")


def test_the_chats_idle_command_moves_time_forward(tmp_path: Path) -> None:
    from cli.chat import let_time_pass
    from cogarch.clock import ScaledClock

    with Agent.open(
        tmp_path,
        llm=ScriptedLLM(),
        embedder=HashEmbedder(384),
        clock=ScaledClock(1.0),
        substrate={"plasticity": True},
    ) as agent:
        for message in TALK:
            agent.chat(message, user="u")
        before = agent.clock.now()
        let_time_pass(agent, 8 * 3600, "u")
        first = [e["t"] for e in agent.proactive_log("u", 1000)]
        let_time_pass(agent, 8 * 3600, "u")
        second = [e["t"] for e in agent.proactive_log("u", 1000)]
        assert agent.clock.now() >= before + 16 * 3600
        assert first and min(first) >= before  # the period that passed lies after the last turn
        later = [t for t in second if t not in first]
        assert all(t > max(first) for t in later)
