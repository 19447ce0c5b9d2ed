"""``LiteLLMEmbedder``: hosted or served embeddings through ``litellm.embedding``.

Any litellm embedding model string works (``openai/text-embedding-3-small``, ``ollama/nomic-embed-text``, or
``openai/<name>`` with ``api_base`` for an OpenAI-compatible server). Vectors are returned as float32 and
re-normalised to unit length (providers differ on that). Errors are mapped to the cogarch error tree like the
LLM engine's (:func:`reasoning.engines._litellm.map_litellm_error`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from memory.embedders.base import Vectors
from reasoning.engines._litellm import check_credentials, import_litellm, key_var_for, map_litellm_error
from reasoning.errors import ConfigError, LLMError
from reasoning.redact import redacted, safe_cause, secrets_of

DEFAULT_BATCH_SIZE = 64
"""Texts per API request when none is configured."""


class LiteLLMEmbedder:
    """Embeddings from a litellm model.

    Args:
        model: litellm model string.
        dim: the vector size when known; otherwise learned from the first call (``dim`` probes once).
        api_base, api_key: for a served or hosted model.
        batch_size: texts per request.
        timeout_s: timeout of one request.

    One attempt per request: retries are :class:`memory.embedders.retrying.RetryingEmbedder`'s (``build_embedder``
    wraps this embedder in it).

    Raises (on call): LLMTimeoutError / LLMRateLimitError / LLMConnectionError / MissingResourceError, and
    ConfigError when the returned vectors do not have the configured ``dim``.
    """

    def __init__(
        self,
        model: str,
        *,
        dim: int | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout_s: float = 60.0,
    ) -> None:
        self._model = model
        self._dim = dim
        self._api_base = api_base
        self._api_key = api_key
        self._batch_size = max(1, batch_size)
        self._timeout_s = timeout_s
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def check_credentials(self) -> None:
        """Fail fast (no network) when the provider needs an API key that is not set."""
        check_credentials(self._model, api_key=self._api_key, api_base=self._api_base)

    def __call__(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``: float32 (len(texts), dim), unit rows, input order."""
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        self.check_credentials()
        litellm = import_litellm()
        parts: list[Vectors] = []
        for start in range(0, len(texts), self._batch_size):
            batch = [str(t) if t else " " for t in texts[start : start + self._batch_size]]
            kwargs: dict[str, Any] = {"model": self._model, "input": batch, "timeout": self._timeout_s}
            if self._api_base:
                kwargs["api_base"] = self._api_base
            if self._api_key:
                kwargs["api_key"] = self._api_key
            kwargs["num_retries"] = (
                0  # retries are the caller's: wrap in RetryingEmbedder (build_embedder does)
            )
            kwargs["max_retries"] = 0
            try:
                response = litellm.embedding(**kwargs)
                data = sorted(response.data, key=lambda d: _get(d, "index"))
                matrix = np.asarray([_get(d, "embedding") for d in data], dtype=np.float32)
            except Exception as exc:
                secrets = secrets_of(self._api_key, key_var_for(self._model), "OPENAI_API_KEY")
                error = redacted(
                    map_litellm_error(exc, model=self._model, timeout_s=self._timeout_s), secrets
                )
                raise error from safe_cause(exc, secrets)
            if matrix.ndim != 2 or matrix.shape[0] != len(batch):
                raise LLMError(
                    f"embedding model {self._model!r} returned {matrix.shape} for {len(batch)} texts"
                )
            parts.append(matrix)
        out = np.concatenate(parts, axis=0)
        with self._lock:
            if self._dim is None:
                self._dim = int(out.shape[1])
            elif out.shape[1] != self._dim:
                raise ConfigError(
                    f"embedding model {self._model!r} returns {out.shape[1]}-d vectors, "
                    f"the configured dim is {self._dim}",
                    hint=f"set COGARCH_EMBEDDING__DIM={out.shape[1]} (and use a fresh data directory)",
                )
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.where(norms > 0, out / np.maximum(norms, 1e-12), out).astype(np.float32)


def _get(item: Any, key: str) -> Any:
    return item[key] if isinstance(item, dict) else getattr(item, key)


__all__ = ["LiteLLMEmbedder"]
