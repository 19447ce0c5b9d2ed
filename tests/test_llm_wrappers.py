"""Wrappers: retry policy, rate limiting, accounting, structured repair, option-scoring forwarding."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel

from reasoning.config import LLMSettings
from reasoning.engines import build_llm, preflight
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import (
    ConfigError,
    InvalidInputError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMTimeoutError,
    StructuredOutputError,
)
from reasoning.llm import LLM, Completion, GenerationOptions, Message, OptionScorer, user
from reasoning.wrappers import (
    Accounting,
    RateLimited,
    Retrying,
    StructuredRepair,
    backoff_delay,
    find_wrapper,
)


class Flaky(ScriptedLLM):
    """Raises the given errors first, then answers."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__(lambda m, o: "ok")
        self.errors = list(errors)
        self.attempts = 0

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return super().complete(messages, options)


def test_backoff_grows_with_jitter_and_cap() -> None:
    rng = random.Random(0)
    for attempt in range(6):
        delay = backoff_delay(attempt, 0.5, 4.0, rng)
        ceiling = min(4.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_retrying_recovers_and_honours_retry_after() -> None:
    sleeps: list[float] = []
    inner = Flaky(LLMTimeoutError("t"), LLMRateLimitError("r", retry_after=3.0), LLMConnectionError("c"))
    llm = Retrying(inner, max_retries=3, backoff_s=0.1, sleep=sleeps.append)
    assert llm.complete([user("x")]).text == "ok"
    assert inner.attempts == 4 and len(sleeps) == 3 and sleeps[1] >= 3.0


def test_retrying_gives_up_with_the_typed_error() -> None:
    inner = Flaky(*[LLMTimeoutError("t") for _ in range(5)])
    with pytest.raises(LLMTimeoutError):
        Retrying(inner, max_retries=2, backoff_s=0.0, sleep=lambda s: None).complete([user("x")])
    assert inner.attempts == 3


def test_retrying_does_not_retry_misuse_or_overlong_retry_after() -> None:
    inner = Flaky(InvalidInputError("bad"))
    with pytest.raises(InvalidInputError):
        Retrying(inner, sleep=lambda s: None).complete([user("x")])
    assert inner.attempts == 1
    inner = Flaky(LLMRateLimitError("r", retry_after=3600))
    with pytest.raises(LLMRateLimitError):
        Retrying(inner, sleep=lambda s: None).complete([user("x")])
    assert inner.attempts == 1


def test_rate_limited_bounds_concurrency() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(messages: Sequence[Message], options: GenerationOptions) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return "done"

    llm = RateLimited(ScriptedLLM(slow), max_concurrency=2)
    threads = [threading.Thread(target=llm.complete, args=([user("x")],)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_rate_limited_spaces_requests_per_minute() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    llm = RateLimited(
        ScriptedLLM(), max_concurrency=1, requests_per_minute=60, clock=lambda: now[0], sleep=sleep
    )
    for _ in range(4):
        llm.complete([user("x")])
    assert sum(waits) == pytest.approx(3.0, abs=1e-6)  # 1 request/s after the first (burst of 1)


def test_accounting_totals_are_thread_safe() -> None:
    llm = Accounting(ScriptedLLM(lambda m, o: "a b c"), cost=lambda model, usage: 0.001)
    threads = [
        threading.Thread(target=lambda: [llm.complete([user("x y")]) for _ in range(50)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    list(llm.stream([user("x y")]))
    totals = llm.totals()
    assert totals.calls == 201 and totals.completion_tokens == 603 and totals.prompt_tokens == 402
    assert totals.cost_usd == pytest.approx(0.201)
    assert llm.reset().calls == 201 and llm.totals().calls == 0


def test_accounting_counts_errors() -> None:
    llm = Accounting(Flaky(LLMConnectionError("down")))
    with pytest.raises(LLMConnectionError):
        llm.complete([user("x")])
    assert llm.totals().errors == 1


class Item(BaseModel):
    name: str


def test_structured_repair_stream_and_passthrough() -> None:
    llm = StructuredRepair(ScriptedLLM.replies("junk", '{"name": "key"}'), retries=1)
    chunks = list(llm.stream([user("x")], GenerationOptions(schema=Item)))
    assert "".join(c.delta for c in chunks) == '{"name": "key"}' and chunks[-1].done
    plain = StructuredRepair(ScriptedLLM.replies("hello"))
    assert plain.complete([user("x")]).text == "hello"


def test_structured_repair_error_after_retries() -> None:
    llm = StructuredRepair(ScriptedLLM.replies("```json\n{oops}\n```"), retries=2)
    with pytest.raises(StructuredOutputError) as info:
        llm.complete([user("x")], GenerationOptions(schema=Item))
    assert "oops" in info.value.raw


def test_score_options_forwarded_only_when_the_engine_scores() -> None:
    scorer = ScriptedLLM(score=lambda messages, option: -float(len(option)))
    stack = StructuredRepair(Accounting(Retrying(RateLimited(scorer))))
    assert isinstance(stack, OptionScorer)
    assert stack.score_options([user("x")], ["go", "north"]) == [-2.0, -5.0]
    accounting = find_wrapper(stack, Accounting)
    assert accounting is not None and accounting.totals().scored_options == 2

    class NoScore:
        name = "plain"

        def complete(
            self, messages: Sequence[Message], options: GenerationOptions | None = None
        ) -> Completion:
            return Completion(text="x")

        def stream(self, messages, options=None):  # type: ignore[no-untyped-def]
            return iter(())

    wrapped = Retrying(NoScore())
    assert isinstance(wrapped, LLM) and not isinstance(wrapped, OptionScorer)


def test_build_llm_scripted_and_unknown_names(tmp_path: Path) -> None:
    llm = build_llm(LLMSettings(model="scripted/echo"), cache_dir=tmp_path)
    assert llm.complete([user("hi")]).text == "You said: hi"
    assert find_wrapper(llm, Accounting) is not None and find_wrapper(llm, Retrying) is not None
    with pytest.raises(ConfigError, match="local/smollm2-135m-instruct"):
        build_llm(LLMSettings(model="local/llama-70b"), cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="scripted/echo"):
        preflight(LLMSettings(model="scripted/nope"))
    assert "SmolLM2" in preflight(LLMSettings())
