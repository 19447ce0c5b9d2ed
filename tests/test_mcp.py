"""MCP both ways, with real processes: the agent calls the tools of a stdio MCP server (the example file
server), and ``cogarch mcp`` serves memory and chat to the SDK's client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from cogarch.agent import Agent
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import Scripted, ScriptedLLM
from reasoning.errors import MissingResourceError
from reasoning.llm import GenerationOptions, Message

ROOT = Path(__file__).resolve().parents[1]
FILE_SERVER = ROOT / "examples" / "tools" / "mcp_file_server.py"


def file_server(folder: Path, **extra: Any) -> dict[str, Any]:
    return {"name": "files", "command": sys.executable, "args": [str(FILE_SERVER), str(folder)], **extra}


def reads(path: str) -> Any:
    def script(messages: Sequence[Message], options: GenerationOptions) -> Scripted:
        results = [m["content"] for m in messages if m["role"] == "tool"]
        if results:
            return f"The file says: {results[-1]}"
        return ScriptedLLM.call("read_file", path=path)

    return script


def test_the_agent_calls_the_tools_of_a_stdio_mcp_server(data_dir: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("the spare key is under the mat")
    llm = ScriptedLLM(reads("notes.txt"))
    with Agent.open(
        data_dir, llm=llm, embedder=HashEmbedder(256), substrate={"enabled": False}, mcp=[file_server(shared)]
    ) as agent:
        assert sorted(agent.context.tools.names) == ["list_files", "read_file"]
        reply = agent.chat("Where is the spare key?", user="bob")
        assert reply.text == "The file says: the spare key is under the mat"
        offered = {t.name: t for t in llm.calls[0][1].tools}
        assert offered["read_file"].parameters["required"] == ["path"]
        llm._fn = reads("missing.txt")  # the server raises: an error result the model reads
        failed = agent.chat("And the other file?", user="bob")
        assert failed.tools[0].error and "no file 'missing.txt'" in failed.text


def test_the_agent_calls_the_tools_of_a_streamable_http_mcp_server(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "todo.txt").write_text("buy oat milk")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, str(FILE_SERVER), str(tmp_path), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "the MCP server did not start"
            time.sleep(0.2)
        server = {"name": "files", "transport": "http", "url": f"http://127.0.0.1:{port}/mcp"}
        with Agent.open(
            data_dir,
            llm=ScriptedLLM(reads("todo.txt")),
            embedder=HashEmbedder(256),
            substrate={"enabled": False},
            mcp=[server],
        ) as agent:
            assert agent.chat("What is on my list?", user="bob").text == "The file says: buy oat milk"
    finally:
        process.terminate()
        process.wait(20)


def test_mcp_tools_can_be_prefixed_and_a_bad_server_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    with Agent.open(
        data_dir,
        llm=ScriptedLLM(lambda m, o: "ok"),
        embedder=HashEmbedder(256),
        substrate={"enabled": False},
        mcp=[file_server(tmp_path, prefix=True)],
    ) as agent:
        assert sorted(agent.context.tools.names) == ["files_list_files", "files_read_file"]
    with pytest.raises(MissingResourceError, match="MCP server 'broken'"):
        Agent.open(
            data_dir,
            llm=ScriptedLLM(lambda m, o: "ok"),
            embedder=HashEmbedder(256),
            substrate={"enabled": False},
            tools={"mcp_connect_timeout_s": 10},
            mcp=[{"name": "broken", "command": sys.executable, "args": ["-c", "print('not mcp')"]}],
        )


def test_cogarch_mcp_serves_memory_and_chat_to_the_sdk_client(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COGARCH_")},
        "COGARCH_DATA_DIR": str(tmp_path / "data"),
        "COGARCH_LLM__MODEL": "scripted/echo",
        "COGARCH_EMBEDDING__MODEL": "hash",
        "COGARCH_EMBEDDING__DIM": "64",
        "COGARCH_SUBSTRATE__ENABLED": "false",
    }
    params = StdioServerParameters(
        command=str(Path(sys.executable).with_name("cogarch")), args=["mcp", "--user", "ann"], env=env
    )

    async def session_run() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            names = sorted(t.name for t in (await session.list_tools()).tools)

            async def call(name: str, **arguments: Any) -> str:
                result = await session.call_tool(name, arguments)
                assert not result.is_error, result
                return "\n".join(p.text for p in result.content if p.type == "text")

            remembered = await call("remember", text="The boat is moored in Bergen.")
            reply = await call("chat", message="Where is the boat?")
            found = json.loads(await call("search_memory", query="boat Bergen", k=3))
            exported = json.loads(await call("export_memory"))
            forgot = await call("forget", ids=[remembered])
            after = json.loads(await call("search_memory", query="boat Bergen", k=5))
            return {
                "names": names,
                "reply": reply,
                "found": found,
                "exported": exported,
                "forgot": forgot,
                "after": after,
                "remembered": remembered,
            }

    out = asyncio.run(asyncio.wait_for(session_run(), 120))
    assert out["names"] == ["chat", "export_memory", "forget", "remember", "search_memory"]
    assert out["reply"] == "You said: Where is the boat?"
    assert any("Bergen" in item["text"] for item in out["found"])
    assert "Bergen" in json.dumps(out["exported"])
    assert out["forgot"] == "forgot 1 records"
    assert not any(item["id"] == out["remembered"] for item in out["after"])
