"""Embedders: text -> unit vectors (``Embedder`` protocol in :mod:`memory.embedders.base`).

- ``HashEmbedder``: deterministic bag of hashed words, for tests (``"hash"``).
- ``LocalEmbedder``: the bundled all-MiniLM-L6-v2 on torch (``"local/all-minilm-l6-v2"``).
- ``LiteLLMEmbedder``: any litellm embedding model (``"openai/text-embedding-3-small"``, ...).

``build_embedder(settings)`` picks one from :class:`memory.config.EmbeddingSettings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memory.config import LOCAL_EMBEDDER, EmbeddingSettings
from memory.embedders.base import Embedder, HashEmbedder, Vectors
from memory.embedders.caching import CachingEmbedder
from memory.embedders.litellm_embedder import DEFAULT_BATCH_SIZE as API_BATCH_SIZE
from memory.embedders.litellm_embedder import LiteLLMEmbedder
from memory.embedders.retrying import RetryingEmbedder
from reasoning.errors import ConfigError
from reasoning.wrappers import RetryPolicy

if TYPE_CHECKING:
    from memory.embedders.local import LocalEmbedder

LOCAL_EMBEDDERS = (LOCAL_EMBEDDER,)


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder ``settings.model`` names.

    ``"local/all-minilm-l6-v2"`` -> :class:`LocalEmbedder` (bundled); ``"hash"`` -> :class:`HashEmbedder`
    (``dim`` default 256); anything else is a litellm embedding model string -> :class:`LiteLLMEmbedder`.

    Raises:
        ConfigError: an unknown ``local/...`` name, or a ``dim`` that does not match the bundled model.
        MissingResourceError: the bundled model package is not installed (the message gives the pip command).
    """
    model = settings.model.strip()
    if model == "hash":
        return HashEmbedder(settings.dim or 256)
    if model.startswith("local/"):
        if model != LOCAL_EMBEDDER:
            raise ConfigError(
                f"unknown local embedder {model!r}",
                hint=f"allowed: {', '.join(LOCAL_EMBEDDERS)}, 'hash', or a litellm model string",
            )
        from memory.embedders.local import DEFAULT_BATCH_SIZE, LocalEmbedder

        embedder = LocalEmbedder(batch_size=settings.batch_size or DEFAULT_BATCH_SIZE, device=settings.device)
        if settings.dim is not None and settings.dim != embedder.dim:
            raise ConfigError(
                f"embedding.dim={settings.dim} but {model} produces {embedder.dim}-d vectors",
                hint="unset COGARCH_EMBEDDING__DIM",
            )
        return embedder
    remote = LiteLLMEmbedder(
        model,
        dim=settings.dim,
        api_base=settings.api_base,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        batch_size=settings.batch_size or API_BATCH_SIZE,
    )
    return RetryingEmbedder(remote, RetryPolicy(max_retries=2))


def __getattr__(name: str) -> Any:
    # LocalEmbedder imports torch and transformers: load them only when it is asked for.
    if name == "LocalEmbedder":
        from memory.embedders.local import LocalEmbedder

        return LocalEmbedder
    raise AttributeError(name)


__all__ = [
    "CachingEmbedder",
    "Embedder",
    "HashEmbedder",
    "LiteLLMEmbedder",
    "LocalEmbedder",
    "RetryingEmbedder",
    "Vectors",
    "build_embedder",
]
