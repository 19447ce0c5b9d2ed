"""Cross-cutting behaviour as LLMs wrapping LLMs: retry, rate limiting, accounting, structured-output repair.

Each wrapper takes an inner :class:`~reasoning.llm.LLM` and is one itself, so they compose freely. The
factory (:func:`reasoning.engines.build_llm`) stacks them as::

    StructuredRepair(Accounting(Retrying(RateLimited(engine))))

so every attempt is rate-limited, retries are invisible above ``Retrying``, accounting sees every real call
(including repair re-asks) and repair works on the finished answers.

Option scoring: a wrapper has ``score_options`` exactly when its inner engine has it (attribute forwarding),
so ``isinstance(llm, OptionScorer)`` stays truthful through any stack.

Retry policy (:class:`RetryPolicy`, used by ``Retrying`` and by ``memory.embedders.RetryingEmbedder``):
timeouts, rate limits (HTTP 429) and connection / 5xx errors are retried up to ``max_retries`` times. The n-th
retry waits ``backoff_s * 2**n`` with "equal jitter" (half fixed, half uniform random, so synchronized clients
spread out), capped at ``max_backoff_s``; a 429 with a Retry-After waits at least what the server asked. After
the last attempt the typed error propagates. A stream is retried only if it failed before yielding any text
(text already shown cannot be taken back).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from reasoning.errors import LLMConnectionError, LLMError, LLMRateLimitError, LLMTimeoutError
from reasoning.llm import LLM, Completion, GenerationOptions, Message, StreamChunk, Usage
from reasoning.structured import complete_structured

W = TypeVar("W")

RETRYABLE: tuple[type[LLMError], ...] = (LLMTimeoutError, LLMRateLimitError, LLMConnectionError)


class Wrapper:
    """Base of the wrappers: holds ``inner``, forwards ``name`` and (when the inner has them) ``score_options``,
    ``prompt_cost`` and ``usage``.

    Subclasses override ``complete`` / ``stream`` and may override :meth:`_around_score` to apply their
    behaviour to option scoring too.
    """

    def __init__(self, inner: LLM) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        return self.inner.complete(messages, options)

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        return self.inner.stream(messages, options)

    def _around_score(self, call: Callable[[], list[float]]) -> list[float]:
        return call()

    def __getattr__(self, attr: str) -> Any:
        # Only reached for attributes not found normally: forward score_options when the inner engine has it.
        if attr == "score_options":
            inner_score = getattr(self.__dict__.get("inner"), "score_options", None)
            if inner_score is not None:

                def score_options(
                    messages: Sequence[Message],
                    options: Sequence[str],
                    *,
                    normalize: bool = True,
                    end_of_turn: bool = True,
                ) -> list[float]:
                    # passed on only when False: a scorer written before the flag still takes the call
                    flags = {} if end_of_turn else {"end_of_turn": False}
                    return self._around_score(
                        lambda: list(inner_score(messages, options, normalize=normalize, **flags))
                    )

                return score_options
        if attr == "prompt_cost":  # what a prompt would cost (the local engine knows its prefix cache)
            inner_cost = getattr(self.__dict__.get("inner"), "prompt_cost", None)
            if inner_cost is not None:
                return inner_cost
        if attr == "usage":  # the engine's running token count (the local engine keeps one)
            inner = self.__dict__.get("inner")
            if inner is not None and hasattr(inner, "usage"):
                return inner.usage
        raise AttributeError(f"{type(self).__name__!s} has no attribute {attr!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def find_wrapper(llm: object, kind: type[W]) -> W | None:
    """The first wrapper of type ``kind`` in ``llm``'s stack (following ``.inner``), or None.

    Example: ``find_wrapper(llm, Accounting).totals()``.
    """
    current: object | None = llm
    while current is not None:
        if isinstance(current, kind):
            return current
        current = getattr(current, "inner", None) if isinstance(current, Wrapper) else None
    return None


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (0-based): equal jitter on ``base_s * 2**attempt``, capped."""
    ceiling = min(max_s, base_s * (2.0**attempt))
    return ceiling / 2.0 + rng.uniform(0.0, ceiling / 2.0)


T = TypeVar("T")


