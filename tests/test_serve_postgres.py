"""The server on a Postgres memory while Postgres goes away and comes back (``COGARCH_TEST_POSTGRES_URL``; the
connection runs through a TCP proxy the test cuts): requests get a 503 with a hint, no turn is kept half-written,
and the same server (no restart) answers again once the database is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import POSTGRES_URL
from pgstore import Proxy
from pydantic import SecretStr
from starlette.testclient import TestClient

from cogarch import Agent
from cogarch.serve.app import create_app
from cogarch.settings import ServeSettings, Settings
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM
from reasoning.llm import GenerationOptions, Message

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL,
    reason='no Postgres server: set COGARCH_TEST_POSTGRES_URL (eval "$(cogarch/serve/ci_services.sh)")',
)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    target = urlsplit(str(POSTGRES_URL))
    cut = Proxy(target.hostname or "127.0.0.1", target.port or 5432)
    yield cut
    cut.close()


@pytest.fixture
def schema() -> Iterator[str]:
    import psycopg

    name = f"o_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_postgres_down_gives_503_keeps_nothing_half_written_and_recovers(
    data_dir: Path, proxy: Proxy, schema: str
) -> None:
    target = urlsplit(str(POSTGRES_URL))
    url = str(POSTGRES_URL).replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")

    def reply(messages: Sequence[Message], options: GenerationOptions) -> str:
        text = str(next(m["content"] for m in reversed(messages) if m["role"] == "user"))
        if "while it goes down" in text:
            proxy.cut()  # the database goes away in the middle of the turn: after recall, before it is stored
        return f"noted: {text}"

    settings = Settings(
        data_dir=data_dir,
        substrate={"enabled": False},
        memory={
            "store": "postgres",
            "postgres_url": SecretStr(url),
            "postgres_schema": schema,
            "postgres_timeout_s": 2.0,
        },
    )
    agent = Agent(settings, llm=ScriptedLLM(reply), embedder=HashEmbedder(64))
    app = create_app(agent, ServeSettings(allow_anonymous=True), owns_agent=True)

    def chat(client: TestClient, text: str) -> tuple[int, dict[str, object]]:
        response = client.post(
            "/v1/chat/completions",
            json={"model": "cogarch", "user": "ann", "messages": [{"role": "user", "content": text}]},
        )
        return response.status_code, response.json()

    with TestClient(app) as client:
        assert chat(client, "the first note")[0] == 200
        status, body = chat(client, "a note while it goes down")
        assert status == 503, body
        error = body["error"]
        assert isinstance(error, dict) and "Postgres" in str(error["message"]) and error["hint"], body
        status, body = chat(client, "a note while it is down")  # the database is still away
        assert status == 503 and body["error"]["hint"], body  # type: ignore[index]
        proxy.up = True  # back: the same server recovers (its pools reconnect)
        deadline = time.monotonic() + 60
        while (status := chat(client, "a note after it is back")[0]) != 200:
            assert status == 503
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.5)
        records = client.get("/v1/memory/records", params={"user": "ann", "limit": 100}).json()["data"]
    texts = [r["text"] for r in records]  # oldest first
    said = [t for t in texts if not t.startswith("noted: ")]
    replies = [t.removeprefix("noted: ") for t in texts if t.startswith("noted: ")]
    assert said == replies, f"a turn was kept without its reply (or twice): {texts}"
    assert "a note while it is down" not in said  # refused at the door: never stored
    assert said.count("a note after it is back") == 1 and said[0] == "the first note"
