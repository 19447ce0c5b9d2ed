"""The phrase graph and its walk (HippoRAG 2): phrase nodes, synonym edges, seeding, PPR's effect on recall."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from memory import Memory
from memory.config import MemorySettings, RecallWeights
from memory.embedders.base import HashEmbedder, Vectors
from memory.graph import personalized_pagerank, specificity, synonym_pairs
from memory.index import InMemoryIndex
from memory.nlp import available
from memory.phrases import query_keys
from memory.text import without_names

needs_spacy = pytest.mark.skipif(not available(), reason="no spaCy English pipeline installed")

FILLER = [
    "The weather was rainy all week long.",
    "We watched a documentary about whales.",
    "My neighbour repainted his fence green.",
    "Traffic on the bridge was terrible this morning.",
    "I finally fixed the squeaky door hinge.",
    "The bakery ran out of sourdough again.",
    "Our team lost the quiz by two points.",
    "The printer at work jammed twice.",
    "Grandma knitted a scarf for the winter.",
    "The train to Leeds was cancelled.",
    "A heron stood in the pond all afternoon.",
    "Dinner was lentil soup with bread.",
]


class SynonymEmbedder(HashEmbedder):
    """A hash embedder that knows one synonym: 'ceramic(s) course' embeds like 'pottery class'."""

    def __call__(self, texts: Sequence[str]) -> Vectors:
        return super().__call__(
            [
                t.lower().replace("ceramics", "ceramic").replace("ceramic course", "pottery class")
                for t in texts
            ]
        )


def _build(
    path: Path, embedder: HashEmbedder, weights: RecallWeights, texts: Sequence[str]
) -> tuple[Memory, list[str]]:
    """A consolidated memory of ``texts`` in namespace ``u`` that recalls with ``weights``, and the episode ids."""
    mem = Memory.open(path, MemorySettings(recall=weights), embedder=embedder, index=InMemoryIndex())
    ids = mem.remember_many(texts, namespace="u")
    mem.consolidate(namespace="u")
    return mem, ids


@needs_spacy
def test_the_walk_reaches_an_episode_linked_to_the_query_only_through_a_phrase(tmp_path: Path) -> None:
    # the violin was bought at the flea market; only the phrase "flea market" links the second turn to the query
    texts = [
        "I bought an old violin at the flea market.",
        *FILLER[:6],
        "The flea market on Harbour Street opens at dawn on Sundays.",
        *FILLER[6:],
    ]
    query = "Where did I buy the violin?"
    mem, ids = _build(tmp_path / "walk", HashEmbedder(1024), RecallWeights(), texts)
    with mem:
        items = mem.recall(query, namespace="u", k=len(texts))
    linked = next(r for r in items if r.id == ids[7])
    assert "walk" in linked.why and items[0].id == ids[0]  # the turn naming the violin stays first
    rank = [r.id for r in items].index(ids[7])
    mem, ids = _build(tmp_path / "no-walk", HashEmbedder(1024), RecallWeights(ppr=0.0), texts)
    with mem:
        without = {r.id: r for r in mem.recall(query, namespace="u", k=len(texts))}
    # the walk lifts the linked turn by a clear margin, a third of the walk's weight (its other signals are the
    # same in both memories)
    assert linked.score - without[ids[7]].score > RecallWeights().ppr / 3
    assert rank < list(without).index(ids[7])


def test_the_walk_changes_nothing_when_the_query_names_no_phrase_node(tmp_path: Path) -> None:
    # without restart mass the walk must not run (a uniform restart would add noise to every candidate's score)
    texts = ["I bought an old violin at the flea market.", *FILLER]
    query = "Anything about zebras?"
    scores = []
    for name, weights in (("walk", RecallWeights()), ("no-walk", RecallWeights(ppr=0.0))):
        mem, _ = _build(tmp_path / name, HashEmbedder(1024), weights, texts)
        with mem:
            assert not mem.store.entities_named("u", ["zebra", "zebras"])
            scores.append({r.text: r.score for r in mem.recall(query, namespace="u", k=len(texts))})
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)  # recency differs by the ingestion clock


@needs_spacy
def test_synonym_edges_link_phrases_the_embedder_finds_close(tmp_path: Path) -> None:
    texts = [
        "The pottery class starts next Tuesday.",
        *FILLER[:6],
        "I signed up for a ceramics course downtown.",
        *FILLER[6:],
    ]
    embedder = SynonymEmbedder(1024)
    mem, ids = _build(tmp_path / "syn", embedder, RecallWeights(), texts)
    with mem:
        data = mem.export("u")
        names = {e["id"]: e["name"] for e in data["entities"]}
        synonyms = {frozenset((names[s], names[d])) for s, d, kind, _ in data["edges"] if kind == "synonym"}
        assert frozenset(("pottery class", "ceramic course")) in synonyms
        items = mem.recall("When is the pottery class?", namespace="u", k=len(texts))
    linked = next(r for r in items if r.id == ids[7])
    assert "walk" in linked.why
    mem, ids = _build(tmp_path / "no-syn", embedder, RecallWeights(synonym=0.0), texts)
    with mem:
        without = {r.id: r for r in mem.recall("When is the pottery class?", namespace="u", k=len(texts))}
    assert "walk" not in without[ids[7]].why  # no phrase the query names reaches it but through the synonym
    assert linked.score - without[ids[7]].score > RecallWeights().ppr / 3


@needs_spacy
def test_forgetting_an_episode_removes_its_phrases_and_their_synonym_edges(tmp_path: Path) -> None:
    texts = ["The pottery class starts next Tuesday.", "I signed up for a ceramics course downtown."]
    mem, ids = _build(tmp_path, SynonymEmbedder(1024), RecallWeights(), texts)
    with mem:
        mem.forget(ids=ids[1], namespace="u")
        data = mem.export("u")
        names = {e["name"] for e in data["entities"]}
        assert "ceramic course" not in names and "sign" not in names
        assert "pottery class" in names
        assert not [e for e in data["edges"] if e[2] == "synonym"]


@needs_spacy
def test_incremental_consolidation_links_new_phrases_to_old_ones_and_embeds_only_new_ones(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    class Recording(SynonymEmbedder):
        def __call__(self, texts: Sequence[str]) -> Vectors:
            seen.extend(texts)
            return super().__call__(texts)

    with Memory.open(tmp_path, embedder=Recording(1024), index=InMemoryIndex()) as mem:
        mem.remember("The pottery class starts next Tuesday.", namespace="u")
        mem.consolidate(namespace="u")
        seen.clear()
        mem.remember("I signed up for a ceramics course downtown.", namespace="u")
        counts = mem.consolidate(namespace="u")
        assert counts["synonyms"] >= 1
        assert "ceramic course" in seen and "pottery class" not in seen  # only new phrases are embedded


def test_query_keys_are_content_words_their_singulars_and_adjacent_pairs() -> None:
    keys = query_keys("What are Melanie's pets' names?")
    assert {"melanie", "pets", "pet", "names", "name", "melanie pets", "melanie pet"} <= set(keys)
    assert "what" not in keys and "are" not in keys
    assert query_keys("Which cities has she visited?")[:2] == ["cities", "city"]


def test_specificity_favours_rare_phrases() -> None:
    assert specificity(1) == 1.0 and specificity(0) == 1.0
    assert specificity(50) < specificity(2)


def test_synonym_pairs_keep_the_top_k_above_the_threshold() -> None:
    rng = np.random.default_rng(0)
    old = rng.normal(size=(50, 16)).astype(np.float32)
    old /= np.linalg.norm(old, axis=1, keepdims=True)
    new = old[[3, 7]] + 0.01  # near copies of rows 3 and 7
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    pairs = synonym_pairs(new, old, threshold=0.9, top_k=2, block=1)
    assert {(i, j) for i, j, _ in pairs} == {(0, 3), (1, 7)}
    assert all(c >= 0.9 for _, _, c in pairs)
    assert synonym_pairs(new, old[:0], threshold=0.5, top_k=3) == []
    assert len(synonym_pairs(new, old, threshold=-1.0, top_k=5)) == 10


def test_synonym_pairs_search_several_matrices_as_one() -> None:
    rng = np.random.default_rng(1)
    old = rng.normal(size=(40, 8)).astype(np.float32)
    old /= np.linalg.norm(old, axis=1, keepdims=True)
    new = old[[1, 5, 30]] + rng.normal(scale=0.1, size=(3, 8)).astype(np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    together = synonym_pairs(new, np.vstack([old, new]), threshold=0.3, top_k=4)
    assert len(together) == 12  # four per new row: the rows of both matrices compete for them
    for block in (None, 1, 2):
        split = synonym_pairs(new, [old[:25], old[25:], new], threshold=0.3, top_k=4, block=block)
        assert [(i, j) for i, j, _ in split] == [(i, j) for i, j, _ in together]
        assert [c for *_, c in split] == pytest.approx([c for *_, c in together], abs=1e-6)


def test_an_event_joins_a_stored_scene_keeping_its_members(tmp_path: Path) -> None:
    text = "pottery class with clay on the wheel"
    with Memory.open(tmp_path / "m", embedder=HashEmbedder(64), index=InMemoryIndex()) as mem:
        first = mem.remember_many([text] * 3, namespace="u")
        mem.consolidate(namespace="u")
        [scene] = mem.scenes(namespace="u")
        later = mem.remember_many([text] * 2, namespace="u")
        assert mem.consolidate(namespace="u")["scenes"] == 0  # no new scene: the event joined the stored one
        [joined] = mem.scenes(namespace="u")
    assert joined.id == scene.id and list(joined.members) == [*first, *later]


def test_pagerank_ignores_zero_weight_edges_and_sums_to_one() -> None:
    r = personalized_pagerank(4, [(0, 1, 1.0), (1, 2, 0.0), (2, 3, 1.0)], np.array([1.0, 0, 0, 0]))
    assert np.isfinite(r).all() and abs(r.sum() - 1.0) < 1e-9
    assert r[3] == 0.0 and r[1] > 0


def test_the_turn_after_a_hit_is_recalled_as_its_neighbour(tmp_path: Path) -> None:
    # the answer shares no word with the question: only being the next turn of the question's hit brings it in
    texts = [
        *FILLER[:6],
        "Did you hear what Anna named her new puppy?",
        "Yes, she called him Biscuit!",
        *FILLER[6:],
    ]
    query = "What is the name of Anna's puppy?"
    found = []
    alone = {"pool": 3, "seed_phrases": 0.0}  # no walk: its candidates would bring the neighbour in too
    for name, weights in (("on", RecallWeights(**alone)), ("off", RecallWeights(**alone, neighbours=0))):
        mem, ids = _build(tmp_path / name, HashEmbedder(1024), weights, texts)
        with mem:
            items = mem.recall_with_confidence(query, namespace="u", k=4, deep=False).items
        assert items[0].id == ids[6]
        found.append({r.text: r.why for r in items})
    assert "adjacent" in found[0].get(texts[7], "") and texts[7] not in found[1]


def test_a_question_naming_a_speaker_prefers_that_speakers_turns(tmp_path: Path) -> None:
    # Bob's turn shares more of the question's words; the one Ann said answers a question about Ann
    texts = [
        {"text": "Ann asked what to plant in the garden, and the garden of Ann is big.", "speaker": "Bob"},
        *({"text": t, "speaker": "Bob"} for t in FILLER[:6]),
        {"text": "This year I planted beans.", "speaker": "Ann"},
        *({"text": t, "speaker": "Bob"} for t in FILLER[6:]),
    ]
    query = "What did Ann plant in the garden?"
    ranked = []
    for name, weights in (("on", RecallWeights()), ("off", RecallWeights(speaker=0.0))):
        settings = MemorySettings(recall=weights)
        with Memory.open(
            tmp_path / name, settings, embedder=HashEmbedder(1024), index=InMemoryIndex()
        ) as mem:
            mem.remember_many(texts, namespace="u")
            mem.consolidate(namespace="u")
            ranked.append([(r.text, r.why) for r in mem.recall(query, namespace="u", k=len(texts))])
    pos = [next(n for n, (text, _) in enumerate(r) if text.startswith("Ann:")) for r in ranked]
    assert "speaker" in ranked[0][pos[0]][1] and "speaker" not in ranked[1][pos[1]][1]
    assert pos[0] < pos[1]  # the signal lifts Ann's answer above the scene that repeats Bob's words


class RecordingEmbedder(HashEmbedder):
    """A hash embedder that keeps every text it embeds."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def __call__(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        return super().__call__(texts)


