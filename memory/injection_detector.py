"""The learned half of the injection screen: a logistic regression over the episode's stored embedding.

:mod:`memory.hygiene` reads wording (patterns and a dependency parse); this reads meaning. The weights in
``memory/data/injection_detector.json`` were trained by ``benchmarks/reliability/train_detector.py`` on the bundled
embedder's vectors (all-MiniLM-L6-v2) of the development injection phrasings and of benign text (one LoCoMo
conversation, filled statements and questions): see that script for the data and BENCHMARKS.md "Reliability" for
what it catches on phrasings it never saw. A vector is flagged when its logit exceeds the stored threshold.

It applies only to vectors of the embedder it was trained on: :func:`load_detector` returns None for any other
embedder (a litellm model, the test hash embedder), and memory then screens by wording alone.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from reasoning.errors import ConfigError

_RESOURCE = "injection_detector.json"


@dataclass(frozen=True)
class InjectionDetector:
    """``flags(vectors)``: which rows read as instructions to the model. ``embedder``: the model the weights
    belong to (its ``Embedder.name``); ``threshold``: the logit above which a row is flagged."""

    embedder: str
    weights: npt.NDArray[np.float32]
    bias: float
    threshold: float

    def scores(self, vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The logit of each row of ``vectors`` (shape (n, dim)); higher reads more like an injection."""
        matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, self.weights.shape[0])
        return (matrix @ self.weights + np.float32(self.bias)).astype(np.float32)

    def flags(self, vectors: npt.ArrayLike) -> list[bool]:
        """For each row of ``vectors``: True when its logit exceeds :attr:`threshold`."""
        return [bool(s > self.threshold) for s in self.scores(vectors)]


@functools.lru_cache(maxsize=1)
def _shipped() -> InjectionDetector:
    try:
        data = json.loads(resources.files("memory").joinpath("data", _RESOURCE).read_text(encoding="utf-8"))
        return InjectionDetector(
            embedder=str(data["embedder"]),
            weights=np.asarray(data["weights"], dtype=np.float32),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the injection detector's weights (memory/data/{_RESOURCE}) are missing or corrupt: {exc}",
            hint="reinstall cogarch, or retrain with benchmarks/reliability/train_detector.py",
        ) from exc


def load_detector(embedder_name: str, dim: int) -> InjectionDetector | None:
    """The shipped detector when it was trained on ``embedder_name``'s ``dim``-d vectors, else None.

    Raises:
        ConfigError: the shipped weights are missing or unreadable.
    """
    detector = _shipped()
    if detector.embedder != embedder_name or detector.weights.shape[0] != dim:
        return None
    return detector


__all__ = ["InjectionDetector", "load_detector"]
