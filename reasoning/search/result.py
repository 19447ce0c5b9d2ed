"""What a search returns and what it streams: :class:`SearchResult` and :class:`SearchEvent`, and the exports of
a result: a JSON-ready dict, a readable text rendering, Graphviz DOT."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from reasoning.search.associations import Association
from reasoning.search.tree import Node, Tree, path_to

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
        concluded: the answer came from the final answer step (``SearchSettings.answer_from``), not from a
            node's own words.
        answered_from: the facts that step was given (empty for "node" and when no step ran).
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
    answered_from: tuple[Association, ...] = ()

    @property
    def depth(self) -> int:
        """The depth of the deepest node of the tree."""
        return max(n.depth for n in self.tree.nodes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the result and its tree."""
        return result_to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The result and its whole tree as JSON."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def render_text(self, *, max_chars: int = 100, with_answer: bool = True) -> str:
        """A readable indented rendering of the tree, the best chain marked with ``*``, then the answer line
        (unless ``with_answer`` is False)."""
        return render_text(self, max_chars=max_chars, with_answer=with_answer)

    def to_dot(self) -> str:
        """The tree as a Graphviz DOT digraph, the best chain drawn bold."""
        return to_dot(self)


# -- exports --------------------------------------------------------------------------------------------------


def node_to_dict(node: Node) -> dict[str, Any]:
    """A node as plain data (associations as dicts with ``source_ids`` lists)."""
    data = asdict(node)
    data["associations"] = [
        {"text": a.text, "source_ids": list(a.source_ids), "score": a.score} for a in node.associations
    ]
    data["children"] = list(node.children)
    data["mean_value"] = node.mean_value
    return data


def tree_to_dict(tree: Tree) -> dict[str, Any]:
    """The tree as plain data."""
    return {"question": tree.question, "nodes": [node_to_dict(n) for n in tree.nodes]}


def result_to_dict(result: SearchResult) -> dict[str, Any]:
    """The result with its tree as plain data."""
    return {
        "answer": result.answer,
        "value": result.value,
        "accepted": result.accepted,
        "concluded": result.concluded,
        "answered_from": [
            {"text": a.text, "source_ids": list(a.source_ids), "score": a.score} for a in result.answered_from
        ],
        "stopped_by": result.stopped_by,
        "tokens": result.tokens,
        "nodes": result.nodes,
        "depth": result.depth,
        "chain_depth": len(result.chain),
        "seconds": result.seconds,
        "best_id": result.best_id,
        "chain": list(result.chain),
        "actions": list(result.actions),
        "associations": [
            [{"text": a.text, "source_ids": list(a.source_ids), "score": a.score} for a in group]
            for group in result.associations
        ],
        "tree": tree_to_dict(result.tree),
    }


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def render_text(result: SearchResult, *, max_chars: int = 100, with_answer: bool = True) -> str:
    """The tree indented by depth; ``*`` marks the best chain; associations listed under each node; then the
    answer line unless ``with_answer`` is False (a caller that prints the answer itself)."""
    tree = result.tree
    on_chain = {n.id for n in path_to(tree, result.best_id)}
    lines = [f"Q: {tree.question}"]

    def visit(node_id: int, indent: int) -> None:
        node = tree.nodes[node_id]
        mark = "*" if node_id in on_chain else " "
        flags = "".join(
            [" [accepted]" if node.accepted else "", " [answer]" if node.answer is not None else ""]
        )
        head = (
            f"{'  ' * indent}{mark} #{node.id} V={node.value:.2f} Q={node.mean_value:.2f} N={node.visits}"
            f"{flags}: {_short(node.thought, max_chars)}"
        )
        lines.append(head)
        for a in node.associations:
            src = f" ({', '.join(a.source_ids)})" if a.source_ids else ""
            lines.append(f"{'  ' * indent}    ~ {_short(a.text, max_chars)}{src}")
        for child in node.children:
            visit(child, indent + 1)

    for child in tree.root.children:
        visit(child, 0)
    for a in tree.root.associations:
        lines.insert(1, f"  ~ {_short(a.text, max_chars)}")
    if with_answer:
        lines.append(
            f"answer: {result.answer} (value {result.value:.2f}, {result.nodes} nodes, {result.tokens} tokens, "
            f"stopped by {result.stopped_by})"
        )
    return "\n".join(lines)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(result: SearchResult, *, max_chars: int = 60) -> str:
    """A Graphviz digraph: one box per node labelled with its thought and value; the best chain bold."""
    tree = result.tree
    on_chain = {n.id for n in path_to(tree, result.best_id)}
    lines = ["digraph coat {", "  node [shape=box, fontsize=10];"]
    for node in tree.nodes:
        label = "Q: " + _short(tree.question, max_chars) if node.id == 0 else _short(node.thought, max_chars)
        label += f"\nV={node.value:.2f} N={node.visits}" if node.id else ""
        style = ', style=bold, color="blue"' if node.id in on_chain else ""
        if node.accepted:
            style += ", peripheries=2"
        lines.append(f'  n{node.id} [label="{_dot_escape(label)}"{style}];')
    for node in tree.nodes:
        for child in node.children:
            bold = " [style=bold]" if child in on_chain else ""
            lines.append(f"  n{node.id} -> n{child}{bold};")
    lines.append("}")
    return "\n".join(lines)


__all__ = [
    "EventKind",
    "SearchEvent",
    "SearchResult",
    "StopReason",
    "node_to_dict",
    "render_text",
    "result_to_dict",
    "to_dot",
    "tree_to_dict",
]