class RetryPolicy:
    """When and how long to wait before retrying a failed call (the module docstring's policy), and the loop.

    Shared by :class:`Retrying` (LLMs) and ``memory.embedders.RetryingEmbedder`` (embedders).

    Args:
        max_retries: retries after the first attempt (0: no retry).
        backoff_s: base delay; doubles each retry.
        max_backoff_s: cap of one delay (a longer Retry-After is still honoured, up to ``max_retry_after_s``).
        max_retry_after_s: the longest Retry-After waited; longer ones re-raise at once.
        sleep, rng: injectable for tests.
    """

    def __init__(
        self,
        *,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.sleep = sleep
        self._rng = rng or random.Random()
        self.retries = 0  # retries performed so far (observability)

    def delay(self, attempt: int, error: LLMError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` after ``error``, or None to give up."""
        if attempt >= self.max_retries or not isinstance(error, RETRYABLE):
            return None
        delay = backoff_delay(attempt, self.backoff_s, self.max_backoff_s, self._rng)
        if isinstance(error, LLMRateLimitError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after_s:
                return None
            delay = max(delay, error.retry_after)
        return delay

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried on retryable :class:`LLMError` per the policy; then the typed error propagates."""
        attempt = 0
        while True:
            try:
                return fn()
            except LLMError as error:
                delay = self.delay(attempt, error)
                if delay is None:
                    raise
            self.retries += 1
            attempt += 1
            self.sleep(delay)


class Retrying(Wrapper):
    """Retry timeouts, rate limits and connection / server errors with exponential backoff and jitter
    (:class:`RetryPolicy`; the keyword arguments are the policy's).

    Raises: the inner's typed error once retries are exhausted (or at once for non-retryable errors).
    """

    def __init__(
        self,
        inner: LLM,
        *,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(inner)
        self.policy = RetryPolicy(
            max_retries=max_retries,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            max_retry_after_s=max_retry_after_s,
            sleep=sleep,
            rng=rng,
        )

    @property
    def retries(self) -> int:
        """Retries performed so far."""
        return self.policy.retries

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        return self.policy.call(lambda: self.inner.complete(messages, options))

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        attempt = 0
        while True:
            started = False
            try:
                for chunk in self.inner.stream(messages, options):
                    if chunk.delta:
                        started = True
                    yield chunk
                return
            except LLMError as error:
                delay = None if started else self.policy.delay(attempt, error)
                if delay is None:
                    raise
            self.policy.retries += 1
            attempt += 1
            self.policy.sleep(delay)

    def _around_score(self, call: Callable[[], list[float]]) -> list[float]:
        return self.policy.call(call)


class RateLimited(Wrapper):
    """Bound the calls in flight and the request rate.

    Args:
        inner: the LLM to call.
        max_concurrency: calls (and open streams) in flight at once; others block until one finishes.
        requests_per_minute: token-bucket rate limit on call starts (None: no limit). The bucket holds up to
            ``max_concurrency`` tokens, so short bursts of that size pass without waiting.
        clock, sleep: injectable for tests.
    """

    def __init__(
        self,
        inner: LLM,
        *,
        max_concurrency: int = 4,
        requests_per_minute: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(inner)
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._rate = requests_per_minute / 60.0 if requests_per_minute else None
        self._capacity = float(max_concurrency)
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._bucket_lock = threading.Lock()

    def _take_token(self) -> None:
        if self._rate is None:
            return
        while True:
            with self._bucket_lock:
                now = self._clock()
                self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self._rate
            self._sleep(wait)

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        self._take_token()
        with self._slots:
            return self.inner.complete(messages, options)

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        self._take_token()
        with self._slots:
            yield from self.inner.stream(messages, options)

    def _around_score(self, call: Callable[[], list[float]]) -> list[float]:
        with self._slots:
            return call()


@dataclass(frozen=True)
class Totals:
    """Accumulated usage of an :class:`Accounting` wrapper."""

    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    scored_options: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


CostFn = Callable[[str, Usage], float]
"""``cost(model_name, usage) -> USD`` (0 for local models)."""


class Accounting(Wrapper):
    """Count calls, errors, tokens and cost (thread-safe). Read with :meth:`totals`.

    Args:
        inner: the LLM to call.
        cost: maps (model name, usage) to US dollars; default: free.
    """

    def __init__(self, inner: LLM, *, cost: CostFn | None = None) -> None:
        super().__init__(inner)
        self._cost = cost
        self._lock = threading.Lock()
        self._totals = Totals()

    def totals(self) -> Totals:
        """A snapshot of the totals so far."""
        with self._lock:
            return self._totals

    def reset(self) -> Totals:
        """Return the totals and start again from zero."""
        with self._lock:
            totals, self._totals = self._totals, Totals()
            return totals

    def _record(self, usage: Usage | None, *, error: bool = False, scored: int = 0) -> None:
        usage = usage or Usage()
        cost = 0.0
        if self._cost is not None and usage.total_tokens:
            try:
                cost = float(self._cost(self.inner.name, usage))
            except Exception:  # an unknown price must not fail the call
                cost = 0.0
        with self._lock:
            t = self._totals
            self._totals = Totals(
                calls=t.calls + 1,
                errors=t.errors + int(error),
                prompt_tokens=t.prompt_tokens + usage.prompt_tokens,
                completion_tokens=t.completion_tokens + usage.completion_tokens,
                cost_usd=t.cost_usd + cost,
                scored_options=t.scored_options + scored,
            )

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        try:
            completion = self.inner.complete(messages, options)
        except LLMError:
            self._record(None, error=True)
            raise
        self._record(completion.usage)
        return completion

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        usage: Usage | None = None
        try:
            for chunk in self.inner.stream(messages, options):
                if chunk.done:
                    usage = chunk.usage
                yield chunk
        except LLMError:
            self._record(usage, error=True)
            raise
        self._record(usage)

    def _around_score(self, call: Callable[[], list[float]]) -> list[float]:
        scores = call()
        self._record(None, scored=len(scores))
        return scores


class StructuredRepair(Wrapper):
    """When a call requests a ``schema``, validate the answer and re-ask with the validation error up to
    ``retries`` times; the returned completion's ``parsed`` is the validated value.

    Raises:
        StructuredOutputError: still invalid after the retries (``raw`` holds the last reply); never a
            crash on junk, code fences or prose around the JSON.

    Streams with a schema are answered whole (one chunk, then the final ``done`` chunk), since a repaired
    answer cannot be streamed before it is known to be valid.
    """

    def __init__(self, inner: LLM, *, retries: int = 2) -> None:
        super().__init__(inner)
        self.retries = retries

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        if options is None or options.schema is None:
            return self.inner.complete(messages, options)
        return complete_structured(
            self.inner, messages, options.schema, retries=self.retries, options=options
        )

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        if options is None or options.schema is None:
            yield from self.inner.stream(messages, options)
            return
        completion = self.complete(messages, options)
        yield StreamChunk(delta=completion.text)
        yield StreamChunk(delta="", done=True, usage=completion.usage, finish_reason=completion.finish_reason)


__all__ = [
    "RETRYABLE",
    "Accounting",
    "CostFn",
    "RateLimited",
    "RetryPolicy",
    "Retrying",
    "StructuredRepair",
    "Totals",
    "Wrapper",
    "backoff_delay",
    "find_wrapper",
]
