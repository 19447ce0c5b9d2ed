"""Exports of a search tree: a JSON-ready dict, a readable text rendering, Graphviz DOT."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from reasoning.search.tree import Node, Tree, path_to

if TYPE_CHECKING:
    from reasoning.search.result import SearchResult


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


__all__ = ["node_to_dict", "render_text", "result_to_dict", "to_dot", "tree_to_dict"]
