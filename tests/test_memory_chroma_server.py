"""Chroma server mode against a real ``chroma run`` on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import Memory
from memory.config import MemorySettings
from memory.embedders.base import HashEmbedder

CHROMA = shutil.which("chroma") or str(Path(os.sys.executable).parent / "chroma")  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMA).exists():
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.integration
def test_server_mode_round_trip(server: str, tmp_path: Path) -> None:
    settings = MemorySettings(chroma_url=server, collection_prefix="t")
    with Memory.open(tmp_path / "a", settings, embedder=HashEmbedder(64)) as m:
        ids = m.remember_many(["the red kite flies high", "soup recipe with leeks"], namespace="s1")
        m.remember("the red kite of another user", namespace="s2")
        assert m.index.ids("s1") == set(ids)
        top = m.recall("red kite", namespace="s1", k=1)[0]
        assert top.id == ids[0]
        assert all(s.id in ids for r in m.recall("kite", namespace="s1", k=5) for s in r.sources)
        m.forget(ids[1], namespace="s1")
        assert m.index.ids("s1") == {ids[0]}
