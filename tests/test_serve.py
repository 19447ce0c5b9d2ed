"""``cogarch serve`` in process: a real uvicorn on a free port (in a thread) over an agent with a scripted LLM.

The official ``openai`` client chats (plain and streaming); the memory API; auth on every endpoint; size limits,
rate limits, timeouts; metrics; proactive messages over SSE.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from cogarch.agent import Agent
from cogarch.serve.app import create_app
from cogarch.serve.auth import AuthError, KeyRing, hash_key, new_key
from cogarch.serve.metrics import Metrics
from cogarch.serve.ratelimit import RateLimiter
from cogarch.serve.runtime import build_server_agent
from cogarch.settings import ServeSettings, Settings
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM, remembering
from reasoning.errors import ConfigError
from reasoning.llm import GenerationOptions, Message

ALICE, BOB, OPS = "ck-alice-key", "ck-bob-key", "ck-ops-key"


def key_settings(**overrides: Any) -> dict[str, Any]:
    return {
        "api_keys": [
            {"name": "alice", "hash": hash_key(ALICE), "users": ["alice"]},
            {"name": "bob", "hash": hash_key(BOB), "users": ["bob", "bob-work"]},
            {"name": "ops", "hash": hash_key(OPS), "users": ["*"]},
        ],
        **overrides,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Live:
    """A uvicorn server running an app in a thread."""

    def __init__(self, agent: Agent, serve: ServeSettings) -> None:
        self.agent = agent
        self.app = create_app(agent, serve)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Live:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)

    def client(self, key: str | None = ALICE) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key or "none", max_retries=0, timeout=30)

    def http(self, key: str | None = ALICE) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def make_agent(data_dir: Path, llm: Any = None, **serve: Any) -> Agent:
    settings = Settings.load(data_dir=data_dir, substrate={"enabled": False}, serve=key_settings(**serve))
    return build_server_agent(settings, llm=llm or ScriptedLLM(remembering), embedder=HashEmbedder(256))


@pytest.fixture
def live(data_dir: Path) -> Iterator[Live]:
    agent = make_agent(data_dir)
    try:
        with Live(agent, agent.settings.serve) as server:
            yield server
    finally:
        agent.close()


# -- the OpenAI client ------------------------------------------------------------------------------------------
def test_openai_client_chats_and_memory_persists_across_requests(live: Live) -> None:
    client = live.client(ALICE)
    assert [m.id for m in client.models.list()] == ["cogarch", "cogarch-think"]
    first = client.chat.completions.create(
        model="cogarch", messages=[{"role": "user", "content": "My sister Ada lives in Paris."}]
    )
    assert first.choices[0].message.content == "Noted: My sister Ada lives in Paris."
    assert first.usage is not None and first.usage.total_tokens > 0
    second = client.chat.completions.create(
        model="cogarch",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where does my sister Ada live?"},
        ],
    )
    assert "Paris" in (second.choices[0].message.content or "")
    extension = second.model_extra["cogarch"]  # type: ignore[index]
    assert extension["user"] == "alice"
    assert any("Ada lives in Paris" in r["text"] for r in extension["recalled"])


def test_openai_client_streams_tokens(live: Live) -> None:
    stream = live.client(ALICE).chat.completions.create(
        model="cogarch",
        messages=[{"role": "user", "content": "tell me a long story about the sea and the wind"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1
    assert "".join(pieces).strip() == "Noted: tell me a long story about the sea and the wind"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_a_request_retried_with_its_idempotency_key_is_stored_once(live: Live) -> None:
    http = live.http(ALICE)
    body = {"model": "cogarch", "messages": [{"role": "user", "content": "My bike is blue."}]}
    for _ in range(2):  # the client did not get the first answer (say its process died) and retries
        assert (
            http.post("/v1/chat/completions", json=body, headers={"Idempotency-Key": "req-1"}).status_code
            == 200
        )
    texts = [e["text"] for e in http.get("/v1/memory/records").json()["data"]]
    assert texts.count("My bike is blue.") == 1 and len(texts) == 2
    assert (
        http.post("/v1/chat/completions", json=body, headers={"Idempotency-Key": "req-2"}).status_code == 200
    )
    texts = [e["text"] for e in http.get("/v1/memory/records").json()["data"]]
    assert texts.count("My bike is blue.") == 2, "another request with the same text is another turn"
    bad = http.post("/v1/chat/completions", json=body, headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 400


def test_users_are_separate_namespaces(live: Live) -> None:
    live.client(ALICE).chat.completions.create(
        model="cogarch", messages=[{"role": "user", "content": "My locker code is 4812."}]
    )
    reply = live.client(BOB).chat.completions.create(
        model="cogarch", messages=[{"role": "user", "content": "What is my locker code?"}], user="bob-work"
    )
    assert "4812" not in (reply.choices[0].message.content or "")
    assert reply.model_extra["cogarch"]["user"] == "bob-work"  # type: ignore[index]


# -- memory API -------------------------------------------------------------------------------------------------
def test_memory_search_list_export_forget(live: Live) -> None:
    live.client(BOB).chat.completions.create(
        model="cogarch", messages=[{"role": "user", "content": "My dog is called Rex."}]
    )
    http = live.http(BOB)
    found = http.get("/v1/memory/search", params={"q": "dog Rex", "k": 3}).json()
    assert found["user"] == "bob" and any("Rex" in item["text"] for item in found["data"])
    episodes = http.get("/v1/memory/records", params={"kind": "episode"}).json()["data"]
    assert episodes[0]["text"] == "My dog is called Rex."
    assert http.get("/v1/memory/stats").json()["episodes"] == len(episodes)
    exported = http.get("/v1/memory/export")
    assert exported.status_code == 200 and "Rex" in exported.text
    ids = [episodes[0]["id"]]
    forgotten = http.post("/v1/memory/forget", json={"ids": ids})
    assert forgotten.status_code == 200 and forgotten.json()["forgotten"] >= 1
    assert all(e["id"] not in ids for e in http.get("/v1/memory/records").json()["data"])
    assert http.post("/v1/memory/forget", json={"all": True}).json()["forgotten"] == "all"
    assert http.get("/v1/memory/records").json()["data"] == []
    assert http.post("/v1/memory/forget", json={"ids": ["x"], "all": True}).status_code == 400


# -- auth on every endpoint ---------------------------------------------------------------------------------------
CHAT_BODY = {"model": "cogarch", "messages": [{"role": "user", "content": "hi"}]}
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, bool]] = [
    # method, path, JSON body, whether it acts for a user
    ("POST", "/v1/chat/completions", CHAT_BODY, True),
    ("GET", "/v1/models", None, False),
    ("GET", "/v1/memory/search?q=hello", None, True),
    ("GET", "/v1/memory/records", None, True),
    ("GET", "/v1/memory/stats", None, True),
    ("GET", "/v1/memory/export", None, True),
    ("POST", "/v1/memory/forget", {"query": "hello"}, True),
    ("GET", "/v1/proactive/stream", None, True),
    ("POST", "/v1/proactive/idle", {"seconds": 1}, True),
    ("POST", "/v1/feedback", {"reward": 0.5}, True),
    ("GET", "/healthz", None, False),
    ("GET", "/metrics", None, False),
]


def _call(http: httpx.Client, method: str, path: str, body: dict[str, Any] | None, user: str | None) -> int:
    if user is not None:
        if body is not None:
            body = {**body, "user": user}
        else:
            path += ("&" if "?" in path else "?") + f"user={user}"
    if path.startswith("/v1/proactive/stream"):
        with http.stream(method, path) as response:
            return response.status_code
    return http.request(method, path, json=body).status_code


@pytest.mark.parametrize(("method", "path", "body", "scoped"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_every_endpoint_refuses_missing_and_wrong_keys_and_other_users(
    live: Live, method: str, path: str, body: dict[str, Any] | None, scoped: bool
) -> None:
    with live.http(None) as anonymous:
        response = anonymous.request(method, path, json=body) if "stream" not in path else None
        status = response.status_code if response is not None else _call(anonymous, method, path, body, None)
        assert status == 401
    with live.http("ck-wrong") as wrong:
        assert _call(wrong, method, path, body, None) == 401
    with live.http(ALICE) as alice:
        if scoped:
            assert _call(alice, method, path, body, "bob") == 403
        if "stream" not in path:
            assert _call(alice, method, path, body, "alice" if scoped else None) == 200
    with live.http(OPS) as ops:
        if scoped and "stream" not in path:
            assert _call(ops, method, path, body, "bob") == 200


def test_errors_have_openai_shape_and_the_client_raises_typed_errors(live: Live) -> None:
    with pytest.raises(openai.AuthenticationError):
        live.client("ck-wrong").models.list()
    with pytest.raises(openai.PermissionDeniedError):
        live.client(ALICE).chat.completions.create(
            model="cogarch", messages=[{"role": "user", "content": "x"}], user="bob"
        )
    with pytest.raises(openai.NotFoundError):
        live.client(ALICE).chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    body = live.http(ALICE).post("/v1/chat/completions", json={"model": "cogarch", "messages": []}).json()
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"]


# -- limits -------------------------------------------------------------------------------------------------------
def test_size_limits(data_dir: Path) -> None:
    agent = make_agent(data_dir, max_body_bytes=2048, max_message_chars=100)
    try:
        with Live(agent, agent.settings.serve) as live, live.http(ALICE) as http:
            long = {"model": "cogarch", "messages": [{"role": "user", "content": "x" * 101}]}
            assert http.post("/v1/chat/completions", json=long).status_code == 413
            huge = {"model": "cogarch", "messages": [{"role": "user", "content": "hi"}], "pad": "y" * 5000}
            assert http.post("/v1/chat/completions", json=huge).status_code == 413

            def chunked() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
                yield b'{"model": "cogarch", "messages": [], "pad": "'
                for _ in range(10):
                    yield b"z" * 1000
                yield b'"}'

            assert http.post("/v1/chat/completions", content=chunked()).status_code == 413
    finally:
        agent.close()


def test_rate_limit_per_key(data_dir: Path) -> None:
    agent = make_agent(data_dir, rate_per_minute=1, rate_burst=3)
    try:
        with Live(agent, agent.settings.serve) as live:
            with live.http(ALICE) as alice:
                statuses = [alice.get("/v1/models").status_code for _ in range(5)]
                assert statuses == [200, 200, 200, 429, 429]
                assert int(alice.get("/v1/models").headers["retry-after"]) >= 1
            with live.http(BOB) as bob:  # another key has its own bucket
                assert bob.get("/v1/models").status_code == 200
            with live.http(OPS) as ops:
                assert 'cogarch_rate_limited_total{key="alice"} 3' in ops.get("/metrics").text
    finally:
        agent.close()


def test_a_turn_over_the_timeout_answers_504_and_is_still_remembered(data_dir: Path) -> None:
    release = threading.Event()

    def slow(messages: Sequence[Message], options: GenerationOptions) -> str:
        if "slowly" in messages[-1]["content"]:
            release.wait(10)
        return remembering(messages, options)

    agent = make_agent(data_dir, llm=ScriptedLLM(slow), request_timeout_s=0.3)
    try:
        with Live(agent, agent.settings.serve) as live, live.http(ALICE) as http:
            body = {"model": "cogarch", "messages": [{"role": "user", "content": "answer slowly please"}]}
            response = http.post("/v1/chat/completions", json=body)
            assert response.status_code == 504 and response.json()["error"]["code"] == "turn_timeout"
            release.set()
            deadline = time.monotonic() + 10
            while not any("slowly" in e["text"] for e in http.get("/v1/memory/records").json()["data"]):
                assert time.monotonic() < deadline, "the timed-out turn was lost"
                time.sleep(0.05)
    finally:
        release.set()
        agent.close()


# -- metrics, health, proactive -----------------------------------------------------------------------------------
def test_metrics_count_turns_tokens_latency(live: Live) -> None:
    for text in ("one", "two"):
        live.client(ALICE).chat.completions.create(
            model="cogarch", messages=[{"role": "user", "content": text}]
        )
    http = live.http(OPS)
    assert http.get("/healthz").json()["status"] == "ok"
    page = http.get("/metrics")
    assert page.headers["content-type"].startswith("text/plain")
    lines = page.text.splitlines()
    assert 'cogarch_turns_total{status="ok"} 2' in lines
    assert "cogarch_turn_latency_seconds_count 2" in lines
    assert any(line.startswith('cogarch_tokens_total{kind="completion"} ') for line in lines)
    assert 'cogarch_http_requests_total{route="/v1/chat/completions",status="200"} 2' in lines


def test_proactive_messages_reach_the_users_sse_stream_only(live: Live) -> None:
    received: list[dict[str, Any]] = []

    def listen(key: str, user: str) -> None:
        with live.http(key).stream("GET", "/v1/proactive/stream", params={"user": user}) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append({"listener": user, **json.loads(line[6:])})
                    return

    threads = [
        threading.Thread(target=listen, args=args, daemon=True) for args in ((ALICE, "alice"), (BOB, "bob"))
    ]
    for thread in threads:
        thread.start()
    server = live.app.state.server
    deadline = time.monotonic() + 10
    while sorted(server.hub.users()) != ["alice", "bob"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # What the idle path emits when the agent decides to act (cogarch/proactive.py):
    live.agent.context.emit("trigger", "alice", {"keys": ["k"], "t": 0.0})
    live.agent.context.emit(
        "proactive",
        "alice",
        {
            "acted": True,
            "user": "alice",
            "t": 0.0,
            "action": "message",
            "content": "How was Paris?",
            "cause": ["ep_1"],
        },
    )
    threads[0].join(10)
    assert received == [
        {
            "listener": "alice",
            "user": "alice",
            "t": 0.0,
            "action": "message",
            "content": "How was Paris?",
            "cause": ["ep_1"],
        }
    ]
    metrics = server.metrics
    assert metrics.value("cogarch_proactive_triggers_total") == 1
    assert metrics.value("cogarch_proactive_actions_total", acted="true") == 1


def test_idle_endpoint_runs_the_idle_path(live: Live) -> None:
    response = live.http(ALICE).post("/v1/proactive/idle", json={"seconds": 3600})
    assert response.status_code == 200 and response.json() == {"user": "alice", "actions": []}
    assert live.http(ALICE).post("/v1/proactive/idle", json={"seconds": -1}).status_code == 400


def test_feedback_reaches_the_users_substrate(live: Live) -> None:
    rewards: list[float] = []
    live.agent.subscribe(lambda e: rewards.append(e.data["reward"]) if "reward" in e.data else None)
    response = live.http(ALICE).post("/v1/feedback", json={"reward": -0.5})
    assert response.status_code == 200 and response.json() == {"user": "alice", "reward": -0.5}
    assert rewards == [-0.5]
    for bad in (2.0, "good", True, None):
        assert live.http(ALICE).post("/v1/feedback", json={"reward": bad}).status_code == 400


# -- units --------------------------------------------------------------------------------------------------------
def test_keys_are_hashed_and_bound_to_users() -> None:
    key = new_key()
    assert key.startswith("ck-") and hash_key(key) != key and len(hash_key(key)) == 71
    ring = KeyRing(ServeSettings(api_keys=[{"name": "a", "hash": hash_key(key), "users": ["ann", "*"]}]))
    principal = ring.authenticate(f"Bearer {key}")
    assert principal.user_for(None) == "ann" and principal.user_for("zed") == "zed"
    with pytest.raises(AuthError):
        ring.authenticate(None)
    with pytest.raises(AuthError):
        ring.authenticate("Bearer nope")
    with pytest.raises(ConfigError):
        Settings(serve={"api_keys": [{"name": "a", "hash": key, "users": ["ann"]}]})  # a plain key is refused


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.acquire("k", 60) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    now[0] = 1.0
    assert limiter.acquire("k", 60) == 0.0


def test_metrics_render_prometheus_text() -> None:
    metrics = Metrics()
    metrics.inc("cogarch_turns_total", status="ok")
    metrics.observe("cogarch_turn_latency_seconds", 0.02)
    text = metrics.render()
    assert "# TYPE cogarch_turn_latency_seconds histogram" in text
    assert 'cogarch_turn_latency_seconds_bucket{le="0.025"} 1' in text
    assert 'cogarch_turn_latency_seconds_bucket{le="0.01"} 0' in text


def test_shared_mode_needs_chroma(data_dir: Path) -> None:
    settings = Settings.load(data_dir=data_dir, substrate={"enabled": False}, serve={"memory_mode": "shared"})
    with pytest.raises(ConfigError, match="Chroma server"):
        build_server_agent(settings, llm=ScriptedLLM(), embedder=HashEmbedder(256))
