"""``cogarch serve`` as real processes (``python -m cogarch.serve`` on free ports), driven by the ``openai`` client.

- memory persists across a server restart (exclusive mode, SQLite);
- two server processes on one Chroma server and one Postgres (shared mode): a fact told through one is recalled
  through the other. Those servers come from ``cogarch/serve/ci_services.sh`` (``COGARCH_TEST_POSTGRES_URL``,
  ``COGARCH_TEST_CHROMA_URL``); the test skips without them outside CI and fails without them in CI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from cogarch.serve.auth import hash_key

# Read at import: the autouse fixture of conftest.py clears COGARCH_* variables before each test.
POSTGRES_URL = os.environ.get("COGARCH_TEST_POSTGRES_URL")
CHROMA_URL = os.environ.get("COGARCH_TEST_CHROMA_URL")
IN_CI = bool(os.environ.get("CI"))
KEY = "ck-process-test-key"

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGARCH_")}
    env.update(
        {
            "COGARCH_DATA_DIR": str(data_dir),
            "COGARCH_LLM__MODEL": "scripted/echo",
            "COGARCH_EMBEDDING__MODEL": "hash",
            "COGARCH_EMBEDDING__DIM": "256",
            "COGARCH_SUBSTRATE__ENABLED": "false",
            "COGARCH_SERVE__PORT": str(port),
            "COGARCH_SERVE__API_KEYS": json.dumps(
                [{"name": "t", "hash": hash_key(KEY), "users": ["*", "bob"]}]
            ),
            "ANONYMIZED_TELEMETRY": "False",
            **extra,
        }
    )
    return env


@contextmanager
def server(data_dir: Path, **extra: str) -> Iterator[str]:
    """A server process; yields its base URL; stops it with SIGTERM (graceful: the agent is closed)."""
    port = free_port()
    log = (data_dir.parent / f"server-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cogarch.serve"],
        env=server_env(data_dir, port, **extra),
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, Path(log.name).read_text()
            try:
                if httpx.get(url + "/healthz", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start: " + Path(log.name).read_text()
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60)


def chat(url: str, text: str, user: str) -> Any:
    return client(url).chat.completions.create(
        model="cogarch", messages=[{"role": "user", "content": text}], user=user
    )


def recalled(reply: Any) -> list[str]:
    return [r["text"] for r in reply.model_extra["cogarch"]["recalled"]]


def test_memory_persists_across_a_server_restart(data_dir: Path) -> None:
    with server(data_dir) as url:
        first = chat(url, "My sister Ada lives in Paris.", "bob")
        assert first.choices[0].message.content == "You said: My sister Ada lives in Paris."
        stream = client(url).chat.completions.create(
            model="cogarch",
            messages=[{"role": "user", "content": "I also like green tea."}],
            user="bob",
            stream=True,
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
            "You said: I also like green tea."
        )
    with server(data_dir) as url:
        reply = chat(url, "Where does my sister Ada live?", "bob")
        assert any("Ada lives in Paris" in text for text in recalled(reply))
        episodes = httpx.get(
            url + "/v1/memory/records", params={"user": "bob"}, headers={"Authorization": f"Bearer {KEY}"}
        ).json()["data"]
        assert [e["text"] for e in episodes][:2] == [
            "My sister Ada lives in Paris.",
            "You said: My sister Ada lives in Paris.",
        ]


def _services() -> tuple[str, str]:
    if POSTGRES_URL and CHROMA_URL:
        return POSTGRES_URL, CHROMA_URL
    if IN_CI:
        pytest.fail('CI must provide Postgres and Chroma: eval "$(cogarch/serve/ci_services.sh)"')
    pytest.skip('no Postgres/Chroma servers (run: eval "$(cogarch/serve/ci_services.sh)")')


def test_two_server_processes_share_memory_through_chroma_and_postgres(tmp_path: Path) -> None:
    postgres, chroma = _services()
    shared = tmp_path / "shared-data"
    shared.mkdir()
    user = f"carol-{os.getpid()}-{time.time_ns()}"  # the Chroma server and Postgres outlive the test
    extra = {
        "COGARCH_SERVE__MEMORY_MODE": "shared",
        "COGARCH_MEMORY__CHROMA_URL": chroma,
        "COGARCH_MEMORY__COLLECTION_PREFIX": f"t{time.time_ns() % 10**9}",
        "COGARCH_PERSISTENCE__CHECKPOINTER": "postgres",
        "COGARCH_PERSISTENCE__POSTGRES_URL": postgres,
    }
    with server(shared, **extra) as one, server(shared, **extra) as two:
        told = chat(one, "My bicycle is locked at the north gate.", user)
        assert told.choices[0].message.content.startswith("You said")
        reply = chat(two, "Where is my bicycle locked?", user)
        assert any("north gate" in text for text in recalled(reply))
        found = httpx.get(
            two + "/v1/memory/search",
            params={"user": user, "q": "bicycle north gate"},
            headers={"Authorization": f"Bearer {KEY}"},
        ).json()["data"]
        assert any("north gate" in item["text"] for item in found)
        # and back: a fact told through the second is recalled through the first
        chat(two, "My locker number is 77.", user)
        assert any(
            "locker number is 77" in text for text in recalled(chat(one, "What is my locker number?", user))
        )
