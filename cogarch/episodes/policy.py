"""Game-playing policies: the ``ActionPolicy`` protocol, the world-model policy (AriGraph-style) and baselines.

The agent's act node calls ``policy.choose(ctx)`` with a :class:`GameContext` and, after the environment
answers, ``policy.observe(ctx, command, next_observation, reward, done)``.

``WorldModelPolicy`` reasons over the objective, its memory, a plan and the admissible commands only:

1. update the world model (``cogarch.worldmodel``) from the observation: triplets, outdated ones replaced,
   the action memory (tried, failed, rewarded commands per room); read the objective's placement goals ("put
   the X on the Y" in any words, ``goals.py``). With the agent's memory (``GameContext.memory`` and
   ``.episode``) the triplets are memory's current facts: read from it each step, the changes written back
   with the observation's episode as their source (a moved thing's old place closed, not deleted; see
   ``cogarch.worldmodel.facts``);
2. keep a plan (``plan.Plan``): instruction steps from the objective, plus notes: the text of what the agent
   read when it examined something the plan names (a generic "read what you are told to read");
3. value each admissible command:
   ``v = relevance to the plan + goal bonus + go-to / exploration bonus + novelty - failure and repetition
   penalties``, where a command that carries out a goal wins, fetching a goal's thing is worth half of it,
   "go to" follows a shortest path over the graph to a room the plan names or where a goal's thing or holder
   is, and exploration follows the path to the nearest unexplored exit, else to the nearest room with
   something left to take, open or unlock (closed doors and lids are frontier too);
4. where the rules are unsure (commands valued within ``Weights.unsure`` of the best: a tie), re-rank those
   by the LLM: one batched ``score_options`` call (mean log-likelihood of each command after a short prompt
   with the plan, the relevant triplets and recalled episodes), z-scored and weighted; engines without option
   scoring are asked for a structured choice instead. A best command ahead of every other costs no call;
   When the current step is in words no command uses ("enjoy your meal" while the game offers ``eat``), the
   LLM is asked which command on the step's things carries it out (``_interpret``); the rules never guess;
5. optionally (``lookahead=``, off by default) a LATS look-ahead on copies of the game among the contenders.

Ablations remove memory and nothing else: each step they start from a fresh world model and plan built from
the objective and the current observation (no map or facts read from memory, no action memory, no notes, no
recalled episodes), and
value commands with the same rules (goals, exploration of what is in view, penalties) and the same LLM
re-ranking. They differ in what the LLM sees: ``no-memory`` the current observation only, ``full-history``
every past command and observation (up to ``history_chars``; older entries leave in jumps of half the budget,
so the prompt's prefix is reusable), ``rag`` the past observations most similar to the current one.
No rule names an object or a game family; the hidden state is never read (``GameContext.info`` has none).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from cogarch.episodes.goals import Goal, placement_goals
from cogarch.episodes.plan import Plan, match
from cogarch.game import ActionPolicy, GameContext
from cogarch.worldmodel.commands import parse_command, placement, things_named
from cogarch.worldmodel.facts import MemoryFacts
from cogarch.worldmodel.graph import Triplet
from cogarch.worldmodel.text import (
    OPPOSITE,
    command_direction,
    command_verb,
    command_words,
    content_words,
    lemma,
    words,
)
from cogarch.worldmodel.world import Extractor, WorldModel
from reasoning.llm import GenerationOptions, Message, OptionScorer

Ablation = Literal["full", "no-memory", "full-history", "rag"]
ABLATIONS: tuple[Ablation, ...] = ("full", "no-memory", "full-history", "rag")


class _Choice(BaseModel):
    """Structured choice for engines without option scoring."""

    index: int


_META = {"look", "inventory"}
_INSPECT = {"examine", "look", "inventory", "read"}
_ENABLING = {"take", "open", "unlock"}
"""Verbs whose untried commands are a room's unfinished business (they may bring keys and tools to hand)."""
_FREE = {"take", "open", "close", "examine", "look", "inventory", "go", "drop", "put", "insert", "unlock"}
"""Verbs that move things or look at them without changing what they are (Inform's standard actions)."""
_UNDO = {
    "drop": "take",
    "put": "take",
    "insert": "take",
    "close": "open",
    "take": "drop",
    "open": "close",
    "lock": "unlock",
    "unlock": "lock",
}


