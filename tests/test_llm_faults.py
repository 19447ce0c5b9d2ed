"""The LLM fault matrix at agent level: a real ``Agent`` whose model is ``LiteLLMEngine`` on the local stub server.

Engine-level mapping of each fault is in ``test_llm_litellm.py``; here every fault goes through the whole turn
(perceive -> encode -> recall -> respond -> learn) and the contract of a failed turn is checked:

- the caller gets a typed :class:`~reasoning.errors.LLMError` subclass after the configured retries (a 429's
  Retry-After is honoured, a stream that already showed text is not retried);
- nothing of the failed turn is stored: no user episode, no partial assistant reply, no history entry, no pending
  checkpoint that would be resumed (and stored) by the next turn;
- the next turn works and is stored exactly once.

A turn that fails inside ``learn`` (the store failed) is the exception: it stays pending and is completed,
idempotently, before the next turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cogarch.agent import Agent
from memory.embedders.base import HashEmbedder
from reasoning.config import LLMSettings
from reasoning.engines.litellm_engine import LiteLLMEngine
from reasoning.errors import (
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMTimeoutError,
    MemoryBackendError,
)
from reasoning.llm import LLM
from reasoning.testing import StubReply, StubServer
from reasoning.wrappers import Accounting, RateLimited, Retrying, StructuredRepair, find_wrapper

RETRIES = 2
TIMEOUT_S = 0.5


class Sleeps:
    """Records the delays the Retrying wrapper asks for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


@pytest.fixture(scope="module")
def sleeps() -> Sleeps:
    return Sleeps()


def stub_llm(server: StubServer, sleeps: Sleeps) -> LLM:
    """The standard wrapper stack (as ``reasoning.engines.wrap`` builds it) around the stub, with recorded sleeps."""
    settings = LLMSettings(
        model="openai/stub-model", api_base=server.url, api_key="sk-stub", timeout_s=TIMEOUT_S
    )
    inner: LLM = RateLimited(LiteLLMEngine(settings))
    inner = Retrying(inner, max_retries=RETRIES, backoff_s=0.01, sleep=sleeps)
    return StructuredRepair(Accounting(inner), retries=1)


