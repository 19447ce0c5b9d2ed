"""LiteLLMEngine against the real litellm client over HTTP to the package's OpenAI-compatible stub server.

No patching of litellm: every failure mode (429 + Retry-After, timeouts, 5xx, resets, malformed bodies, broken
streams) is produced by the stub on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from memory.embedders import LiteLLMEmbedder, RetryingEmbedder
from reasoning.config import LLMSettings
from reasoning.engines import build_llm, preflight
from reasoning.engines.litellm_engine import LiteLLMEngine
from reasoning.errors import (
    ConfigError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMTimeoutError,
    MissingResourceError,
    StructuredOutputError,
)
from reasoning.llm import LLM, GenerationOptions, user
from reasoning.structured import generate_structured
from reasoning.testing import StubReply, StubServer
from reasoning.wrappers import Accounting, Retrying, RetryPolicy, StructuredRepair, find_wrapper


class Answer(BaseModel):
    city: str
    population: int


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


@pytest.fixture(autouse=True)
def _fresh(server: StubServer) -> None:
    server.clear()


def settings(server: StubServer, **overrides: object) -> LLMSettings:
    values: dict[str, object] = {"model": "openai/stub-model", "api_base": server.url, "timeout_s": 5.0}
    values.update(overrides)
    return LLMSettings.model_validate(values)


def engine(server: StubServer, **overrides: object) -> LiteLLMEngine:
    return LiteLLMEngine(settings(server, **overrides))


class Sleeps:
    """Records the delays a Retrying wrapper asks for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_plain_chat(server: StubServer) -> None:
    completion = engine(server).complete([user("hello there")])
    assert completion.text == "You said: hello there"
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == 4 and completion.usage.prompt_tokens > 0
    assert server.requests[0]["messages"][-1] == {"role": "user", "content": "hello there"}


def test_generation_options_reach_the_server(server: StubServer) -> None:
    engine(server).complete(
        [user("x")], GenerationOptions(max_tokens=7, temperature=0.3, stop=("END",), seed=5)
    )
    body = server.requests[0]
    assert body["max_tokens"] == 7 and body["temperature"] == 0.3 and body["stop"] == ["END"]
    assert body["seed"] == 5


def test_streaming_yields_pieces_and_usage(server: StubServer) -> None:
    server.enqueue("one two three four")
    chunks = list(engine(server).stream([user("count")]))
    assert "".join(c.delta for c in chunks) == "one two three four"
    assert len([c for c in chunks if c.delta]) == 4
    assert chunks[-1].done and chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert all(not c.done for c in chunks[:-1])
    assert server.requests[0]["stream"] is True


def test_structured_output_sends_response_format_and_parses(server: StubServer) -> None:
    server.enqueue(StubReply.json({"city": "Paris", "population": 2100000}))
    completion = engine(server).complete([user("Paris?")], GenerationOptions(schema=Answer))
    assert completion.parsed == Answer(city="Paris", population=2100000)
    response_format = server.requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["required"] == ["city", "population"]
    assert "JSON" in server.requests[0]["messages"][0]["content"]


def test_structured_output_invalid_leaves_parsed_none(server: StubServer) -> None:
    server.enqueue("not json at all")
    assert engine(server).complete([user("x")], GenerationOptions(schema=Answer)).parsed is None


def test_malformed_json_is_repaired(server: StubServer) -> None:
    server.enqueue(
        "Sure: {city: Paris",
        StubReply.json({"city": "Paris"}),
        '```json\n{"city": "Paris", "population": 3}\n```',
    )
    llm = StructuredRepair(engine(server), retries=2)
    completion = llm.complete([user("Paris?")], GenerationOptions(schema=Answer))
    assert completion.parsed == Answer(city="Paris", population=3)
    assert len(server.requests) == 3
    assert "population" in server.requests[2]["messages"][-1]["content"]  # the error was fed back


def test_junk_json_ends_in_structured_output_error(server: StubServer) -> None:
    server.enqueue("{{{", "[1, 2", "nope")
    with pytest.raises(StructuredOutputError) as info:
        generate_structured(engine(server), [user("x")], Answer, retries=2)
    assert info.value.raw == "nope"
    assert len(server.requests) == 3


def test_429_then_success_is_retried_honouring_retry_after(server: StubServer) -> None:
    server.enqueue(StubReply.rate_limited(retry_after=2.5), StubReply("finally"))
    sleeps = Sleeps()
    llm = Retrying(engine(server), max_retries=3, backoff_s=0.01, sleep=sleeps)
    assert llm.complete([user("x")]).text == "finally"
    assert len(server.requests) == 2
    assert sleeps.delays and sleeps.delays[0] >= 2.5


def test_429_without_retries_is_typed_with_retry_after(server: StubServer) -> None:
    server.enqueue(StubReply.rate_limited(retry_after=7))
    with pytest.raises(LLMRateLimitError) as info:
        engine(server).complete([user("x")])
    assert info.value.retry_after == 7.0


def test_timeout_is_typed_after_the_configured_retries(server: StubServer) -> None:
    server.enqueue(*[StubReply.slow(1.0) for _ in range(3)])
    llm = build_llm(settings(server, timeout_s=0.3, max_retries=2, backoff_s=0.01), cache_dir=Path("."))
    with pytest.raises(LLMTimeoutError):
        llm.complete([user("x")])
    assert len(server.requests) == 3  # the first attempt and two retries
    accounting = find_wrapper(llm, Accounting)
    assert accounting is not None and accounting.totals().errors == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_then_typed(server: StubServer, status: int) -> None:
    server.enqueue(*[StubReply.server_error(status) for _ in range(2)])
    sleeps = Sleeps()
    with pytest.raises(LLMConnectionError):
        Retrying(engine(server), max_retries=1, backoff_s=0.01, sleep=sleeps).complete([user("x")])
    assert len(server.requests) == 2 and len(sleeps.delays) == 1


