"""The composition root: the one place that turns :class:`~cogarch.settings.Settings` into collaborators.

Everything it builds can be injected instead (tests pass a ``ScriptedLLM``, a ``HashEmbedder``, a ``ManualClock``),
so embedding cogarch in another system never means subclassing it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogarch.clock import Clock, RealClock
from cogarch.context import AgentContext
from cogarch.datadir import DataDir
from cogarch.events import EventBus
from cogarch.game import ActionPolicy
from cogarch.settings import Settings
from cogarch.store.postgres import AgentDatabase
from cogarch.store.proactive import ProactiveLog
from cogarch.substrates import SubstratePool, SubstrateRows
from cogarch.tools.toolbox import Toolbox
from memory.embedders.caching import CachingEmbedder
from reasoning.errors import ConfigError, CorruptStoreError

if TYPE_CHECKING:
    from memory.embedders.base import Embedder
    from reasoning.llm import LLM


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory private to its owner (mode 0700).

    Raises:
        ConfigError: the path cannot be a directory of ours (it is a file, a parent is missing or not writable).
    """
    path = path.expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"data_dir {str(path)!r} cannot be used as the data directory: {reason}",
            hint="pass --data-dir (or set COGARCH_DATA_DIR) to a directory you can write",
        ) from None
    return path


def secure_data_dir(path: Path) -> None:
    """Make what cogarch created in ``path`` private to its owner: directories 0700, files 0600.

    Only the entries cogarch creates (:meth:`DataDir.private_entries`, with SQLite's ``-wal``/``-shm`` companions)
    are touched, never other files
    a user keeps there. SQLite gives its ``-wal``/``-shm``/``-journal`` files the mode of the database, so a
    database made 0600 right after it is created stays private; files a library writes later (Chroma's index
    segments) are tightened at the next open or close, and are out of reach meanwhile behind the 0700 directory.
    Files owned by someone else are left alone.
    """
    path = path.expanduser()
    with contextlib.suppress(OSError):
        layout = DataDir(path)
        names = {e.name for e in layout.private_entries()}
        databases = (layout.checkpoints.name, layout.proactive_log.name)  # and their -wal/-shm/-journal
        entries = [e for e in path.iterdir() if e.name in names or e.name.startswith(databases)]
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                _chmod(entry, 0o700)
                for root, dirs, files in os.walk(entry):
                    for name in dirs:
                        _chmod(Path(root) / name, 0o700)
                    for name in files:
                        _chmod(Path(root) / name, 0o600)
            else:
                _chmod(entry, 0o600)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):
        if not path.is_symlink() and path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)


def build_llm(settings: Settings) -> LLM:
    from reasoning.engines import build_llm as _build

    return _build(settings.llm, cache_dir=settings.paths.models)


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


def build_toolbox(settings: Settings, tools: Sequence[Callable[..., Any]] = ()) -> Toolbox:
    """The agent's tools: ``tools`` and those of the configured MCP servers (connected now).

    Raises:
        ConfigError: two tools share a name, or a callable cannot be described.
        MissingResourceError: an MCP server cannot be started or reached.
    """
    toolbox = Toolbox(tools, settings.tools)
    if settings.tools.mcp:
        from cogarch.tools.mcp import connect_all

        try:
            connect_all(toolbox, settings.tools.mcp, timeout_s=settings.tools.mcp_connect_timeout_s)
        except BaseException:
            toolbox.close()
            raise
    return toolbox


def build_context(
    settings: Settings,
    *,
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    memory: Any = None,
    clock: Clock | None = None,
    policy: ActionPolicy | None = None,
    trace_path: Path | None = None,
    tools: Sequence[Callable[..., Any]] = (),
) -> AgentContext:
    """Every collaborator of an agent, built from ``settings`` unless injected. ``tools``: the callables the
    model may call; the tools of the MCP servers in ``settings.tools.mcp`` are added to them."""
    from memory import Memory

    data_dir = prepare_data_dir(Path(settings.data_dir))
    toolbox = build_toolbox(settings, tools)  # first: a bad tool fails before anything is opened
    try:
        llm = llm if llm is not None else build_llm(settings)
        # one cache for the agent's encode node and its memory: encode and recall share one embedding of the
        # input (the store embeds the speaker-prefixed form, memory.records.embed_text: a second one)
        embedder = CachingEmbedder(embedder if embedder is not None else build_embedder(settings))
        opened = memory is None
        if memory is None:
            memory = Memory.open(data_dir / "memory", settings.memory, embedder=embedder, llm=llm)
        try:
            shared = build_shared(settings)
        except BaseException:
            if opened:
                memory.close()
            raise
    except BaseException:
        toolbox.close()
        raise
    store = None if shared is None else SubstrateRows(shared, settings.substrate.device)
    return AgentContext(
        settings=settings,
        tools=toolbox,
        llm=llm,
        embedder=embedder,
        memory=memory,
        substrates=SubstratePool(settings.substrate, DataDir(data_dir).substrate, store=store),
        events=EventBus(trace_path),
        clock=clock if clock is not None else RealClock(),
        proactive_log=_proactive_log(DataDir(data_dir).proactive_log),
        policy=policy,
        shared=shared,
    )


def build_shared(settings: Settings) -> AgentDatabase | None:
    """The state processes on several hosts share (:class:`~cogarch.store.postgres.AgentDatabase`: substrates,
    turn locks, rate limits, proactive events) in the memory's database when ``memory.store = "postgres"``;
    None with SQLite (one host: substrates are files, locks and limits per process).

    Raises:
        ConfigError: ``store="postgres"`` without ``postgres_url``. MemoryBackendError: the server is unreachable.
    """
    memory = settings.memory
    if memory.store != "postgres":
        return None
    if memory.postgres_url is None:
        raise ConfigError(
            "memory.store is 'postgres' but memory.postgres_url is not set",
            hint="set COGARCH_MEMORY__POSTGRES_URL=postgresql://user:password@host:5432/db",
        )
    return AgentDatabase(
        memory.postgres_url.get_secret_value(),
        schema=memory.postgres_schema,
        max_turns=settings.serve.max_concurrent_turns,
        timeout=memory.postgres_timeout_s,
    )


__all__ = [
    "build_context",
    "build_embedder",
    "build_llm",
    "build_shared",
    "build_toolbox",
    "prepare_data_dir",
    "secure_data_dir",
]
