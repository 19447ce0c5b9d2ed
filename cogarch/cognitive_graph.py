"""The cognitive cycle as a LangGraph ``StateGraph`` (see DESIGN.md):

::

    START ─┬─> perceive -> encode -> recall ─┬─> respond ────┐   (respond <-> tools: the model's tool calls)
           │                                 ├─> deliberate ─┼─> learn -> END
           │                                 └─> act ────────┘
           └─> tick -> trigger -> decide -> END                 (the idle path)

Nodes are the plain functions of :mod:`cogarch.nodes`; collaborators arrive through the runtime context
(:class:`cogarch.context.AgentContext`). Checkpoints (SQLite by default, Postgres when configured) store the
state after every node, one thread per user and conversation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.graph import END, START, StateGraph

from cogarch.context import AgentContext
from cogarch.nodes import IDLE_NODES, TURN_NODES, Node, route_after_recall, route_after_respond, route_entry
from cogarch.state import TurnState
from reasoning.errors import ConfigError, CorruptStoreError, MissingResourceError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from cogarch.settings import Settings


def build_graph(
    *, bind: Callable[[Node], Node] | None = None, context_schema: type[Any] = AgentContext
) -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled graph (no checkpointer): for rendering, for :func:`compile_graph`, and (with ``bind``,
    which wraps every node, and another ``context_schema``) for LangGraph Studio (:mod:`cogarch.studio`)."""
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(TurnState, context_schema=context_schema)
    for name, fn in {**TURN_NODES, **IDLE_NODES}.items():
        graph.add_node(name, bind(fn) if bind is not None else fn)  # type: ignore[call-overload]
    graph.add_conditional_edges(START, route_entry, {"perceive": "perceive", "tick": "tick"})
    graph.add_edge("perceive", "encode")
    graph.add_edge("encode", "recall")
    graph.add_conditional_edges(
        "recall", route_after_recall, {"respond": "respond", "deliberate": "deliberate", "act": "act"}
    )
    graph.add_conditional_edges("respond", route_after_respond, {"tools": "tools", "learn": "learn"})
    graph.add_edge("tools", "respond")
    for node in ("deliberate", "act"):
        graph.add_edge(node, "learn")
    graph.add_edge("learn", END)
    graph.add_edge("tick", "trigger")
    graph.add_edge("trigger", "decide")
    graph.add_edge("decide", END)
    return graph


def compile_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> Any:
    """The compiled graph with ``checkpointer``."""
    return build_graph().compile(checkpointer=checkpointer)


def _typed_sqlite_saver(base: Any, conn: sqlite3.Connection, path: Path) -> Any:
    """A ``SqliteSaver`` whose SQLite failures (a full disk, a damaged file) raise cogarch's typed errors with a
    hint (the failed write is rolled back) instead of a raw ``sqlite3`` traceback."""
    import contextlib

    from memory.store.sqlite import sqlite_error

    class TypedSqliteSaver(base):  # type: ignore[misc]
        @contextlib.contextmanager
        def cursor(self, transaction: bool = True) -> Any:
            try:
                with super().cursor(transaction) as cur:
                    yield cur
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.rollback()
                raise sqlite_error(exc, path, "writing the conversation checkpoint") from exc

    return TypedSqliteSaver(conn)


def build_checkpointer(settings: Settings) -> tuple[BaseCheckpointSaver[Any], Any]:
    """The configured checkpointer and the resource to close with it (a connection, a pool, or None)."""
    kind = settings.persistence.checkpointer
    if kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver(), None
    if kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = settings.paths.checkpoints
        conn = sqlite3.connect(str(path), check_same_thread=False)
        saver = _typed_sqlite_saver(SqliteSaver, conn, path)
        try:
            saver.setup()
        except sqlite3.DatabaseError as exc:
            conn.close()
            from memory.store.sqlite import sqlite_error

            error = sqlite_error(exc, path, "opening the conversation checkpoints")
            if isinstance(error, CorruptStoreError):
                error.hint = (
                    "run `cogarch doctor --repair` (moves it aside: memories are kept, unfinished turns lost)"
                )
            raise error from exc
        return saver, conn
    if kind == "postgres":
        url = settings.persistence.postgres_url
        if url is None:
            raise ConfigError(
                "persistence.checkpointer is 'postgres' but persistence.postgres_url is not set",
                hint="set COGARCH_PERSISTENCE__POSTGRES_URL=postgresql://user:pass@host:5432/db",
            )
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise MissingResourceError(
                "the Postgres checkpointer is not installed", hint="pip install 'cogarch[postgres]'"
            ) from exc
        pool = ConnectionPool(
            url.get_secret_value(),
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            max_size=8,
            open=True,
        )
        pg_saver = PostgresSaver(pool)  # type: ignore[arg-type]
        pg_saver.setup()
        return pg_saver, pool
    raise ConfigError(f"unknown checkpointer {kind!r}", hint="use 'sqlite', 'postgres' or 'memory'")


__all__ = ["build_checkpointer", "build_graph", "compile_graph"]