@dataclass
class Weights:
    """Weights of the command value (documented defaults; not tuned per game)."""

    relevance: float = 2.0
    goto: float = 1.2
    explore: float = 0.8
    novelty: float = 0.4
    repeat: float = 0.25
    failed: float = 2.0
    rewarded: float = 1.5
    undo: float = 0.8
    meta: float = 0.6
    goal: float = 3.0
    llm: float = 0.3
    lookahead: float = 1.0
    unsure: float = 0.05
    """The rules are unsure when commands lie within this of the best value: only those are re-ranked by the
    LLM, and a best command this far ahead of every other is chosen without asking it."""


class WorldModelPolicy:
    """The AriGraph-style policy (see the module docstring).

    Args:
        ablation: "full" or one of the ablations.
        seed: tie-breaking randomness.
        top_k: commands re-ranked by the LLM per step.
        weights: the value weights.
        history_chars: prompt budget for past observations (full-history / rag).
        lookahead: LATS look-ahead ``(goal, observation, candidates) -> command | None`` (see
            ``cogarch.episodes.lookahead``); its pick among the contenders gains ``weights.lookahead``.
            None (default): no look-ahead. May be set after construction (it needs the environment).
        consult_llm: False: never ask the agent's LLM (heuristics only, e.g. ``--no-llm`` through the Agent).
        extractor: extra triplets per observation (``cogarch.worldmodel.extraction.LLMExtractor``: AriGraph's
            LLM extraction); its tokens count in ``tokens``. None: rule-based perception only.
    """

    def __init__(
        self,
        ablation: Ablation = "full",
        *,
        seed: int = 0,
        top_k: int = 6,
        weights: Weights | None = None,
        history_chars: int = 1500,
        lookahead: Callable[[str, str, Sequence[str]], str | None] | None = None,
        consult_llm: bool = True,
        extractor: Extractor | None = None,
    ) -> None:
        if ablation not in ABLATIONS:
            from reasoning.errors import ConfigError

            raise ConfigError(f"unknown ablation {ablation!r}", hint=f"one of {', '.join(ABLATIONS)}")
        self.ablation: Ablation = ablation
        self.rng = random.Random(seed)
        self.top_k = top_k
        self.w = weights or Weights()
        self.history_chars = history_chars
        self.extractor = extractor
        self.world = WorldModel(extractor=extractor)
        self.plan = Plan()
        self.history: list[tuple[str, str]] = []  # (command, observation)
        self._history_from = 0  # the full-history prompt's window start
        self.lookahead = lookahead
        self.consult_llm = consult_llm
        self.tokens = 0
        self._last: str | None = None
        self._last_reward = 0.0
        self._objective = ""
        self._last_observation = ""
        self.last_scores: dict[str, float] = {}
        self._admissible: tuple[str, ...] = ()
        self._done_signatures: set[tuple[str, str]] = set()
        self._things: set[str] = set()
        self.goals: list[Goal] = []
        self._achieved: set[Goal] = set()
        self._blocked: dict[Goal, frozenset[str]] = {}
        self._pending: dict[str, set[str]] = {}
        self._verbs: set[str] = set()  # every verb the game has offered (lemmas)
        self._interpretations: dict[tuple[str, tuple[str, ...]], str] = {}

    @property
    def remembers(self) -> bool:
        """Whether the policy keeps memory across steps (its world model, plan notes, action memory and the
        recalled episodes). The ablations do not: each step they start from the objective and the current
        observation, with the same rules."""
        return self.ablation == "full"

    # --- protocol --------------------------------------------------------------------------------
    def choose(self, ctx: GameContext) -> str:
        if not ctx.admissible:
            return "look"
        admissible = [c for c in ctx.admissible if c.strip()]
        self._admissible = tuple(admissible)
        self._perceive(ctx)
        vocab = {w for c in admissible for w in content_words(c)}
        for r in self.world.graph.rooms():
            vocab |= set(content_words(r))
        self.plan.set_known(vocab)
        self.plan.mark_satisfied({t.subject for t in self.world.graph.triplets})
        self._things |= things_named(admissible)
        self.goals = [g for g in placement_goals(self._objective, self._things) if g not in self._achieved]
        self._update_pending(admissible)
        values = {c: self._value(c) for c in admissible}
        meant = self._interpret(ctx, admissible)
        if meant is not None:
            values[meant] += self.w.goal
        ranked = sorted(admissible, key=lambda c: (-values[c], self.rng.random()))
        slack = self.w.lookahead if self.lookahead is not None else 0.0
        shortlist = _contenders(ranked[: self.top_k], values, self.w.llm, slack)
        shortlist = [c for c in shortlist if values[c] >= values[shortlist[0]] - self.w.unsure - slack]
        llm_scores = self._llm_scores(ctx, shortlist)
        final = {c: values[c] + self.w.llm * llm_scores.get(c, 0.0) for c in shortlist}
        if self.lookahead is not None and len(shortlist) > 1:
            pick = self.lookahead(self.plan.render() or self._objective, ctx.observation, shortlist)
            if pick in final:
                final[pick] += self.w.lookahead
        best = max(final.values())
        ties = [c for c in shortlist if final[c] >= best - 1e-9]
        command = self.rng.choice(ties)
        self.last_scores = final
        self._last = command
        return command

    def _interpret(self, ctx: GameContext, admissible: Sequence[str]) -> str | None:
        """The command that carries out the current step when the rules cannot tell.

        A step whose verbs are none the game has offered ("enjoy your meal" while the commands say ``eat``)
        is in other words than the commands: the LLM is asked which untried command on the step's things
        carries it out (one ``score_options`` call, cached per step and candidates). Only when no other open
        step names the same things (a guess must not destroy what a later step needs). None without an
        option-scoring LLM or with fewer than two candidates: the rules never guess a verb.
        """
        self._verbs |= {lemma(command_verb(c)) for c in admissible}
        cur = self.plan.current
        llm = ctx.llm if self.consult_llm else None
        if cur is None or llm is None or not isinstance(llm, OptionScorer) or cur.words & self._verbs:
            return None
        things = cur.words - cur.said.intersection(self._verbs)
        if any(s is not cur and s.words & self.plan.known & things for s in self.plan.open_steps()):
            # another open step still needs these things: a command in other words might destroy them
            # ("grill the tomato" is not "eat tomato"), so only the step that is the things' last use is read
            return None
        candidates = [
            c
            for c in admissible
            if command_direction(c) is None
            and command_verb(c) not in _INSPECT
            and set(command_words(c)[1:]) <= cur.words
            and len(command_words(c)) > 1
            and self.world.times_tried(c) == 0
        ]
        if len(candidates) < 2:
            return None
        key = (cur.text, tuple(candidates))
        if key not in self._interpretations:
            messages: list[Message] = [
                {"role": "system", "content": "You play a text adventure game."},
                {"role": "user", "content": f'Instruction: "{cur.text}"\nThe command that carries it out:'},
            ]
            scores = llm.score_options(messages, candidates, normalize=True)
            self.tokens += sum(len(m["content"]) // 4 for m in messages) + sum(
                len(c) // 4 for c in candidates
            )
            self._interpretations[key] = max(zip(scores, candidates, strict=True))[1]
        return self._interpretations[key]

    def observe(
        self, ctx: GameContext, command: str, next_observation: str, reward: float, done: bool
    ) -> None:
        self._last = command
        self._last_reward = reward
        self.history.append((command, next_observation))

    # --- perception and plan ---------------------------------------------------------------------
    def _perceive(self, ctx: GameContext) -> None:
        objective = str(ctx.info.get("objective") or "")
        if not self.remembers:
            # the ablations forget between steps: a fresh world model, plan and action memory each step
            self.world = WorldModel(extractor=self.extractor)
            self.plan = Plan()
            self._objective = ""
            self._things = set()
            self._done_signatures = set()
            self._achieved = set()
            self._blocked = {}
            self._pending = {}
        elif self.world.facts is None and ctx.memory is not None and ctx.episode is not None:
            self.world.facts = MemoryFacts(ctx.memory, ctx.user)  # the graph lives in the agent's memory
        if objective and objective != self._objective:
            self._objective = objective
            self.plan.add_text(objective)
        extracted_before = int(getattr(self.extractor, "tokens", 0))
        self.world.observe(
            ctx.observation,
            admissible=ctx.admissible,
            info=ctx.info,
            command=self._last,
            reward=self._last_reward,
            source=ctx.episode,
            t=ctx.t,
        )
        self.tokens += int(getattr(self.extractor, "tokens", 0)) - extracted_before
        if self._last is not None and self.remembers:
            succeeded = not self.world.was_failed(self._last, self.world.previous_room)
            self.plan.progress(self._last, succeeded, self._last_reward)
            verb = command_verb(self._last)
            if succeeded and command_direction(self._last) is None and verb not in _META | {"examine"}:
                self._done_signatures.add(_signature(self._last))
            placed = placement(self._last)
            if placed is not None and self._last_reward > 0:
                self._achieved.add(Goal(*placed))
            # notes: keep what was read when examining something the plan names
            target = set(command_words(self._last)[1:])
            if verb == "examine" and target and succeeded:
                name = " ".join(content_words(_signature(self._last)[1]))
                self.plan.note_affordance(name, set(content_words(ctx.observation[:200])) - target)
            reads = verb in {"examine", "read"} and target and target <= self._plan_words()
            if reads and succeeded and len(ctx.observation) > 80:
                self.plan.add_text(ctx.observation)
        self._last_observation = ctx.observation

    @staticmethod
    def _object_words(command: str) -> set[str]:
        return set(content_words(_signature(command)[1]))

    def _plan_words(self) -> set[str]:
        out: set[str] = set()
        for s in self.plan.steps:
            out |= s.words
        return out

    # --- value -----------------------------------------------------------------------------------
    def _value(self, command: str) -> float:
        w = self.w
        verb = command_verb(command)
        tried = self.world.times_tried(command)
        # reading or looking carries out nothing: it earns the plan's relevance only the first time
        relevance = self.plan.relevance(command) if verb not in _INSPECT or not tried else 0.0
        v = w.relevance * relevance
        if verb in _META:
            v -= w.meta
        parsed = parse_command(command)
        thing = parsed.objects[0] if parsed.objects else ""
        placed = placement(command)
        needed = {g.thing for g in self.goals}
        if placed is not None and Goal(*placed) in self.goals:
            v += w.goal  # carries out a goal of the objective
        elif placed is not None or verb == "drop":
            if thing in needed:
                v -= w.goal / 2  # a thing the objective wants elsewhere
            elif not self.plan.asks_for(command):
                # keep hold of things unless told to let go, above all what the plan names
                v -= w.relevance if set(command_words(command)[1:2]) & self._plan_words() else w.undo
        elif verb == "take" and thing in needed:
            v += w.goal / 2  # fetch what a goal needs
        elif verb == "take" and self.world.times_tried(command) == 0:
            v += w.explore / 2  # things in hand open new commands (a key, a tool)
        if verb == "take" and any(g.thing == thing for g in self._achieved):
            v -= w.goal  # never undo a goal carried out
        if verb not in _FREE and command_direction(command) is None and not self.plan.asks_for(command):
            # change what things are (eat, cook, slice, ...) only as the plan asks
            v -= w.relevance if set(command_words(command)[1:]) & self._plan_words() else w.relevance / 2
        if verb == "close" and not self.plan.asks_for(command):
            v -= w.undo
        v += w.novelty if tried == 0 else -w.repeat * tried
        if verb == "examine" and tried:
            v -= w.meta  # read once; what it said is remembered
        v -= w.failed * self.world.failure_weight(command)
        if command in self.world.rewarded:
            v -= w.rewarded
        elif _signature(command) in self._done_signatures:
            v -= w.rewarded  # the same action on the same thing already succeeded
        if verb in {"open", "unlock"} and tried == 0 and not self._is_open(thing):
            v += w.explore  # the frontier also lies behind closed doors and lids
        if self._last is not None and verb in _UNDO:
            last_verb = command_verb(self._last)
            if _UNDO[verb] == last_verb and set(words(command)[1:]) & set(words(self._last)[1:]):
                v -= w.undo
        direction = command_direction(command)
        if direction is not None:
            v += self._move_bonus(self.world.room, direction)
        return v

    def _is_open(self, thing: str) -> bool:
        return any(
            t.subject == thing and t.relation == "is" and t.object == "open"
            for t in self.world.graph.triplets
        )

    def _move_bonus(self, room: str, direction: str) -> float:
        w = self.w
        graph = self.world.graph
        bonus = 0.0
        # go to <place>: a room the plan names, by path-finding
        cur = self.plan.current
        targets = {
            r for r in graph.rooms() if r != room and cur is not None and set(content_words(r)) & cur.words
        }
        targets |= self._goal_rooms() - {room}
        for target in targets:
            path = graph.path(room, target)
            if path:
                bonus = max(bonus, w.goto if path[0] == direction else 0.0)
        serving = (
            self.plan.current is not None
            and any(
                match(c, self.plan.current.words, said=self.plan.current.said) >= 0.5
                for c in self._admissible_cache()
            )
        ) or any(self._serves_goal(c) for c in self._admissible_cache())
        if not serving and bonus == 0.0:
            frontier = graph.frontier_path(room) or self._pending_path(room)
            if frontier and frontier[0] == direction:
                bonus = w.explore
        # do not bounce straight back unless a path says so
        if (
            bonus == 0.0
            and self._last is not None
            and command_direction(self._last) == OPPOSITE.get(direction)
        ):
            bonus -= w.repeat
        return bonus

    def _pending_path(self, room: str) -> list[str] | None:
        """The shortest path to the nearest other room where something was left to take, open or unlock (the
        frontier inside explored rooms), None when there is none."""
        paths = [
            graph_path
            for r, todo in self._pending.items()
            if r != room and todo
            if (graph_path := self.world.graph.path(room, r))
        ]
        return min(paths, key=len) if paths else None

    def _update_pending(self, admissible: Sequence[str]) -> None:
        """Remember what this room still offers (untried take/open/unlock commands); blocked goals whose
        thing is in hand and whose holder is here but cannot be used now wait until the inventory changes."""
        room = self.world.room
        self._pending[room] = {
            c for c in admissible if command_verb(c) in _ENABLING and self.world.times_tried(c) == 0
        }
        held = frozenset(self.world.inventory)
        self._blocked = {g: inv for g, inv in self._blocked.items() if inv == held}
        graph = self.world.graph
        for g in self.goals:
            if graph.room_of(g.thing) == "inventory" and graph.room_of(g.holder) == room:
                usable = any(
                    placement(c) == (g.thing, g.holder) or c == f"open {g.holder}" for c in admissible
                )
                if not usable:
                    self._blocked[g] = held

    def _goal_rooms(self) -> set[str]:
        """Rooms to go to for the goals: where a needed thing lies, or, once it is carried, where its holder is
        (unless that goal is blocked: its holder could not be used with what the agent carries)."""
        out: set[str] = set()
        graph = self.world.graph
        for g in self.goals:
            if g in self._blocked:
                continue
            where = graph.room_of(g.thing)
            if where == "inventory":
                where = graph.room_of(g.holder)
            if where is not None and where != "inventory":
                out.add(where)
        return out

    def _serves_goal(self, command: str) -> bool:
        placed = placement(command)
        if placed is not None:
            return Goal(*placed) in self.goals
        parsed = parse_command(command)
        return (
            parsed.verb == "take"
            and bool(parsed.objects)
            and parsed.objects[0] in {g.thing for g in self.goals}
        )

    def _admissible_cache(self) -> list[str]:
        return list(self._admissible)

    # --- LLM re-ranking --------------------------------------------------------------------------
    def _prompt(self, ctx: GameContext) -> list[Message]:
        goal = self.plan.render() or self._objective[:300]
        parts = [f"Goal: {goal}"]
        if self.ablation == "full-history":
            # the window ends with the current observation and only grows at its end between jumps, so with an
            # engine's prompt-prefix cache a step computes just its new entry
            entries = self._history_window()
            if not self.history or self.history[-1][1] != ctx.observation:
                entries.append(f"{ctx.observation[:300]}")
            parts.append("History:\n" + "\n".join(entries))
        elif self.ablation == "full":
            ents = set(self.plan.current.words) if self.plan.current else set()
            facts = [t for t in self.world.graph.triplets if t.relation != "has exit" and _mentions(t, ents)]
            if facts:
                parts.append("Known: " + "; ".join(t.text() for t in sorted(facts)[:6]))
            recalled = [str(getattr(r, "text", r))[:200] for r in list(ctx.recalled)[:2]]
            if recalled:
                parts.append("Remembered: " + " | ".join(recalled))
            parts.append(f"Location: {self.world.room}")
        elif self.ablation == "rag":
            parts.append("Remembered: " + " | ".join(self._rag(ctx)))
        if self.ablation != "full-history":
            parts.append(f"Observation: {ctx.observation[:300]}")
        return [
            {
                "role": "system",
                "content": "You play a text adventure game. Answer with the best next command.",
            },
            {"role": "user", "content": "\n".join(parts) + "\nNext command:"},
        ]

    def _history_window(self) -> list[str]:
        """Past (command, observation) entries from the window's start: when they exceed ``history_chars`` the
        start jumps ahead until they fill half of it, so between jumps the window only grows at its end (an
        engine with a prompt-prefix cache then computes just the new entries)."""
        entries = [f"> {c}\n{o[:300]}" for c, o in self.history[self._history_from :]]
        if sum(len(e) + 1 for e in entries) > self.history_chars:
            while entries and sum(len(e) + 1 for e in entries) > self.history_chars // 2:
                entries.pop(0)
                self._history_from += 1
        return entries

    def _rag(self, ctx: GameContext, k: int = 2) -> list[str]:
        """Flat retrieval filling the same slot as the full prompt's "Remembered" (k items of 200 chars):
        the agent's recollections, else the past observations sharing most words with the current one."""
        recalled = [str(getattr(r, "text", r))[:200] for r in list(ctx.recalled)[:k]]
        if recalled:
            return recalled
        query = set(content_words(ctx.observation + " " + self.plan.render()))
        scored = sorted(
            ((len(query & set(content_words(o))), i) for i, (_, o) in enumerate(self.history)), reverse=True
        )
        return [self.history[i][1][:200] for s, i in scored[:k] if s > 0]

    def _llm_scores(self, ctx: GameContext, shortlist: list[str]) -> dict[str, float]:
        llm = ctx.llm if self.consult_llm else None
        if llm is None or len(shortlist) < 2:
            return {}
        messages = self._prompt(ctx)
        if isinstance(llm, OptionScorer):
            raw = llm.score_options(messages, shortlist, normalize=True)
            self.tokens += sum(len(m["content"]) // 4 for m in messages) + sum(len(c) // 4 for c in shortlist)
            mean = sum(raw) / len(raw)
            sd = (sum((x - mean) ** 2 for x in raw) / len(raw)) ** 0.5 or 1.0
            return {c: (x - mean) / sd for c, x in zip(shortlist, raw, strict=True)}
        listing = "\n".join(f"{i}: {c}" for i, c in enumerate(shortlist))
        messages = [
            *messages[:-1],
            {
                "role": "user",
                "content": messages[-1]["content"]
                + f'\nOptions:\n{listing}\nReply with JSON {{"index": <number>}}.',
            },
        ]
        completion = llm.complete(messages, GenerationOptions(max_tokens=20, schema=_Choice))
        self.tokens += completion.usage.total_tokens
        parsed = completion.parsed
        if parsed is None:
            m = re.search(r"\d+", completion.text)
            parsed = _Choice(index=int(m.group())) if m else None
        if parsed is not None and 0 <= parsed.index < len(shortlist):
            return {shortlist[parsed.index]: 2.0}
        return {}


def _contenders(
    ranked: list[str], values: Mapping[str, float], weight: float, slack: float = 0.0
) -> list[str]:
    """The commands of ``ranked`` (best first) that the LLM's re-ranking could still make win.

    The LLM adds ``weight * z`` with z the z-score of its log-likelihood among the n options scored; a single
    z-score lies within +-sqrt(n - 1), so a command more than ``2 * weight * sqrt(n - 1)`` below the best
    cannot overtake it. Such commands are dropped (n shrinks, and so does the bound) until every one left is
    a contender; one left means no LLM call at all. A generic bound on the scoring, not a game rule.
    ``slack``: a further bonus one command may receive (the look-ahead's weight).
    """
    out = list(ranked)
    while len(out) > 1 and values[out[-1]] < values[out[0]] - 2 * weight * (len(out) - 1) ** 0.5 - slack:
        out.pop()
    return out


def _signature(command: str) -> tuple[str, str]:
    """(verb, object) of a command: ``cook X with Y`` and ``cook X with Z`` share one."""
    verb = command_verb(command)
    rest = command[len(verb) :].strip().lower()
    return verb, re.split(r"\s+(?:from|with|on|in|into|to)\s+", rest)[0]


def _mentions(t: Triplet, entities: set[str]) -> bool:
    return bool(entities & (set(t.subject.split()) | set(t.object.split())))


def _succeeded(observation: str, command: str) -> bool:
    from cogarch.worldmodel.world import _FAIL

    return not _FAIL.search(observation[:200])


class RandomPolicy:
    """Uniform choice among the admissible commands (the benchmark's reference agent)."""

    def __init__(self, *, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.tokens = 0

    def choose(self, ctx: GameContext) -> str:
        options = list(ctx.admissible) or ["look"]
        return self.rng.choice(options)

    def observe(
        self, ctx: GameContext, command: str, next_observation: str, reward: float, done: bool
    ) -> None:
        return None


__all__ = [
    "ABLATIONS",
    "Ablation",
    "ActionPolicy",
    "GameContext",
    "RandomPolicy",
    "Weights",
    "WorldModelPolicy",
]
