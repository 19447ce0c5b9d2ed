"""A process killed during a turn resumes from its checkpoint at the next start, with no duplicated episode."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cogarch.agent import Agent
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM

CHILD = textwrap.dedent(
    """
    import os, sys
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM

    where = sys.argv[2]

    def reply(messages, options):
        if where == "respond":
            os._exit(9)  # killed while the model answers
        return "The capital of France is Paris."

    agent = Agent.open(sys.argv[1], llm=ScriptedLLM(reply), embedder=HashEmbedder(64), substrate={"enabled": False})
    if where == "learn":
        remember_many = agent.memory.remember_many
        def dying_remember(*args, **kwargs):
            records = remember_many(*args, **kwargs)
            os._exit(9)  # killed after the turn's episodes are durable, before the turn's checkpoint
        agent.memory.remember_many = dying_remember
    agent.chat("What is the capital of France?", user="bob")
    """
)


@pytest.mark.parametrize("where", ["respond", "learn"])
def test_killed_turn_resumes_without_duplicates(data_dir: Path, where: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), where], capture_output=True, timeout=120
    )
    assert result.returncode == 9, result.stderr.decode()[-2000:]
    llm = ScriptedLLM(lambda m, o: "The capital of France is Paris.")
    with Agent.open(data_dir, llm=llm, embedder=HashEmbedder(64), substrate={"enabled": False}) as agent:
        assert agent.resume_pending("bob")
        assert not agent.resume_pending("bob")
        episodes = [e.text for e in agent.memory.episodes(namespace="bob")]
        assert sum("capital of France?" in t for t in episodes) == 1
        assert sum("is Paris" in t for t in episodes) == 1
        agent.chat("thanks", user="bob")
        assert len(agent.memory.episodes(namespace="bob")) == 4
