"""Game-playing policies: the ``ActionPolicy`` protocol, the world-model policy (AriGraph-style) and baselines.

The agent's act node calls ``policy.choose(ctx)`` with a :class:`GameContext` and, after the environment
answers, ``policy.observe(ctx, command, next_observation, reward, done)``.

``WorldModelPolicy`` reasons over the objective, its memory, a plan and the admissible commands only:

1. update the world model (``cogarch.worldmodel``) from the observation: triplets, outdated ones replaced,
   an episodic vertex, the action memory (tried, failed, rewarded commands per room);
2. keep a plan (``plan.Plan``): instruction steps from the objective, plus notes: the text of what the agent
   read when it examined something the plan names (a generic "read what you are told to read");
3. value each admissible command:
   ``v = relevance to the plan + go-to / exploration bonus + novelty - failure and repetition penalties``,
   where "go to <place>" follows a shortest path over the graph to a room the plan names, and exploration
   follows the path to the nearest unexplored exit when no command serves the plan;
4. re-rank the best ``top_k`` by the LLM: one batched ``score_options`` call (mean log-likelihood of each
   command after a short prompt with the plan, the relevant triplets and recalled episodes), z-scored and
   weighted; engines without option scoring are asked for a structured choice instead. Commands too far below
   the best for the weighted z-score to lift them are not scored, and a clear winner costs no call at all;
5. optionally (``lookahead=``, off by default) a LATS look-ahead on copies of the game among the contenders.

Ablations (same scoring of the LLM, no world model or plan notes, different context):
``no-memory`` (the last observation only), ``full-history`` (every past command and observation in the prompt,
up to ``history_chars``; older entries leave in jumps of half the budget, so the prompt's prefix is reusable),
``rag`` (the past observations most similar to the current one).
No rule names an object or a game family; the hidden state is never read (``GameContext.info`` has none).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from cogarch.episodes.plan import Plan, match
from cogarch.worldmodel.graph import Triplet
from cogarch.worldmodel.text import OPPOSITE, command_direction, command_verb, content_words, words
from cogarch.worldmodel.world import WorldModel
from reasoning.llm import GenerationOptions, Message, OptionScorer

Ablation = Literal["full", "no-memory", "full-history", "rag"]
ABLATIONS: tuple[Ablation, ...] = ("full", "no-memory", "full-history", "rag")


@dataclass
class GameContext:
    """What the policy may know at one step (never the game's hidden state).

    Attributes:
        observation: the environment's latest text.
        admissible: the commands the environment offers now (may be empty).
        info: player-visible info: objective, inventory, description, score, moves, max_score.
        recalled: memory recollections for this step (objects with ``.kind``, ``.text``, ``.score``).
        llm: the agent's LLM (may implement ``OptionScorer``); None: heuristics only.
        memory: the agent's ``memory.Memory`` (namespace ``user``), or None.
        step: the step number (0 at reset).
        user: the memory namespace.
    """

    observation: str
    admissible: Sequence[str] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    recalled: Sequence[Any] = ()
    llm: Any = None
    memory: Any = None
    step: int = 0
    user: str = "default"


@runtime_checkable
class ActionPolicy(Protocol):
    """Chooses environment commands and learns from their outcome."""

    def choose(self, ctx: GameContext) -> str: ...

    def observe(
        self, ctx: GameContext, command: str, next_observation: str, reward: float, done: bool
    ) -> None: ...


class _Choice(BaseModel):
    """Structured choice for engines without option scoring."""

    index: int


_META = {"look", "inventory"}
_CONSUME = {"eat", "drink"}  # verbs that destroy their object
_RELEASE = {"drop", "put", "insert"}  # verbs that let go of their object
_FREE = {"take", "open", "close", "examine", "look", "inventory", "go", "drop", "put", "insert", "unlock"}
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
    llm: float = 0.3
    lookahead: float = 1.0


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
    ) -> None:
        if ablation not in ABLATIONS:
            from reasoning.errors import ConfigError

            raise ConfigError(f"unknown ablation {ablation!r}", hint=f"one of {', '.join(ABLATIONS)}")
        self.ablation: Ablation = ablation
        self.rng = random.Random(seed)
        self.top_k = top_k
        self.w = weights or Weights()
        self.history_chars = history_chars
        self.world = WorldModel()
        self.plan = Plan()
        self.history: list[tuple[str, str]] = []  # (command, observation)
        self._history_from = 0  # the full-history prompt's window start
        self.lookahead = lookahead
        self.tokens = 0
        self._last: str | None = None
        self._last_reward = 0.0
        self._objective = ""
        self._last_observation = ""
        self.last_scores: dict[str, float] = {}
        self._admissible: tuple[str, ...] = ()
        self._done_signatures: set[tuple[str, str]] = set()

    # --- protocol --------------------------------------------------------------------------------
    def choose(self, ctx: GameContext) -> str:
        if not ctx.admissible:
            return "look"
        admissible = [c for c in ctx.admissible if c.strip()]
        self._admissible = tuple(admissible)
        self._perceive(ctx)
        vocab = {w for c in admissible for w in content_words(c)}
        if self.ablation == "full":
            for r in self.world.graph.rooms():
                vocab |= set(r.split())
        self.plan.set_known(vocab)
        if self.ablation == "full":
            self.plan.mark_satisfied({t.subject for t in self.world.graph.triplets})
        values = {c: self._value(c) for c in admissible}
        ranked = sorted(admissible, key=lambda c: (-values[c], self.rng.random()))
        slack = self.w.lookahead if self.lookahead is not None else 0.0
        shortlist = _contenders(ranked[: self.top_k], values, self.w.llm, slack)
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

    def observe(
        self, ctx: GameContext, command: str, next_observation: str, reward: float, done: bool
    ) -> None:
        self._last = command
        self._last_reward = reward
        self.history.append((command, next_observation))

    # --- perception and plan ---------------------------------------------------------------------
    def _perceive(self, ctx: GameContext) -> None:
        objective = str(ctx.info.get("objective") or "")
        if objective and objective != self._objective:
            self._objective = objective
            if self.ablation == "full":
                self.plan.add_text(objective)
            else:
                self.plan = Plan()
                self.plan.add_text(objective)
        if self.ablation != "full":
            self._last_observation = ctx.observation
            if self._last is not None:
                self.plan.progress(self._last, _succeeded(ctx.observation, self._last), self._last_reward)
            return
        self.world.observe(
            ctx.step,
            ctx.observation,
            admissible=ctx.admissible,
            info=ctx.info,
            command=self._last,
            reward=self._last_reward,
        )
        if self._last is not None:
            succeeded = not self.world.was_failed(self._last, self._previous_room())
            self.plan.progress(self._last, succeeded, self._last_reward)
            verb = command_verb(self._last)
            if succeeded and command_direction(self._last) is None and verb not in _META | {"examine"}:
                self._done_signatures.add(_signature(self._last))
            # notes: keep what was read when examining something the plan names
            verb = command_verb(self._last)
            target = set(content_words(self._last)) - {verb}
            if verb == "examine" and target and succeeded:
                name = " ".join(content_words(_signature(self._last)[1]))
                self.plan.affordances[name] = set(content_words(ctx.observation[:200])) - target
            reads = verb in {"examine", "read"} and target and target <= self._plan_words()
            if reads and succeeded and len(ctx.observation) > 80:
                self.plan.add_text(ctx.observation)
        self._last_observation = ctx.observation

    def _previous_room(self) -> str | None:
        eps = self.world.graph.episodes
        if len(eps) >= 2:
            for t in eps[-2].triplets:
                if t.subject == "you" and t.relation == "at":
                    return t.object
        keys = [k for k in self.world.tried if k[1] == self._last]
        return keys[-1][0] if keys else None

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
        v = w.relevance * self.plan.relevance(command)
        verb = command_verb(command)
        if verb in _META:
            v -= w.meta
        obj_words = set(content_words(command)) - {verb}
        if (
            verb in _CONSUME
            and obj_words & self._plan_words()
            and not any(verb in st.words and obj_words <= st.words for st in self.plan.open_steps())
        ):
            v -= w.relevance  # never destroy what the plan needs, unless a step says so
        if (
            verb in _RELEASE
            and self._object_words(command) & self._plan_words()
            and not any(
                verb in st.words and self._object_words(command) <= st.words for st in self.plan.open_steps()
            )
        ):
            v -= w.undo  # keep hold of what the plan needs
        if self.ablation != "full":
            return v
        room = self.world.room
        tried = self.world.times_tried(command)
        v += w.novelty if tried == 0 else -w.repeat * tried
        v -= w.failed * self.world.failure_weight(command)
        if command in self.world.rewarded:
            v -= w.rewarded
        elif _signature(command) in self._done_signatures:
            v -= w.rewarded  # the same action on the same thing already succeeded
        if self._last is not None and verb in _UNDO:
            last_verb = command_verb(self._last)
            if _UNDO[verb] == last_verb and set(words(command)[1:]) & set(words(self._last)[1:]):
                v -= w.undo
        if verb not in _FREE and command_direction(command) is None and self.plan.relevance(command) < 0.25:
            v -= w.relevance / 2  # transform things only as the plan asks
        direction = command_direction(command)
        if direction is not None:
            v += self._move_bonus(room, direction)
        return v

    def _move_bonus(self, room: str, direction: str) -> float:
        w = self.w
        graph = self.world.graph
        bonus = 0.0
        # go to <place>: a room the plan names, by path-finding
        cur = self.plan.current
        targets = [r for r in graph.rooms() if r != room and cur is not None and set(r.split()) & cur.words]
        for target in targets:
            path = graph.path(room, target)
            if path:
                bonus = max(bonus, w.goto if path[0] == direction else 0.0)
        serving = self.plan.current is not None and any(
            match(c, self.plan.current.words) >= 0.5 for c in self._admissible_cache()
        )
        if not serving and bonus == 0.0:
            frontier = graph.frontier_path(room)
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
        llm = ctx.llm
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