def test_server_error_then_success(server: StubServer) -> None:
    server.enqueue(StubReply.server_error(), "ok now")
    llm = Retrying(engine(server), max_retries=2, backoff_s=0.01, sleep=Sleeps())
    assert llm.complete([user("x")]).text == "ok now"


def test_connection_reset_is_a_connection_error(server: StubServer) -> None:
    server.enqueue(StubReply.connection_reset())
    with pytest.raises(LLMConnectionError):
        engine(server).complete([user("x")])


def test_malformed_body_is_a_connection_error(server: StubServer) -> None:
    server.enqueue(StubReply.malformed())
    with pytest.raises(LLMConnectionError):
        engine(server).complete([user("x")])


def test_stream_cut_in_the_middle_is_a_connection_error(server: StubServer) -> None:
    server.enqueue(StubReply.cut_stream("a b c d e f", after_chunks=2))
    received: list[str] = []
    with pytest.raises(LLMConnectionError):
        for chunk in engine(server).stream([user("x")]):
            received.append(chunk.delta)
    # A TCP reset may discard bytes still in flight, so only a prefix of the sent text is guaranteed.
    assert "a b c d e f".startswith("".join(received))


def test_stream_is_retried_when_nothing_was_shown(server: StubServer) -> None:
    server.enqueue(StubReply.server_error(), "fine stream")
    llm = Retrying(engine(server), max_retries=1, backoff_s=0.01, sleep=Sleeps())
    assert "".join(c.delta for c in llm.stream([user("x")])) == "fine stream"


def test_oversized_output_is_returned_whole(server: StubServer) -> None:
    big = " ".join(["word"] * 20000)
    server.enqueue(big)
    assert engine(server, max_tokens=30000).complete([user("x")]).text == big


def test_max_tokens_cut_reports_length(server: StubServer) -> None:
    server.enqueue("one two three four five")
    completion = engine(server).complete([user("x")], GenerationOptions(max_tokens=2))
    assert completion.text == "one two" and completion.finish_reason == "length"


def test_rejected_key_names_the_variable(server: StubServer) -> None:
    server.enqueue(StubReply(status=401, text="Incorrect API key provided"))
    with pytest.raises(MissingResourceError, match="OPENAI_API_KEY"):
        engine(server).complete([user("x")])


def test_unknown_model_on_server_is_a_config_error(server: StubServer) -> None:
    server.enqueue(StubReply(status=404, text="model not found"))
    with pytest.raises(ConfigError):
        engine(server).complete([user("x")])


def test_missing_key_fails_fast_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    hosted = LLMSettings(model="openai/gpt-4o-mini")
    with pytest.raises(MissingResourceError, match="OPENAI_API_KEY"):
        preflight(hosted)
    with pytest.raises(MissingResourceError, match="OPENAI_API_KEY"):
        build_llm(hosted, cache_dir=Path("."))
    with pytest.raises(MissingResourceError, match="ANTHROPIC_API_KEY"):
        preflight(LLMSettings(model="anthropic/claude-3-5-haiku-latest"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert "openai/gpt-4o-mini" in preflight(hosted)


def test_build_llm_stack_and_accounting(server: StubServer) -> None:
    llm = build_llm(settings(server), cache_dir=Path("."))
    assert isinstance(llm, LLM)
    llm.complete([user("a b")])
    list(llm.stream([user("c")]))
    accounting = find_wrapper(llm, Accounting)
    assert accounting is not None
    totals = accounting.totals()
    assert totals.calls == 2 and totals.completion_tokens == 4 + 3 and totals.errors == 0
    assert not hasattr(llm, "score_options")  # a remote engine cannot score options


def test_litellm_embedder_against_the_stub(server: StubServer) -> None:
    embedder = LiteLLMEmbedder("openai/stub-embed", api_base=server.url, api_key="x", batch_size=2)
    vectors = embedder(["alpha", "beta", "alpha"])
    assert vectors.shape == (3, server.embedding_dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2])
    assert embedder.dim == server.embedding_dim
    assert len(server.requests) == 2  # batches of two


def test_litellm_embedder_errors_are_typed(server: StubServer) -> None:
    # litellm's OpenAI client retries 5xx on embeddings by itself; enough errors exhaust every layer.
    server.enqueue(*[StubReply.server_error() for _ in range(12)])
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=1, backoff_s=0.01, sleep=sleeps.append)
    embedder = RetryingEmbedder(
        LiteLLMEmbedder("openai/stub-embed", api_base=server.url, api_key="x"), policy
    )
    with pytest.raises(LLMConnectionError):
        embedder(["x"])
    assert len(sleeps) == 1 and policy.retries == 1  # one retry, by the shared policy, then the typed error
    server.clear()
    server.enqueue(StubReply.rate_limited(retry_after=0.05))
    retrying = RetryingEmbedder(LiteLLMEmbedder("openai/stub-embed", api_base=server.url, api_key="x"))
    assert retrying(["x"]).shape == (1, 16)
    with pytest.raises(ConfigError, match="DIM"):
        LiteLLMEmbedder("openai/stub-embed", api_base=server.url, api_key="x", dim=99)(["x"])
