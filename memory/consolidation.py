"""Consolidation: turn new episodes into structure.

Without an LLM (always):
1. Event segmentation by surprise (EM-LLM): walking the namespace's episodes in order, the surprise of an
   episode is ``1 - cos(v, centroid of the current event)``; a boundary is placed when the surprise exceeds
   ``mean + gamma * std`` of the recent surprises, when the session changes, after a time gap of
   ``GAP_SECONDS`` or at ``MAX_EVENT`` episodes.
2. Entities: capitalised-name heuristics plus speakers (:func:`memory.text.entities`); ``mentions`` edges.
3. Associative links: each new episode is linked to its nearest earlier episodes (``similar`` edges, weight =
   cosine) above ``LINK_MIN``.
4. Scenes: each new event joins the closest scene whose centroid is within ``SCENE_MIN`` cosine, else starts
   one; a scene's summary is extractive (its most central episode plus its top keywords).

With an LLM (:mod:`memory.extraction`): facts by structured output, contradictions (newer supersedes older:
``valid_to`` set), persona induction, scene calibration against the persona.

Crash safety: an episode's ``consolidated`` column is 0 (new), 2 (structure built in one transaction, facts not
yet extracted: only with an LLM) or 1 (done). Extraction marks each batch done in the transaction that stores its
facts, and every consolidation first finishes the episodes left at 2, so a crash between the steps neither loses
an episode's facts nor extracts them twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.store.sqlite import from_blob, to_blob
from memory.text import entities, keywords

if TYPE_CHECKING:
    from memory.memory import Memory

GAP_SECONDS = 3600.0
MAX_EVENT = 12
GAMMA = 1.0
LINK_MIN = 0.55
LINKS_PER_EPISODE = 3
SCENE_MIN = 0.55


def segment(vectors: np.ndarray[Any, Any], sessions: list[str | None], times: list[float]) -> list[int]:
    """Event index of each episode (pure function; boundaries by surprise, session, gap, size)."""
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
            window = surprises[-30:]
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


def consolidate(memory: Memory, namespace: str) -> dict[str, int]:
    """Consolidate the namespace's unconsolidated episodes; returns counts of what was built."""
    store = memory.store
    new = store.q(
        "SELECT seq, id, text, speaker, session, ts, vector, event_id FROM episodes "
        "WHERE namespace=? AND consolidated=0 ORDER BY seq",
        (namespace,),
    )
    counts = {
        "episodes": len(new),
        "events": 0,
        "entities": 0,
        "links": 0,
        "scenes": 0,
        "facts": 0,
        "superseded": 0,
        "persona": 0,
    }
    if not new:
        _extract(memory, namespace, counts)  # finish what a crash interrupted
        return counts
    vectors = np.stack([from_blob(r["vector"]) for r in new]).astype(np.float32)
    labels = segment(vectors, [r["session"] for r in new], [r["ts"] for r in new])
    event_ids = {lab: f"ev_{new[0]['seq']}_{lab}" for lab in set(labels)}
    counts["events"] = len(event_ids)

    speakers = {
        str(r[0]).lower()
        for r in store.q(
            "SELECT DISTINCT speaker FROM episodes WHERE namespace=? AND speaker IS NOT NULL", (namespace,)
        )
    }
    known = frozenset(speakers)

    # associative links to nearest earlier episodes (batched index query)
    hits = memory.index.query(namespace, vectors, LINKS_PER_EPISODE + 6)  # unfiltered: much faster in Chroma
    seq_of = {r["id"]: r["seq"] for r in new}

    state = 1 if memory.llm is None else 2  # 2: facts still to extract
    with store.transaction() as conn:
        entity_ids: dict[str, str] = {}
        for r, lab in zip(new, labels, strict=True):
            conn.execute(
                "UPDATE episodes SET event_id=?, consolidated=? WHERE id=?", (event_ids[lab], state, r["id"])
            )
            names = entities(r["text"], known=known)
            if r["speaker"]:
                names.append(str(r["speaker"]).lower())
            for name in dict.fromkeys(names):
                eid = entity_ids.get(name)
                if eid is None:
                    row = conn.execute(
                        "SELECT id FROM entities WHERE namespace=? AND name=?", (namespace, name)
                    ).fetchone()
                    if row is None:
                        eid = "en_" + hashlib.sha1(f"{namespace}\0{name}".encode()).hexdigest()[:20]
                        conn.execute("INSERT INTO entities VALUES(?,?,?,0)", (eid, namespace, name))
                        counts["entities"] += 1
                    else:
                        eid = row[0]
                    entity_ids[name] = eid
                conn.execute("UPDATE entities SET mentions = mentions + 1 WHERE id=?", (eid,))
                conn.execute(
                    "INSERT OR REPLACE INTO edges VALUES(?,?,?,'mentions',1.0)", (namespace, r["id"], eid)
                )
        for r, row_hits in zip(new, hits, strict=True):
            made = 0
            for h in row_hits:
                if (
                    h.kind != "episode"
                    or h.id == r["id"]
                    or h.similarity < LINK_MIN
                    or made >= LINKS_PER_EPISODE
                ):
                    continue
                if seq_of.get(h.id, 0) > r["seq"]:
                    continue  # link to earlier episodes only; later ones link back
                conn.execute(
                    "INSERT OR REPLACE INTO edges VALUES(?,?,?,'similar',?)",
                    (namespace, r["id"], h.id, float(h.similarity)),
                )
                made += 1
                counts["links"] += 1
        counts["scenes"] = _scenes(memory, conn, namespace, new, vectors, labels, event_ids)
        store.audit(conn, namespace, "consolidate", new[0]["id"], {k: v for k, v in counts.items()})

    _extract(memory, namespace, counts)
    return counts


