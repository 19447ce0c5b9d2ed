"""Forgetting across every store of an agent: memory, substrate bindings, proactive log, conversation checkpoints.

``Memory.forget`` erases records and what was derived from them (:mod:`memory.forgetting`). The agent keeps the
same content in three more places, and this module erases it there too:

- the **substrate** of the user (``<data_dir>/substrate/<hash>.pt``, or a row of ``agent_substrates`` on Postgres):
  forgetting a user deletes it;
  forgetting items unbinds their keys (the assembly keeps no text, only which neurons answered for a key) and
  saves the file at once;
- the **proactive log** (``agent.db``): the user's rows, or the rows caused by or quoting forgotten items;
- the **LangGraph checkpoints** (``checkpoints.sqlite``): every checkpoint of every thread of the user holds turn
  texts, recalled notes and the short-term history. Forgetting a user deletes the threads. Forgetting items
  rewrites each thread that mentions them: the thread is deleted and a single fresh checkpoint is written holding
  the turn counter and the history without the messages that quote forgotten text.

SQLite files are erased, not only unlinked: deletes run with ``secure_delete`` and the WAL is checkpointed and
truncated afterwards. The functions work on the stores of a running agent (``forget_user``, ``forget_items`` on a
:class:`UserStores`) or, for the CLI, on a data directory with no agent running (``forget_in``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from cogarch import composition
from cogarch.cognitive_graph import compile_graph
from cogarch.datadir import DataDir
from cogarch.settings import Settings
from cogarch.store.checkpoints import open_sqlite_saver, secure_delete, truncate_wal
from cogarch.store.postgres import AgentDatabase
from cogarch.store.proactive import ProactiveLog
from cogarch.substrates import SubstrateFiles, SubstratePool, SubstrateRows
from memory import Memory
from reasoning.errors import InvalidInputError


def thread_ids_of(checkpointer: Any, user: str) -> list[str]:
    """The checkpoint threads of ``user``: ``"<user>/<conversation>"`` (conversation names hold no ``/``)."""
    prefix = f"{user}/"
    seen: set[str] = set()
    for item in list(checkpointer.list(None)):
        thread = str(item.config.get("configurable", {}).get("thread_id", ""))
        if thread.startswith(prefix) and "/" not in thread[len(prefix) :]:
            seen.add(thread)
    return sorted(seen)


def delete_user_threads(checkpointer: Any, user: str) -> int:
    """Delete every checkpoint thread of ``user``; returns how many."""
    secure_delete(checkpointer)
    threads = thread_ids_of(checkpointer, user)
    for thread in threads:
        checkpointer.delete_thread(thread)
    truncate_wal(checkpointer)
    return len(threads)


def _mentions(value: Any, needles: Sequence[str]) -> bool:
    """Whether any string inside ``value`` (nested lists/dicts) contains one of ``needles``."""
    if isinstance(value, str):
        return any(n in value for n in needles)
    if isinstance(value, dict):
        return any(_mentions(k, needles) or _mentions(v, needles) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions(v, needles) for v in value)
    return False


def scrub_threads(graph: Any, checkpointer: Any, user: str, needles: Sequence[str]) -> int:
    """Rewrite the threads of ``user`` whose checkpoints mention any of ``needles`` (forgotten texts or ids).

    A mentioning thread is deleted, then re-created with one checkpoint holding the turn counter and the
    history minus the messages that mention a needle. Returns the number of threads rewritten.
    """
    needles = [n for n in needles if n]
    if not needles:
        return 0
    secure_delete(checkpointer)
    rewritten = 0
    for thread in thread_ids_of(checkpointer, user):
        config = {"configurable": {"thread_id": thread}}
        checkpoints = list(checkpointer.list(config))  # consumed at once: the saver holds its lock meanwhile
        tainted = any(_mentions(item.checkpoint.get("channel_values", {}), needles) for item in checkpoints)
        if not tainted:
            continue
        values = graph.get_state(config).values
        history = [m for m in values.get("history") or [] if not _mentions(m, needles)]
        checkpointer.delete_thread(thread)
        graph.update_state(
            config,
            {"turn": int(values.get("turn", 0)), "history": history, "stored": ["forgotten"]},
            as_node="learn",
        )
        rewritten += 1
    truncate_wal(checkpointer)
    return rewritten


@dataclass(frozen=True)
class UserStores:
    """Where a running agent keeps its users' data, i.e. what forgetting erases: the memory, the substrates, the
    proactive log, and the conversation checkpoints with the compiled graph that reads and rewrites them.
    ``lock_for(user)`` is the user's turn lock (forgetting never interleaves with the user's turn)."""

    memory: Memory
    substrates: SubstratePool
    proactive_log: ProactiveLog
    checkpointer: Any
    graph: Any
    lock_for: Callable[[str], AbstractContextManager[Any]]
    shared: AgentDatabase | None = None
    """On Postgres: the shared tables (the user's proactive events are erased there too)."""


def forget_user(stores: UserStores, user: str) -> None:
    """Forget everything of ``user``: memory, substrate, proactive log (and events) and every checkpoint thread."""
    with stores.lock_for(user):
        stores.memory.forget(namespace=user, all=True)
        stores.substrates.forget_user(user)
        stores.proactive_log.forget_user(user)
        if stores.shared is not None:
            stores.shared.forget_events(user)
        delete_user_threads(stores.checkpointer, user)


def forget_items(
    stores: UserStores,
    user: str,
    ids: str | Sequence[str] | None = None,
    *,
    query: str | None = None,
    k: int = 5,
) -> int:
    """Forget records of ``user`` (by ``ids`` or the top ``k`` matches of ``query``, as ``Memory.forget``) from
    memory, the substrate, the proactive log and the checkpoints. Returns the number of memory records removed.

    Raises:
        InvalidInputError: not exactly one of ``ids`` and ``query``. NotFoundError: an id not of this user.
    """
    if (ids is None) == (query is None):
        raise InvalidInputError("forget needs exactly one of ids or query=")
    with stores.lock_for(user):
        targets = stores.memory.forget_targets(user, ids, query=query, k=k)
        texts = [stores.memory.get(rid, namespace=user).text for rid in targets]
        removed = stores.memory.forget(targets, namespace=user) if targets else 0
        stores.substrates.unbind(user, targets)
        stores.proactive_log.forget_items(user, targets, texts)
        scrub_threads(stores.graph, stores.checkpointer, user, [*texts, *targets])
    return removed


@contextlib.contextmanager
def _substrate_store(
    settings: Settings,
) -> Iterator[tuple[SubstrateFiles | SubstrateRows, AgentDatabase | None]]:
    """Where the data directory's agent keeps substrates (files, or rows in Postgres) and, on Postgres, the shared
    tables, for the block."""
    shared = composition.build_shared(settings)
    if shared is None:
        yield SubstrateFiles(settings.paths.substrate, "cpu"), None
        return
    try:
        yield SubstrateRows(shared, "cpu"), shared
    finally:
        shared.close()


@contextlib.contextmanager
def _closed_proactive_log(files: DataDir) -> Iterator[ProactiveLog | None]:
    """The data directory's proactive log, opened for the block and closed after it (None: there is none)."""
    if not files.proactive_log.exists():
        yield None
        return
    log = ProactiveLog(files.proactive_log)
    try:
        yield log
    finally:
        log.close()


@contextlib.contextmanager
def _closed_checkpoints(settings: Settings) -> Iterator[Any]:
    """A ``SqliteSaver`` over the data directory's checkpoints for the block (None: none, or not SQLite)."""
    path = settings.paths.checkpoints
    if not path.exists() or settings.persistence.checkpointer != "sqlite":
        yield None
        return
    with open_sqlite_saver(path) as saver:
        yield saver


def forget_in(
    settings: Settings,
    memory: Memory,
    user: str,
    ids: Sequence[str] = (),
    *,
    query: str | None = None,
    k: int = 5,
    all: bool = False,
) -> int:
    """Forget in a data directory no agent has open (the CLI), with its ``memory`` opened by the caller: the
    records ``ids``, or the top ``k`` matches of ``query``, or ``all`` of ``user``, as ``Memory.forget``; then
    their traces in the other stores: substrate bindings (``all``: the user's file), proactive log rows, and the
    checkpoint threads (SQLite checkpointer only; rewritten without them, or deleted for ``all``). Returns the
    number of memory records removed.

    Raises:
        InvalidInputError: not exactly one of ``ids``, ``query`` and ``all``. NotFoundError: an id not of ``user``.
    """
    if sum((bool(ids), query is not None, all)) != 1:
        raise InvalidInputError("forget needs exactly one of ids, query= or all=True")
    files = settings.paths
    if all:
        removed = memory.forget(namespace=user, all=True)
        with _substrate_store(settings) as (store, shared):
            store.delete(user)
            if shared is not None:
                shared.forget_events(user)
        with _closed_proactive_log(files) as log:
            if log is not None:
                log.forget_user(user)
        with _closed_checkpoints(settings) as saver:
            if saver is not None:
                delete_user_threads(saver, user)
        return removed
    targets = memory.forget_targets(user, list(ids) if ids else None, query=query, k=k)
    texts = [memory.get(rid, namespace=user).text for rid in targets]
    removed = memory.forget(targets, namespace=user) if targets else 0
    with _substrate_store(settings) as (store, _):
        for _attempt in range(
            3
        ):  # a save that lost to another process's (Postgres): load the newer one, redo
            stored = store.load(user) if targets else None  # a damaged file: CorruptStoreError naming it
            if stored is None:
                break
            substrate, version = stored
            if not sum(bool(substrate.unbind(rid)) for rid in targets):
                break
            if store.save(user, substrate, version) is not None:
                store.erase()
                break
    with _closed_proactive_log(files) as log:
        if log is not None:
            log.forget_items(user, targets, texts)
    with _closed_checkpoints(settings) as saver:
        if saver is not None:
            scrub_threads(compile_graph(saver), saver, user, [*texts, *targets])
    return removed


__all__ = [
    "UserStores",
    "delete_user_threads",
    "forget_in",
    "forget_items",
    "forget_user",
    "scrub_threads",
    "thread_ids_of",
]
