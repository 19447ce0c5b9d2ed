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

Budgets (nodes, tokens, wall time) and the caller's ``stop`` flag (Ctrl-C) are checked before every model call;
when one runs out the search stops cleanly, keeps every node finished so far and returns the best answer
found. A new node starts only if it fits the token budget at the cost of the last node; a node's generation is
capped to the tokens left, so the budget is overshot by at most the uncached prompt of one model call.
Tokens are the ones the model ran (``Usage.computed_tokens``: a prefix-caching engine does not run a prompt
prefix it already holds; siblings share their parent's prompt).

Answers: a candidate stating an answer that echoes the question or one of the caller's ``avoid`` texts (the user's
own messages), or that is itself a question, is dropped like a duplicate. The final answer
(``settings.answer_from``): "path" (the default) generates it once more from the associations recalled along the
winning path only, linked into a chain from the question (:func:`answer_facts`, at most ``settings.answer_facts``),
and then the question (:func:`~reasoning.search.thoughts.answer_messages`): what a chain of associated thoughts
gives over a single recall is a focused context, each hop recalling for its own thought. "tree" does the same from
every association recalled in the tree (an ablation), "node" takes the best node's own stated answer and, when it
states none, concludes one at the end of its chain. The loop keeps back what this last generation would cost now
(:data:`ANSWER_MAX_TOKENS` and its prompt as the engine prices it, re-priced after every expansion; at least
:data:`ANSWER_PROMPT_TOKENS` for the prompt); when a last expansion made a longer chain the best, the answer step
drops the chain's first facts until its prompt's cost fits what is left (the fact that answers is the chain's
last: "Kaka lives in Drodro." after "Telka's sister is Riskaka.", "Riskaka's teacher is Kaka.").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from reasoning.config import SearchSettings
from reasoning.errors import InvalidInputError, SearchBudgetExceeded
from reasoning.llm import LLM, GenerationOptions, Message, PromptCoster, Usage
from reasoning.search.associations import Association, Associator
from reasoning.search.environment import ActionProposer, CopyableEnv, default_proposer
from reasoning.search.evaluators import Evaluation, Evaluator, LLMJudge, TranscriptEvaluator
from reasoning.search.result import SearchEvent, SearchResult, StopReason
from reasoning.search.thoughts import (
    ANSWER_NOW,
    NEXT_STEP,
    STEP_STOPS,
    ThoughtPrompt,
    answer_from_facts,
    answer_messages,
    clean_thought,
    dedup_key,
    is_echo,
    parse_answer,
    thought_conversation,
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
from reasoning.words import terms

EventSink = Callable[[SearchEvent], None]
StopFlag = Callable[[], bool]
"""``stop()`` True asks the search to end before its next model call (stopped_by "interrupted")."""

ANSWER_PROMPT_TOKENS = 60
"""Budget kept for the final answer step's prompt tokens the prefix cache does not hold (its facts, its request
line; the conclusion's last step)."""
ANSWER_MAX_TOKENS = 24
"""Generation cap of the final answer (an answer naming made-up places runs to 15-20 tokens)."""
MIN_GENERATION = 4
"""A generation is not started with fewer tokens than this left for it."""
CHARS_PER_TOKEN = 3
"""A conservative estimate of the characters per token of a prompt (made-up names split into short tokens)."""


class _BudgetHit(SearchBudgetExceeded):
    def __init__(self, reason: StopReason) -> None:
        super().__init__(f"search budget exhausted: {reason}")
        self.reason: StopReason = reason
        self.new_ids: list[int] = []


def _used(collaborator: object) -> int:
    usage = getattr(collaborator, "usage", None)
    return usage.computed_tokens if isinstance(usage, Usage) else 0


class _Run:
    """The mutable shell of one search: the current tree value, the spend, the environment copies.

    ``reserve`` tokens of the budget are kept back from the loop (for the conclusion)."""

    def __init__(
        self,
        tree: Tree,
        settings: SearchSettings,
        clock: Callable[[], float],
        stop: StopFlag | None = None,
        reserve: int = 0,
    ) -> None:
        self.tree = tree
        self.settings = settings
        self.clock = clock
        self.stop = stop
        self.reserve = min(reserve, settings.max_tokens // 2)
        self.start = clock()
        self.tokens = 0
        self.node_cost = 0  # tokens of the last node made (generation, association, evaluation)
        self.envs: dict[int, CopyableEnv] = {}

    @property
    def nodes(self) -> int:
        return len(self.tree) - 1

    def seconds(self) -> float:
        return self.clock() - self.start

    def exceeded(self, *, new_node: bool = False) -> StopReason | None:
        """Why the search must stop now, if it must. ``new_node``: a node is about to start; it must fit the
        token budget at the cost of the last node (``node_cost``), so the budget is rarely overshot."""
        s = self.settings
        if self.stop is not None and self.stop():
            return "interrupted"
        if self.nodes >= s.max_nodes:
            return "nodes"
        if self.tokens + (self.node_cost if new_node else 0) >= s.max_tokens - self.reserve:
            return "tokens"
        if self.seconds() >= s.max_seconds:
            return "time"
        return None

    def check(self, *, new_node: bool = False) -> None:
        reason = self.exceeded(new_node=new_node)
        if reason is not None:
            raise _BudgetHit(reason)

    def tokens_left(self) -> int:
        return max(1, self.settings.max_tokens - self.reserve - self.tokens)

    @property
    def deepest(self) -> int:
        return max(n.depth for n in self.tree.nodes)


class CoATSearch:
    """Chain-of-Associated-Thoughts MCTS, with the model, the associator and the evaluator injected.

    Args:
        llm: generates the thoughts.
        associator: AM(n) per node; None: no associations (F_a = 0).
        evaluator: V(n)'s parts per node; None: an :class:`LLMJudge` on ``llm``.
        settings: budgets and constants (nodes, depth, tokens, seconds, K, c, beta, accept_value).
        seed: derives every sampling seed, so a deterministic engine gives the same tree.
        on_event: called with a :class:`SearchEvent` at the start, after every node and at the stop.
        prompt: a flat expansion prompt (say :func:`~reasoning.search.thoughts.thought_messages`); None: the
            conversation layout of :func:`~reasoning.search.thoughts.thought_conversation`, where a node's
            prompt extends its parent's (shared prefix on a caching engine).
        temperature: sampling temperature of the 2nd..K-th candidates (the first is greedy).
        thought_max_tokens: generation cap of one thought (a thought is one short step).
        reward_weight: environment mode: weight of the collected reward in V(n).
        action_proposer: environment mode: picks candidate commands (default: option scoring when the
            engine can score, else the first admissible ones).
        clock: the wall clock (injectable for tests).
        conclude: run the final answer step of ``settings.answer_from`` (the loop keeps back what it would
            cost); False: the answer is the best node's
            stated answer, else its thought.

    Values (``settings.confidence``): a node valued by confidence costs no model call: F_g = the generator's
    confidence in its own words (exp of ``Completion.logprob``, the mean token log-probability) and F_a = the
    mean score of its associations. "thoughts" (the default) values so the thoughts that state no answer and
    sends answers to the evaluator; "all" values answers so too (no evaluator call at all, so no answer is
    accepted early); "off" sends every node to the evaluator, as does an engine that reports no ``logprob``. A
    node's step (its thought and associations) then runs through the model only if the node is expanded.
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
        prompt: ThoughtPrompt | None = None,
        temperature: float = 0.7,
        thought_max_tokens: int = 14,
        reward_weight: float = 1.0,
        action_proposer: ActionProposer | None = None,
        clock: Callable[[], float] = time.monotonic,
        conclude: bool = True,
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
        self.conclude = conclude

    # ----------------------------------------------------------------- public entry points

    def run(
        self,
        question: str,
        *,
        context: str = "",
        avoid: Sequence[str] = (),
        stop: StopFlag | None = None,
    ) -> SearchResult:
        """Search for an answer to ``question`` (``context`` is prepended to every expansion prompt).

        Args:
            question: what to answer.
            context: text every expansion prompt starts with (say, the agent's recalled notes).
            avoid: texts an answer must not merely repeat (the user's own messages); the question always is.
            stop: polled before every model call; True ends the search ("interrupted") with the best so far.

        Returns:
            the best answer found when the judge accepted one, a budget ran out or ``stop`` said so; when the
            best node states no answer, the answer concluded from its chain (see the module docstring).

        Raises:
            InvalidInputError: the question is empty.
            LLMError: a model call failed (after the engine's own retries).
        """
        if not question.strip():
            raise InvalidInputError("the question is empty", hint="pass the question to think about")
        reserve = ANSWER_MAX_TOKENS + ANSWER_PROMPT_TOKENS if self.conclude else 0
        run = _Run(new_tree(question), self.settings, self.clock, stop, reserve)
        echoes = [question, *avoid]
        self._associate_root(run, question, [])

        def expand(leaf: int) -> tuple[list[int], bool]:
            return self._expand_thoughts(run, leaf, context, echoes)

        concluding = (context, echoes) if self.conclude else None
        return self._loop(run, expand, env_mode=False, conclude=concluding)

    def run_env(
        self, env: CopyableEnv, goal: str, *, observation: str = "", stop: StopFlag | None = None
    ) -> SearchResult:
        """Look ahead from ``env``'s current state over commands, on copies; ``env`` itself is never stepped.

        Every copy made is closed (when it has ``close``) before returning.

        Returns:
            a result whose ``actions`` are the commands of the best chain; execute ``actions[0]`` next.
        """
        if not goal.strip():
            raise InvalidInputError("the goal is empty", hint="describe what the agent should achieve")
        run = _Run(new_tree(goal, observation=observation), self.settings, self.clock, stop)
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
        self,
        run: _Run,
        expand: Callable[[int], tuple[list[int], bool]],
        *,
        env_mode: bool,
        conclude: tuple[str, list[str]] | None = None,
    ) -> SearchResult:
        self._emit(run, "start")
        reason: StopReason
        if conclude is not None:
            self._reserve_answer(run, conclude[0])
        while True:
            hit = run.exceeded(new_node=True)
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
            if conclude is not None:
                self._reserve_answer(run, conclude[0])
            if accepted:
                reason = "judge"
                break
            if hit_reason is not None:
                reason = hit_reason
                break
        concluded: tuple[str | None, tuple[Association, ...]] = (None, ())
        if conclude is not None and reason != "interrupted":
            concluded = self._final_answer(run, *conclude)
        return self._result(run, reason, env_mode=env_mode, concluded=concluded)

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

    def _messages(
        self,
        tree: Tree,
        chain: Sequence[Node],
        context: str,
        request: str | None,
        new: tuple[str, Sequence[Association]] | None = None,
    ) -> list[Message]:
        """The prompt at the end of ``chain`` (root first), extended by a ``new`` (thought, associations) step;
        ``request`` None: no request line (a judge asks its own question)."""
        steps = [(n.thought, n.associations) for n in chain[1:]] + ([new] if new is not None else [])
        if self.prompt is None:  # each step lists only the facts the path has not listed yet
            found = _fresh([chain[0].associations, *(f for _, f in steps)])
            fresh = [(t, f) for (t, _), f in zip(steps, found[1:], strict=True)]
            return thought_conversation(tree.question, context, chain[0].associations, fresh, request)
        facts = unique_associations([chain[0].associations, *(f for _, f in steps)])
        return self.prompt(tree.question, context, [t for t, _ in steps], facts, request == ANSWER_NOW)

    def _best(self, tree: Tree, *, env_mode: bool) -> Node:
        """The winning node: when the final answer is generated from facts ("path", "tree"), the highest-valued
        node whether or not it states an answer (its path is what the answer is given); else answers first."""
        from_facts = self.conclude and not env_mode and self.settings.answer_from != "node"
        return best_node(tree, answers_first=not from_facts)

    def _prompt_cost(self, messages: Sequence[Message], unknown: int = 0) -> int:
        """The prompt tokens a call would compute now, from the engine (:class:`PromptCoster`); ``unknown``
        where it cannot say (the generation is then capped by the budget alone)."""
        return self.llm.prompt_cost(messages) if isinstance(self.llm, PromptCoster) else unknown

    def _sample_seed(self, node_id: int, k: int) -> int:
        return (self.seed * 1_000_003 + node_id * 101 + k) % (2**31)

    def _associate_and_evaluate(
        self,
        run: _Run,
        question: str,
        path: list[str],
        answer: str | None,
        recall_path: list[str] | None = None,
        transcript: Callable[[tuple[Association, ...]], list[Message]] | None = None,
        confidence: float | None = None,
        known: frozenset[str] = frozenset(),
    ) -> tuple[tuple[Association, ...], Evaluation, int]:
        """AM(n) and V(n)'s parts of a new node; ``transcript(AM(n))`` (the prompt that would expand the node)
        lets a :class:`TranscriptEvaluator` score it there; a ``confidence`` is F_g itself (no evaluator call;
        F_a is then what AM(n) adds to its path: the mean score of AM(n), an association already recalled on
        the path (its dedup key in ``known``) counting 0)."""
        spent = 0
        found: tuple[Association, ...] = ()
        if self.associator is not None and self.settings.recall_from != "root":
            run.check()
            before = _used(self.associator)
            found = tuple(self.associator(question, path if recall_path is None else recall_path))
            spent += _used(self.associator) - before
            run.tokens += _used(self.associator) - before
        if confidence is not None:
            fresh = [a.score for a in found if dedup_key(a.text) not in known]
            assoc = sum(fresh) / len(found) if found else 0.0
            return found, Evaluation(confidence, assoc, False, f"confidence={confidence:.2f}"), spent
        run.check()
        before = _used(self.evaluator)
        if transcript is not None and isinstance(self.evaluator, TranscriptEvaluator):
            evaluation = self.evaluator.evaluate_transcript(transcript(found), found, answer)
        else:
            evaluation = self.evaluator(question, path, found, answer)
        spent += _used(self.evaluator) - before
        run.tokens += _used(self.evaluator) - before
        return found, evaluation, spent

    def _budget_children(self, run: _Run) -> int:
        return max(0, min(self.settings.branching, self.settings.max_nodes - run.nodes))

    def _expand_thoughts(
        self, run: _Run, leaf_id: int, context: str, echoes: Sequence[str]
    ) -> tuple[list[int], bool]:
        s = self.settings
        tree = run.tree
        leaf = tree.nodes[leaf_id]
        chain = path_to(tree, leaf_id)
        path = [n.thought for n in chain[1:]]
        final = leaf.depth + 1 >= s.max_depth
        messages = self._messages(tree, chain, context, ANSWER_NOW if final else NEXT_STEP)
        new_ids: list[int] = []
        # a candidate repeating a sibling or a step of its own path adds nothing: it is dropped, and the engine is
        # asked not to copy them (GenerationOptions.avoid), so fewer generations are spent on repeats
        said = [*path, *(tree.nodes[c].thought for c in leaf.children)]
        keys = {dedup_key(t) for t in said}
        known = frozenset(dedup_key(a.text) for n in chain for a in n.associations)
        # what the associator is given: per step, the memories recalled just before it (new on the path) and its
        # thought, so each hop recalls for what the last hop brought ("step"); or the thoughts alone ("thought")
        fresh = _fresh([n.associations for n in chain])
        steps = [_step_text(f, n.thought) for f, n in zip(fresh, chain[1:], strict=False)]
        try:
            for k in range(self._budget_children(run)):
                run.check(new_node=True)
                room = run.tokens_left() - self._prompt_cost(messages)
                if room < MIN_GENERATION:  # the prompt alone would overrun the budget
                    raise _BudgetHit("tokens")
                options = GenerationOptions(
                    max_tokens=min(self.thought_max_tokens, room),
                    temperature=0.0 if k == 0 else self.temperature,
                    seed=self._sample_seed(leaf_id, k),
                    stop=STEP_STOPS,  # one step is one line (a lead-in line takes its next one)
                    avoid=tuple(said),
                )
                completion = self.llm.complete(messages, options)
                cost = completion.usage.computed_tokens
                run.tokens += cost
                thought = clean_thought(completion.text)
                said.append(thought)
                key = dedup_key(thought)
                answer = parse_answer(thought) or (thought if final else None)
                if not key or key in keys or dedup_key(thought) == dedup_key(tree.question):
                    continue
                if answer is not None and is_echo(answer, echoes):
                    continue
                keys.add(key)
                by_confidence = s.confidence == "all" or (answer is None and s.confidence == "thoughts")
                confidence = _confidence(completion.logprob) if by_confidence else None
                recall_path = [*steps, _step_text(fresh[-1], thought)] if s.recall_from == "step" else None
                found, evaluation, spent = self._associate_and_evaluate(
                    run, tree.question, [*path, thought], answer, recall_path,
                    lambda am, t=thought: self._messages(tree, chain, context, None, (t, am)),  # type: ignore[misc]
                    confidence, known,
                )  # fmt: skip
                run.node_cost = cost + spent
                value = evaluation.thought_score + s.beta * evaluation.association_score
                # only an evaluator's verdict accepts an answer (a confident generation is no verdict)
                accepted = (
                    answer is not None
                    and confidence is None
                    and (evaluation.accepted or evaluation.thought_score >= s.accept_value)
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
                run.node_cost = spent
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

    def _reserve_answer(self, run: _Run, context: str) -> None:
        """Keep back from the loop what the final answer would cost now: its generation and its prompt as the
        engine prices it (the prompt of the current winning node's answer), at least the static reserve."""
        tree = run.tree
        best = self._best(tree, env_mode=False)
        if self.settings.answer_from == "node":
            messages = self._messages(tree, path_to(tree, best.id), context, ANSWER_NOW)
        else:
            messages = answer_messages(tree.question, context, self._answer_facts(tree, best))
        cost = ANSWER_MAX_TOKENS + self._prompt_cost(messages, ANSWER_PROMPT_TOKENS)
        run.reserve = min(max(cost, ANSWER_MAX_TOKENS + ANSWER_PROMPT_TOKENS), self.settings.max_tokens // 2)

    def _answer_facts(self, tree: Tree, best: Node) -> list[Association]:
        """The facts the final answer step ("path" / "tree") is given when ``best`` is the winning node."""
        nodes = path_to(tree, best.id) if self.settings.answer_from == "path" else list(tree.nodes)
        return answer_facts(tree.question, nodes, self.settings.answer_facts)

    def _final_answer(
        self, run: _Run, context: str, echoes: Sequence[str]
    ) -> tuple[str | None, tuple[Association, ...]]:
        """The last generation (``settings.answer_from``), in the reserved budget: "path"/"tree" answer from the
        question and the ranked facts of the winning path / the whole tree; "node" concludes at the end of the
        best chain when the best node states no answer. Returns (the answer, the facts it was given); the
        answer is None when there was no need, no budget or no facts, or when it echoes the question or the
        user's messages. The answer step is not a node: the tree and the chain stay what the search found."""
        tree = run.tree
        how = self.settings.answer_from
        best = self._best(tree, env_mode=False)
        if run.stop is not None and run.stop():
            return None, ()
        facts: tuple[Association, ...] = ()
        if how == "node":
            if best.answer is not None or (best.id == 0 and not tree.root.associations):
                return None, ()
            messages = self._messages(tree, path_to(tree, best.id), context, ANSWER_NOW)
            left = self.settings.max_tokens - run.tokens - self._prompt_cost(messages, ANSWER_PROMPT_TOKENS)
        else:
            ranked = self._answer_facts(tree, best)
            left = 0
            # drop the chain's first fact until the prompt's cost fits: the answer is at its end
            while ranked:
                facts = tuple(ranked)
                messages = answer_messages(tree.question, context, facts)
                # what an engine that cannot price the prompt is charged for it
                estimate = sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN
                left = self.settings.max_tokens - run.tokens - self._prompt_cost(messages, estimate)
                if left >= MIN_GENERATION:
                    break
                ranked = ranked[1:]
            if not ranked:
                return None, ()
        if left < MIN_GENERATION:
            return None, ()
        options = GenerationOptions(max_tokens=min(ANSWER_MAX_TOKENS, left), temperature=0.0)
        if how == "node":
            completion = self.llm.complete(messages, options)
            thought = clean_thought(completion.text)
            answer = parse_answer(thought) or thought
        else:
            spell = self.settings.spell_as_facts
            answer, completion = answer_from_facts(
                self.llm, tree.question, context, facts, options, spell=spell
            )
        run.tokens += completion.usage.computed_tokens
        return (None, facts) if is_echo(answer, echoes) else (answer, facts)

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
            deepest=run.deepest,
        )
        self.on_event(event)

    def _result(
        self,
        run: _Run,
        reason: StopReason,
        *,
        env_mode: bool,
        concluded: tuple[str | None, tuple[Association, ...]] = (None, ()),
    ) -> SearchResult:
        tree = run.tree
        best = self._best(tree, env_mode=env_mode)
        chain = path_to(tree, best.id)[1:]
        actions = [n.action for n in chain if n.action is not None]
        final, facts = concluded
        stated = final or (best.answer if best.answer is not None else best.thought)
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
            concluded=final is not None,
            answered_from=facts if final is not None else (),
        )


def path_facts(nodes: Sequence[Node], limit: int) -> list[Association]:
    """The facts a final answer is given: the associations of ``nodes`` (a path, root first, or a whole tree),
    each at its first recall, ranked by the depth of the node that first recalled it, deepest first (the newest
    hop recalled for the newest thought), then in the associator's order; at most ``limit``. (The answer prompt
    lists them root first.)"""
    return [a for _, _, a in _ranked_facts(nodes)[:limit]]


def answer_facts(question: str, nodes: Sequence[Node], limit: int) -> list[Association]:
    """The facts the final answer is given: the associations of ``nodes`` (ranked as :func:`path_facts`) linked
    into a chain from the question (:func:`chain_facts`), at most ``limit``, or when no fact speaks of the
    question's terms the ``limit`` best-ranked; listed in the order the search reached them, root first (facts of
    one depth in chain order). A chain may be linked from its middle ("Riskaka's teacher is Kaka." shares as
    much with the question as "Telka's sister is Riskaka."); the depth of recall restores the hops' order."""
    ranked = _ranked_facts(nodes)
    chain = chain_facts(question, [a for _, _, a in ranked], limit) or [a for _, _, a in ranked[:limit]]
    depth = {id(a): d for d, _, a in ranked}
    return [a for _, a in sorted(enumerate(chain), key=lambda t: (depth[id(t[1])], t[0]))]


def chain_facts(question: str, facts: Sequence[Association], limit: int) -> list[Association]:
    """``facts`` linked into a chain from ``question`` by the terms they share (:func:`reasoning.words.terms`),
    each term weighted 1 / (the number of ``facts`` holding it), so a name links more than "lives": the first
    fact shares most with the question; each next one shares most with what the chain brought and no link has
    followed yet (its facts' terms that neither the question nor an earlier fact holds, less those a later link
    shared), plus half its weight of the question's terms; the chain ends when no fact shares a term with that,
    or at ``limit`` facts. Ties go to the earlier fact. Empty when no fact shares a term with the question."""
    held = [terms(a.text) for a in facts]
    df: dict[str, int] = {}
    for ts in held:
        for t in ts:
            df[t] = df.get(t, 0) + 1

    def weight(shared: set[str]) -> float:
        return sum(1.0 / df[t] for t in shared)

    asked = terms(question)
    left = list(range(len(facts)))
    first = max(left, key=lambda i: (weight(held[i] & asked), -i), default=None)
    if first is None or not held[first] & asked:
        return []
    chain, seen = [first], asked | held[first]
    new = held[first] - asked
    left.remove(first)
    while left and len(chain) < limit:
        best = max(left, key=lambda i: (weight(held[i] & new) + 0.5 * weight(held[i] & asked), -i))
        if not held[best] & new:
            break
        chain.append(best)
        left.remove(best)
        new, seen = (new - held[best]) | (held[best] - seen), seen | held[best]
    return [facts[i] for i in chain]


def _ranked_facts(nodes: Sequence[Node]) -> list[tuple[int, int, Association]]:
    """(depth of first recall, rank there, association) of every distinct association of ``nodes``, ranked as
    :func:`path_facts` says."""
    first: dict[str, tuple[int, int, Association]] = {}
    for node in nodes:
        for rank, a in enumerate(node.associations):
            key = dedup_key(a.text)
            if key and (key not in first or (node.depth, rank) < first[key][:2]):
                first[key] = (node.depth, rank, a)
    return sorted(first.values(), key=lambda t: (-t[0], t[1]))


def _fresh(groups: Sequence[Sequence[Association]]) -> list[list[Association]]:
    """Per group of associations along a path (root first), the ones not in an earlier group."""
    listed: list[Association] = []
    out: list[list[Association]] = []
    for group in groups:
        new = unique_associations([listed, group])[len(listed) :]
        listed += new
        out.append(new)
    return out


def _step_text(facts: Sequence[Association], thought: str) -> str:
    """A step of a path as the associator sees it: the memories recalled just before it, then its thought."""
    return "\n".join([*(a.text for a in facts), thought])


def _confidence(logprob: float | None) -> float | None:
    """The generator's confidence in a reply from its mean token log-probability (None: not reported)."""
    return None if logprob is None else min(1.0, max(0.0, math.exp(logprob)))


def _with_ids(hit: _BudgetHit, new_ids: list[int]) -> _BudgetHit:
    """Attach the children finished before the budget ran out, so the loop can still backpropagate them."""
    hit.new_ids = list(new_ids)
    return hit


__all__ = ["CoATSearch", "EventSink", "answer_facts", "chain_facts", "path_facts"]
