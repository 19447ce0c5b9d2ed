"""Building the agent a server process runs, and the shared mode.

- Concurrent requests: ``memory.Memory`` runs its methods one at a time under its own lock (its SQLite store
  keeps one connection), so the server uses it as is. LLM calls happen outside memory calls, so turns of
  different users still overlap where it matters.
- ``memory_mode="shared"``: ``memory.Memory.open`` takes an exclusive ``flock`` on the data directory even when the
  vectors live in a Chroma server (``memory/store/lock.py``), so a second process could not open it. Shared mode
  builds the same ``Memory`` without that lock over one data directory on one host: records in SQLite (WAL; its
  own file locks serialise writers across processes), vectors in the Chroma server, checkpoints in Postgres.
- ``memory.store="postgres"`` with a Chroma server: ``Memory.open`` takes no directory lock (the records are in
  the database, the vectors in the server), so every process, on any host, opens it as is, in either mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cogarch.agent import Agent
from cogarch.clock import Clock
from cogarch.composition import build_embedder, build_llm, prepare_data_dir
from cogarch.datadir import DataDir
from cogarch.settings import Settings
from reasoning.errors import ConfigError


def open_shared_memory(directory: Path, settings: Settings, *, embedder: Any, llm: Any) -> Any:
    """A ``memory.Memory`` over ``directory`` that other processes may open at the same time.

    Raises:
        ConfigError: no ``memory.chroma_url`` (an embedded Chroma cannot be shared between processes), or the
            directory's memory was built with another embedder.
    """
    from memory import Memory
    from memory.extraction import build_extractor
    from memory.index.chroma import ChromaIndex, chroma_client
    from memory.layout import MemoryDir
    from memory.store.sqlite import SQLiteStore

    if not settings.memory.chroma_url:
        raise ConfigError(
            "serve.memory_mode='shared' needs a Chroma server",
            hint="start one (`chroma run --path DIR`) and set COGARCH_MEMORY__CHROMA_URL=http://host:8000",
        )
    directory.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(MemoryDir(directory).records)
    try:
        known = store.bind_embedder(embedder.name, embedder.dim)
        if known != embedder.name:
            raise ConfigError(
                f"this memory was built with embedder {known!r}, not {embedder.name!r}",
                hint="serve it with the same embedding model",
            )
        token = settings.memory.chroma_token.get_secret_value() if settings.memory.chroma_token else None
        client = chroma_client(url=settings.memory.chroma_url, token=token)
        index = ChromaIndex(client, prefix=settings.memory.collection_prefix, dim=embedder.dim)
        extractor = build_extractor(settings.memory.facts, llm, embedder)
        memory = Memory(directory, settings.memory, store, index, embedder, llm, None, extractor)
        memory.reconcile()
        return memory
    except BaseException:
        store.close()
        raise


def build_server_agent(
    settings: Settings,
    *,
    llm: Any = None,
    embedder: Any = None,
    clock: Clock | None = None,
    serve: Any = None,
) -> Agent:
    """The agent of one server process, per ``serve.memory_mode`` (``serve`` defaults to ``settings.serve``).

    Raises:
        ConfigError: shared mode without a Chroma server. StoreLockedError: exclusive mode and another process
            has the data directory.
    """
    from memory import Memory

    serve = serve if serve is not None else settings.serve
    files = DataDir(prepare_data_dir(Path(settings.data_dir)))
    llm = llm if llm is not None else build_llm(settings)
    embedder = embedder if embedder is not None else build_embedder(settings)
    if serve.memory_mode == "shared" and settings.memory.store == "sqlite":
        memory = open_shared_memory(files.memory, settings, embedder=embedder, llm=llm)
    else:
        memory = Memory.open(files.memory, settings.memory, embedder=embedder, llm=llm)
    try:
        return Agent(settings, llm=llm, embedder=embedder, memory=memory, clock=clock)
    except BaseException:
        memory.close()
        raise


AgentFactory = Callable[[], Agent]

__all__ = ["AgentFactory", "build_server_agent", "open_shared_memory"]
