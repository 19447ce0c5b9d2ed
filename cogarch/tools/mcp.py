"""MCP servers as tool sources (the ``mcp`` Python SDK, client side).

Each configured server (:class:`~cogarch.tools.settings.MCPServerSettings`) gets one :class:`MCPConnection`: a
daemon thread running an asyncio loop that holds the SDK's ``ClientSession`` open for the agent's lifetime
(``stdio``: the server runs as a child process; ``http``: streamable HTTP). Its tools become
:class:`reasoning.tools.Tool` s whose functions send ``tools/call`` into that loop and wait for the answer, so the
sync cognitive cycle calls them like any other tool, with the same timeout. A result with ``isError`` (or an
error of the session) is raised, and :func:`reasoning.tools.run_call` turns it into an error message for the
model; the text parts of a result are joined, structured content is sent as JSON when there is no text.
The arguments are checked by the server against the tool's input schema.

Closing the agent closes the sessions and stops the servers it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Sequence
from typing import Any

from cogarch.tools.settings import MCPServerSettings
from cogarch.tools.toolbox import Toolbox
from reasoning.errors import MissingResourceError, OperationalError
from reasoning.llm import ToolSpec
from reasoning.tools import Tool


class MCPToolError(OperationalError):
    """An MCP tool answered with an error, or its session failed."""


def _import_mcp() -> Any:
    try:
        import mcp
    except ImportError as exc:
        raise MissingResourceError(
            "the MCP SDK is not installed", hint="pip install 'cogarch[mcp]' (the 'mcp' package)"
        ) from exc
    return mcp


def result_text(result: Any) -> str:
    """The text of a ``CallToolResult``: its text parts joined, else its structured content as JSON."""
    texts = [str(part.text) for part in result.content or [] if getattr(part, "type", "") == "text"]
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    kinds = sorted({str(getattr(part, "type", "?")) for part in result.content or []})
    return f"(no text: {', '.join(kinds)} content)" if kinds else ""


class MCPConnection:
    """One MCP server's session, held open on its own event-loop thread.

    Raises (from :meth:`start`): MissingResourceError when the server cannot be started, reached or
    initialised within the timeout (the message names the server).
    """

    def __init__(self, settings: MCPServerSettings) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"cogarch-mcp-{settings.name}", daemon=True
        )
        self._session: Any = None
        self._stop: asyncio.Event | None = None
        self._task: Any = None
        self.tools: list[Any] = []

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        """Open the transport and the session, list the tools, then keep them open until :meth:`close`."""
        mcp = _import_mcp()
        settings = self.settings
        self._stop = asyncio.Event()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if settings.transport == "stdio":
                    from mcp.client.stdio import stdio_client

                    params = mcp.StdioServerParameters(
                        command=settings.command or "",
                        args=list(settings.args),
                        env=dict(settings.env) or None,
                        cwd=settings.cwd,
                    )
                    read, write = await stack.enter_async_context(stdio_client(params))
                else:
                    import httpx2
                    from mcp.client.streamable_http import streamable_http_client

                    client = await stack.enter_async_context(
                        httpx2.AsyncClient(headers=dict(settings.headers))
                    )
                    read, write = await stack.enter_async_context(
                        streamable_http_client(settings.url or "", http_client=client)
                    )
                session = await stack.enter_async_context(mcp.ClientSession(read, write))
                await session.initialize()
                listed = await session.list_tools()
                self.tools = list(listed.tools)
                self._session = session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError):
                raise

    def start(self, timeout_s: float) -> MCPConnection:
        """Start the server (stdio) or connect (http), initialise the session and list its tools."""
        self._thread.start()

        async def begin() -> None:
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self._hold(ready))
            await ready

        future = asyncio.run_coroutine_threadsafe(begin(), self._loop)
        try:
            future.result(timeout_s)
        except BaseException as exc:
            self.close()
            where = self.settings.command if self.settings.transport == "stdio" else self.settings.url
            reason = f"{type(exc).__name__}: {exc}".strip() if str(exc) else type(exc).__name__
            raise MissingResourceError(
                f"MCP server {self.settings.name!r} ({where}) could not be started: {reason}",
                hint="check its command or URL in tools.mcp, and that it speaks MCP",
            ) from exc
        return self

    def call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> str:
        """Call tool ``name``; its text. Raises MCPToolError when the tool reports an error."""
        if self._session is None:
            raise MCPToolError(f"the MCP server {self.settings.name!r} is not connected")
        future = asyncio.run_coroutine_threadsafe(self._session.call_tool(name, arguments), self._loop)
        try:
            result = future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise
        text = result_text(result)
        if result.is_error:
            raise MCPToolError(text or f"the MCP tool {name} failed")
        return text

    def as_tools(self, timeout_s: float) -> list[Tool]:
        """The server's tools as cogarch tools (named ``<server>_<tool>`` with ``prefix``)."""
        out = []
        for listed in self.tools:
            remote = str(listed.name)
            name = f"{self.settings.name}_{remote}" if self.settings.prefix else remote
            schema = dict(listed.input_schema or {"type": "object", "properties": {}})

            def fn(_remote: str = remote, **arguments: Any) -> str:
                return self.call(_remote, arguments, timeout_s)

            spec = ToolSpec(name=name, description=str(listed.description or ""), parameters=schema)
            out.append(Tool(spec=spec, fn=fn, arguments=None))
        return out

    def close(self) -> None:
        """End the session (stops a stdio server) and the loop thread. Idempotent."""
        if not self._thread.is_alive():
            return
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._task is not None:
            done = asyncio.run_coroutine_threadsafe(asyncio.wait([self._task], timeout=10), self._loop)
            with contextlib.suppress(Exception):
                done.result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def connect_all(toolbox: Toolbox, servers: Sequence[MCPServerSettings], *, timeout_s: float) -> None:
    """Connect every server and add its tools to ``toolbox`` (closed with it).

    Raises:
        MissingResourceError: a server could not be started or reached.
        ConfigError: a tool name clashes with another tool (set ``prefix = true`` on the server).
    """
    for server in servers:
        connection = MCPConnection(server).start(timeout_s)
        try:
            toolbox.add(connection.as_tools(toolbox.settings.timeout_s), closer=connection.close)
        except BaseException:
            connection.close()
            raise


__all__ = ["MCPConnection", "MCPToolError", "connect_all", "result_text"]
