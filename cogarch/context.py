"""The runtime context of the cognitive graph: every collaborator a node may use, built once by the
composition root (:func:`cogarch.composition.build_context`) and injected through LangGraph's ``Runtime``.

Nodes never construct collaborators; tests build an ``AgentContext`` with fakes (``ScriptedLLM``,
``HashEmbedder``, a small substrate) and run the same graph.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cogarch.clock import Clock
from cogarch.events import Event, EventBus
from cogarch.game import ActionPolicy
from cogarch.gateway import MemoryGateway
from cogarch.settings import Settings
from cogarch.store.postgres import AgentDatabase
from cogarch.store.proactive import ProactiveLog
from cogarch.substrates import SubstratePool
from cogarch.tools.toolbox import Toolbox
from memory import Memory
from memory.embedders.base import Embedder
from reasoning.llm import LLM


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
    shared: AgentDatabase | None = None
    """Postgres state shared with other processes (``memory.store="postgres"``): turn locks, substrates."""
    user_locks: dict[str, UserLock] = field(default_factory=dict)
    game_state: dict[str, Any] = field(default_factory=dict)
    search_stops: dict[str, threading.Event] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, kind: Any, user: str, data: Mapping[str, Any]) -> None:
        self.events.emit(Event(kind=kind, user=user, data=dict(data), t=self.clock.now()))

    def search_stop(self, user: str) -> threading.Event:
        """The flag that stops ``user``'s running search (set by ``Agent.interrupt``, cleared when one starts)."""
        with self._locks_guard:
            return self.search_stops.setdefault(user, threading.Event())

    def lock_for(self, user: str) -> UserLock:
        """One lock per user: turns of one user never interleave; different users run in parallel. With
        :attr:`shared` state, turns of one user on other processes wait too (a Postgres advisory lock), and the
        user's substrate is reloaded when another process saved a newer one."""
        with self._locks_guard:
            lock = self.user_locks.get(user)
            if lock is None:
                lock = self.user_locks[user] = UserLock(user, self)
            return lock


class UserLock:
    """Re-entrant within a thread; the cross-process lock (if any) is taken by the outermost entry only."""

    def __init__(self, user: str, ctx: AgentContext) -> None:
        self._user = user
        self._ctx = ctx
        self._lock = threading.RLock()
        self._depth = 0
        self._held: contextlib.ExitStack | None = None

    def __enter__(self) -> UserLock:
        self._lock.acquire()
        if self._depth == 0 and self._ctx.shared is not None:
            stack = contextlib.ExitStack()
            try:
                wait_s = self._ctx.settings.serve.request_timeout_s
                stack.enter_context(self._ctx.shared.user_lock(self._user, wait_s))
                self._ctx.substrates.refresh(self._user)
            except BaseException:
                stack.close()
                self._lock.release()
                raise
            self._held = stack
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._held is not None:
                held, self._held = self._held, None
                held.close()
        finally:
            self._lock.release()


__all__ = ["AgentContext", "UserLock"]
