"""``Toolbox``: the agent's server-side tools by name, run with the configured timeout and result limit.

Built by the composition root from the callables given to ``Agent(tools=...)`` and the tools of the configured
MCP servers (:mod:`cogarch.tools.mcp`); the ``tools`` node runs the model's calls through :meth:`Toolbox.run`.
Tools a client of the server declares per request are not here: their calls go back to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cogarch.tools.settings import ToolsSettings
from reasoning.errors import ConfigError
from reasoning.llm import ToolCall, ToolSpec
from reasoning.tools import Tool, ToolResult, run_call, tools_of


class Toolbox:
    """Named tools and what closes their sources (MCP connections).

    Raises:
        ConfigError: two tools share a name.
    """

    def __init__(
        self,
        tools: Iterable[Callable[..., Any] | Tool] = (),
        settings: ToolsSettings | None = None,
        *,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.settings = settings or ToolsSettings()
        self._tools: dict[str, Tool] = {}
        self._closers = list(closers)
        self.add(tools)

    def add(
        self, tools: Iterable[Callable[..., Any] | Tool], closer: Callable[[], None] | None = None
    ) -> None:
        """Add tools (callables or :class:`Tool`); ``closer`` is called by :meth:`close`."""
        for made in tools_of(tools):
            if made.name in self._tools:
                raise ConfigError(
                    f"two tools are named {made.name!r}",
                    hint="rename the callable (tool(fn, name=...)) or set prefix = true on the MCP server",
                )
            self._tools[made.name] = made
        if closer is not None:
            self._closers.append(closer)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> tuple[ToolSpec, ...]:
        """What the model is told about each tool."""
        return tuple(t.spec for t in self._tools.values())

    def run(self, call: ToolCall) -> ToolResult:
        """Run one call with the configured timeout; failures are error results (never raised)."""
        return run_call(
            self._tools, call, timeout_s=self.settings.timeout_s, max_chars=self.settings.max_result_chars
        )

    def close(self) -> None:
        """Close the tool sources (MCP sessions and the processes they started). Idempotent."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            close()


__all__ = ["Toolbox"]
