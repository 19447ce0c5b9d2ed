"""Words: the one tokenizer and stop-word list of the code base (memory, search, the gateway and the agent use it).

Pure functions, no model, microseconds per text. Lemmas come from lemminflect's English lexicon (a table, no
model), loaded on the first :func:`lemma` call: importing lemminflect imports spaCy (about 2 s), which a program
that never asks for a lemma should not pay. Linguistic analysis with a model (parses, entities) is
:mod:`memory.nlp` on spaCy.
"""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "just",
        "really",
        "like",
        "get",
        "got",
        "go",
        "going",
        "yeah",
        "yes",
        "oh",
        "hey",
        "hi",
        "wow",
        "thanks",
        "thank",
        "lot",
        "much",
        "well",
        "one",
        "would",
    ]
)

QUESTION_WORDS = frozenset(
    [
        "what",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "why",
        "how",
        "did",
        "does",
        "do",
        "is",
        "are",
        "was",
        "were",
    ]
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words)."""
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Tokens minus stop words and one-letter tokens, in order, repeats kept (for term frequencies)."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def keywords(text: str) -> list[str]:
    """Content words: tokens minus stopwords and one-letter tokens, in order, duplicates removed."""
    seen: dict[str, None] = {}
    for w in words(text):
        if len(w) > 1 and w not in STOPWORDS and w not in QUESTION_WORDS:
            seen.setdefault(w, None)
    return list(seen)


@functools.lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The dictionary form of an English word (lemminflect's lexicon, its rules for unknown words): roasted ->
    roast, eggs -> egg, knives -> knife, stood -> stand, grew -> grow. A verb reading wins over a noun reading,
    so a verb and its participles share one form; a word the lexicon does not know (a name) is its own lemma
    unless lemminflect's noun rules say otherwise."""
    import lemminflect  # here, not at module import: importing it imports spaCy (see the module docstring)

    word = word.lower()
    found = lemminflect.getAllLemmas(word)
    for pos in ("VERB", "NOUN", "ADJ", "ADV"):
        if found.get(pos):
            return str(found[pos][0])
    guess = lemminflect.getLemma(word, upos="NOUN", lemmatize_oov=True)
    return str(guess[0]) if guess else word


def terms(text: str) -> set[str]:
    """The keywords of ``text`` as lemmas (:func:`lemma`, after dropping a possessive "'s"), to tell whether two
    texts speak of the same thing: "Vanlo's" and "Vanlo", "lives" and "live", "grew" and "grow" match."""
    return {lemma(w.removesuffix("'s")) for w in keywords(text)}


__all__ = ["QUESTION_WORDS", "STOPWORDS", "content_words", "keywords", "lemma", "terms", "words"]
