"""The search tree as an immutable value, and the pure MCTS steps over it: select, add, backpropagate.

A :class:`Tree` is a tuple of :class:`Node` s indexed by id (the root is node 0). Every step returns a new
tree; nothing is mutated, so a test can hold the tree before and after a step and compare them.

Statistics (as in UCT / MCTS, Kocsis & Szepesvári 2006; CoAT 2025; LATS 2024):

- each node n has its own evaluation V(n) = F_g(Q, G(n)) + beta * F_a(Q, AM(n)) (+ reward_weight * R(n) in
  environment mode), a visit count N(n) and a value sum W(n); its mean value is Q(n) = W(n) / N(n);
- a newly evaluated child starts with N = 1, W = V(child);
- after expanding leaf l into children c_1..c_K, v = max_i V(c_i) is backpropagated to l and every ancestor:
  N += 1, W += v;
- selection descends from the root, at each node taking the non-exhausted child maximising
  UCT(c) = Q(c) + c_explore * sqrt(ln N(parent) / N(c)) (ties: the lowest id), until a node without children;
- a node is exhausted when it is terminal (a final answer, the maximum depth, a finished environment, or an
  expansion that produced nothing) or all its children are; when the root is exhausted the search is over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reasoning.search.associations import Association


@dataclass(frozen=True)
class Node:
    """One node: a thought G(n) (or an environment action and its observation) with its associations AM(n).

    Attributes:
        id: index in the tree; the root is 0.
        parent: the parent's id (None for the root).
        depth: thoughts from the root (the root is 0).
        thought: G(n); for environment nodes, the command followed by the observation.
        answer: the final answer this thought states, if it states one.
        action: the environment command that led here (environment mode).
        observation: what the environment answered (environment mode).
        associations: AM(n).
        thought_score: F_g(Q, G(n)) in [0, 1].
        association_score: F_a(Q, AM(n)) in [0, 1].
        reward: the environment reward collected from the root to here (environment mode).
        value: V(n).
        visits: N(n).
        value_sum: W(n).
        terminal: no further expansion (answer, depth limit, environment done, dead end).
        exhausted: terminal, or every child exhausted.
        accepted: the judge accepted this node's answer.
        children: ids of the children, in creation order.
        tokens: tokens spent creating and evaluating this node.
    """

    id: int
    parent: int | None
    depth: int
    thought: str = ""
    answer: str | None = None
    action: str | None = None
    observation: str = ""
    associations: tuple[Association, ...] = ()
    thought_score: float = 0.0
    association_score: float = 0.0
    reward: float = 0.0
    value: float = 0.0
    visits: int = 0
    value_sum: float = 0.0
    terminal: bool = False
    exhausted: bool = False
    accepted: bool = False
    children: tuple[int, ...] = ()
    tokens: int = 0

    @property
    def mean_value(self) -> float:
        """Q(n) = W(n) / N(n), or 0 for an unvisited node."""
        return self.value_sum / self.visits if self.visits else 0.0


@dataclass(frozen=True)
class Tree:
    """The whole search tree. ``nodes[i].id == i``; ``nodes[0]`` is the root holding the question."""

    question: str
    nodes: tuple[Node, ...]

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.nodes)


def new_tree(question: str, *, observation: str = "", associations: Sequence[Association] = ()) -> Tree:
    """A tree with only the root (depth 0, no thought, not yet visited)."""
    return Tree(question, (Node(0, None, 0, observation=observation, associations=tuple(associations)),))


def update_node(tree: Tree, node: Node) -> Tree:
    """The tree with ``node`` replacing the node of the same id."""
    nodes = list(tree.nodes)
    nodes[node.id] = node
    return Tree(tree.question, tuple(nodes))


def add_child(tree: Tree, parent_id: int, child: Node) -> tuple[Tree, int]:
    """Append ``child`` under ``parent_id``; its id, parent and depth are set here.

    Returns:
        the new tree and the child's id.
    """
    parent = tree.nodes[parent_id]
    cid = len(tree.nodes)
    child = replace(child, id=cid, parent=parent_id, depth=parent.depth + 1)
    nodes = list(tree.nodes)
    nodes[parent_id] = replace(parent, children=(*parent.children, cid))
    nodes.append(child)
    return Tree(tree.question, tuple(nodes)), cid


def uct_score(tree: Tree, node_id: int, exploration: float) -> float:
    """UCT(n) = Q(n) + c * sqrt(ln N(parent) / N(n)); +inf for an unvisited node."""
    node = tree.nodes[node_id]
    if node.visits == 0:
        return math.inf
    parent_visits = tree.nodes[node.parent].visits if node.parent is not None else node.visits
    bonus = exploration * math.sqrt(math.log(max(parent_visits, 1)) / node.visits)
    return node.mean_value + bonus


def select(tree: Tree, exploration: float) -> int | None:
    """Descend by UCT over non-exhausted children to a node without children.

    Returns:
        the id of the leaf to expand, or None when the root is exhausted (nothing left to search).
    """
    node = tree.root
    if node.exhausted:
        return None
    while node.children:
        open_children = [c for c in node.children if not tree.nodes[c].exhausted]
        if not open_children:  # inconsistent marks; treat as exhausted
            return None
        best = max(open_children, key=lambda c: (uct_score(tree, c, exploration), -c))
        node = tree.nodes[best]
    return node.id


def backpropagate(tree: Tree, node_id: int, value: float) -> Tree:
    """Add one visit and ``value`` to ``node_id`` and every ancestor (N += 1, W += value)."""
    nodes = list(tree.nodes)
    current: int | None = node_id
    while current is not None:
        n = nodes[current]
        nodes[current] = replace(n, visits=n.visits + 1, value_sum=n.value_sum + value)
        current = n.parent
    return Tree(tree.question, tuple(nodes))


def mark_exhausted(tree: Tree, node_id: int) -> Tree:
    """Mark ``node_id`` exhausted, then every ancestor whose children are now all exhausted."""
    nodes = list(tree.nodes)
    current: int | None = node_id
    while current is not None:
        n = nodes[current]
        if current != node_id and not all(nodes[c].exhausted for c in n.children):
            break
        nodes[current] = replace(n, exhausted=True)
        current = n.parent
    return Tree(tree.question, tuple(nodes))


def path_to(tree: Tree, node_id: int) -> list[Node]:
    """The nodes from the root to ``node_id``, root first."""
    out: list[Node] = []
    current: int | None = node_id
    while current is not None:
        out.append(tree.nodes[current])
        current = tree.nodes[current].parent
    return out[::-1]


def best_node(tree: Tree, *, answers_first: bool = True) -> Node:
    """The best so far: the accepted answer, else the highest-valued answer (``answers_first``), else the
    highest-valued node.

    Ties go to the earlier node. The root is returned only when it is the only node.
    """
    candidates = tree.nodes[1:]
    if not candidates:
        return tree.root
    accepted = [n for n in candidates if n.accepted]
    if accepted:
        return accepted[0]
    answers = [n for n in candidates if n.answer is not None] if answers_first else []
    pool = answers or list(candidates)
    return max(pool, key=lambda n: (n.value, -n.id))


__all__ = [
    "Node",
    "Tree",
    "add_child",
    "backpropagate",
    "best_node",
    "mark_exhausted",
    "new_tree",
    "path_to",
    "select",
    "uct_score",
    "update_node",
]
