"""Tools the agent calls in its cognitive cycle: Python callables and MCP servers' tools, in one
:class:`~cogarch.tools.toolbox.Toolbox`; settings in :mod:`cogarch.tools.settings`."""

from cogarch.tools.settings import MCPServerSettings, ToolsSettings
from cogarch.tools.toolbox import Toolbox

__all__ = ["MCPServerSettings", "Toolbox", "ToolsSettings"]
