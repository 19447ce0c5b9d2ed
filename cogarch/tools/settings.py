"""The ``tools`` settings section: limits of the tool loop and the MCP servers that provide tools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MCPServerSettings(BaseModel):
    """One MCP server whose tools the agent may call.

    ``transport="stdio"`` starts ``command`` with ``args`` (and ``env`` added to the environment) as a child
    process; ``transport="http"`` connects to a streamable-HTTP server at ``url``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        min_length=1, description="A short name; its tools are called '<name>_<tool>' when prefix is on."
    )
    transport: Literal["stdio", "http"] = Field("stdio", description="'stdio' (a child process) or 'http'.")
    command: str | None = Field(None, description="stdio: the program to start.")
    args: tuple[str, ...] = Field((), description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default_factory=dict, description="stdio: variables added to its environment."
    )
    cwd: str | None = Field(None, description="stdio: its working directory.")
    url: str | None = Field(
        None, description="http: the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="http: extra request headers.")
    prefix: bool = Field(
        False, description="Name its tools '<name>_<tool>' (avoids clashes between servers)."
    )

    @model_validator(mode="after")
    def _endpoint(self) -> MCPServerSettings:
        if self.transport == "stdio" and not self.command:
            raise ValueError(f"MCP server {self.name!r}: transport 'stdio' needs 'command'")
        if self.transport == "http" and not self.url:
            raise ValueError(f"MCP server {self.name!r}: transport 'http' needs 'url'")
        return self


class ToolsSettings(BaseModel):
    """Tool calling in the cognitive cycle (the ``tools`` node)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_steps: int = Field(
        4, ge=0, le=50, description="Rounds of tool calls per turn; then the model must answer in words."
    )
    timeout_s: float = Field(30.0, gt=0, description="Seconds one tool call may take; then it is an error.")
    max_result_chars: int = Field(
        4000, ge=100, description="A tool's result is cut to this many characters before the model sees it."
    )
    mcp: tuple[MCPServerSettings, ...] = Field((), description="MCP servers whose tools the agent may call.")
    mcp_connect_timeout_s: float = Field(
        30.0, gt=0, description="Seconds to start an MCP server and list its tools."
    )


__all__ = ["MCPServerSettings", "ToolsSettings"]
