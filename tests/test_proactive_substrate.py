"""EMBER's figure through the whole agent (benchmark E, agent level; full numbers in BENCHMARKS.md):
recurring person-topic pairs, then idle: the substrate triggers an action within 5 exchanges that surfaces
the conversation's memories; with plasticity off, zero triggers. Real substrate, real memory, scripted LLM."""

from __future__ import annotations

import sys
from pathlib import Path

from cogarch.agent import Agent
from cogarch.clock import ManualClock
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "agent"))
from conversation import exchanges

START = 1_767_261_600.0


def _run(data_dir: Path, plasticity: bool) -> tuple[int | None, list[str], int]:
    with Agent.open(
        data_dir,
        llm=ScriptedLLM(),
        embedder=HashEmbedder(384),
        clock=ManualClock(START),
        substrate={"plasticity": plasticity},
    ) as agent:
        own: set[str] = set()
        for i, message in enumerate(exchanges(5), 1):
            own.update(agent.chat(message, user="u").stored)
            for action in agent.idle(8 * 3600, user="u"):
                if action.cause and set(action.cause) <= own:
                    return i, action.cause, 1
        triggers = sum(e["kind"] == "trigger" for e in agent.proactive_log("u", 10_000))
        return None, [], triggers


def test_first_proactive_action_within_five_exchanges(tmp_path: Path) -> None:
    first, cause, _ = _run(tmp_path / "on", plasticity=True)
    assert first is not None and first <= 5
    assert cause


def test_no_triggers_without_plasticity(tmp_path: Path) -> None:
    first, _, triggers = _run(tmp_path / "off", plasticity=False)
    assert first is None
    assert triggers == 0
