"""Fuzzed requests to the OpenAI-compatible server (starlette TestClient over an agent with a scripted model).

Random JSON bodies (near-valid chat requests with wrong types, and arbitrary JSON), raw bytes, random headers
and query parameters: the answer is never a 500; a refusal is a 4xx with an OpenAI-shaped JSON error; a refused
request writes nothing to memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cogarch.agent import Agent
from cogarch.serve.app import create_app
from cogarch.serve.auth import hash_key
from cogarch.settings import ServeSettings
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM

ALICE, OPS = "ck-alice-fuzz", "ck-ops-fuzz"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
maybe = lambda strategy: st.one_of(strategy, json_values)  # noqa: E731 - a right type, or anything

messages = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "role": maybe(st.sampled_from(["user", "assistant", "system", "tool"])),
            "content": maybe(
                st.one_of(
                    st.text(max_size=30),
                    st.lists(
                        st.fixed_dictionaries({"type": st.just("text"), "text": maybe(st.text(max_size=10))})
                    ),
                )
            ),
            "name": json_values,
        },
    ),
    max_size=3,
)
chat_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": maybe(st.sampled_from(["cogarch", "cogarch-think", "gpt-4o"])),
        "messages": maybe(messages),
        "stream": json_values,
        "user": maybe(st.sampled_from(["alice", "bob", "fuzz-user"])),
        "stream_options": maybe(st.fixed_dictionaries({"include_usage": json_values})),
        "temperature": json_values,
        "think": st.just(False),  # a search per request would be slow; think=True is tested in test_serve
    },
)
near_valid_chats = st.builds(
    lambda text, extra: {"messages": [{"role": "user", "content": text}], **extra},
    st.text(max_size=30),
    st.fixed_dictionaries(
        {},
        optional={
            "stream": st.booleans(),
            "user": maybe(st.sampled_from(["alice", "bob"])),
            "model": st.sampled_from(["cogarch", "gpt-4o"]),
            "stream_options": json_values,
        },
    ),
)
auth_headers = st.one_of(
    st.just({"Authorization": f"Bearer {OPS}"}),
    st.just({"Authorization": f"Bearer {ALICE}"}),
    st.just({"X-API-Key": ALICE}),
    st.just({}),
    st.builds(
        lambda v: {"Authorization": v.encode("latin-1")}, st.text(st.characters(codec="latin-1"), max_size=20)
    ),
    st.builds(lambda v: {"Authorization": f"Bearer {v}"}, st.text(st.characters(codec="ascii"), max_size=20)),
)
GETS = [
    "/v1/models",
    "/v1/memory/search",
    "/v1/memory/records",
    "/v1/memory/stats",
    "/v1/memory/export",
    "/healthz",
]
POSTS = ["/v1/chat/completions", "/v1/memory/forget", "/v1/proactive/idle"]
params = st.dictionaries(
    st.sampled_from(["q", "k", "user", "kind", "limit", "x"]),
    st.one_of(st.text(max_size=10), st.integers(-5, 10**6).map(str)),
    max_size=4,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    serve = ServeSettings.model_validate(
        {
            "api_keys": [
                {"name": "alice", "hash": hash_key(ALICE), "users": ["alice"]},
                {"name": "ops", "hash": hash_key(OPS), "users": ["*"]},
            ],
            "rate_per_minute": 1_000_000,
            "rate_burst": 1_000_000,
        }
    )
    data_dir = tmp_path_factory.mktemp("fuzz-serve")
    llm = ScriptedLLM(lambda m, o: "noted")
    with Agent.open(data_dir, llm=llm, embedder=HashEmbedder(32), substrate={"enabled": False}) as agent:
        agent.memory.remember("Ada lives in Paris.", namespace="alice", speaker="alice")
        yield TestClient(create_app(agent, serve), raise_server_exceptions=False)


def stored(client: TestClient) -> int:
    agent = client.app.state.server.agent  # type: ignore[attr-defined]
    return int(agent.memory.store.stats()["episodes"])


def check(response: Any, before: int, client: TestClient, route: str) -> None:
    event(f"{route} {response.status_code}")
    assert response.status_code < 500, (route, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), dict) and body["error"].get("message"), body
        assert stored(client) == before, "a refused request wrote to memory"
    assert "Traceback" not in response.text


@settings(max_examples=80, deadline=None)
@given(body=st.one_of(near_valid_chats, chat_bodies, json_values), headers=auth_headers)
def test_random_chat_requests(client: TestClient, body: Any, headers: dict[str, Any]) -> None:
    before = stored(client)
    response = client.post("/v1/chat/completions", content=json.dumps(body), headers=headers)
    check(response, before, client, "chat")
    if response.status_code == 200 and isinstance(body, dict) and body.get("stream") is True:
        assert response.text.rstrip().endswith("data: [DONE]")


@settings(max_examples=40, deadline=None)
@given(
    route=st.sampled_from(POSTS),
    raw=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
    headers=auth_headers,
)
def test_random_post_bodies(
    client: TestClient, route: str, raw: bytes, content_type: str, headers: dict[str, Any]
) -> None:
    before = stored(client)
    response = client.post(route, content=raw, headers={**headers, "Content-Type": content_type})
    check(response, before, client, route)


@settings(max_examples=40, deadline=None)
@given(route=st.sampled_from(GETS), query=params, headers=auth_headers)
def test_random_get_requests(
    client: TestClient, route: str, query: dict[str, str], headers: dict[str, Any]
) -> None:
    before = stored(client)
    response = client.get(route, params=query, headers=headers)
    check(response, before, client, route)


def test_oversized_and_mistyped_bodies(client: TestClient, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {OPS}"}
    before = stored(client)
    huge = {"messages": [{"role": "user", "content": "x" * 2_000_000}]}
    response = client.post("/v1/chat/completions", json=huge, headers=headers)
    assert response.status_code == 413 and stored(client) == before
    for body in ([], "text", 5, None, {"messages": [{"role": "user", "content": {"a": 1}}]}):
        response = client.post("/v1/chat/completions", json=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert stored(client) == before


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=40), stream=st.booleans(), user=st.sampled_from(["alice", "fuzz-user", ""]))
def test_near_valid_chats_store_a_whole_turn_or_nothing(
    client: TestClient, text: str, stream: bool, user: str
) -> None:
    body = {
        "model": "cogarch",
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
        "user": user,
    }
    before = stored(client)
    response = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {OPS}"})
    check(response, before, client, "chat")
    if response.status_code == 200:
        assert stored(client) == before + 2  # the user's message and the reply, never one without the other
