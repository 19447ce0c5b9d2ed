"""cogarch: LLM agents with a cognitive architecture.

The short public API (pinned by ``tests/test_public_api.py``)::

    from cogarch import Agent, Settings, Memory, Substrate, CoATSearch

Heavy modules (torch, chromadb, langgraph) load on first use of the names that need them, so importing
``cogarch`` (and starting the command line) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cogarch.settings import Settings

if TYPE_CHECKING:
    from cogarch.agent import ActResult, Agent, ProactiveAction, Reply
    from cogarch.clock import ManualClock, RealClock, ScaledClock
    from cogarch.state import RecalledItem
    from cogarch.turns import TurnOptions
    from memory import Memory
    from reasoning.engines.scripted import ScriptedLLM
    from reasoning.search import CoATSearch
    from snn_substrate import Substrate

_LAZY = {
    "Agent": "cogarch.agent",
    "ActResult": "cogarch.agent",
    "ProactiveAction": "cogarch.agent",
    "Reply": "cogarch.agent",
    "ManualClock": "cogarch.clock",
    "RealClock": "cogarch.clock",
    "ScaledClock": "cogarch.clock",
    "RecalledItem": "cogarch.state",
    "TurnOptions": "cogarch.turns",
    "Memory": "memory",
    "ScriptedLLM": "reasoning.engines.scripted",
    "CoATSearch": "reasoning.search",
    "Substrate": "snn_substrate",
}

__all__ = [
    "ActResult",
    "Agent",
    "CoATSearch",
    "ManualClock",
    "Memory",
    "ProactiveAction",
    "RealClock",
    "RecalledItem",
    "Reply",
    "ScaledClock",
    "ScriptedLLM",
    "Settings",
    "Substrate",
    "TurnOptions",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cogarch' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
