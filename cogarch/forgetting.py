"""Forgetting across every store of an agent: memory, substrate bindings, proactive log, conversation checkpoints.

``Memory.forget`` erases records and what was derived from them (:mod:`memory.forgetting`). The agent keeps the
same content in three more places, and this module erases it there too:

- the **substrate** of the user (``<data_dir>/substrate/<hash>.pt``): forgetting a user deletes the file;
  forgetting items unbinds their keys (the assembly keeps no text, only which neurons answered for a key) and
  saves the file at once;
- the **proactive log** (``agent.db``): the user's rows, or the rows caused by or quoting forgotten items;
- the **LangGraph checkpoints** (``checkpoints.sqlite``): every checkpoint of every thread of the user holds turn
  texts, recalled notes and the short-term history. Forgetting a user deletes the threads. Forgetting items
  rewrites each thread that mentions them: the thread is deleted and a single fresh checkpoint is written holding
  the turn counter and the history without the messages that quote forgotten text.

SQLite files are erased, not only unlinked: deletes run with ``secure_delete`` and the WAL is checkpointed and
truncated afterwards. The functions work on an open :class:`~cogarch.agent.Agent` (``forget_user``,
``forget_items``) or, for the CLI, on a data directory with no agent running (``forget_user_in``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogarch.store.checkpoints import open_sqlite_saver, secure_delete, truncate_wal
from cogarch.substrates import load_substrate, save_atomic, user_file

if TYPE_CHECKING:
    from cogarch.agent import Agent
    from cogarch.settings import Settings

CHECKPOINT_FILE = "checkpoints.sqlite"
PROACTIVE_FILE = "agent.db"


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


def forget_user(agent: Agent, user: str) -> None:
    """Forget everything of ``user`` in ``agent``: memory, substrate, proactive log and every checkpoint thread."""
    ctx = agent.context
    with ctx.lock_for(user):
        agent.memory.forget(namespace=user, all=True)
        ctx.substrates.forget_user(user)
        ctx.proactive_log.forget_user(user)
        delete_user_threads(agent._checkpointer, user)


def forget_items(
    agent: Agent,
    user: str,
    ids: str | Sequence[str] | None = None,
    *,
    query: str | None = None,
    k: int = 5,
) -> int:
    """Forget records of ``user`` (by ``ids`` or the top ``k`` matches of ``query``) from memory, the substrate,
    the proactive log and the checkpoints. Returns the number of memory records removed.

    Raises:
        InvalidInputError: not exactly one of ``ids`` and ``query``. NotFoundError: an id not of this user.
    """
    from reasoning.errors import InvalidInputError

    ctx = agent.context
    memory: Any = agent.memory
    if (ids is None) == (query is None):
        raise InvalidInputError("forget needs exactly one of ids or query=")
    with ctx.lock_for(user):
        if query is not None:
            found = memory.recall(query, namespace=user, k=k)
            targets = [r.id for r in found if r.kind in ("episode", "fact")]
        else:
            targets = [ids] if isinstance(ids, str) else list(ids or [])
        texts = [str(getattr(memory.get(rid, namespace=user), "text", "")) for rid in targets]
        removed = int(memory.forget(targets, namespace=user)) if targets else 0
        has_substrate = user in ctx.substrates.loaded() or user_file(_substrate_root(agent), user).exists()
        if ctx.substrates.enabled and has_substrate:
            substrate = ctx.substrates.get(user)
            if sum(bool(substrate.unbind(rid)) for rid in targets):
                ctx.substrates.save(user)
        ctx.proactive_log.forget_items(user, targets, texts)
        scrub_threads(agent.graph, agent._checkpointer, user, [*texts, *targets])
    return removed


def _substrate_root(agent: Agent) -> Path:
    return Path(agent.settings.data_dir) / "substrate"


@contextlib.contextmanager
def _closed_proactive_log(data_dir: Path) -> Iterator[Any]:
    """The data directory's proactive log, opened for the block and closed after it (None: there is none)."""
    path = data_dir / PROACTIVE_FILE
    if not path.exists():
        yield None
        return
    from cogarch.proactive import ProactiveLog

    log = ProactiveLog(path)
    try:
        yield log
    finally:
        log.close()


@contextlib.contextmanager
def _closed_checkpoints(settings: Settings) -> Iterator[Any]:
    """A ``SqliteSaver`` over the data directory's checkpoints for the block (None: none, or not SQLite)."""
    path = Path(settings.data_dir) / CHECKPOINT_FILE
    if not path.exists() or settings.persistence.checkpointer != "sqlite":
        yield None
        return
    with open_sqlite_saver(path) as saver:
        yield saver


def forget_user_in(settings: Settings, user: str) -> dict[str, int]:
    """Forget the agent-side state of ``user`` in a data directory no agent has open (for the CLI, after the
    memory namespace was forgotten): the substrate file, the proactive log rows and the checkpoint threads
    (SQLite checkpointer only). Returns what was removed."""
    data_dir = Path(settings.data_dir)
    out = {"substrate": 0, "threads": 0}
    path = user_file(data_dir / "substrate", user)
    if path.exists():
        path.unlink()
        out["substrate"] = 1
    with _closed_proactive_log(data_dir) as log:
        if log is not None:
            log.forget_user(user)
    with _closed_checkpoints(settings) as saver:
        if saver is not None:
            out["threads"] = delete_user_threads(saver, user)
    return out


def forget_items_in(
    settings: Settings, user: str, ids: Iterable[str], texts: Iterable[str]
) -> dict[str, int]:
    """Erase forgotten items (already removed from memory) from the agent-side stores of a data directory no
    agent has open: substrate bindings, proactive log rows and checkpoint threads (rewritten)."""
    ids, texts = list(ids), list(texts)
    data_dir = Path(settings.data_dir)
    out = {"unbound": 0, "threads": 0}
    path = user_file(data_dir / "substrate", user)
    if path.exists() and ids:
        substrate = load_substrate(path, device="cpu")  # a damaged file: CorruptStoreError naming it
        out["unbound"] = sum(bool(substrate.unbind(rid)) for rid in ids)
        if out["unbound"]:
            save_atomic(substrate, path)
    with _closed_proactive_log(data_dir) as log:
        if log is not None:
            log.forget_items(user, ids, texts)
    with _closed_checkpoints(settings) as saver:
        if saver is not None:
            from cogarch.graph import compile_graph

            out["threads"] = scrub_threads(compile_graph(saver), saver, user, [*texts, *ids])
    return out


__all__ = [
    "delete_user_threads",
    "forget_items",
    "forget_items_in",
    "forget_user",
    "forget_user_in",
    "scrub_threads",
    "thread_ids_of",
]
