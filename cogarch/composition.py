"""The composition root: the one place that turns :class:`~cogarch.settings.Settings` into collaborators.

Everything it builds can be injected instead (tests pass a ``ScriptedLLM``, a ``HashEmbedder``, a ``ManualClock``),
so embedding cogarch in another system never means subclassing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogarch.clock import Clock, RealClock
from cogarch.context import ActionPolicy, AgentContext
from cogarch.events import EventBus
from cogarch.proactive import ProactiveLog
from cogarch.settings import Settings
from cogarch.substrates import SubstratePool
from reasoning.errors import CorruptStoreError

if TYPE_CHECKING:
    from memory.embedders.base import Embedder
    from reasoning.llm import LLM


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory private to its owner (mode 0700)."""
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def build_llm(settings: Settings) -> LLM:
    from reasoning.engines import build_llm as _build

    return _build(settings.llm, cache_dir=Path(settings.data_dir) / "models")


def build_embedder(settings: Settings) -> Embedder:
    from memory.embedders import build_embedder as _build

    return _build(settings.embedding)


def _proactive_log(path: Path) -> ProactiveLog:
    """The proactive log at ``path``; a damaged file raises :class:`CorruptStoreError` naming it."""
    import sqlite3

    try:
        return ProactiveLog(path)
    except sqlite3.DatabaseError as exc:
        from memory.store.sqlite import sqlite_error

        error = sqlite_error(exc, path, "opening the proactive log")
        if isinstance(error, CorruptStoreError):
            error.hint = "run `cogarch doctor --repair` (moves it aside: the proactive history restarts)"
        raise error from exc


def build_context(
    settings: Settings,
    *,
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    memory: Any = None,
    clock: Clock | None = None,
    policy: ActionPolicy | None = None,
    trace_path: Path | None = None,
) -> AgentContext:
    """Every collaborator of an agent, built from ``settings`` unless injected."""
    from memory import Memory

    data_dir = prepare_data_dir(Path(settings.data_dir))
    llm = llm if llm is not None else build_llm(settings)
    embedder = embedder if embedder is not None else build_embedder(settings)
    if memory is None:
        memory = Memory.open(data_dir / "memory", settings.memory, embedder=embedder, llm=llm)
    return AgentContext(
        settings=settings,
        llm=llm,
        embedder=embedder,
        memory=memory,
        substrates=SubstratePool(settings.substrate, data_dir / "substrate"),
        events=EventBus(trace_path),
        clock=clock if clock is not None else RealClock(),
        proactive_log=_proactive_log(data_dir / "agent.db"),
        policy=policy,
    )


__all__ = ["build_context", "build_embedder", "build_llm", "prepare_data_dir"]
