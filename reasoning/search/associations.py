"""Associative memory AM(n) of a search node: the ``Associator`` plug point and two implementations.

CoAT (Chain-of-Associated-Thoughts, 2025) attaches to every node n of the search tree an associative memory
AM(n): knowledge retrieved or generated for the thought G(n), which then conditions the next thoughts and
enters the node's value through F_a(Q, AM(n)). An associator is any callable
``associator(question, path) -> list[Association]`` where ``path`` is the chain of thoughts from the root to
the node (the node's own thought last). The agent supplies one backed by memory and the spiking substrate;
here are a generative one (asks the LLM) and a lexical one over a fixed fact base (no model, deterministic).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from reasoning.llm import LLM, GenerationOptions, Usage, system, user
from reasoning.words import content_words


@dataclass(frozen=True)
class Association:
    """One associated piece of knowledge.

    Attributes:
        text: the knowledge, one sentence or so.
        source_ids: ids of the records it came from (memory ids, fact ids; empty when generated).
        score: how strongly it is associated, in [0, 1] (retrieval similarity, activation, or 0.5 if unknown).
    """

    text: str
    source_ids: tuple[str, ...] = ()
    score: float = 0.5


@runtime_checkable
class Associator(Protocol):
    """Given the question and the path of thoughts to a node (root first), return its associations."""

    def __call__(self, question: str, path: Sequence[str]) -> list[Association]: ...


_terms = content_words


class LexicalAssociator:
    """Retrieves facts from a fixed base by BM25 over words, querying with the question and the path.

    The latest thought weighs most: it is repeated ``recency_weight`` times in the query, so each hop of a
    chain surfaces the facts about what the last thought introduced (iterative retrieval). A fact whose words
    all occur in the path's thoughts already is known, and skipped: associations bring something new.

    Args:
        facts: fact id -> fact text.
        k: associations returned per call.
        recency_weight: how many times the newest thought counts in the query.
        use_question: include the question in the query (off: query with the path only, when non-empty).
    """

    def __init__(
        self, facts: Mapping[str, str], *, k: int = 2, recency_weight: int = 2, use_question: bool = True
    ) -> None:
        self._ids = list(facts)
        self._docs = [Counter(_terms(facts[i])) for i in self._ids]
        self._texts = [facts[i] for i in self._ids]
        self._k = k
        self._recency = recency_weight
        self._use_question = use_question
        n = len(self._docs)
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._avg = sum(sum(d.values()) for d in self._docs) / max(1, n)

    def __call__(self, question: str, path: Sequence[str]) -> list[Association]:
        query: Counter[str] = Counter()
        if self._use_question or not path:
            query.update(_terms(question))
        for i, thought in enumerate(path):
            weight = self._recency if i == len(path) - 1 else 1
            for term in _terms(thought):
                query[term] += weight
        known = {t for thought in path for t in _terms(thought)}
        scored: list[tuple[float, int]] = []
        for j, doc in enumerate(self._docs):
            if known and doc.keys() <= known:
                continue
            length = sum(doc.values())
            s = 0.0
            for term, qf in query.items():
                tf = doc.get(term, 0)
                if tf:
                    s += qf * self._idf[term] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self._avg))
            if s > 0:
                scored.append((s, j))
        scored.sort(key=lambda x: (-x[0], x[1]))
        top = scored[: self._k]
        if not top:
            return []
        best = top[0][0]
        return [Association(self._texts[j], (self._ids[j],), s / best) for s, j in top]


_GEN_SYSTEM = (
    "You recall background knowledge. List up to {n} short facts that help with the question and the latest "
    "reasoning step, one per line, each starting with '- '. No explanations."
)


class GenerativeAssociator:
    """Asks the LLM for knowledge associated with the latest thought (CoAT's generated associative memory).

    Its token use accumulates in ``usage`` (the search reads it to charge its token budget).

    Args:
        llm: the model asked.
        max_items: associations kept per call.
        max_tokens: generation cap per call.
    """

    def __init__(self, llm: LLM, *, max_items: int = 3, max_tokens: int = 96) -> None:
        self._llm = llm
        self._max_items = max_items
        self._max_tokens = max_tokens
        self.usage = Usage()

    def __call__(self, question: str, path: Sequence[str]) -> list[Association]:
        latest = path[-1] if path else ""
        prompt = f"Question: {question}\n" + (f"Latest step: {latest}\n" if latest else "") + "Facts:"
        completion = self._llm.complete(
            [system(_GEN_SYSTEM.format(n=self._max_items)), user(prompt)],
            GenerationOptions(max_tokens=self._max_tokens, temperature=0.0),
        )
        self.usage = self.usage + completion.usage
        out: list[Association] = []
        seen: set[str] = set()
        for line in completion.text.splitlines():
            text = line.strip().lstrip("-*0123456789.) ").strip()
            key = text.lower()
            if len(text) < 3 or key in seen:
                continue
            seen.add(key)
            out.append(Association(text, (), 0.5))
            if len(out) >= self._max_items:
                break
        return out


__all__ = ["Association", "Associator", "GenerativeAssociator", "LexicalAssociator"]
