"""Context hygiene: the one injection screen for text that enters memory or a prompt, and the quoting of recalled
items as data.

A small share of inappropriate content in an LLM's context sways it disproportionately (Rescorla-Wagner
steering, 2025). Memory is a channel for such content: a user, a web page or a tool output can plant "ignore your
instructions and ...". :func:`looks_like_injection` flags text that reads as instructions aimed at the model. It
combines

- known surface forms (regular expressions): override phrases, role and control tags, personas, notes addressed to
  the model, directives about how to answer; and
- the structure of an order to the model, read from spaCy's dependency parse (:mod:`memory.nlp`): an output verb
  (say, answer, reply, print, ...) used as an imperative or an obligation on "you", with a restriction (only,
  always, from now on, nothing else, must ...) or with the model mentioned; an override verb (ignore, forget,
  disregard ...) ordering the model to drop what it was told or knows; an instruction header ("Instruction:")
  with an output verb. Without a spaCy pipeline only the surface forms apply.

Coverage, measured (BENCHMARKS.md "Reliability"): every phrasing it was developed on, 0.55-0.58 of phrasings
written after it was final, no flag on 788 LoCoMo turns. It reads wording, so a paraphrase far from both is
missed. Stored text is also screened by meaning (:mod:`memory.injection_detector`, on write, with the bundled
embedder); the provenance rule of ``cogarch.gateway.MemoryGateway`` is the defence that depends on neither.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import Any

from memory.nlp import parse_many
from reasoning.errors import MissingResourceError

# The model and the output verbs are named in several forms, each for one reader, and they differ on purpose:
# _ADDRESSEE / _VERB in the surface patterns (narrow: a pattern fires alone); _MODEL where the model is addressed
# (a vocative or "note to ..." position, so ambiguous words such as "system" and "helper" are safe there);
# _MODEL_WORD for a mention anywhere in an order the parse found (no "system": "tell me about the solar
# system"); _OUTPUT_VERB (lemmas, for the parse) and _OUTPUT_WORD (inflected forms, the cheap pre-check before a
# parse). Merging them changes what is flagged: re-run benchmarks/reliability/bench_screen.py after any edit.
_VERB = r"(?:answer|reply|respond|say|write|output|print|state|tell)"
_ADDRESSEE = r"(?:assistant|ai|a\.i\.|model|chatbot|bot|llm|language model|agent)"
_PATTERNS = re.compile(
    "|".join(
        [
            # override phrases
            r"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|these\s+|"
            r"previous\s+|prior\s+|above\s+|earlier\s+|other\s+|former\s+|existing\s+)*"
            r"(?:instructions?|rules|prompts?|guidelines|directives|guidance|orders|system\s+prompt)",
            r"\byou\s+are\s+now\b",
            r"\bnew\s+(?:instructions?|rules|orders)\s*:",
            r"\bsystem\s+prompt\b",
            r"\bdeveloper\s+mode\b",
            r"\bjailbr(?:eak|oken)\b",
            r"\bact\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken)",
            r"\bdo\s+anything\s+now\b",
            r"\breveal\s+(?:your|the)\s+(?:system\s+)?(?:prompt|instructions)",
            # role tags and notes addressed to the model
            r"</?\s*(?:system|assistant|im_start|im_end|inst)\b",
            r"\[/?inst\]",
            r"(?:^|\n)\s*(?:system|assistant)\s*:",
            r"\b(?:note|message|instructions?|memo|reminder|directive)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
            + _ADDRESSEE,
            r"\b(?:dear|attention|hey)\s+(?:the\s+)?" + _ADDRESSEE + r"\b",
            # directives about how to answer
            r"\b(?:from\s+now\s+on|henceforth|going\s+forward|in\s+(?:all|every)\s+future)\b[^.]{0,80}\b"
            + _VERB,
            r"\b(?:always|only|must|should)\s+(?:ever\s+)?" + _VERB + r"\b[^.]{0,40}\bwith\b",
            r"\b"
            + _VERB
            + r"\s+(?:to\s+)?(?:every|all|any|each)\s+(?:question|message|request|prompt|query)",
            r"\b" + _VERB + r"\s+(?:only|exclusively|solely)\s+with\b",
            r"\bwhen(?:ever)?\s+(?:you\s+are\s+|you're\s+|the\s+user\s+is\s+)?asked\b[^.]{0,60}\b" + _VERB,
            r"\b(?:the\s+)?"
            + _ADDRESSEE
            + r"\s+(?:must|should|shall|will|needs\s+to)\s+(?:now\s+|always\s+|only\s+)?"
            + _VERB,
            r"\bwhatever\s+(?:the\s+user|they|anyone)\s+(?:asks|says)\b",
            r"\b(?:correct|only\s+acceptable|acceptable|expected|required|official)\s+(?:reply|answer|response)\s+"
            r"(?:to|regarding|about|for|on|is)\b",
            r"\brepeat\b[^.]{0,40}\b(?:exactly|verbatim|word\s+for\s+word)\b",
            r"\bwhoever\s+(?:reads|is\s+reading|sees)\s+this\b",
        ]
    ),
    re.IGNORECASE,
)


_MODEL = (
    r"(?:assistant|ai|a\.i\.|bot|chatbot|chat\s*bot|robot|model|language\s+model|llm|gpt|agent"
    r"|automated\s+system|system|helper|summari[sz]er|machine)"
)
# the model addressed: a vocative, a note to it, "you (as) an AI", the model told to act
_ADDRESS = re.compile(
    r"(?:^|[.!?:;>\n]\s*|\b(?:dear|hey|hi|attention|attn|listen(?:\s+carefully)?|ok(?:ay)?|psst"
    r"|p\.s\.)\s*,?\s+)(?:the\s+|any\s+|all\s+)?" + _MODEL + r"s?\s*[,:!]"
    r"|\b(?:dear|hey|attention|attn)\s+(?:the\s+|any\s+|all\s+)?(?:\w+\s+)?" + _MODEL + r"s?\b"
    r"|\b(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+)?(?:\w+\s+)?"
    + _MODEL
    + r"s?\b(?:\s+(?:reading|processing|that|who|which)\b|\s*[:,])"
    r"|\b(?:if\s+)?you(?:\s+are|'re)\s+(?:an?\s+|the\s+)?(?:\w+\s+)?" + _MODEL + r"\b"
    r"|\bas\s+(?:an?\s+|the\s+|my\s+)?" + _MODEL + r"\b"
    r"|\b(?:the\s+)?"
    + _MODEL
    + r"\s+(?:must|should|shall|will|has\s+to|needs\s+to|is\s+to|has\s+been|speaks|says|may\s+only)\b"
    r"|\b(?:the\s+)?" + _MODEL + r"\s+(?:that|who)\s+(?:reads|retrieves|processes|sees|summari[sz]es)\b",
    re.IGNORECASE,
)
_PERSONA = re.compile(
    r"\b(?:you\s+are\s+now|you're\s+now|act\s+as|pretend\s+(?:to\s+be|you)|role[- ]?play"
    r"|(?:with\s+)?no\s+(?:rules|restrictions|limits|filters)"
    r"|developer\s+mode|jailbr(?:eak|oken)|do\s+anything\s+now|unrestricted|unfiltered|new\s+operator|reconfigured)\b",
    re.IGNORECASE,
)
_CONTROL = re.compile(
    r"<\|?\s*/?\s*(?:system|assistant|user|im_start|im_end|inst|context|prompt|instructions?)\b[^>]*>"
    r"|\[/?\s*(?:inst|admin|system|sys)\s*\]"
    r"|(?:^|[\n.!?]\s*)(?:system|assistant|admin|developer)(?:\s+(?:message|override|prompt|note|command))?\s*[:>]"
    r"|\b(?:system|prompt)\s+override\b|\bhidden\s+instruction|\bnew\s+(?:instructions?|rules?|task"
    r"|orders?|directive)\s*(?:for\s+(?:you|the\s+\w+))?\s*:",
    re.IGNORECASE,
)
_RULES = (
    r"(?:instructions?|rules|guidance|guidelines?|prompts?|context|restrictions|directions|directives"
    r"|polic(?:y|ies)|orders|commands|settings|safety\s+rules|programming|training)"
)
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|drop|override|overrides|bypass|skip|discard|abandon|set\s+aside"
    r"|put\s+aside|do\s+not\s+follow|don't\s+follow|stop\s+following)\s+(?:all\s+|any\s+|the\s+"
    r"|your\s+|my\s+|these\s+|those\s+|previous\s+|prior\s+|above\s+|earlier\s+|other\s+|former\s+"
    r"|existing\s+|original\s+|safety\s+)*"
    + _RULES
    + r"|\b(?:previous|prior|earlier|above|original|former|old)\s+(?:\w+\s+)?"
    + _RULES
    + r"\s+(?:are|is)\s+(?:now\s+)?(?:void|invalid|cancel+ed|outdated|obsolete|replaced|revoked)"
    r"|\b(?:whatever|everything|anything|what)\s+you\s+(?:were|have\s+been|'ve\s+been)\s+told\b"
    r"|\bforget\s+(?:what|everything)\s+you\s+(?:know|were\s+told|learned)"
    r"|\bno\s+longer\s+appl(?:y|ies)\b|\bhigher[- ]priority\s+than\b|\boverrides?\s+(?:the\s+|your\s+"
    r"|all\s+|any\s+)?(?:earlier|previous|prior|system|existing)\b"
    r"|\breveal\s+(?:your|the)\s+(?:system\s+|hidden\s+)?(?:prompt|instructions)|\bsystem\s+prompt\b",
    re.IGNORECASE,
)
# what the model is to output, with a restriction: "reply only with X", "say X and nothing else"
_OUTPUT_VERB = frozenset(
    [
        "say",
        "answer",
        "reply",
        "respond",
        "output",
        "print",
        "type",
        "write",
        "tell",
        "state",
        "return",
        "report",
        "claim",
        "speak",
        "repeat",
        "begin",
        "start",
    ]
)
_RESPONSE_NOUN = frozenset(["answer", "reply", "response", "output"])
_RESTRICT = re.compile(
    r"\b(?:only|exclusively|solely|always|whenever|every\s+(?:time|question|message)"
    r"|any\s+(?:question|message|time)|instead|exactly|verbatim"
    r"|no\s+matter|nothing\s+else|from\s+now\s+on|from\s+this\s+point|henceforth|next\s+(?:time|reply"
    r"|answer|question)|single[- ]word"
    r"|word\s+for\s+word|anything\s+else|must|ha(?:s|ve)\s+to|needs?\s+to|required?|permitted|allowed"
    r"|locked|correct|acceptable|canonical)\b",
    re.IGNORECASE,
)


def _subject(tok: Any) -> Any:
    """The subject of verb ``tok`` (a conjoined verb shares its head's), or None."""
    while True:
        subj = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass", "expl")]
        if subj or tok.dep_ != "conj" or tok.head is tok:
            return subj[0] if subj else None
        tok = tok.head


def _directive_output(doc: Any) -> bool:
    """An output verb used as an order to 'you': an imperative, or 'you (must|will|only ever) reply'."""
    for tok in doc:
        if tok.lemma_.lower() not in _OUTPUT_VERB or tok.tag_ not in ("VB", "VBP"):
            continue
        if tok.i > 1 and doc[tok.i - 1].lower_ == "to":
            if doc[tok.i - 2].lower_ in ("you", "u"):
                return True  # "I want you to reply ..."
            continue
        subj = _subject(tok)
        # no subject (imperative), 'you', or a 'subject' after the verb: a misparsed object ("say KUMQUAT")
        if subj is None or subj.lower_ in ("you", "u") or subj.i > tok.i:
            return True
    # "the reply has to be X", "your only permitted response is X"
    return any(tok.lemma_.lower() in _RESPONSE_NOUN and tok.dep_ in ("nsubj", "nsubjpass") for tok in doc)


_OUTPUT_WORD = re.compile(
    r"\b(?:say|says|saying|answer\w*|repl(?:y|ies|ied|ying)|respon(?:d|ds|se|ses)|output\w*|print\w*"
    r"|type|types|typing|write|writes"
    r"|tell|tells|state|states|return|returns|report\w*|claim\w*|speak\w*|repeat\w*|use|mention\w*)\b",
    re.IGNORECASE,
)

_MODEL_WORD = re.compile(
    r"\b(?:assistants?|ai|a\.i\.|bots?|chatbots?|robots?|models?|llms?|gpt|agents?|machines?|helpers?)\b",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"(?:^|[\n.!?#]\s*)(?:\w+\s+)?(?:instructions?|directives?|configuration|command|notice|policy|rules?)(?:\s+v?\d+)?\s*:",
    re.IGNORECASE,
)
_OVERRIDE_VERB = frozenset(["ignore", "disregard", "forget", "override", "bypass", "skip", "discard", "drop"])
_ABOUT_MODEL = frozenset(
    [
        "you",
        "your",
        "yours",
        "conversation",
        "memory",
        "memories",
        "behaviour",
        "behavior",
        "remember",
        "know",
        "told",
        "said",
        "stored",
        "above",
        "previous",
        "prior",
        "earlier",
        "instruction",
        "rule",
        "guidance",
        "guideline",
        "prompt",
        "context",
        "restriction",
        "direction",
        "directive",
        "policy",
        "order",
        "command",
        "setting",
        "programming",
        "training",
    ]
)


def _override_directive(doc: Any) -> bool:
    """An order to drop what the model was told or knows: 'ignore what you remember', 'forget the conversation'."""
    for tok in doc:
        lemma = tok.lemma_.lower()
        stop_using = lemma in ("stop", "quit") and any(
            c.lemma_.lower() in ("use", "follow", "trust") for c in tok.children
        )
        if lemma not in _OVERRIDE_VERB and not stop_using:
            continue
        if any(c.dep_ == "neg" for c in tok.children):
            continue  # "don't forget to ...": advice, not an override
        subj = _subject(tok)
        if subj is not None and subj.lower_ not in ("you", "u") and subj.i < tok.i:
            continue
        if {w.lower_ for w in tok.subtree if w is not tok} & _ABOUT_MODEL or {
            w.lemma_.lower() for w in tok.subtree
        } & _ABOUT_MODEL - {lemma}:
            return True
    return False


_OVERRIDE_WORD = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|skip|discard|drop|stop)\w*\b", re.IGNORECASE
)
_MAX_PARSED = 4000
"""Characters of a text that are parsed (a longer text is screened on its start, and by the patterns whole)."""


