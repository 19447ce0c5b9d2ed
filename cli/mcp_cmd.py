"""``cogarch mcp``: the agent's memory and chat as an MCP server over stdio (``cogarch/serve/mcp_server.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import handled, load_settings


def mcp(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The agent's data directory.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML config file.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Whose memory (default: settings.user).")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="LLM (litellm model string, local/..., scripted/echo).")
    ] = None,
) -> None:
    """Serve the agent's memory (search, remember, forget, export) and a chat tool over MCP on stdio."""
    with handled():
        overrides = {"llm": {"model": model}} if model else {}
        settings = load_settings(data_dir, config, **overrides)
        from cogarch.agent import Agent
        from cogarch.serve.mcp_server import serve_stdio

        with Agent(settings) as agent:
            serve_stdio(agent, user or settings.user)


__all__ = ["mcp"]
