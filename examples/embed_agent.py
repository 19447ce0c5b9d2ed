"""Embed the cognitive agent in a plain Python program and print its proactive messages.

Runs offline and in seconds: a scripted LLM stands in for the model (swap in ``llm=None`` to use the configured
one, e.g. the bundled SmolLM2 or ``COGARCH_LLM__MODEL=openai/gpt-4o-mini``), the hash embedder for the bundled
MiniLM, and a manual clock lets eight idle hours pass at once.

    python examples/embed_agent.py
"""

from __future__ import annotations

import tempfile

from cogarch import Agent, ManualClock
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM

CONVERSATION = [
    "Alice is training for the Berlin marathon.",
    "Bob keeps talking about his sourdough bread.",
    "Alice ran twenty miles for the Berlin marathon today.",
    "Bob baked sourdough bread for his neighbours.",
    "Alice bought new shoes for the Berlin marathon.",
    "Bob wants to sell his sourdough bread at the market.",
]


def main() -> None:
    llm = ScriptedLLM(lambda messages, options: "Thanks for telling me!")
    with (
        tempfile.TemporaryDirectory() as data_dir,
        Agent.open(
            data_dir, llm=llm, embedder=HashEmbedder(384), clock=ManualClock(1_767_261_600.0)
        ) as agent,
    ):
        agent.subscribe(lambda e: print(f"  [{e.kind}] {e.data}") if e.kind == "trigger" else None)
        for message in CONVERSATION:
            reply = agent.chat(message, user="sam")
            print(f"sam: {message}\nagent: {reply.text}  ({len(reply.recalled)} memories recalled)")
            for action in agent.idle(8 * 3600, user="sam"):  # a night passes
                print(f"agent, unprompted ({action.action}): {action.content}")
                print(f"  because these came back to mind: {action.cause}")


if __name__ == "__main__":
    main()
