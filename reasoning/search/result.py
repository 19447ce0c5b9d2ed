"""What a search returns and what it streams: :class:`SearchResult` and :class:`SearchEvent`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from reasoning.search.associations import Association
from reasoning.search.tree import Tree

StopReason = Literal["judge", "depth", "nodes", "tokens", "time", "exhausted", "interrupted"]
"""Why the search stopped: the judge accepted an answer; every chain reached the depth limit (or ended);
the node, token or wall-time budget ran out; nothing was left to expand; the caller's stop flag (Ctrl-C)."""

EventKind = Literal["start", "node", "stop"]


@dataclass(frozen=True)
class SearchEvent:
    """Progress of a running search (for a live "thinking" display).

    Attributes:
        kind: "start", "node" (a node was added and evaluated) or "stop".
        nodes: nodes in the tree so far, the root excluded.
        best_value: the best node's value so far.
        tokens: tokens spent so far.
        seconds: wall time so far.
        node_id: the node just added ("node" events).
        parent_id: its parent ("node" events), so a display can grow the tree.
        depth: its depth.
        text: its thought ("node"), or the stop reason ("stop").
        deepest: the depth of the deepest node so far.
    """

    kind: EventKind
    nodes: int
    best_value: float
    tokens: int
    seconds: float
    node_id: int | None = None
    parent_id: int | None = None
    depth: int = 0
    text: str = ""
    deepest: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The event as a plain JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one search.

    Attributes:
        answer: the best answer found (the best node's stated answer, else its thought or command).
        value: the best node's value V(n).
        chain: the thoughts from the root (excluded) to the best node.
        associations: AM(n) for every node on the chain (same length as ``chain``).
        actions: environment mode: the commands along the chain (execute ``actions[0]`` next).
        tree: the whole tree.
        best_id: the best node's id.
        tokens: tokens spent (generation, association and evaluation).
        nodes: nodes created, the root excluded.
        seconds: wall time.
        stopped_by: why the search stopped.
        accepted: the judge accepted the answer.
        concluded: the answer was concluded at the end of the best chain (its node stated none).
    """

    answer: str
    value: float
    chain: list[str]
    associations: list[tuple[Association, ...]]
    tree: Tree
    best_id: int
    tokens: int
    nodes: int
    seconds: float
    stopped_by: StopReason
    accepted: bool = False
    actions: list[str] = field(default_factory=list)
    concluded: bool = False

    @property
    def depth(self) -> int:
        """The depth of the deepest node of the tree."""
        return max(n.depth for n in self.tree.nodes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the result and its tree."""
        from reasoning.search.export import result_to_dict

        return result_to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The result and its whole tree as JSON."""
        import json

        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def render_text(self, *, max_chars: int = 100, with_answer: bool = True) -> str:
        """A readable indented rendering of the tree, the best chain marked with ``*``, then the answer line
        (unless ``with_answer`` is False)."""
        from reasoning.search.export import render_text

        return render_text(self, max_chars=max_chars, with_answer=with_answer)

    def to_dot(self) -> str:
        """The tree as a Graphviz DOT digraph, the best chain drawn bold."""
        from reasoning.search.export import to_dot

        return to_dot(self)


__all__ = ["EventKind", "SearchEvent", "SearchResult", "StopReason"]
