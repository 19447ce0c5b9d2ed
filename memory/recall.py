"""Hybrid associative recall.

Score of a candidate item (all signals normalised to [0, 1] within the query):

1. seeds: ``s = w_dense * dense + w_lex * bm25`` where ``dense`` is the cosine similarity rescaled between the
   n-th and the best hit, and ``bm25`` the FTS5 BM25 score over the best (porter-stemmed keywords). The dense
   query leaves out the names of the namespace's speakers (``unnamed_dense``): they say who, which the speaker
   signal (4) and BM25 read, and a sentence embedder lets a name outweigh what the question asks about.
2. spreading activation (HippoRAG 2): personalized PageRank over the local memory graph — the seeds and their
   edges (temporal ``next``, associative ``similar``, ``mentions`` of phrase nodes, scene ``member``, fact
   ``source``) and phrase nodes (those of the fast path's seeds), the phrase nodes the query names
   (:func:`memory.phrases.query_keys`) with the episodes that mention them, and their ``synonym`` neighbours with
   theirs. The walk restarts at the query's phrase nodes, each weighted by its specificity ``1 / episodes
   mentioning it`` (``seed_phrases``), and at the seeds (``seed_passages``); edges into a phrase node of degree
   ``d`` are dampened by ``1 / log(e + d)`` (GAAMA), synonym edges scaled by ``synonym``, episode-to-episode
   edges by ``links``. Without restart mass (the query names no phrase node the walk may start from, and
   ``seed_passages`` is 0) there is no walk: its term is 0, so it cannot reorder what the other signals found.
   ``+ w_ppr * (ppr / max(ppr)) ** walk_power``: a power below 1 lifts the episodes two hops away (through a
   phrase the query does not name) against the ones that mention the query's phrases; the walk's best
   episodes join the candidates.
3. temporal contiguity (EM-LLM): ``+ w_adj * max(seed of the previous / next episode)``, a neighbour counting
   only within :data:`memory.segmentation.GAP_SECONDS` (the pause that ends an event); the previous and next
   episodes of the ``neighbours`` best seeds join the candidates with that score (a dialogue's answer is often
   the turn after the one that shares the question's words).
4. phrase match: ``+ w_ent * hub_weight`` for each query phrase node the episode mentions or speaks as;
   ``+ w_speaker`` when the query names the episode's speaker (a question about Ann is answered by Ann's turns
   more often than by the turns that address her).
5. date awareness: a query naming a date window boosts items inside it; a "when" question boosts episodes
   that carry a time expression.
6. priors: ``+ w_rec * recency + w_imp * importance``.
7. facts are recalled as their source episodes: they spread activation through the graph (``source`` edges)
   and take no place of their own among the ``k``; a recalled episode is followed by its best-matching
   candidate fact (current, or past when the query asks about the past or about a time it held) with the
   episode's score, in the episode's place. States (single-valued relations: home, job...) that hold now or
   held in a time the query names rank, and take places, on their own (standing for their source episodes).
8. validity: superseded facts are scaled by ``past_factor`` unless the query asks about the past, in which
   case they are boosted. A query naming a time ("Where did I live in January?", resolved against the
   namespace's latest episode by :func:`memory.temporal.window`) also draws the single-valued facts valid
   then (bi-temporal as-of: valid during the window), scored by their cosine to the query plus ``w_window``,
   never scaled down as past. A past fact's recalled text carries its validity ("... (from 2024-01-10 until 2024-03-04)").

The persona is not a recalled item: the agent quotes it whole in every prompt (``cogarch.nodes``).

The weights are :class:`memory.config.RecallWeights` (``MemorySettings.recall``). The fast path uses a small
candidate pool; when its confidence (top cosine similarity and the agreement of the dense and lexical rankings)
is low, the deep walk widens the pool and adds a second hop through specific (low-degree) phrase nodes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from typing import Any

import numpy as np

from memory import temporal
from memory.config import MemorySettings, RecallWeights
from memory.embedders.base import Embedder
from memory.graph import hub_weight, personalized_pagerank, specificity
from memory.index.base import Hit, VectorIndex
from memory.phrases import query_keys
from memory.records import Episode, Fact, RecallResult, Recollection, Scene, Source, embed_text
from memory.segmentation import GAP_SECONDS
from memory.semantic.ontology import single_valued
from memory.store.base import MemoryStore
from memory.text import (
    asks_about_past,
    fts_terms,
    has_temporal_cue,
    is_when_question,
    query_time_window,
    without_names,
)

EXPAND_MAX = 100
"""A query phrase node mentioned by more episodes is not walked from (its seed weight ``1 / mentions`` would be
below 0.01): bounds the edges a recall reads however common a word is."""
SYNONYMS_MAX = 8
"""Synonym neighbours of the query's phrase nodes walked from (the closest), each reading at most EXPAND_MAX edges."""
SPECIFIC_MAX = 25
"""The deep walk's second hop goes through phrase nodes of at most this many mentions (at most 200 of them)."""


