"""Event segmentation (EM-LLM): where consolidation cuts a namespace's new episodes into events.

A :class:`Segmenter` gives each new episode (in insertion order) an event index; ``MemorySettings.segmentation``
picks one (:func:`build_segmenter`). Both cut where the session changes and after a time gap of
``GAP_SECONDS``, and start a new event with each consolidation's first episode.

- ``"embedding"`` (:func:`segment`, the default): the surprise of an episode is ``1 - cos(v, centroid of the
  current event)``; a boundary where it exceeds ``mean + GAMMA * std`` of the last ``WINDOW`` surprises (0.9
  before 5 are known), and at ``MAX_EVENT`` episodes. Free: the vectors are stored already.
- ``"surprise"`` (:class:`SurpriseSegmenter`): EM-LLM's token surprise. The surprise of an episode
  (``"speaker: text"``) is the local model's mean negative log-likelihood per token of it given the preceding
  episodes of the batch (whole episodes, about ``CONTEXT_TOKENS`` tokens, counted as 1.4 per word), from its
  option scoring; a boundary where it exceeds ``mean + GAMMA * std`` of the previous ``WINDOW`` surprises (after
  5). Refined by similarity (EM-LLM refines with attention keys; here the embedder's vectors): each boundary
  moves within ``REACH`` episodes to where the mean vectors of the ``SIDE`` episodes before and after it are
  least similar, and boundaries closer than ``SIDE`` merge. One model call per episode.

Measured on LoCoMo's session starts with the session marks and times removed (BENCHMARKS.md M,
"segmentation", both development conversations): F1 0.260 (mean of the two) against 0.141 for the embedding
rule; about 2.5 s of CPU per episode for the bundled model on a loaded 2-core host, so a chat turn (two
episodes) costs seconds of the model's time on the agent's worker, where the embedding rule costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from memory.records import Episode
from reasoning.errors import ConfigError
from reasoning.llm import Message, OptionScorer, user

GAP_SECONDS = 3600.0
MAX_EVENT = 12
GAMMA = 1.0
WINDOW = 30
CONTEXT_TOKENS = 128
REACH = 2
SIDE = 3


class Segmenter(Protocol):
    """The event index of each episode (``episodes`` in insertion order, ``vectors`` their unit vectors)."""

    def __call__(self, episodes: Sequence[Episode], vectors: np.ndarray[Any, Any]) -> list[int]: ...


def segment(vectors: np.ndarray[Any, Any], sessions: list[str | None], times: list[float]) -> list[int]:
    """Event index of each episode by the embedding rule (pure function; boundaries by surprise, session, gap,
    size)."""
    labels: list[int] = []
    event = -1
    centroid = np.zeros(vectors.shape[1] if len(vectors) else 1)
    size = 0
    surprises: list[float] = []
    for i, v in enumerate(vectors):
        boundary = i == 0
        if not boundary:
            c = centroid / (np.linalg.norm(centroid) or 1.0)
            surprise = 1.0 - float(v @ c)
            window = surprises[-WINDOW:]
            threshold = (np.mean(window) + GAMMA * np.std(window)) if len(window) >= 5 else 0.9
            boundary = bool(
                sessions[i] != sessions[i - 1]
                or times[i] - times[i - 1] > GAP_SECONDS
                or size >= MAX_EVENT
                or surprise > threshold
            )
            surprises.append(surprise)
        if boundary:
            event += 1
            centroid = np.zeros_like(v, dtype=np.float64)
            size = 0
        centroid = centroid + v
        size += 1
        labels.append(event)
    return labels


def embedding_segmenter(episodes: Sequence[Episode], vectors: np.ndarray[Any, Any]) -> list[int]:
    """The embedding rule as a :class:`Segmenter`."""
    return segment(vectors, [e.session for e in episodes], [e.timestamp for e in episodes])


def threshold_boundaries(scores: Sequence[float]) -> list[int]:
    """Indices whose score exceeds ``mean + GAMMA * std`` of the previous ``WINDOW`` scores (once 5 are known)."""
    out = []
    for i in range(1, len(scores)):
        window = scores[max(0, i - WINDOW) : i]
        if len(window) >= 5 and scores[i] > np.mean(window) + GAMMA * np.std(window):
            out.append(i)
    return out


def refine(
    boundaries: Sequence[int], vectors: np.ndarray[Any, Any], reach: int = REACH, side: int = SIDE
) -> list[int]:
    """Move each boundary within ``reach`` episodes to the lowest similarity between the ``side`` episodes
    before and after it; merge boundaries closer than ``side`` episodes."""
    n = len(vectors)

    def gap(i: int) -> float:
        a, b = vectors[max(0, i - side) : i].mean(0), vectors[i : min(n, i + side)].mean(0)
        return float(a @ b / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))

    moved = sorted({min(range(max(1, b - reach), min(n, b + reach + 1)), key=gap) for b in boundaries})
    out: list[int] = []
    for b in moved:
        if not out or b - out[-1] >= side:
            out.append(b)
    return out


def token_surprise(
    scorer: OptionScorer, texts: Sequence[str], context_tokens: int = CONTEXT_TOKENS
) -> list[float]:
    """Mean negative log-likelihood per token of each text given the preceding texts (whole ones, at most about
    ``context_tokens`` tokens), each scored as the continuation of that transcript (not as a whole reply)."""
    out = []
    lengths = [len(t.split()) * 1.4 for t in texts]  # a rough token count to choose the context's texts
    for i, text in enumerate(texts):
        j, budget = i, 0.0
        while j > 0 and budget + lengths[j - 1] <= context_tokens:
            j -= 1
            budget += lengths[j]
        context: list[Message] = [user("\n".join(texts[j:i]) or "(start of the conversation)")]
        out.append(-scorer.score_options(context, [text], normalize=True, end_of_turn=False)[0])
    return out


class SurpriseSegmenter:
    """The token-surprise rule (module docstring) with ``scorer`` (the local model's option scoring)."""

    def __init__(self, scorer: OptionScorer, *, context_tokens: int = CONTEXT_TOKENS) -> None:
        self._scorer = scorer
        self._context_tokens = context_tokens

    def __call__(self, episodes: Sequence[Episode], vectors: np.ndarray[Any, Any]) -> list[int]:
        texts = [f"{e.speaker}: {e.text}" if e.speaker else e.text for e in episodes]
        cuts = set(
            refine(threshold_boundaries(token_surprise(self._scorer, texts, self._context_tokens)), vectors)
        )
        cuts |= {
            i
            for i in range(1, len(episodes))
            if episodes[i].session != episodes[i - 1].session
            or episodes[i].timestamp - episodes[i - 1].timestamp > GAP_SECONDS
        }
        labels, event = [], -1
        for i in range(len(episodes)):
            event += i == 0 or i in cuts
            labels.append(event)
        return labels


def build_segmenter(mode: str, llm: Any) -> Segmenter:
    """The segmenter of ``MemorySettings.segmentation``: "embedding", or "surprise" with ``llm``'s option scoring.

    Raises:
        ConfigError: "surprise" without a model that scores options (the bundled local model does; hosted
            models through litellm do not), or an unknown mode.
    """
    if mode == "embedding":
        return embedding_segmenter
    if mode == "surprise":
        if not isinstance(llm, OptionScorer):
            raise ConfigError(
                "memory.segmentation = 'surprise' needs a model that scores tokens (the bundled local model)",
                hint="use segmentation='embedding' with a hosted model",
            )
        return SurpriseSegmenter(llm)
    raise ConfigError(f"unknown memory.segmentation {mode!r}", hint="one of embedding, surprise")


__all__ = [
    "CONTEXT_TOKENS",
    "GAMMA",
    "GAP_SECONDS",
    "MAX_EVENT",
    "WINDOW",
    "Segmenter",
    "SurpriseSegmenter",
    "build_segmenter",
    "embedding_segmenter",
    "refine",
    "segment",
    "threshold_boundaries",
    "token_surprise",
]
