"""``RetryingEmbedder``: retries of a remote embedder, with the same policy as the LLM's ``Retrying`` wrapper."""

from __future__ import annotations

from collections.abc import Sequence

from memory.embedders.base import Embedder, Vectors
from reasoning.wrappers import RetryPolicy


class RetryingEmbedder:
    """Wraps an :class:`Embedder` whose calls may fail transiently (timeouts, 429, 5xx: the typed ``LLMError`` of
    the error tree) and retries them by ``policy`` (:class:`reasoning.wrappers.RetryPolicy`). ``name`` and ``dim``
    are the inner embedder's; after the last attempt its typed error propagates."""

    def __init__(self, inner: Embedder, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy(max_retries=2)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.policy.call(lambda: self.inner.dim)

    def __call__(self, texts: Sequence[str]) -> Vectors:
        return self.policy.call(lambda: self.inner(texts))


__all__ = ["RetryingEmbedder"]