def recall(
    store: MemoryStore,
    index: VectorIndex,
    embedder: Embedder,
    settings: MemorySettings,
    query: str,
    namespace: str,
    k: int,
    deep: bool | None,
    speakers: Collection[str] = (),
) -> RecallResult:
    """The ``k`` best items for ``query`` in ``namespace`` with the fast path's confidence; ``deep`` None runs the
    deep walk when that confidence is below ``settings.deep_recall_below``. ``speakers``: the namespace's
    speakers, whose names the dense query leaves out (:func:`memory.text.without_names`, unless
    ``unnamed_dense`` is off); the lexical query, the phrase nodes and the speaker signal read the query as it is."""
    w = settings.recall
    qv = embedder([without_names(query, speakers) if w.unnamed_dense else query])
    # one dense and one lexical query sized for the deep pool; the fast path uses their heads
    deep_pool = _pool(k, deep=True, w=w)
    hits = index.query(namespace, qv, deep_pool)[0]
    lex_hits = store.lexical_search(namespace, fts_terms(query), deep_pool, budget=settings.lexical_postings)
    as_of = _as_of(store, query, namespace, qv[0], w.pool)
    items, confidence = _run(store, hits, lex_hits, query, namespace, k, deep=bool(deep), w=w, as_of=as_of)
    ran_deep = bool(deep)
    if deep is None and confidence < settings.deep_recall_below:
        items, _ = _run(store, hits, lex_hits, query, namespace, k, deep=True, w=w, as_of=as_of)
        ran_deep = True
    return RecallResult(items=items, confidence=confidence, deep=ran_deep)


def _as_of(
    store: MemoryStore, query: str, namespace: str, qv: np.ndarray[Any, Any], pool: int
) -> dict[str, float]:
    """The facts of single-valued relations (states that change: home, job, partner...) valid during the time
    window the query names, with their cosine to the query (at most ``pool`` of them); relative times resolve
    against the namespace's newest episode. A multi-valued fact (a liking) valid then says nothing about then."""
    newest = store.episodes(namespace, limit=1, newest_first=True)
    span = temporal.window(query, newest[0].timestamp) if newest else None
    if span is None:
        return {}
    start, end = span
    ids = [
        f.id
        for f in store.facts(namespace, started_by=end)
        if single_valued(f.relation) and f.valid_from < end and (f.valid_to is None or f.valid_to > start)
    ]
    sims = {i: float(v @ qv) for i, v in store.vectors_of("fact", ids).items()}
    return dict(sorted(sims.items(), key=lambda kv: -kv[1])[:pool])


def _pool(k: int, *, deep: bool, w: RecallWeights) -> int:
    return max(w.pool, 3 * k) * (3 if deep else 1)


def _norm(values: dict[str, float], floor: float | None = None) -> dict[str, float]:
    if not values:
        return {}
    top = max(values.values())
    low = min(values.values()) if floor is None else floor
    span = top - low
    if span <= 1e-9:
        return {key: 1.0 for key in values}
    return {key: max(0.0, (v - low) / span) for key, v in values.items()}


