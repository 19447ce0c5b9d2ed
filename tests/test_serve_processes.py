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
import uuid
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
def servers(data_dirs: list[Path], **extra: str) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Server processes, started together; yields (base URL, process) of each; stops them with SIGTERM (graceful:
    the agent is closed) unless they died."""
    started = []
    logs = []
    for data_dir in data_dirs:
        port = free_port()
        log = (data_dir.parent / f"server-{port}.log").open("w")
        logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "cogarch.serve"],
            env=server_env(data_dir, port, **extra),
            stdout=log,
            stderr=log,
        )
        started.append((f"http://127.0.0.1:{port}", proc))
    try:
        deadline = time.monotonic() + 180
        for (url, proc), log in zip(started, logs, strict=True):
            while True:
                assert proc.poll() is None, Path(log.name).read_text()
                try:
                    headers = {"Authorization": f"Bearer {KEY}"}
                    if httpx.get(url + "/healthz", headers=headers).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start: " + Path(log.name).read_text()
                time.sleep(0.2)
        yield started
    finally:
        for _, proc in started:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


@contextmanager
def server(data_dir: Path, **extra: str) -> Iterator[str]:
    """A server process; yields its base URL."""
    with servers([data_dir], **extra) as started:
        yield started[0][0]


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60)


def chat(url: str, text: str, user: str, request_id: str | None = None) -> Any:
    return client(url).chat.completions.create(
        model="cogarch",
        messages=[{"role": "user", "content": text}],
        user=user,
        extra_headers={"Idempotency-Key": request_id} if request_id else None,
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


def test_three_processes_with_separate_data_dirs_serve_any_user_and_survive_a_kill(tmp_path: Path) -> None:
    """Memory on Postgres, vectors in the Chroma server, checkpoints in Postgres; nothing shared on disk. Two clients
    per user send turns to alternating processes at once (the per-user Postgres lock orders them); one process is
    SIGKILLed midway and its clients retry on the others (the same Idempotency-Key on every attempt): every
    acknowledged turn is stored exactly once, each message
    directly followed by its reply, each client's turns in order; a turn acknowledged by one process is recalled
    by the next turn on another."""
    import signal
    import threading

    postgres, chroma = _services()
    tag = f"mh{uuid.uuid4().hex[:10]}"
    extra = {
        "COGARCH_MEMORY__STORE": "postgres",
        "COGARCH_MEMORY__POSTGRES_URL": postgres,
        "COGARCH_MEMORY__POSTGRES_SCHEMA": tag,
        "COGARCH_MEMORY__CHROMA_URL": chroma,
        "COGARCH_MEMORY__COLLECTION_PREFIX": tag,
        "COGARCH_PERSISTENCE__CHECKPOINTER": "postgres",
        "COGARCH_PERSISTENCE__POSTGRES_URL": postgres,
    }
    dirs = [tmp_path / name / "data" for name in ("a", "b", "c")]
    for d in dirs:
        d.parent.mkdir()
    acked: dict[int, list[str]] = {}
    misses: list[str] = []
    errors: list[str] = []
    try:
        with servers(dirs, **extra) as started:
            urls = [url for url, _ in started]
            dead: set[str] = set()
            killed = threading.Event()

            def send(i: int, user: str, text: str, at: int) -> tuple[Any, int]:
                request_id = uuid.uuid4().hex  # the same on every attempt: a retry is the same turn
                for attempt in range(6):
                    url = urls[(at + attempt) % len(urls)]
                    if url in dead:
                        continue
                    try:
                        return chat(url, text, user, request_id), (at + attempt) % len(urls)
                    except (openai.APIConnectionError, openai.InternalServerError):
                        time.sleep(0.3)
                raise AssertionError(f"client {i}: every process failed for {text!r}")

            def client_loop(i: int) -> None:
                user = f"{tag}-{i // 2}"
                previous = None
                at = i % len(urls)
                try:
                    for n in range(8):
                        word = f"w{uuid.uuid4().hex[:8]}"
                        text = f"client {i} turn {n} {word}" + (f" after {previous}" if previous else "")
                        reply, served = send(i, user, text, at)
                        acked.setdefault(i, []).append(text)
                        if previous and not any(previous in t for t in recalled(reply)):
                            misses.append(text)
                        previous, at = word, served + 1
                        if i == 0 and n == 3:
                            started[0][1].send_signal(signal.SIGKILL)  # mid-load, with other turns in flight
                            dead.add(urls[0])
                            killed.set()
                except BaseException as exc:
                    errors.append(repr(exc))

            threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            assert killed.is_set() and not errors, errors
            survivor = urls[1]
            for user in {f"{tag}-{i // 2}" for i in acked}:
                texts = [
                    e["text"]
                    for e in httpx.get(
                        survivor + "/v1/memory/records",
                        params={"user": user, "limit": 1000},
                        headers={"Authorization": f"Bearer {KEY}"},
                    ).json()["data"]
                ]
                said = [t for t in texts if not t.startswith("You said: ")]
                for k, text in enumerate(texts):
                    if not text.startswith("You said: "):
                        assert texts[k + 1] == f"You said: {text}", f"turns interleaved: {texts}"
                for i in (2 * int(user.rsplit("-", 1)[1]), 2 * int(user.rsplit("-", 1)[1]) + 1):
                    mine = acked.get(i, [])
                    assert [said.count(t) for t in mine] == [1] * len(mine), "a turn was lost or stored twice"
                    positions = [said.index(t) for t in mine]
                    assert positions == sorted(positions), "a client's turns are stored out of order"
            assert misses == [], (
                f"the previous turn was not recalled by the next one on another process: {misses}"
            )
    finally:
        import psycopg

        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE')
