"""Bounded lexical (BM25) search, on both stores: the budget keeps rare terms, falls back to a recent window, and
the namespace filter stays exact when other namespaces crowd the best matches; the budget's default per store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import Memory
from memory.config import MemorySettings
from memory.embedders.base import HashEmbedder
from memory.index import InMemoryIndex
from reasoning.errors import InvalidInputError


@pytest.fixture
def mem(tmp_path: Path, memory_store: str) -> Iterator[Memory]:
    settings = MemorySettings(lexical_budget=100)
    with Memory.open(tmp_path / "m", settings, embedder=HashEmbedder(64), index=InMemoryIndex()) as m:
        yield m


def _fill(mem: Memory, ns: str, n: int, text: str = "common filler words again") -> list[str]:
    return mem.remember_many([f"{text} {i}" for i in range(n)], namespace=ns)


def test_budget_keeps_the_rare_terms(mem: Memory) -> None:
    _fill(mem, "u", 300)
    rare = mem.remember("common filler with a zebra", namespace="u")
    _fill(mem, "u", 50)
    assert len(mem.store.lexical_search("u", ["common"], 400)) > 100
    assert len(mem.store.lexical_search("u", ["zebra"], 10)) == 1
    hits = mem.store.lexical_search("u", ["common", "filler", "zebra"], 10, budget=100)
    assert [h[0] for h in hits] == [rare]  # the common terms were dropped: only the rare one is searched
    unbounded = mem.store.lexical_search("u", ["common", "filler", "zebra"], 10)
    assert unbounded[0][0] == rare and len(unbounded) == 10
    assert rare in [r.id for r in mem.recall("common zebra", namespace="u", k=5)]  # dense ties the fillers


def test_only_common_terms_search_the_recent_window(mem: Memory) -> None:
    old = _fill(mem, "u", 300)
    recent = _fill(mem, "u", 20)
    hits = mem.store.lexical_search("u", ["common", "filler"], 10, budget=100)
    assert hits
    assert {h[0] for h in hits} <= set((old + recent)[-60:])
    assert mem.store.lexical_search("u", ["absent"], 10, budget=100) == []


def test_namespace_filter_is_exact_when_crowded(mem: Memory) -> None:
    _fill(mem, "big", 200, "apple apple apple banana")
    mine = mem.remember_many(["apple pie recipe", "an apple a day"], namespace="small")
    hits = mem.store.lexical_search("small", ["apple"], 5)
    assert sorted(h[0] for h in hits) == sorted(mine)
    assert all(h[0] not in mine for h in mem.store.lexical_search("big", ["apple"], 5))


def test_hub_degree_and_expansion_are_bounded(mem: Memory) -> None:
    mem.remember_many([{"text": f"note number {i}", "speaker": "Ann"} for i in range(30)], namespace="u")
    mem.remember("Bob met Zed", namespace="u", speaker="Bob")
    mem.consolidate(namespace="u")
    ents = {e["name"]: e["id"] for e in mem.store.entities("u")}
    ann, bob = ents["ann"], ents["bob"]
    exact = mem.store.degree([ann, bob])
    assert exact[ann] == 30 and exact[bob] == 1
    assert mem.store.degree([ann, bob], cap=10) == {ann: 10, bob: 1}
    assert len(mem.store.edges_around(ann, 7)) == 7
    assert mem.recall("what did Ann note", namespace="u", k=3)


def test_given_ids_are_recalled_through_chroma(tmp_path: Path) -> None:
    with Memory.open(
        tmp_path / "c", embedder=HashEmbedder(64)
    ) as m:  # embedded Chroma: kinds from id prefixes
        assert m.remember("the red kite flew", namespace="u", id="ep_custom1") == "ep_custom1"
        assert m.remember("the red kite flew", namespace="u", id="ep_custom1") == "ep_custom1"  # idempotent
        m.remember("a quiet lake", namespace="u")
        hits = m.index.query("u", m.embedder(["red kite"]), 2)[0]
        assert {h.kind for h in hits} == {"episode"}
        top = m.recall("red kite", namespace="u", k=2)[0]
        assert (top.id, top.kind) == ("ep_custom1", "episode")
        with pytest.raises(InvalidInputError):
            m.remember("x", namespace="u", id="turn-1")


def test_the_budget_defaults_to_the_stores_own() -> None:
    assert MemorySettings().lexical_postings == 5000
    assert MemorySettings(store="postgres").lexical_postings == 1000
    assert MemorySettings(store="postgres", lexical_budget=3000).lexical_postings == 3000