def _run(
    store: MemoryStore,
    all_hits: list[Hit],
    all_lex: list[tuple[str, str, float]],
    query: str,
    ns: str,
    k: int,
    *,
    deep: bool,
    w: RecallWeights,
    as_of: dict[str, float] | None = None,
) -> tuple[list[Recollection], float]:
    pool = _pool(k, deep=deep, w=w)
    hits, lex_hits = all_hits[:pool], all_lex[:pool]
    dense_raw = {h.id: h.similarity for h in hits}
    kinds = {h.id: h.kind for h in hits}
    lex_raw = {i: s for i, _, s in lex_hits}
    for i, kind, _ in lex_hits:
        kinds.setdefault(i, kind)
    # rescale between the pool's worst hit and the best; a partial pool (small namespace) keeps 0 as floor
    floor = min(dense_raw.values()) if len(hits) >= pool else min([0.0, *dense_raw.values()])
    dense = _norm(dense_raw, floor=floor)
    lex = _norm(lex_raw, floor=0.0)
    seeds = {i: w.dense * dense.get(i, 0.0) + w.lex * lex.get(i, 0.0) for i in kinds}

    # confidence of the fast path: best raw cosine and dense/lexical agreement in the top 5
    top_sim = max(dense_raw.values(), default=0.0)
    top_d = {h.id for h in hits[:5]}
    top_l = {i for i, _, _ in lex_hits[:5]}
    agreement = len(top_d & top_l) / 5.0
    confidence = float(min(1.0, max(0.0, 0.7 * (top_sim - 0.15) / 0.5 + 0.3 * agreement + 0.1 * bool(top_l))))

    # phrase nodes the query names (HippoRAG 2), seeded by specificity; the episodes that mention them, the
    # synonyms of those nodes and the synonyms' episodes join the seeds' neighbourhood in the walk's graph
    keys = query_keys(query)
    named = store.entities_named(ns, keys)
    speakers_named = set(keys)
    q_entities = {e: hub_weight(m) for e, m in named.items()}
    walked = {e: m for e, m in named.items() if m <= EXPAND_MAX}
    seed_ids = sorted(seeds, key=lambda i: -seeds[i])[:pool]
    # the seeds' own links, and the phrase nodes of the fast path's seeds (the second hop of the walk: a seed
    # that shares a phrase with an episode the query's phrases reach passes activation on; ~10 per episode)
    edges = store.edges_of(seed_ids, kinds=["next", "similar", "member", "source", "supersedes"])
    edges += store.edges_of(seed_ids[: _pool(k, deep=False, w=w)], kinds=["mentions"])
    for e in walked:
        edges += store.edges_around(e, EXPAND_MAX)
    if w.synonym > 0:
        near = sorted(
            ((wt, n) for s, d, kind, wt in edges if kind == "synonym" for n in (s, d) if n not in q_entities),
            reverse=True,
        )
        for e in list(dict.fromkeys(n for _, n in near))[:SYNONYMS_MAX]:
            edges += store.edges_around(e, EXPAND_MAX)
    else:
        edges = [e for e in edges if e[2] != "synonym"]
    if deep:
        ent_nodes = sorted({d for _, d, kind, _ in edges if kind == "mentions"})
        counts = store.entity_mentions(ent_nodes)
        specific = [e for e in ent_nodes if counts.get(e, 0) <= SPECIFIC_MAX][:200]
        edges += store.edges_of(specific, kinds=["mentions"])
    nodes: dict[str, int] = {}
    for i in [*seed_ids, *q_entities]:
        nodes.setdefault(i, len(nodes))
    for s, d, _, _ in edges:
        nodes.setdefault(s, len(nodes))
        nodes.setdefault(d, len(nodes))
    ent_in_graph = [n for n in nodes if n.startswith("en_")]
    # a phrase node's degree (up to its synonyms) dampens the edges into it
    hubs = {e: hub_weight(m) for e, m in store.entity_mentions(ent_in_graph).items()}
    graph_edges: list[tuple[int, int, float]] = []
    adjacency: dict[str, list[str]] = {}
    mentions: dict[str, set[str]] = {}
    for s, d, kind, wt in edges:
        damp = hubs.get(d, 1.0)
        if kind == "synonym":
            damp *= w.synonym
        elif kind in ("next", "similar"):
            damp *= w.links
        graph_edges.append((nodes[s], nodes[d], wt * damp))
        if kind == "next":
            adjacency.setdefault(s, []).append(d)
            adjacency.setdefault(d, []).append(s)
        elif kind == "mentions":
            mentions.setdefault(s, set()).add(d)
    pers = np.zeros(len(nodes))
    for i, v in seeds.items():
        if i in nodes:
            pers[nodes[i]] = w.seed_passages * v
    for e, m in walked.items():
        pers[nodes[e]] += w.seed_phrases * specificity(m)
    # no restart mass (the query names no walkable phrase node, no passage seeds): no walk, rather than a
    # uniform restart whose scores would rank noise
    ppr = (
        personalized_pagerank(len(nodes), list(dict.fromkeys(graph_edges)), pers, alpha=w.alpha)
        if pers.sum() > 0
        else np.zeros(len(nodes))
    )
    ppr_max = float(ppr.max()) if len(ppr) else 1.0

    # candidates: the seeds plus the graph nodes the walk activated most (bounded, so hubs stay cheap)
    by_ppr = sorted(
        (n for n in nodes if not n.startswith("en_") and ppr[nodes[n]] > 0), key=lambda n: (-ppr[nodes[n]], n)
    )
    as_of = as_of or {}
    candidates = set(seed_ids) | set(by_ppr[: 2 * pool]) | set(as_of)
    for i in seed_ids[: w.neighbours]:  # a dialogue's evidence is often the turn before or after a hit
        candidates.update(adjacency.get(i, []))
    ep_rows = store.episodes_by_id([c for c in candidates if c.startswith("ep_")])
    fact_rows = store.facts_by_id([c for c in candidates if c.startswith("fa_")])
    scene_rows = store.scenes_by_id([c for c in candidates if c.startswith("sc_")])
    window = query_time_window(query)
    when_q = is_when_question(query)
    past_q = asks_about_past(query)
    last_ts = max((r.timestamp for r in ep_rows.values()), default=0.0)

    scored: list[tuple[float, str, str]] = []
    for cid in candidates:
        why: list[str] = []
        base = seeds.get(cid, 0.0)
        if cid in dense:
            why.append(f"dense {dense_raw[cid]:.2f}")
        if cid in lex:
            why.append(f"bm25 {lex[cid]:.2f}")
        walk = w.ppr * (float(ppr[nodes[cid]]) / (ppr_max or 1.0)) ** w.walk_power if cid in nodes else 0.0
        if walk >= 0.05:
            why.append(f"walk {walk:.2f}")
        score = base + walk
        if cid in ep_rows:
            ep = ep_rows[cid]
            adj = max(
                (
                    seeds.get(n, 0.0)
                    for n in adjacency.get(cid, [])
                    if n in ep_rows and abs(ep_rows[n].timestamp - ep.timestamp) <= GAP_SECONDS
                ),
                default=0.0,
            )
            if adj > 0:
                score += w.adj * adj
                why.append("adjacent")
            ent_hit = [q_entities[e] for e in mentions.get(cid, set()) if e in q_entities]
            if ent_hit:
                score += w.ent * sum(ent_hit)
                why.append("entity")
            if w.speaker and ep.speaker and ep.speaker.lower() in speakers_named:
                score += w.speaker
                why.append("speaker")
            if window and window[0] <= ep.timestamp < window[1]:
                score += w.window
                why.append("date")
            if when_q and has_temporal_cue(ep.text):
                score += w.when
                why.append("time-cue")
            score += w.importance * ep.importance
            score += w.recency * math.exp(-max(0.0, last_ts - ep.timestamp) / (90 * 86400))
        elif cid in fact_rows:
            fact = fact_rows[cid]
            if cid in as_of:
                score += w.dense * max(0.0, as_of[cid]) + w.window
                why.append("as-of")
            elif fact.valid_to is not None:
                score = score * (1.25 if past_q else w.past_factor)
                why.append("past")
            else:
                why.append("current")
            if window and window[0] <= fact.valid_from < window[1]:
                score += w.window
        elif cid not in scene_rows:
            continue
        if score <= 0:
            continue
        if base == 0:
            why.append("graph")
        scored.append((score, cid, ", ".join(why)))
    scored.sort(key=lambda t: (-t[0], t[1]))  # ties by id: the same ranking in every process
    return _build(store, ns, scored, k, ep_rows, fact_rows, scene_rows, seeds, query, as_of), confidence


