"""A small MCP file server over stdio (the ``mcp`` SDK's ``MCPServer``): list and read the text files of one folder.

Run by an MCP client (the tools example starts it for the agent):

    python examples/tools/mcp_file_server.py FOLDER              # stdio
    python examples/tools/mcp_file_server.py FOLDER --http PORT  # streamable HTTP at http://127.0.0.1:PORT/mcp

Paths are relative to FOLDER; anything outside it is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
server = MCPServer("files", instructions=f"Text files under {ROOT}.")


def _inside(path: str) -> Path:
    target = (ROOT / path).resolve()
    if target != ROOT and ROOT not in target.parents:
        raise ToolError(f"{path!r} is outside the shared folder")
    return target


@server.tool()
def list_files() -> list[str]:
    """List the files in the shared folder."""
    return sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file())


@server.tool()
def read_file(path: str) -> str:
    """Read a text file from the shared folder.

    Args:
        path: the file's path inside the folder, e.g. notes.txt.
    """
    target = _inside(path)
    if not target.is_file():
        raise ToolError(f"no file {path!r} (list_files shows what there is)")
    return target.read_text(encoding="utf-8", errors="replace")[:20_000]


if __name__ == "__main__":
    if "--http" in sys.argv:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[sys.argv.index("--http") + 1]))
    else:
        server.run("stdio")