@functools.lru_cache(maxsize=4096)  # the same memories are screened again on every recall
def injection_signals(text: str) -> frozenset[str]:
    """Which cues of an injection ``text`` shows (empty: none). Cues: ``pattern`` (a known surface form),
    ``control``, ``override``, ``persona``, ``addressed`` (the model addressed, with an output verb), ``header``
    (an instruction header with an output verb), ``override-order``, ``model-order`` (an order to output something,
    the model mentioned) and ``restricted-output`` (an order to output something only / always / from now on)."""
    return _signals([text])[0]


def _signals(texts: Sequence[str]) -> list[frozenset[str]]:
    """:func:`injection_signals` of each text. The texts whose parse decides are parsed in one batch
    (:func:`memory.nlp.parse_many`, about 2x faster per text than one at a time)."""
    surface = [_surface_signals(t) for t in texts]
    todo = list(
        dict.fromkeys(t[:_MAX_PARSED] for t, found in zip(texts, surface, strict=True) if found is None)
    )
    try:
        docs = dict(zip(todo, parse_many(todo), strict=True)) if todo else {}
    except MissingResourceError:
        docs = {}  # no spaCy pipeline: the patterns only
    return [
        found if found is not None else _order_signals(t, docs.get(t[:_MAX_PARSED]))
        for t, found in zip(texts, surface, strict=True)
    ]