def _sources(store: MemoryStore, ids: list[str]) -> tuple[Source, ...]:
    """The episodes among ``ids`` (repeats kept) as sources in time order (ties: insertion order)."""
    rows = store.episodes_by_id(ids)
    order = {eid: n for n, eid in enumerate(rows)}
    found = sorted((rows[i] for i in ids if i in rows), key=lambda e: (e.timestamp, order[e.id]))
    return tuple(_source(e) for e in found)


def _source(e: Episode) -> Source:
    return Source(e.id, e.metadata, e.timestamp, e.text)


def _build(
    store: MemoryStore,
    ns: str,
    scored: list[tuple[float, str, str]],
    k: int,
    ep_rows: dict[str, Episode],
    fact_rows: dict[str, Fact],
    scene_rows: dict[str, Scene],
    seeds: dict[str, float],
    query: str,
    as_of: dict[str, float],
) -> list[Recollection]:
    out: list[Recollection] = []
    scenes_used = 0
    covered: set[str] = set()  # episodes already shown, as themselves or as a shown fact's sources
    # a fact rides on its source episode (right after it, sharing its place among the k): the best candidate
    # fact of that episode, current unless the query asks about the past or the time it held; the facts valid
    # in a time the query names, and current states, also rank and take places on their own (_standalone)
    past_q = asks_about_past(query)
    riders: dict[str, list[tuple[float, str, str]]] = {}
    for score, cid, why in scored:
        if cid in fact_rows and (fact_rows[cid].valid_to is None or past_q or cid in as_of):
            for source in fact_rows[cid].sources:
                riders.setdefault(source, []).append((score, cid, why))
    shown: set[str] = set()
    riding = 0

    def add_fact(fact: Fact, score: float, why: str) -> None:
        shown.add(fact.id)
        covered.update(fact.sources)
        src = _sources(store, list(fact.sources))
        flagged = any(s.id in ep_rows and "injection" in ep_rows[s.id].flags for s in src)
        text = (
            fact.text if fact.valid_to is None else f"{fact.text} ({_days(fact.valid_from, fact.valid_to)})"
        )
        current = fact.valid_to is None
        out.append(Recollection(fact.id, "fact", text, score, src, why, flagged, current, fact.valid_from))

    for score, cid, why in scored:
        if len(out) - riding >= k:
            break
        if cid in ep_rows:
            if cid in covered:
                continue
            covered.add(cid)
            ep = ep_rows[cid]
            text = embed_text(ep.text, ep.speaker)
            src: tuple[Source, ...] = (_source(ep),)
            out.append(
                Recollection(cid, "episode", text, score, src, why, bool(ep.flags), None, ep.timestamp)
            )
            rider = max((r for r in riders.get(cid, []) if r[1] not in shown), default=None)
            if rider is not None:
                add_fact(fact_rows[rider[1]], score, rider[2])
                riding += 1
        elif cid in fact_rows and cid not in shown and _standalone(fact_rows[cid], as_of):
            if not set(fact_rows[cid].sources) <= covered:
                add_fact(fact_rows[cid], score, why)
        elif cid in scene_rows and scenes_used < 1:
            scene = scene_rows[cid]
            best = sorted((m for m in scene.members if m in seeds), key=lambda m: -seeds[m])[:3]
            text = scene.summary + (f" ({scene.calibration})" if scene.calibration else "")
            out.append(Recollection(cid, "scene", text, score, _sources(store, best), why))
            scenes_used += 1
    return out


def _standalone(fact: Fact, as_of: dict[str, float]) -> bool:
    """Whether a fact ranks and takes a place on its own: a state (single-valued relation: home, job,
    partner...) that holds now, or that held in the time the query names."""
    return fact.id in as_of or (fact.valid_to is None and single_valued(fact.relation))


def _days(start: float, end: float) -> str:
    """A past fact's validity for its recalled text: "from 2024-01-05 until 2024-03-01"."""
    return f"from {time.strftime('%Y-%m-%d', time.gmtime(start))} until {time.strftime('%Y-%m-%d', time.gmtime(end))}"


__all__ = ["recall"]
