"""``langgraph dev`` (langgraph-cli with the in-memory server) loads ``langgraph.json`` and runs turns of the
cognitive graph through the LangGraph server's HTTP API, with the run's context choosing data directory and
model (integration: a real server process)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
LANGGRAPH = Path(sys.executable).with_name("langgraph")


@pytest.mark.skipif(
    not LANGGRAPH.exists() and not os.environ.get("CI"), reason="langgraph-cli is not installed"
)
def test_langgraph_dev_runs_a_turn_of_the_exported_graph(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COGARCH_")},
        "COGARCH_EMBEDDING__MODEL": "hash",
        "COGARCH_EMBEDDING__DIM": "64",
        "COGARCH_SUBSTRATE__ENABLED": "false",
        "LANGGRAPH_NO_TELEMETRY": "1",
        "LANGSMITH_TRACING": "false",
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "langgraph.log").open("w")
    process = subprocess.Popen(
        [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        base = None
        while base is None:
            found = re.search(r"API: \S*?(http://127\.0\.0\.1:\d+)", (tmp_path / "langgraph.log").read_text())
            if found:
                base = found.group(1)
                try:
                    httpx.get(base + "/ok", timeout=2).raise_for_status()
                except httpx.HTTPError:
                    base = None
            assert process.poll() is None, (tmp_path / "langgraph.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "langgraph dev did not start"
            time.sleep(0.5)
        context = {"data_dir": str(tmp_path / "data"), "model": "scripted/echo"}
        with httpx.Client(base_url=base, timeout=120) as client:
            thread = client.post("/threads", json={}).json()["thread_id"]
            for text in ("My cat is Tom.", "What is my cat called?"):
                run = {"assistant_id": "cogarch", "input": {"mode": "chat", "user": "ada", "text": text}}
                state = client.post(f"/threads/{thread}/runs/wait", json={**run, "context": context}).json()
                assert state["reply"] == f"You said: {text}", state
        assert state["history"][0]["content"] == "My cat is Tom."
        assert any("Tom" in item["text"] for item in state["recalled"])
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
