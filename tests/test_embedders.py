"""Embedders: the factory, the hash embedder's contract and (integration) the bundled MiniLM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from memory.config import EmbeddingSettings
from memory.embedders import (
    CachingEmbedder,
    Embedder,
    HashEmbedder,
    LiteLLMEmbedder,
    RetryingEmbedder,
    build_embedder,
)
from reasoning.errors import ConfigError


def test_build_embedder_hash() -> None:
    embedder = build_embedder(EmbeddingSettings(model="hash", dim=64))
    assert isinstance(embedder, HashEmbedder)
    assert isinstance(embedder, Embedder)
    vectors = embedder(["a b", "c"])
    assert vectors.shape == (2, 64) and vectors.dtype == np.float32


def test_build_embedder_unknown_local_lists_allowed() -> None:
    with pytest.raises(ConfigError, match="all-minilm-l6-v2"):
        build_embedder(EmbeddingSettings(model="local/nope"))


def test_build_embedder_litellm_string() -> None:
    embedder = build_embedder(EmbeddingSettings(model="openai/text-embedding-3-small", dim=1536))
    assert isinstance(embedder, RetryingEmbedder) and isinstance(embedder.inner, LiteLLMEmbedder)
    assert embedder.dim == 1536 and embedder.name == "openai/text-embedding-3-small"


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    from memory.embedders import LocalEmbedder

    return LocalEmbedder(batch_size=4)


@pytest.mark.integration
def test_local_embedder_contract(minilm: Embedder) -> None:
    assert minilm.dim == 384 and minilm.name == "local/all-minilm-l6-v2"
    assert minilm([]).shape == (0, 384)
    texts = [
        "The cat sits on the mat.",
        "A kitten is resting on a rug.",
        "Stock markets fell sharply today.",
        "",
    ]
    vectors = minilm(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.integration
def test_local_embedder_batching_matches_one_at_a_time(minilm: Embedder) -> None:
    texts = [f"sentence number {i} " + "word " * (i * 3) for i in range(11)]
    batched = minilm(texts)
    single = np.stack([minilm([t])[0] for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-4)


@pytest.mark.parametrize("gelu", [False, True])
def test_packed_onednn_linear_matches_f_linear(gelu: bool) -> None:
    """The embedder's packed oneDNN linear (bias and GELU fused) computes F.linear's values."""
    import torch

    from memory.embedders import bert

    g = torch.Generator().manual_seed(1)
    w, b, x = (
        torch.randn(96, 48, generator=g),
        torch.randn(96, generator=g),
        torch.randn(4, 7, 48, generator=g),
    )
    lin = bert._Linear(w, b, gelu=gelu)
    if torch.backends.mkldnn.is_available():
        assert lin.packed is not None  # the fast path is really taken where oneDNN exists
    expected = torch.nn.functional.linear(x, w, b)
    expected = torch.nn.functional.gelu(expected) if gelu else expected
    assert torch.allclose(lin(x), expected, atol=1e-4, rtol=1e-5)


def test_caching_embedder_embeds_each_distinct_text_once() -> None:
    calls: list[list[str]] = []
    inner = HashEmbedder(32)

    class Counting:
        name, dim = inner.name, inner.dim

        def __call__(self, texts: Sequence[str]) -> np.ndarray:
            calls.append(list(texts))
            return inner(texts)

    cached = CachingEmbedder(Counting(), size=2)
    first = cached(["a b", "c d", "a b"])
    np.testing.assert_allclose(first, inner(["a b", "c d", "a b"]))
    np.testing.assert_allclose(cached(["c d"]), inner(["c d"]))
    assert calls == [["a b", "c d"]] and cached.hits == 1  # the repeat within a call is computed once too
    cached(["e f"])  # evicts the least recently used ("a b")
    cached(["a b"])
    assert calls[-1] == ["a b"] and cached.name == inner.name and cached(["x"]).shape == (1, 32)
