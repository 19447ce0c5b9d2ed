"""The runtime context of the cognitive graph: every collaborator a node may use, built once by the
composition root (:func:`cogarch.composition.build_context`) and injected through LangGraph's ``Runtime``.

Nodes never construct collaborators; tests build an ``AgentContext`` with fakes (``ScriptedLLM``,
``HashEmbedder``, a small substrate) and run the same graph.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cogarch.clock import Clock
from cogarch.events import Event, EventBus
from cogarch.gateway import MemoryGateway
from cogarch.settings import Settings
from cogarch.store.proactive import ProactiveLog
from cogarch.substrates import SubstratePool
from cogarch.tools.toolbox import Toolbox
from memory import Memory
from memory.embedders.base import Embedder
from reasoning.llm import LLM


class ActionPolicy(Protocol):
    """Chooses environment commands (the game-playing part of the act node); see ``cogarch.episodes``."""

    def choose(self, ctx: Any) -> str: ...

    def observe(self, ctx: Any, command: str, next_observation: str, reward: float, done: bool) -> None: ...


@dataclass
class AgentContext:
    """Everything the nodes need. Built by the composition root, read-only for nodes."""

    settings: Settings
    llm: LLM
    embedder: Embedder
    memory: Memory
    substrates: SubstratePool
    events: EventBus
    clock: Clock
    proactive_log: ProactiveLog
    policy: ActionPolicy | None = None
    gateway: MemoryGateway = field(default_factory=MemoryGateway)
    tools: Toolbox = field(default_factory=Toolbox)
    user_locks: dict[str, threading.RLock] = field(default_factory=dict)
    game_state: dict[str, Any] = field(default_factory=dict)
    search_stops: dict[str, threading.Event] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, kind: Any, user: str, data: Mapping[str, Any]) -> None:
        self.events.emit(Event(kind=kind, user=user, data=dict(data), t=self.clock.now()))

    def search_stop(self, user: str) -> threading.Event:
        """The flag that stops ``user``'s running search (set by ``Agent.interrupt``, cleared when one starts)."""
        with self._locks_guard:
            return self.search_stops.setdefault(user, threading.Event())

    def lock_for(self, user: str) -> threading.RLock:
        """One lock per user: turns of one user never interleave; different users run in parallel."""
        with self._locks_guard:
            lock = self.user_locks.get(user)
            if lock is None:
                lock = self.user_locks[user] = threading.RLock()
            return lock


__all__ = ["ActionPolicy", "AgentContext"]
