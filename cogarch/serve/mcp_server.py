"""``cogarch mcp``: the agent's memory and chat as an MCP server over stdio (the ``mcp`` SDK's ``MCPServer``).

Tools, all for one user (``--user``, default ``settings.user``):

=================  ==========================================================================================
``chat``           one turn with the agent (recall, reply, learn); returns the reply
``search_memory``  recall ``query`` (``k`` items) with kinds, scores and reasons, as JSON
``remember``       store a text as an episode (channel ``mcp``: the gateway treats it as external content)
``forget``         erase records by ``ids`` or the top ``k`` matches of ``query``; returns the count
``export_memory``  the user's memory as JSON (without vectors)
=================  ==========================================================================================

The agent is opened before serving (its data directory is locked for the process's lifetime, as for
``cogarch serve``) and closed when the client ends the session. Work runs on a worker thread, so the protocol
keeps answering pings while a turn runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cogarch.agent import Agent
from reasoning.errors import CogarchError, MissingResourceError


def _jsonable(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def build_mcp_server(agent: Agent, user: str) -> Any:
    """An ``MCPServer`` whose tools act on ``agent`` for ``user`` (see the module docstring).

    Raises:
        MissingResourceError: the ``mcp`` package is not installed.
    """
    try:
        import anyio
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError as exc:
        raise MissingResourceError("the MCP SDK is not installed", hint="pip install 'cogarch[mcp]'") from exc

    server = MCPServer(
        "cogarch",
        instructions=f"The memory and chat of a cogarch agent, for user {user!r}.",
    )

    async def run(fn: Callable[[], Any]) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn)
        except CogarchError as error:
            raise ToolError(str(error)) from None  # the client gets an error result with this text

    @server.tool()
    async def chat(message: str) -> str:
        """Say something to the agent; it recalls, answers and remembers the exchange.

        Args:
            message: what to say.
        """
        reply = await run(lambda: agent.chat(message, user=user))
        return str(reply.text)

    @server.tool()
    async def search_memory(query: str, k: int = 5) -> str:
        """Search the agent's memory; the best matches with their kind, score and why they matched.

        Args:
            query: what to look for.
            k: how many items.
        """
        items = await run(lambda: agent.memory.recall(query, namespace=user, k=k))
        found = [
            {
                "id": str(getattr(i, "id", "")),
                "kind": str(i.kind),
                "text": str(i.text),
                "score": float(i.score),
                "why": str(getattr(i, "why", "")),
            }
            for i in items
        ]
        return json.dumps(found, ensure_ascii=False)

    @server.tool()
    async def remember(text: str) -> str:
        """Store a text in the agent's memory; returns its id.

        Args:
            text: what to remember.
        """
        now = agent.clock.now()
        record = await run(
            lambda: agent.memory.remember(
                text, namespace=user, speaker="mcp", timestamp=now, metadata={"channel": "mcp"}
            )
        )
        return str(record)

    @server.tool()
    async def forget(ids: list[str] | None = None, query: str | None = None, k: int = 1) -> str:
        """Erase memories by id, or the top k matches of a query (from memory, substrate and checkpoints).

        Args:
            ids: record ids to erase.
            query: erase the best matches of this query instead.
            k: with query: how many.
        """
        count = await run(lambda: agent.forget(ids, user=user, query=query, k=k))
        return f"forgot {count} records"

    @server.tool()
    async def export_memory() -> str:
        """The user's whole memory as JSON (episodes, facts, scenes, persona; no vectors)."""
        data = await run(lambda: agent.memory.export(user, with_vectors=False))
        return json.dumps(_jsonable(data), ensure_ascii=False)

    return server


def serve_stdio(agent: Agent, user: str) -> None:
    """Serve over stdin/stdout until the client closes the session."""
    build_mcp_server(agent, user).run("stdio")


__all__ = ["build_mcp_server", "serve_stdio"]
