"""The associator the agent gives the CoAT search: a node's associations come from the user's memory.

AM(n) for a node n is a recall from the user's memory seeded by n's path: the query is the newest step of the
path (as the search gives it: by default the memories recalled just before n's thought, then the thought)
followed by the question, so each hop of a chain recalls what its last step introduced. What the chain
already knows is left out: an item whose content words all occur in the path or the question, an item that is
itself a question, the agent's own replies, and an item that looks like injected instructions (the gateway's
screen). The root (empty path) also gets the turn's substrate associations: the
memories the spiking substrate surfaced for the input. Every association keeps its record id in
``source_ids``, so a tree's knowledge is traceable to stored memories.

Which k are kept: a node follows its step. Among the recollections left in, those that share a word (a lemma,
:func:`reasoning.words.terms`) with what the step brought, its words the question lacks ("Vanlo" once the
root recalled "Ann's teacher is Vanlo."), come first, each group in recall order; recall alone ranks by its
fused signals, where turn adjacency can lift a neighbour of the telling above the fact that names the bridge.
Left-out items do not take the place of kept ones: the recall is widened (up to :data:`MAX_WINDOW` items) until
k are left in and, when the step brought words, one of them follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memory.hygiene import looks_like_injection
from reasoning.search import Association
from reasoning.words import content_words, terms

MAX_WINDOW = 64
"""The most recollections one node's recall reads to find its k associations (it starts at 3 k)."""


def _said(text: str, kind: str) -> str:
    """An episode's words without its "speaker: " prefix."""
    return text.split(": ", 1)[1] if kind == "episode" and ": " in text else text


class MemoryAssociator:
    """``Associator`` backed by :class:`memory.Memory` (its public ``recall``) for one namespace.

    Args:
        memory: anything with ``recall(query, *, namespace, k) -> list[Recollection]``.
        namespace: the user whose memory is searched.
        k: associations per node.
        seeds: associations the root starts with (the substrate's, for the agent).
    """

    def __init__(self, memory: Any, namespace: str, *, k: int = 3, seeds: Sequence[Association] = ()) -> None:
        self._memory = memory
        self._namespace = namespace
        self._k = k
        self._seeds = list(seeds)

    def __call__(self, question: str, path: Sequence[str]) -> list[Association]:
        query = f"{path[-1]}\n{question}" if path else question
        known = {t for text in [question, *path] for t in content_words(text)}
        bridge = terms(path[-1]) - terms(question) if path else set()
        seeds = [] if path else self._seeds
        window = self._k * 3
        # widen the recall until k are kept (and one follows the step, when the step brought words)
        while True:
            found = self._memory.recall(query, namespace=self._namespace, k=window)
            candidates = self._candidates(found, known, {a.text for a in seeds})
            linked = [c for c in candidates if terms(c[0]) & bridge]
            enough = len(candidates) >= self._k and (linked or not bridge)
            if enough or len(found) < window or window >= MAX_WINDOW:
                break
            window = min(window * 4, MAX_WINDOW)
        kept = (linked + [c for c in candidates if c not in linked])[: self._k]
        top = max((float(r.score) for _, r in kept), default=1.0) or 1.0
        return [*seeds, *(_association(said, r, top) for said, r in kept)]

    @staticmethod
    def _candidates(found: Sequence[Any], known: set[str], seen: set[str]) -> list[tuple[str, Any]]:
        """The recollections of ``found`` the chain does not know yet, each with its words, in recall order."""
        kept: list[tuple[str, Any]] = []
        for r in found:
            said = _said(str(r.text), str(r.kind))
            words = set(content_words(said))
            if (
                said in seen
                or not words
                or words <= known
                or said.rstrip().endswith("?")
                or _agents_own(r)
                or looks_like_injection(r.text)
            ):
                continue
            seen.add(said)
            kept.append((said, r))
        return kept


def _agents_own(r: Any) -> bool:
    """Whether every source of a recollection is one of the agent's own replies (stored by ``learn`` with
    role "output"): what the agent said is not evidence."""
    sources = list(getattr(r, "sources", ()))
    return bool(sources) and all(
        (getattr(s, "metadata", None) or {}).get("role") == "output" for s in sources
    )


def _association(text: str, r: Any, top: float) -> Association:
    """A recollection as an association: its record id first, then its source episodes; the score relative to
    the call's best (recall scores are comparable within one call only)."""
    sources = [str(getattr(s, "id", s)) for s in getattr(r, "sources", ())]
    ids = (str(r.id), *(i for i in sources if i != str(r.id)))
    return Association(text=text, source_ids=ids, score=max(0.0, min(1.0, float(r.score) / top)))


__all__ = ["MemoryAssociator"]
