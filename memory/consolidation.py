"""Consolidation: turn new episodes into structure.

Without an LLM (always, unless the surprise segmentation is chosen):
1. Event segmentation by surprise (EM-LLM, :mod:`memory.segmentation`): by default the surprise of an episode
   is ``1 - cos(v, centroid of the current event)``; a boundary is placed when the surprise exceeds
   ``mean + gamma * std`` of the recent surprises, when the session changes, after a time gap or at a size cap.
   ``MemorySettings.segmentation = "surprise"`` uses the local model's token surprise instead.
2. Phrase nodes (HippoRAG 2, :mod:`memory.phrases`): each episode's noun phrases, their heads, named entities
   and content verbs, and its speaker, by canonical key, stored as entities with ``mentions`` edges from the
   episode (an entity's ``mentions`` counts its episodes: its specificity at recall). Synonym edges: each
   phrase node without a vector (new to the namespace) is embedded once and linked by a ``synonym`` edge
   (weight = cosine) to its ``SYNONYM_TOP_K`` nearest phrase nodes with cosine ``>= SYNONYM_MIN``.
   Incremental: only the new episodes are parsed (once: the fact parser reads the same parse,
   :func:`memory.nlp.parse_many`) and only new phrases embedded; the mentions are written in batches; the
   namespace's phrase vectors are read once per consolidation (one matrix product against the new ones).
3. Associative links: each new episode is linked to its nearest earlier episodes (``similar`` edges, weight =
   cosine) above ``LINK_MIN``; the index is queried once for all of them, on another thread while step 2 parses.
4. Scenes: each new event joins the closest scene whose centroid is within ``SCENE_MIN`` cosine, else starts
   one; a scene's summary is extractive (its most central episode plus its top keywords). The events are
   compared with the stored scenes in one matrix product (and with the scenes this batch changed, afresh).

Then the semantic steps (:mod:`memory.extraction`), with a fact extractor (the offline parser on the default
install, or a capable LLM's structured output): bi-temporal facts (a contradiction closes the older fact and
keeps it), and the persona induced from the current facts and the scenes.

Crash safety: an episode's ``consolidated`` column is 0 (new), 2 (structure built in one transaction, facts not
yet extracted: only with a fact extractor) or 1 (done). Extraction marks each batch done in the transaction that stores its
facts, and every consolidation first finishes the episodes left at 2, so a crash between the steps neither loses
an episode's facts nor extracts them twice.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from memory.embedders.base import Embedder
from memory.extraction import extract_facts, induce_persona
from memory.graph import synonym_pairs
from memory.index.base import VectorIndex
from memory.phrases import episode_phrases
from memory.scenes import summary
from memory.segmentation import Segmenter, embedding_segmenter
from memory.semantic.base import FactExtractor
from memory.store.base import MemoryStore, MemoryWriter, PendingEpisode, Vector, entity_id

LINK_MIN = 0.55
LINKS_PER_EPISODE = 3
SCENE_MIN = 0.55
SYNONYM_MIN = 0.8
"""Cosine at or above which two phrase nodes are synonyms (HippoRAG 2's threshold; checked on the LoCoMo dev set)."""
SYNONYM_TOP_K = 10


def consolidate(
    store: MemoryStore,
    index: VectorIndex,
    embedder: Embedder,
    extractor: FactExtractor | None,
    namespace: str,
    *,
    ignored_speakers: Collection[str] = (),
    segmenter: Segmenter = embedding_segmenter,
) -> dict[str, int]:
    """Consolidate the namespace's unconsolidated episodes; returns counts of what was built.

    ``segmenter`` cuts them into events; ``index`` gives the associative links (nearest earlier episodes); with
    an ``extractor``, facts (not from ``ignored_speakers``) and the persona follow (:mod:`memory.extraction`,
    whose new facts ``embedder`` embeds).
    """
    new = store.pending_episodes(namespace)
    counts = {
        "episodes": len(new),
        "events": 0,
        "entities": 0,
        "synonyms": 0,
        "links": 0,
        "scenes": 0,
        "facts": 0,
        "superseded": 0,
        "persona": 0,
    }
    if not new:
        _extract(store, embedder, extractor, namespace, counts, ignored_speakers)  # what a crash interrupted
        return counts
    vectors = np.stack([p.vector for p in new]).astype(np.float32)
    labels = segmenter([p.episode for p in new], vectors)
    event_ids = {lab: f"ev_{new[0].seq}_{lab}" for lab in set(labels)}
    counts["events"] = len(event_ids)

    # associative links to nearest earlier episodes: one batched index query (unfiltered: much faster in Chroma),
    # which needs no parse, so it runs on another thread while spaCy parses (Chroma's query releases the GIL:
    # 0.5 s of 1,000 turns into a 100k store off the wall clock when a second core is free)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cogarch-links") as background:
        links = background.submit(index.query, namespace, vectors, LINKS_PER_EPISODE + 6)
        phrases = episode_phrases([p.episode.text for p in new], [p.episode.speaker for p in new])
        synonyms, phrase_vectors = _synonyms(store, embedder, namespace, phrases)
        hits = links.result()
    seq_of = {p.episode.id: p.seq for p in new}

    state = 1 if extractor is None else 2  # 2: facts still to extract
    with store.transaction() as tx:
        for p, lab in zip(new, labels, strict=True):
            tx.set_event(p.episode.id, event_ids[lab], state)
        counts["entities"] = tx.add_mentions(
            namespace, [(p.episode.id, name) for p, names in zip(new, phrases, strict=True) for name in names]
        )
        tx.put_phrase_vectors(namespace, phrase_vectors)
        tx.add_edges(namespace, synonyms)
        counts["synonyms"] = len(synonyms)
        for p, row_hits in zip(new, hits, strict=True):
            made = 0
            for h in row_hits:
                if (
                    h.kind != "episode"
                    or h.id == p.episode.id
                    or h.similarity < LINK_MIN
                    or made >= LINKS_PER_EPISODE
                ):
                    continue
                if seq_of.get(h.id, 0) > p.seq:
                    continue  # link to earlier episodes only; later ones link back
                tx.add_edges(namespace, [(p.episode.id, h.id, "similar", float(h.similarity))])
                made += 1
                counts["links"] += 1
        counts["scenes"] = _scenes(tx, namespace, new, vectors, labels, event_ids)
        tx.audit(namespace, "consolidate", new[0].episode.id, {k: v for k, v in counts.items()})

    _extract(store, embedder, extractor, namespace, counts, ignored_speakers)
    return counts


def _synonyms(
    store: MemoryStore, embedder: Embedder, namespace: str, phrases: Sequence[Sequence[str]]
) -> tuple[list[tuple[str, str, str, float]], list[tuple[str, Vector]]]:
    """The synonym edges of the phrases that have no vector yet (new ones, or ones an import brought without
    one) and their ``(entity id, vector)``; embeds only those phrases, in one batch. One edge per pair."""
    old_ids, old = store.phrase_vectors(namespace)
    have = set(old_ids)
    keys = list(dict.fromkeys(k for names in phrases for k in names))
    todo = [k for k in keys if entity_id(namespace, k) not in have]
    if not todo:
        return [], []
    ids = [entity_id(namespace, k) for k in todo]
    vecs = np.asarray(embedder(todo), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12
    # the new phrases are numbered after the old ones, so they link among themselves too
    pool = [old, vecs] if len(old_ids) else [vecs]
    names = [*old_ids, *ids]
    pairs: dict[tuple[str, str], float] = {}
    for i, j, cos in synonym_pairs(vecs, pool, threshold=SYNONYM_MIN, top_k=SYNONYM_TOP_K + 1):
        if names[j] != ids[i]:
            a, b = sorted((ids[i], names[j]))
            pairs[(a, b)] = cos
    edges = [(a, b, "synonym", cos) for (a, b), cos in pairs.items()]
    return edges, list(zip(ids, vecs, strict=True))


def _extract(
    store: MemoryStore,
    embedder: Embedder,
    extractor: FactExtractor | None,
    namespace: str,
    counts: dict[str, int],
    ignored_speakers: Collection[str],
) -> None:
    """Extract facts from the namespace's episodes at state 2 (this run's, and any a crash left), then persona."""
    if extractor is None:
        return
    pending = store.episode_ids(namespace, state=2)
    if not pending:
        return
    made, closed = extract_facts(
        store, embedder, extractor, namespace, pending, ignored_speakers=ignored_speakers
    )
    with store.transaction() as tx:  # episodes extraction skips (flagged ones) are done too
        tx.finish_extraction(namespace)
    counts["facts"], counts["superseded"] = made, closed
    counts["persona"] = induce_persona(store, extractor, namespace)


def _scenes(
    tx: MemoryWriter,
    namespace: str,
    new: Sequence[PendingEpisode],
    vectors: np.ndarray[Any, Any],
    labels: list[int],
    event_ids: dict[int, str],
) -> int:
    existing = tx.scenes_with_vectors(namespace)
    scene_ids = [sid for sid, _, _ in existing]
    sizes = [size for _, size, _ in existing]
    dim = vectors.shape[1]
    # the stored centroids as stored (float32): a float64 copy of a 100k store's 14k of them cost 0.25 s
    old = np.stack([v for _, _, v in existing]) if existing else np.zeros((0, dim), dtype=np.float32)
    by_label: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    order = sorted(by_label)
    sums = np.stack([vectors[by_label[lab]].sum(axis=0) for lab in order]).astype(np.float64)
    units = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    # the events' similarity to every stored scene in one product (one pass over the scenes, not one per event);
    # a scene this batch changes is compared afresh with its running centroid
    before = units.astype(np.float32) @ old.T
    running: dict[int, np.ndarray[Any, Any]] = {}  # scene -> sum of its member vectors, for changed scenes
    centroid: dict[int, np.ndarray[Any, Any]] = {}
    joined: dict[int, list[str]] = {}  # scene -> this batch's episodes that join it
    created = 0
    for r, lab in enumerate(order):
        best, best_sim = -1, SCENE_MIN
        if len(old):
            row = before[r]
            stale = [j for j in centroid if j < len(old)]
            if stale:
                row = row.copy()
                row[stale] = -np.inf
            j = int(np.argmax(row))
            if row[j] > best_sim:
                best, best_sim = j, float(row[j])
        if centroid:
            changed = list(centroid)
            sims = np.stack([centroid[j] for j in changed]) @ units[r]
            j = int(np.argmax(sims))
            if sims[j] > best_sim:
                best = changed[j]
        if best < 0:
            best = len(scene_ids)
            scene_ids.append(f"sc_{event_ids[lab]}")
            sizes.append(0)
            running[best] = np.zeros(dim)
            created += 1
        elif best not in running:
            running[best] = old[best].astype(np.float64) * max(1, sizes[best])
        joined.setdefault(best, []).extend(new[i].episode.id for i in by_label[lab])
        running[best] += sums[r]
        centroid[best] = running[best] / (np.linalg.norm(running[best]) or 1.0)
    touched = sorted(centroid)
    # only the touched scenes' members are read (a 100k store holds ~14k scenes)
    stored = dict(tx.scene_members(namespace, [scene_ids[j] for j in touched if j < len(existing)]))
    members = {j: [*stored.get(scene_ids[j], []), *joined[j]] for j in touched}
    now = time.time()
    texts = tx.episode_texts(namespace, [m for j in touched for m in members[j]])
    writes: list[tuple[str, str, Sequence[str], Vector]] = []
    for j in touched:
        writes.append(
            (scene_ids[j], summary([texts.get(m, "") for m in members[j]]), members[j], centroid[j])
        )
    tx.upsert_scenes(namespace, writes, now)
    for j in touched:
        tx.add_edges(namespace, [(scene_ids[j], m, "member", 0.5) for m in members[j][-400:]])
    tx.enqueue(namespace, [(scene_ids[j], "scene") for j in touched], "upsert")
    return created


__all__ = ["consolidate"]
