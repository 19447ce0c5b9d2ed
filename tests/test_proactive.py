"""The proactive loop: guardrails in code, decisions logged with their cause, and the substrate-driven figure."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cogarch.agent import Agent
from cogarch.clock import ManualClock
from cogarch.proactive import decide_on_triggers
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM

NOON = datetime(2026, 1, 5, 12, 0).timestamp()  # local noon


def _agent(data_dir: Path, **proactive: Any) -> Agent:
    llm = ScriptedLLM(lambda m, o: '{"action": "message", "content": "How did the marathon go?"}')
    return Agent.open(
        data_dir,
        llm=llm,
        embedder=HashEmbedder(64),
        clock=ManualClock(NOON),
        substrate={"enabled": False},
        proactive=proactive,
    )


def _trigger(agent: Agent, t: float) -> list[dict[str, Any]]:
    episode = agent.memory.remember("Alice runs the Berlin marathon on Sunday.", namespace="u")
    return [{"keys": [[episode, 0.9]], "path": [episode], "t": t, "memories": [{"id": episode, "text": "x"}]}]


def test_an_unblocked_trigger_becomes_an_action_with_its_cause(data_dir: Path) -> None:
    with _agent(data_dir) as agent:
        triggers = _trigger(agent, NOON)
        actions = decide_on_triggers(agent.context, "u", triggers)
        assert [a["content"] for a in actions] == ["How did the marathon go?"]
        assert actions[0]["cause"] == [triggers[0]["keys"][0][0]]
        kinds = [e["kind"] for e in agent.proactive_log("u")]
        assert kinds == ["action", "trigger"]


@pytest.mark.parametrize(
    ("settings", "offset", "reason"),
    [
        ({"opt_out": ["u"]}, 0.0, "opted out"),
        ({"quiet_hours": [11, 14]}, 0.0, "quiet hours"),
        ({"quiet_hours": [22, 13]}, 0.0, "quiet hours"),  # wrapping midnight
        ({"cooldown_s": 7200.0}, 3600.0, "cooldown"),
        ({"cooldown_s": 0.0, "max_per_day": 1}, 3600.0, "daily cap"),
        ({"enabled": False}, 0.0, "disabled"),
    ],
)
def test_each_guardrail_blocks_an_action_that_would_otherwise_fire(
    data_dir: Path, settings: dict[str, Any], offset: float, reason: str
) -> None:
    with _agent(data_dir, **settings) as agent:
        if offset:  # a first action, allowed, before the one under test
            assert decide_on_triggers(agent.context, "u", _trigger(agent, NOON - offset))
        actions = decide_on_triggers(agent.context, "u", _trigger(agent, NOON))
        assert actions == []
        blocked = [e for e in agent.proactive_log("u") if e["kind"] == "blocked"]
        assert blocked and reason in blocked[0]["reason"]
    with _agent(data_dir / "control") as agent:  # the same trigger with default guardrails fires
        if offset:
            decide_on_triggers(agent.context, "u", _trigger(agent, NOON - 2 * 86400))
        assert decide_on_triggers(agent.context, "u", _trigger(agent, NOON))


def test_junk_from_the_model_still_yields_a_plain_message_or_nothing(data_dir: Path) -> None:
    llm = ScriptedLLM(lambda m, o: "not json at all, but a kind note")
    with Agent.open(
        data_dir, llm=llm, embedder=HashEmbedder(64), clock=ManualClock(NOON), substrate={"enabled": False}
    ) as agent:
        actions = decide_on_triggers(agent.context, "u", _trigger(agent, NOON))
    assert [a["content"] for a in actions] == ["not json at all, but a kind note"]


def test_idle_with_the_substrate_off_does_nothing(data_dir: Path) -> None:
    with _agent(data_dir) as agent:
        agent.chat("Alice runs the Berlin marathon on Sunday.", user="u")
        assert agent.idle(8 * 3600, user="u") == []
        assert agent.clock.now() == pytest.approx(NOON + 8 * 3600)


def test_proactive_log_on_a_full_disk_fails_typed_and_stays_readable(tmp_path: Path) -> None:
    from cogarch.errors import MemoryBackendError
    from cogarch.store.proactive import ProactiveLog

    log = ProactiveLog(tmp_path / "agent.db")
    log.record("bob", 1.0, "action", content="hello")
    pages = log._db.execute("PRAGMA page_count").fetchone()[0]
    log._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(MemoryBackendError) as info:
        log.record("bob", 2.0, "action", content="x" * 100_000)
    assert "free disk space" in (info.value.hint or "")
    assert [e["content"] for e in log.entries("bob")] == ["hello"]  # the failed write kept nothing
    log.close()


def test_the_same_memories_are_not_acted_on_twice_in_a_day(data_dir: Path) -> None:
    with _agent(data_dir, cooldown_s=0.0, max_per_day=10) as agent:
        trigger = _trigger(agent, NOON)
        assert decide_on_triggers(agent.context, "u", trigger)
        again = [{**trigger[0], "t": NOON + 3600}]
        assert decide_on_triggers(agent.context, "u", again) == []
        assert "same memories" in agent.proactive_log("u")[0]["reason"]
        assert decide_on_triggers(agent.context, "u", [{**trigger[0], "t": NOON + 90_000}])  # a day later
