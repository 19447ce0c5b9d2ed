"""Event segmentation: ``memory.segmentation`` picks the rule consolidation cuts events with (issue 24)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from memory import Memory
from memory.config import MemorySettings
from memory.embedders.base import HashEmbedder
from memory.index import InMemoryIndex
from memory.records import Episode
from memory.segmentation import SurpriseSegmenter, embedding_segmenter, refine, threshold_boundaries
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import ConfigError
from reasoning.llm import Message

T0 = 1.7e9
TEXTS = [f"note number {i} about the garden" for i in range(12)]
SESSION = {"session": "s1"}


def surprised_at(text: str) -> ScriptedLLM:
    """A scorer whose log-likelihood is low only for ``text`` (and that records what it was asked)."""
    asked: list[tuple[str, str]] = []

    def score(messages: Sequence[Message], option: str) -> float:
        asked.append((str(messages[-1]["content"]), option))
        return -9.0 if option.endswith(text) else -1.0

    llm = ScriptedLLM(score=score)
    llm.asked = asked  # type: ignore[attr-defined]
    return llm


def open_memory(path: Path, llm: ScriptedLLM | None, **settings: object) -> Memory:
    return Memory.open(
        path,
        MemorySettings(facts="off", **settings),  # type: ignore[arg-type]
        embedder=HashEmbedder(64),
        index=InMemoryIndex(),
        llm=llm,
    )


def events_of(memory: Memory) -> list[str | None]:
    return [e.event_id for e in memory.episodes(namespace="u")]


def test_the_setting_picks_the_segmenter(tmp_path: Path) -> None:
    with open_memory(tmp_path / "a", surprised_at("x")) as memory:
        assert memory.segmenter is embedding_segmenter  # the default
    with open_memory(tmp_path / "b", surprised_at("x"), segmentation="surprise") as memory:
        assert isinstance(memory.segmenter, SurpriseSegmenter)
    with pytest.raises(ConfigError, match="scores tokens"):
        open_memory(tmp_path / "c", None, segmentation="surprise")

    class Hosted(ScriptedLLM):  # a model without option scoring, as litellm's
        score_options = None  # type: ignore[assignment]

    with pytest.raises(ConfigError, match="scores tokens"):
        open_memory(tmp_path / "d", Hosted(), segmentation="surprise")


def test_surprise_segmentation_cuts_where_the_model_is_surprised(tmp_path: Path) -> None:
    llm = surprised_at(TEXTS[8])
    with open_memory(tmp_path / "surprise", llm, segmentation="surprise") as memory:
        for i, text in enumerate(TEXTS):  # one session, one minute apart: only the content can cut
            memory.remember(text, namespace="u", speaker="bob", timestamp=T0 + 60 * i, metadata=SESSION)
        memory.consolidate(namespace="u")
        events = events_of(memory)
    cuts = [i for i in range(1, len(events)) if events[i] != events[i - 1]]
    assert len(cuts) == 1 and 6 <= cuts[0] <= 10  # at episode 8, moved at most 2 by the similarity refinement
    asked = llm.asked  # type: ignore[attr-defined]
    assert [option for _, option in asked] == [f"bob: {t}" for t in TEXTS]  # each episode scored once
    assert asked[3][0].endswith(f"bob: {TEXTS[2]}")  # given the episodes before it
    # the embedding rule cuts these (hash) vectors elsewhere: the setting, not the data, made the difference
    with open_memory(tmp_path / "embedding", llm) as memory:
        for i, text in enumerate(TEXTS):
            memory.remember(text, namespace="u", speaker="bob", timestamp=T0 + 60 * i, metadata=SESSION)
        memory.consolidate(namespace="u")
        embedded = events_of(memory)
    assert [i for i in range(1, len(embedded)) if embedded[i] != embedded[i - 1]] != cuts


def test_surprise_segmentation_also_cuts_at_session_changes_and_time_gaps() -> None:
    def episode(i: int, session: str, t: float) -> Episode:
        return Episode(f"ep_{i}", "u", TEXTS[i], "bob", None, t, session, {}, 0.0, 0.5, ())

    episodes = [episode(i, "s1" if i < 4 else "s2", T0 + 60 * i + (7200 if i >= 9 else 0)) for i in range(12)]
    segmenter = SurpriseSegmenter(surprised_at("never"))  # the model is never surprised
    labels = segmenter(episodes, np.asarray(HashEmbedder(64)(TEXTS), dtype=np.float64))
    assert labels == [0] * 4 + [1] * 5 + [2] * 3


def test_threshold_and_refinement() -> None:
    scores = [1.0] * 8 + [5.0] + [1.0] * 3
    assert threshold_boundaries(scores) == [8]
    assert threshold_boundaries([*scores[:4], 5.0]) == []  # fewer than 5 scores before: no threshold yet
    vectors = np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6)  # the topic changes at 6
    assert refine([8], vectors) == [6]  # moved to the lowest similarity within 2
    assert refine([5, 7], vectors) == [6]  # both moved to the change: one boundary