def _surface_signals(text: str) -> frozenset[str] | None:
    """The cues the patterns find, or None when only the parse can tell (an output or override word, no
    pattern)."""
    found: set[str] = set()
    if _PATTERNS.search(text):
        found.add("pattern")
    for cue, pattern in (("control", _CONTROL), ("override", _OVERRIDE), ("persona", _PERSONA)):
        if pattern.search(text):
            found.add(cue)
    if found:
        return frozenset(found)
    output = _OUTPUT_WORD.search(text) is not None
    if output and _ADDRESS.search(text):
        return frozenset({"addressed"})
    if output and _HEADER.search(text):
        return frozenset({"header"})
    if not output and not _OVERRIDE_WORD.search(text):
        return frozenset()  # no order to output or to override: nothing for the parse to find
    return None


def _order_signals(text: str, doc: Any) -> frozenset[str]:
    """The cues of an order to the model in ``doc``, the parse of ``text`` (None: no parser, no cue)."""
    if doc is None:
        return frozenset()
    if _override_directive(doc):
        return frozenset({"override-order"})
    if _OUTPUT_WORD.search(text) is not None and _directive_output(doc):
        if _MODEL_WORD.search(text):
            return frozenset({"model-order"})
        if _RESTRICT.search(text):
            return frozenset({"restricted-output"})
    return frozenset()


def looks_like_injection(text: str) -> bool:
    """True when ``text`` reads like instructions addressed to the model (see the module docstring)."""
    return bool(injection_signals(text))


def injection_flags(text: str) -> tuple[str, ...]:
    """Gateway tags for ``text``: ``("injection",)`` when it looks like instructions aimed at an LLM."""
    return ("injection",) if looks_like_injection(text) else ()


def injection_flags_many(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """:func:`injection_flags` of each text, the parses they need made in one batch (the write path's)."""
    return [("injection",) if found else () for found in _signals(texts)]


def quote(text: str) -> str:
    """``text`` as a JSON string literal: newlines and quotes escaped, so it cannot break out of its line."""
    return json.dumps(text, ensure_ascii=False)


__all__ = ["injection_flags", "injection_flags_many", "injection_signals", "looks_like_injection", "quote"]
