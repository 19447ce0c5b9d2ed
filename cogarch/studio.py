"""The cognitive graph for LangGraph Studio / ``langgraph dev`` (``langgraph.json`` points at :func:`studio_graph`).

The LangGraph server runs a graph with its own checkpointer and gives each run a JSON ``context`` (and a
``configurable`` in its config); it cannot hand over the live collaborators the nodes need (the LLM, memory,
substrates). So the Studio graph is the same graph with every node bound to an :class:`AgentContext` built
from settings: the run's context (or configurable) may name ``data_dir``, ``model`` and the settings file
``config``; everything else comes from the usual sources (``COGARCH_*`` variables, the config file). One
context is built per distinct choice and kept for the process (it holds the data directory's lock), and
closed at exit.

A turn's input in Studio is the state ``{"mode": "chat", "user": "ada", "text": "hello"}``; the idle path takes
``{"mode": "idle", "user": "ada", "idle_seconds": 3600, "t": <epoch seconds>}``.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any, TypedDict

from langgraph.config import get_config
from langgraph.runtime import Runtime

from cogarch.cognitive_graph import build_graph
from cogarch.composition import build_context
from cogarch.context import AgentContext
from cogarch.nodes import Node, Update
from cogarch.settings import Settings
from cogarch.state import TurnState


class StudioContext(TypedDict, total=False):
    """What a Studio run may choose (each optional)."""

    data_dir: str
    model: str
    config: str


_contexts: dict[tuple[str | None, str | None, str | None], AgentContext] = {}
_guard = threading.Lock()


def _close_all() -> None:
    for ctx in _contexts.values():
        ctx.tools.close()
        ctx.substrates.save()
        ctx.memory.close()
        ctx.proactive_log.close()
    _contexts.clear()


atexit.register(_close_all)


def context_for(choice: StudioContext | dict[str, Any]) -> AgentContext:
    """The agent context for a run's choice of data directory, model and config file (built once)."""
    key = (choice.get("data_dir"), choice.get("model"), choice.get("config"))
    with _guard:
        ctx = _contexts.get(key)
        if ctx is None:
            overrides: dict[str, Any] = {}
            if key[0]:
                overrides["data_dir"] = Path(str(key[0])).expanduser()
            if key[1]:
                overrides["llm"] = {"model": key[1]}
            ctx = _contexts[key] = build_context(Settings.load(key[2], **overrides))
        return ctx


def _choice(runtime: Runtime[Any]) -> dict[str, Any]:
    """The run's choice: its context, else the ``configurable`` of its config."""
    given = runtime.context if isinstance(runtime.context, dict) else {}
    configurable = dict(get_config().get("configurable") or {})
    return {k: given.get(k) or configurable.get(k) for k in StudioContext.__annotations__}


def bound(fn: Node) -> Node:
    """``fn`` with the run's :class:`AgentContext` put into its runtime."""

    def node(state: TurnState, runtime: Runtime[Any]) -> Update:
        return fn(state, runtime.override(context=context_for(_choice(runtime))))

    node.__name__ = getattr(fn, "__name__", "node")
    return node


def studio_graph(config: Any = None) -> Any:
    """Entry point of ``langgraph.json``: the compiled graph with bound nodes (the server adds its checkpointer)."""
    return build_graph(bind=bound, context_schema=StudioContext).compile()


__all__ = ["StudioContext", "bound", "context_for", "studio_graph"]