def test_the_dense_query_leaves_out_the_namespaces_speakers(tmp_path: Path) -> None:
    # the name says who, not what: the dense query of "What does Ann like?" is "What does like?"; the lexical
    # query and the speaker signal still read the name. A speaker stored after the first recall is left out too.
    weights = {"on": RecallWeights(), "off": RecallWeights(unnamed_dense=False)}
    for name, w in weights.items():
        emb = RecordingEmbedder(256)
        with Memory.open(
            tmp_path / name, MemorySettings(recall=w), embedder=emb, index=InMemoryIndex()
        ) as mem:
            mem.remember_many(
                [{"text": "I love hiking.", "speaker": "Ann"}, {"text": "Nice, Ann!", "speaker": "Bob"}],
                namespace="u",
            )
            items = mem.recall("What does Ann like?", namespace="u", k=2)
            assert emb.seen[-1] == ("What does like?" if name == "on" else "What does Ann like?")
            assert "speaker" in next(r.why for r in items if r.text.startswith("Ann:"))
            mem.remember("Hello all.", speaker="Cleo", namespace="u")
            mem.recall("Cleo's plans?", namespace="u", k=2)
            assert emb.seen[-1] == ("plans?" if name == "on" else "Cleo's plans?")


def test_without_names_removes_whole_names_and_keeps_a_query_of_names_only() -> None:
    speakers = {"Ann", "Bob Lee"}
    assert without_names("Did Ann and bob lee meet Anna?", speakers) == "Did and meet Anna?"
    assert without_names("What is Ann's job?", speakers) == "What is job?"
    assert without_names("Ann?", speakers) == "Ann?"  # nothing else would be left
    assert without_names("What is Ann's job?", ()) == "What is Ann's job?"