@pytest.fixture(scope="module")
def agent(server: StubServer, sleeps: Sleeps, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    data_dir = tmp_path_factory.mktemp("faults")
    with Agent.open(
        data_dir,
        llm=stub_llm(server, sleeps),
        embedder=HashEmbedder(64),
        substrate={"enabled": False},
        memory={"consolidate_every": 1_000_000},
    ) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _fresh(server: StubServer, sleeps: Sleeps) -> None:
    server.clear()
    sleeps.delays.clear()


def episodes(agent: Agent, user: str) -> list[str]:
    return [e.text for e in agent.memory.episodes(namespace=user)]


def pending(agent: Agent, user: str) -> tuple[str, ...]:
    return tuple(agent.graph.get_state({"configurable": {"thread_id": f"{user}/main"}}).next)


def history(agent: Agent, user: str) -> list[dict[str, Any]]:
    values = agent.graph.get_state({"configurable": {"thread_id": f"{user}/main"}}).values
    return list(values.get("history") or [])


def run_turn(agent: Agent, message: str, user: str) -> tuple[list[str], BaseException | None]:
    """Stream one turn; the tokens shown before the end and the error it ended with (or None)."""
    tokens: list[str] = []
    try:
        for event in agent.stream(message, user=user):
            if event.kind == "token":
                tokens.append(event.token)
    except Exception as exc:
        return tokens, exc
    return tokens, None


ATTEMPTS = RETRIES + 1

# name -> (replies to queue, expected error type, expected requests to the server)
FAULTS: dict[str, tuple[list[StubReply], type[LLMError], int]] = {
    "timeout": ([StubReply.slow(TIMEOUT_S * 4)] * ATTEMPTS, LLMTimeoutError, ATTEMPTS),
    "rate_limited_429": ([StubReply.rate_limited(retry_after=1.5)] * ATTEMPTS, LLMRateLimitError, ATTEMPTS),
    "server_error_500": ([StubReply.server_error(500)] * ATTEMPTS, LLMConnectionError, ATTEMPTS),
    "server_error_503": ([StubReply.server_error(503)] * ATTEMPTS, LLMConnectionError, ATTEMPTS),
    "connection_reset": ([StubReply.connection_reset()] * ATTEMPTS, LLMConnectionError, ATTEMPTS),
    "malformed_json_body": ([StubReply.malformed()] * ATTEMPTS, LLMConnectionError, ATTEMPTS),
    "malformed_sse_body": (
        [StubReply.malformed('data: {"choices": [{"delta": {"content": "hal')] * ATTEMPTS,
        LLMConnectionError,
        ATTEMPTS,
    ),
    "non_json_body": (
        [StubReply.malformed("<html>bad gateway</html>")] * ATTEMPTS,
        LLMConnectionError,
        ATTEMPTS,
    ),
    # text was already shown: no retry (it cannot be taken back), the turn fails at once
    "stream_cut_after_text": (
        [StubReply.cut_stream("one two three four five six", 3)],
        LLMConnectionError,
        1,
    ),
    # the server goes silent mid-stream: a read timeout after text was shown, not retried
    "stream_stalls_after_text": (
        [StubReply.stalled_stream("one two three four", 2, TIMEOUT_S * 4)],
        LLMTimeoutError,
        1,
    ),
    # nothing shown yet: retried like any connection error
    "stream_cut_before_text": (
        [StubReply.cut_stream("one two three", 0)] * ATTEMPTS,
        LLMConnectionError,
        ATTEMPTS,
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_matrix_typed_error_nothing_stored_next_turn_works(
    agent: Agent, server: StubServer, sleeps: Sleeps, fault: str
) -> None:
    replies, error_type, requests = FAULTS[fault]
    user = f"u-{fault}"
    agent.chat("warm up", user=user)
    before, history_before = episodes(agent, user), history(agent, user)
    server.clear()
    server.enqueue(*replies)

    shown, error = run_turn(agent, f"the failing message of {fault}", user)

    assert isinstance(error, error_type), repr(error)
    assert error.hint  # every error says what to do next
    assert len(server.requests) == requests and server.pending == 0
    assert len(sleeps.delays) == requests - 1
    if fault == "rate_limited_429":
        assert all(delay >= 1.5 for delay in sleeps.delays)  # Retry-After honoured
    if fault.startswith("stream_") and fault.endswith("_after_text"):
        assert "one two three four five six".startswith("".join(shown))
    # nothing of the failed turn is stored, nor left pending to be stored by the next turn
    assert episodes(agent, user) == before
    assert history(agent, user) == history_before
    assert pending(agent, user) == ()

    reply = agent.chat("and now?", user=user)
    assert reply.text == "You said: and now?"
    assert episodes(agent, user) == [*before, "and now?", "You said: and now?"]
    assert not any("failing message" in m["content"] for m in history(agent, user))
    assert all(
        "failing message" not in body["messages"][-1]["content"] for body in server.requests[requests:]
    )


RECOVERABLE: dict[str, StubReply] = {
    "timeout": StubReply.slow(TIMEOUT_S * 4),
    "rate_limited_429": StubReply.rate_limited(retry_after=2.0),
    "server_error_502": StubReply.server_error(502),
    "connection_reset": StubReply.connection_reset(),
    "malformed_json_body": StubReply.malformed(),
    "stream_cut_before_text": StubReply.cut_stream("x y", 0),
}


@pytest.mark.parametrize("fault", sorted(RECOVERABLE))
def test_transient_fault_is_retried_and_the_turn_stored_once(
    agent: Agent, server: StubServer, sleeps: Sleeps, fault: str
) -> None:
    user = f"r-{fault}"
    server.enqueue(RECOVERABLE[fault], "recovered")
    reply = agent.chat("hello", user=user)
    assert reply.text == "recovered"
    assert len(server.requests) == 2 and len(sleeps.delays) == 1
    if fault == "rate_limited_429":
        assert sleeps.delays[0] >= 2.0
    assert episodes(agent, user) == ["hello", "recovered"]


def test_oversized_reply_is_stored_whole_or_not_at_all(agent: Agent, server: StubServer) -> None:
    user = "u-oversized"
    huge = "x" * 1_000_000  # one "token" for the stub, so its max_tokens cut does not apply
    server.enqueue(huge)
    reply = agent.chat("say a lot", user=user)
    assert reply.text == huge
    assert episodes(agent, user) == ["say a lot", huge]


def test_reply_cut_by_max_tokens_is_a_complete_turn(agent: Agent, server: StubServer) -> None:
    user = "u-length"
    server.enqueue(" ".join(f"w{i}" for i in range(5000)))  # more words than settings.llm.max_tokens
    reply = agent.chat("ramble", user=user)
    limit = agent.settings.llm.max_tokens
    assert reply.text == " ".join(f"w{i}" for i in range(limit))
    assert episodes(agent, user) == ["ramble", reply.text]


def test_pending_turn_whose_model_fails_on_resume_is_dropped(agent: Agent, server: StubServer) -> None:
    """A turn interrupted before ``respond`` (as a crash leaves it) is resumed; if the model then fails, the turn
    is dropped like any failed turn instead of blocking every later turn."""
    user = "u-resume"
    config = {"configurable": {"thread_id": f"{user}/main"}}
    state_in = {"mode": "chat", "user": user, "text": "interrupted question", "think": False, "t": 1.0}
    agent.graph.invoke(state_in, config, context=agent.context, interrupt_before=["respond"])
    assert pending(agent, user) == ("respond",)
    server.enqueue(*[StubReply.server_error() for _ in range(ATTEMPTS)])
    with pytest.raises(LLMConnectionError):
        agent.resume_pending(user)
    assert pending(agent, user) == () and episodes(agent, user) == []
    assert agent.chat("fresh start", user=user).text == "You said: fresh start"
    assert episodes(agent, user) == ["fresh start", "You said: fresh start"]


def test_turn_failing_inside_learn_is_completed_before_the_next_turn(
    agent: Agent, server: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = "u-learn"
    remember_many = agent.memory.remember_many
    calls = {"n": 0}

    def flaky_remember(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # the turn's episodes (input and reply, one transaction) fail to store
            raise MemoryBackendError("disk trouble", hint="free some space")
        return remember_many(*args, **kwargs)

    monkeypatch.setattr(agent.memory, "remember_many", flaky_remember)
    with pytest.raises(MemoryBackendError):
        agent.chat("remember me", user=user)
    assert pending(agent, user) == ("learn",)  # the reply exists: finish storing it, do not drop it
    assert agent.chat("next one", user=user).text == "You said: next one"
    assert episodes(agent, user) == ["remember me", "You said: remember me", "next one", "You said: next one"]
    assert len(server.requests) == 2  # the pending turn was not asked again


def test_retries_as_configured_through_settings(server: StubServer, tmp_path: Path) -> None:
    """The production path: the composition root builds the stack from ``COGARCH_LLM__*`` settings."""
    llm = {
        "model": "openai/stub-model",
        "api_base": server.url,
        "api_key": "sk-stub",
        "max_retries": 1,
        "backoff_s": 0.01,
        "timeout_s": 2.0,
    }
    with Agent.open(
        tmp_path / "d", llm=llm, embedder=HashEmbedder(64), substrate={"enabled": False}
    ) as agent:
        server.enqueue(*[StubReply.server_error() for _ in range(2)])
        with pytest.raises(LLMConnectionError):
            agent.chat("hi", user="bob")
        assert len(server.requests) == 2  # one attempt + max_retries
        accounting = find_wrapper(agent.llm, Accounting)
        assert accounting is not None and accounting.totals().errors == 1
        assert episodes(agent, "bob") == []
        assert agent.chat("again", user="bob").text == "You said: again"


def test_malformed_structured_output_during_consolidation_keeps_the_turn(
    server: StubServer, sleeps: Sleeps, tmp_path: Path
) -> None:
    """Consolidation asks the model for facts (structured output); junk after the repair re-asks is audited and
    skipped: the turn that triggered consolidation still succeeds and is stored once, no fact is invented."""
    with Agent.open(
        tmp_path / "d",
        llm=stub_llm(server, sleeps),
        embedder=HashEmbedder(64),
        substrate={"enabled": False},
        memory={"consolidate_every": 2},
    ) as agent:
        server.default = lambda body: StubReply("{not json" if body.get("response_format") else "ok")
        echo = server.default
        try:
            reply = agent.chat("My sister Ada lives in Paris.", user="bob")
            assert agent.wait_consolidated("bob", timeout=60)  # it runs on the agent's worker
        finally:
            server.default = echo
        assert reply.text == "ok"
        assert agent.consolidation_status("bob").last_error is None  # skipped extraction is not a failure
        assert any(body.get("response_format") for body in server.requests)  # extraction was asked
        assert episodes(agent, "bob") == ["My sister Ada lives in Paris.", "ok"]
        assert agent.memory.facts(namespace="bob") == []
        assert "extract_failed" in [entry["op"] for entry in agent.memory.audit_log("bob")]
