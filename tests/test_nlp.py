"""memory.nlp: concepts of a text with canonical keys (spaCy's small English pipeline)."""

from __future__ import annotations

import pytest

from memory.nlp import (
    available,
    extract_concepts,
    extract_phrases,
    extract_phrases_many,
    parse,
    parse_many,
)

pytestmark = pytest.mark.skipif(not available(), reason="no spaCy English pipeline installed")


def keys(text: str) -> list[str]:
    return [c.key for c in extract_concepts(text)]


def test_names_and_topics_get_the_same_key_in_different_sentences() -> None:
    first = keys("Tomas took me sailing on the lake on Saturday.")
    second = keys("The sailing club asked Tomas to teach beginners.")
    assert {"tomas", "sailing"} <= set(first) & set(second)
    assert "saturday" not in first  # dates are not concepts


def test_plural_and_possessive_are_canonicalised() -> None:
    assert "class" in keys("Hanna takes the puppy to training classes.")
    by_key = {c.key: c for c in extract_concepts("Hanna's puppy chewed through a phone cable.")}
    assert by_key["hanna"].kind == "person" and "puppy" in by_key


def test_stop_words_pronouns_and_empty_text_give_nothing() -> None:
    assert extract_concepts("") == []
    assert keys("It was what it was, and they did it.") == []


def test_places_are_typed_and_order_follows_the_text() -> None:
    concepts = extract_concepts("My sister Greta moved from Hamburg to Lisbon.")
    kinds = {c.key: c.kind for c in concepts}
    assert kinds["hamburg"] == "place" and kinds["lisbon"] == "place" and kinds["greta"] == "person"
    order = [c.key for c in concepts]
    assert order.index("sister") < order.index("greta") < order.index("hamburg") < order.index("lisbon")


def test_phrases_are_noun_phrase_spans_heads_names_and_content_verbs() -> None:
    phrases = extract_phrases("I signed up for a pottery class, and we went camping with Tomas in Lisbon.")
    by_key = {p.key: p.kind for p in phrases}
    assert {"pottery class", "class", "camp", "tomas", "lisbon"} <= set(by_key)
    assert by_key["camp"] == "activity" and by_key["lisbon"] == "name"
    assert "go" not in by_key and "we" not in by_key  # light verbs and pronouns are not phrases
    # the same key however the text inflects it, so a question meets its answer
    assert "paint" in {p.key for p in extract_phrases("What has she painted lately?")}
    assert "paint" in {p.key for p in extract_phrases("She paints sunsets.")}


def test_phrases_of_many_texts_match_one_by_one() -> None:
    texts = ["Hanna's puppy chewed a cable.", "", "My sister Greta moved to Hamburg."]
    assert extract_phrases_many(texts) == [extract_phrases(t) for t in texts]
    assert extract_phrases_many(texts)[1] == []


def test_parse_many_keeps_its_parses_for_a_later_parse() -> None:
    # consolidation parses each new episode once: its phrase nodes and its facts read the same Doc
    texts = ["Last May we drove from Lisbon to Porto.", "We planted tomatoes in the back garden."]
    docs = parse_many(texts)
    assert all(parse(t) is d for t, d in zip(texts, docs, strict=True))
    assert {"Lisbon", "Porto"} <= {e.text for e in docs[0].ents}  # the whole pipeline: entities too


def test_parse_keeps_its_parse_for_the_next_reader() -> None:
    # a turn's text is parsed for its concepts (encode), then read again by the injection screen and consolidation
    text = "Yesterday my brother Tomasz fixed the old bicycle in Gdansk."
    doc = parse(text)
    assert parse(text) is doc
    assert parse_many([text])[0] is doc