def _extract(memory: Memory, namespace: str, counts: dict[str, int]) -> None:
    """Extract facts from the namespace's episodes at state 2 (this run's, and any a crash left), then persona."""
    if memory.llm is None:
        return
    from memory.extraction import extract_facts, induce_persona

    store = memory.store
    pending = [
        r[0]
        for r in store.q(
            "SELECT id FROM episodes WHERE namespace=? AND consolidated=2 ORDER BY seq", (namespace,)
        )
    ]
    if not pending:
        return
    made, superseded = extract_facts(memory, namespace, pending)
    with store.transaction() as conn:  # episodes extraction skips (flagged ones) are done too
        conn.execute("UPDATE episodes SET consolidated=1 WHERE namespace=? AND consolidated=2", (namespace,))
    counts["facts"], counts["superseded"] = made, superseded
    counts["persona"] = induce_persona(memory, namespace)


def _scenes(
    memory: Memory,
    conn: Any,
    namespace: str,
    new: list[Any],
    vectors: np.ndarray[Any, Any],
    labels: list[int],
    event_ids: dict[int, str],
) -> int:
    existing = conn.execute(
        "SELECT id, members, vector FROM scenes WHERE namespace=?", (namespace,)
    ).fetchall()
    scene_ids = [r["id"] for r in existing]
    members: list[list[str]] = [json.loads(r["members"]) for r in existing]
    n_events = len(set(labels))
    dim = vectors.shape[1]
    # running sums of member vectors, and their unit versions as one matrix (vectorised assignment)
    sums = np.zeros((len(existing) + n_events, dim))
    units = np.zeros((len(existing) + n_events, dim))
    for j, (r, m) in enumerate(zip(existing, members, strict=True)):
        units[j] = from_blob(r["vector"])
        sums[j] = units[j] * max(1, len(m))
    count = len(existing)
    touched: set[int] = set()
    created = 0
    by_label: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    for lab in sorted(by_label):
        idx = by_label[lab]
        c = vectors[idx].sum(axis=0).astype(np.float64)
        cn = c / (np.linalg.norm(c) or 1.0)
        best = -1
        if count:
            sims = units[:count] @ cn
            j = int(np.argmax(sims))
            if sims[j] > SCENE_MIN:
                best = j
        if best < 0:
            scene_ids.append(f"sc_{event_ids[lab]}")
            members.append([])
            best = count
            count += 1
            created += 1
        members[best].extend(new[i]["id"] for i in idx)
        sums[best] += c
        units[best] = sums[best] / (np.linalg.norm(sums[best]) or 1.0)
        touched.add(best)
    now = time.time()
    texts = dict(
        conn.execute(
            "SELECT id, text FROM episodes WHERE namespace=? AND id IN (SELECT value FROM json_each(?))",
            (namespace, json.dumps([m for j in touched for m in members[j]])),
        ).fetchall()
    )
    # one scan of the lexical index for the changed scenes (``id`` is not indexed there); new scenes have no entry
    changed = [scene_ids[j] for j in touched if j < len(existing)]
    if changed:
        conn.execute(
            "DELETE FROM fts WHERE kind='scene' AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(changed),),
        )
    for j in touched:
        vec = units[j]
        summary = _summary([texts.get(m, "") for m in members[j]])
        conn.execute(
            "INSERT INTO scenes(id, namespace, summary, members, vector, created) VALUES(?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET summary=excluded.summary, members=excluded.members, vector=excluded.vector",
            (scene_ids[j], namespace, summary, json.dumps(members[j]), to_blob(vec), now),
        )
        conn.execute(
            "INSERT INTO fts(text, id, namespace, kind) VALUES(?,?,?,'scene')",
            (summary, scene_ids[j], namespace),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO edges VALUES(?,?,?,'member',0.5)",
            [(namespace, scene_ids[j], m) for m in members[j][-400:]],
        )
    memory.store.enqueue(conn, namespace, [(scene_ids[j], "scene") for j in touched], "upsert")
    return created


def _summary(texts: list[str]) -> str:
    """Extractive scene summary: top keywords, then the first sentence of the most keyword-dense text."""
    counter: Counter[str] = Counter()
    for t in texts:
        counter.update(keywords(t))
    top = [w for w, _ in counter.most_common(6)]
    best = max(texts, key=lambda t: sum(w in t.lower() for w in top), default="")
    head = best.split(". ")[0][:200]
    return f"About {', '.join(top)}: {head}" if top else head


__all__ = ["consolidate", "segment"]
