"""``CoATSearch``: the thin driver running select -> expand -> associate -> evaluate -> backpropagate.

One iteration (CoAT, 2025, with the MCTS statistics of :mod:`reasoning.search.tree`):

1. select: descend from the root by UCT to a leaf l that is not exhausted;
2. expand: sample K candidate next thoughts for l (the first greedy, the rest at ``temperature`` with seeds
   derived from the search seed), dropping empty and duplicate ones; at depth ``max_depth - 1`` the prompt
   asks for the final answer;
3. associate: for each new child c, AM(c) = associator(Q, path to c); the associations along a path appear in
   the prompts that expand its nodes;
4. evaluate: V(c) = F_g(Q, G(c)) + beta * F_a(Q, AM(c)) from the evaluator (plus reward_weight * R(c) in
   environment mode); a child stating an answer with F_g >= accept_value (or accepted by the evaluator) is
   accepted and ends the search ("judge");
5. backpropagate max_c V(c) from l to the root.

Budgets (nodes, tokens, wall time) are checked before every model call; when one runs out the search stops
cleanly, keeps every node finished so far and returns the best answer found. A node's generation is capped to
the tokens left, so the token budget is overshot by at most one association or evaluation call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from reasoning.config import SearchSettings
from reasoning.errors import InvalidInputError, SearchBudgetExceeded
from reasoning.llm import LLM, GenerationOptions, Usage
from reasoning.search.associations import Association, Associator
from reasoning.search.environment import ActionProposer, CopyableEnv, default_proposer
from reasoning.search.evaluators import Evaluation, Evaluator, LLMJudge
from reasoning.search.result import SearchEvent, SearchResult, StopReason
from reasoning.search.thoughts import (
    ThoughtPrompt,
    clean_thought,
    dedup_key,
    parse_answer,
    thought_messages,
    unique_associations,
)
from reasoning.search.tree import (
    Node,
    Tree,
    add_child,
    backpropagate,
    best_node,
    mark_exhausted,
    new_tree,
    path_to,
    select,
    update_node,
)

EventSink = Callable[[SearchEvent], None]


class _BudgetHit(SearchBudgetExceeded):
    def __init__(self, reason: StopReason) -> None:
        super().__init__(f"search budget exhausted: {reason}", hint="raise the budget in SearchSettings")
        self.reason: StopReason = reason
        self.new_ids: list[int] = []


def _used(collaborator: object) -> int:
    usage = getattr(collaborator, "usage", None)
    return usage.total_tokens if isinstance(usage, Usage) else 0


class _Run:
    """The mutable shell of one search: the current tree value, the spend, the environment copies."""

    def __init__(self, tree: Tree, settings: SearchSettings, clock: Callable[[], float]) -> None:
        self.tree = tree
        self.settings = settings
        self.clock = clock
        self.start = clock()
        self.tokens = 0
        self.envs: dict[int, CopyableEnv] = {}

    @property
    def nodes(self) -> int:
        return len(self.tree) - 1

    def seconds(self) -> float:
        return self.clock() - self.start

    def exceeded(self) -> StopReason | None:
        s = self.settings
        if self.nodes >= s.max_nodes:
            return "nodes"
        if self.tokens >= s.max_tokens:
            return "tokens"
        if self.seconds() >= s.max_seconds:
            return "time"
        return None

    def check(self) -> None:
        reason = self.exceeded()
        if reason is not None:
            raise _BudgetHit(reason)

    def tokens_left(self) -> int:
        return max(1, self.settings.max_tokens - self.tokens)


class CoATSearch:
    """Chain-of-Associated-Thoughts MCTS, with the model, the associator and the evaluator injected.

    Args:
        llm: generates the thoughts.
        associator: AM(n) per node; None: no associations (F_a = 0).
        evaluator: V(n)'s parts per node; None: an :class:`LLMJudge` on ``llm``.
        settings: budgets and constants (nodes, depth, tokens, seconds, K, c, beta, accept_value).
        seed: derives every sampling seed, so a deterministic engine gives the same tree.
        on_event: called with a :class:`SearchEvent` at the start, after every node and at the stop.
        prompt: builds the expansion prompt (default :func:`~reasoning.search.thoughts.thought_messages`).
        temperature: sampling temperature of the 2nd..K-th candidates (the first is greedy).
        thought_max_tokens: generation cap of one thought.
        reward_weight: environment mode: weight of the collected reward in V(n).
        action_proposer: environment mode: picks candidate commands (default: option scoring when the
            engine can score, else the first admissible ones).
        clock: the wall clock (injectable for tests).
    """

    def __init__(
        self,
        llm: LLM,
        *,
        associator: Associator | None = None,
        evaluator: Evaluator | None = None,
        settings: SearchSettings | None = None,
        seed: int = 0,
        on_event: EventSink | None = None,
        prompt: ThoughtPrompt = thought_messages,
        temperature: float = 0.7,
        thought_max_tokens: int = 48,
        reward_weight: float = 1.0,
        action_proposer: ActionProposer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.llm = llm
        self.associator = associator
        self.evaluator: Evaluator = evaluator if evaluator is not None else LLMJudge(llm)
        self.settings = settings or SearchSettings.model_validate({})
        self.seed = seed
        self.on_event = on_event
        self.prompt = prompt
        self.temperature = temperature
        self.thought_max_tokens = thought_max_tokens
        self.reward_weight = reward_weight
        self.action_proposer = action_proposer
        self.clock = clock

    # ----------------------------------------------------------------- public entry points

    def run(self, question: str, *, context: str = "") -> SearchResult:
        """Search for an answer to ``question`` (``context`` is prepended to every expansion prompt).

        Returns:
            the best answer found when the judge accepted one or a budget ran out.

        Raises:
            InvalidInputError: the question is empty.
            LLMError: a model call failed (after the engine's own retries).
        """
        if not question.strip():
            raise InvalidInputError("the question is empty", hint="pass the question to think about")
        run = _Run(new_tree(question), self.settings, self.clock)
        self._associate_root(run, question, [])

        def expand(leaf: int) -> tuple[list[int], bool]:
            return self._expand_thoughts(run, leaf, context)

        return self._loop(run, expand, env_mode=False)

    def run_env(self, env: CopyableEnv, goal: str, *, observation: str = "") -> SearchResult:
        """Look ahead from ``env``'s current state over commands, on copies; ``env`` itself is never stepped.

        Every copy made is closed (when it has ``close``) before returning.

        Returns:
            a result whose ``actions`` are the commands of the best chain; execute ``actions[0]`` next.
        """
        if not goal.strip():
            raise InvalidInputError("the goal is empty", hint="describe what the agent should achieve")
        run = _Run(new_tree(goal, observation=observation), self.settings, self.clock)
        run.envs[0] = env.copy()
        self._associate_root(run, goal, [observation] if observation else [])
        proposer = self.action_proposer or default_proposer(self.llm)

        def expand(leaf: int) -> tuple[list[int], bool]:
            return self._expand_actions(run, leaf, proposer)

        try:
            return self._loop(run, expand, env_mode=True)
        finally:
            for copy in run.envs.values():  # release the copies (a TextWorld copy is a running game)
                close = getattr(copy, "close", None)
                if callable(close):
                    close()

    # ----------------------------------------------------------------- the loop

    def _loop(
        self, run: _Run, expand: Callable[[int], tuple[list[int], bool]], *, env_mode: bool
    ) -> SearchResult:
        self._emit(run, "start")
        reason: StopReason
        while True:
            hit = run.exceeded()
            if hit is not None:
                reason = hit
                break
            leaf = select(run.tree, self.settings.exploration)
            if leaf is None:
                reached = any(n.depth >= self.settings.max_depth for n in run.tree.nodes)
                reason = "depth" if reached else "exhausted"
                break
            try:
                new_ids, accepted = expand(leaf)
                hit_reason: StopReason | None = None
            except _BudgetHit as exc:
                new_ids, accepted, hit_reason = exc.new_ids, False, exc.reason
            run.tree = self._settle(run.tree, leaf, new_ids, dead_end=hit_reason is None)
            if accepted:
                reason = "judge"
                break
            if hit_reason is not None:
                reason = hit_reason
                break
        return self._result(run, reason, env_mode=env_mode)

    @staticmethod
    def _settle(tree: Tree, leaf: int, new_ids: Sequence[int], *, dead_end: bool) -> Tree:
        """Backpropagate the best new child's value and mark terminal nodes exhausted."""
        if not new_ids:
            if dead_end:  # the expansion produced nothing: never select this leaf again
                tree = update_node(tree, replace(tree.nodes[leaf], terminal=True))
                tree = mark_exhausted(tree, leaf)
            return tree
        tree = backpropagate(tree, leaf, max(tree.nodes[c].value for c in new_ids))
        for c in new_ids:
            if tree.nodes[c].terminal:
                tree = mark_exhausted(tree, c)
        return tree

    # ----------------------------------------------------------------- expansion

    def _associate_root(self, run: _Run, question: str, path: list[str]) -> None:
        if self.associator is None:
            return
        before = _used(self.associator)
        found = tuple(self.associator(question, path))
        run.tokens += _used(self.associator) - before
        run.tree = update_node(run.tree, replace(run.tree.root, associations=found))

    def _sample_seed(self, node_id: int, k: int) -> int:
        return (self.seed * 1_000_003 + node_id * 101 + k) % (2**31)

    def _associate_and_evaluate(
        self, run: _Run, question: str, path: list[str], answer: str | None
    ) -> tuple[tuple[Association, ...], Evaluation, int]:
        spent = 0
        found: tuple[Association, ...] = ()
        if self.associator is not None:
            run.check()
            before = _used(self.associator)
            found = tuple(self.associator(question, path))
            spent += _used(self.associator) - before
            run.tokens += _used(self.associator) - before
        run.check()
        before = _used(self.evaluator)
        evaluation = self.evaluator(question, path, found, answer)
        spent += _used(self.evaluator) - before
        run.tokens += _used(self.evaluator) - before
        return found, evaluation, spent

    def _budget_children(self, run: _Run) -> int:
        return max(0, min(self.settings.branching, self.settings.max_nodes - run.nodes))

    def _expand_thoughts(self, run: _Run, leaf_id: int, context: str) -> tuple[list[int], bool]:
        s = self.settings
        tree = run.tree
        leaf = tree.nodes[leaf_id]
        chain = path_to(tree, leaf_id)
        path = [n.thought for n in chain[1:]]
        facts = unique_associations([n.associations for n in chain])
        final = leaf.depth + 1 >= s.max_depth
        messages = self.prompt(tree.question, context, path, facts, final)
        new_ids: list[int] = []
        keys = {dedup_key(tree.nodes[c].thought) for c in leaf.children}
        try:
            for k in range(self._budget_children(run)):
                run.check()
                options = GenerationOptions(
                    max_tokens=min(self.thought_max_tokens, run.tokens_left()),
                    temperature=0.0 if k == 0 else self.temperature,
                    seed=self._sample_seed(leaf_id, k),
                )
                completion = self.llm.complete(messages, options)
                cost = completion.usage.total_tokens
                run.tokens += cost
                thought = clean_thought(completion.text)
                key = dedup_key(thought)
                if not key or key in keys:
                    continue
                keys.add(key)
                answer = parse_answer(thought) or (thought if final else None)
                found, evaluation, spent = self._associate_and_evaluate(
                    run, tree.question, [*path, thought], answer
                )
                value = evaluation.thought_score + s.beta * evaluation.association_score
                accepted = answer is not None and (
                    evaluation.accepted or evaluation.thought_score >= s.accept_value
                )
                child = Node(
                    0, leaf_id, 0, thought=thought, answer=answer, associations=found,
                    thought_score=evaluation.thought_score, association_score=evaluation.association_score,
                    value=value, visits=1, value_sum=value, terminal=answer is not None or final,
                    accepted=accepted, tokens=cost + spent,
                )  # fmt: skip
                run.tree, cid = add_child(run.tree, leaf_id, child)
                new_ids.append(cid)
                self._emit(run, "node", run.tree.nodes[cid])
                if accepted:
                    return new_ids, True
        except _BudgetHit as hit:
            raise _with_ids(hit, new_ids) from None
        return new_ids, False

    def _expand_actions(self, run: _Run, leaf_id: int, proposer: ActionProposer) -> tuple[list[int], bool]:
        s = self.settings
        tree = run.tree
        leaf = tree.nodes[leaf_id]
        chain = path_to(tree, leaf_id)
        history = ([tree.root.observation] if tree.root.observation else []) + [n.thought for n in chain[1:]]
        env = run.envs[leaf_id]
        new_ids: list[int] = []
        try:
            run.check()
            before = _used(proposer)
            commands = proposer(tree.question, history, env.admissible_commands(), self._budget_children(run))
            run.tokens += _used(proposer) - before
            seen: set[str] = set()
            for command in commands[: self._budget_children(run)]:
                if command in seen:
                    continue
                seen.add(command)
                run.check()
                child_env = env.copy()
                observation, reward, done = child_env.step(command)
                thought = f"> {command}\n{observation.strip()}"
                found, evaluation, spent = self._associate_and_evaluate(
                    run, tree.question, [*history, thought], None
                )
                total_reward = leaf.reward + reward
                value = (
                    evaluation.thought_score
                    + s.beta * evaluation.association_score
                    + self.reward_weight * total_reward
                )
                child = Node(
                    0, leaf_id, 0, thought=thought, action=command, observation=observation,
                    associations=found,
                    thought_score=evaluation.thought_score, association_score=evaluation.association_score,
                    reward=total_reward, value=value, visits=1, value_sum=value,
                    terminal=done or leaf.depth + 1 >= s.max_depth,
                    accepted=evaluation.accepted, tokens=spent,
                )  # fmt: skip
                run.tree, cid = add_child(run.tree, leaf_id, child)
                run.envs[cid] = child_env
                new_ids.append(cid)
                self._emit(run, "node", run.tree.nodes[cid])
                if evaluation.accepted:
                    return new_ids, True
        except _BudgetHit as hit:
            raise _with_ids(hit, new_ids) from None
        return new_ids, False

    # ----------------------------------------------------------------- output

    def _emit(self, run: _Run, kind: str, node: Node | None = None, text: str = "") -> None:
        if self.on_event is None:
            return
        best = best_node(run.tree)
        event = SearchEvent(
            kind="node" if kind == "node" else ("start" if kind == "start" else "stop"),
            nodes=run.nodes,
            best_value=best.value,
            tokens=run.tokens,
            seconds=run.seconds(),
            node_id=node.id if node else None,
            parent_id=node.parent if node else None,
            depth=node.depth if node else 0,
            text=node.thought if node else text,
        )
        self.on_event(event)

    def _result(self, run: _Run, reason: StopReason, *, env_mode: bool) -> SearchResult:
        tree = run.tree
        best = best_node(tree)
        chain = path_to(tree, best.id)[1:]
        actions = [n.action for n in chain if n.action is not None]
        stated = best.answer if best.answer is not None else best.thought
        answer = (actions[0] if actions else "") if env_mode else stated
        self._emit(run, "stop", text=reason)
        return SearchResult(
            answer=answer,
            value=best.value,
            chain=[n.thought for n in chain],
            associations=[n.associations for n in chain],
            tree=tree,
            best_id=best.id,
            tokens=run.tokens,
            nodes=run.nodes,
            seconds=run.seconds(),
            stopped_by=reason,
            accepted=best.accepted,
            actions=actions,
        )


def _with_ids(hit: _BudgetHit, new_ids: list[int]) -> _BudgetHit:
    """Attach the children finished before the budget ran out, so the loop can still backpropagate them."""
    hit.new_ids = list(new_ids)
    return hit


__all__ = ["CoATSearch", "EventSink"]
