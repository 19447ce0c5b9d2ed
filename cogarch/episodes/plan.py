"""The plan: ordered instruction steps taken from the objective and from notes the agent chose to keep.

A step is a sentence (or a list line, such as a recipe's direction). The current step is the first one not
done; a command that succeeds while matching the current step marks it done. A step the agent cannot make
progress on for ``patience`` steps is set aside, so one unreachable instruction does not freeze the agent.
Matching is lexical over lemmas of content words (``cogarch.worldmodel.text``), with directions counted
double: ``go west`` carries out "take a trip west" (the direction matches; the verb does not, which lowers
the match, and the LLM's option scoring weighs such near-ties).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cogarch.worldmodel.text import DIRECTIONS, command_words, content_words, lemma, sentences, words


def match(
    command: str,
    step_words: set[str],
    affordances: dict[str, set[str]] | None = None,
    said: set[str] | None = None,
) -> float:
    """How well ``command`` carries out a step (0..1).

    The share of the command's object words found in the step (directions weighted double), times 1 when
    the step names the command's verb and 0.6 when it does not ("take X" serves a line "X" less than
    "slice X" serves "slice the X"). A move in a direction the step does not name scores 0.
    ``step_words``: the step's content words; ``said``: the lemmas of all its words, stop words included
    (common verbs such as *take* or *put* are stop words), where the verb is looked for (default
    ``step_words``).
    """
    cw = command_words(command)
    if not cw or not step_words:
        return 0.0
    verb, objects = cw[0], cw[1:]
    # the verb must be said apart from the things' names: "dice the pork chop" does not ask to "chop" it
    verb_ok = verb in (said if said is not None else step_words) - set(objects)
    if not verb_ok and affordances:
        # what the agent read about the things in the command ("Useful for roasting things") can name the
        # step's verb: "cook X with oven" carries out "roast the X"
        for i in range(len(objects)):
            for j in range(i + 1, len(objects) + 1):
                said = affordances.get(" ".join(objects[i:j]), set())
                if said & step_words - set(objects):
                    verb_ok = True
    if not objects:
        return 1.0 if verb_ok else 0.0
    directions = [w for w in objects if w in DIRECTIONS]
    if directions and not any(d in step_words for d in directions):
        return 0.0
    total = hit = 0.0
    for w in objects:
        weight = 2.0 if w in DIRECTIONS else 1.0
        total += weight
        if w in step_words:
            hit += weight
    return (hit / total) * (1.0 if verb_ok else 0.6)


@dataclass
class Step:
    text: str
    words: set[str]
    said: set[str] = field(default_factory=set)
    done: bool = False
    skipped: bool = False


@dataclass
class Plan:
    """Instruction steps kept across the episode."""

    steps: list[Step] = field(default_factory=list)
    patience: int = 12
    _stuck: int = 0

    def add_text(self, text: str) -> int:
        """Append the instruction steps of ``text`` (already known ones are ignored); returns how many."""
        known = {s.text for s in self.steps}
        added = 0
        for sent in sentences(text):
            content = set(content_words(sent))
            if content and sent not in known:
                self.steps.append(Step(sent, content, {lemma(w) for w in words(sent)}))
                known.add(sent)
                added += 1
        return added

    known: set[str] = field(default_factory=set)
    affordances: dict[str, set[str]] = field(default_factory=dict)
    _memo: dict[tuple[str, int], float] = field(default_factory=dict, repr=False)

    def set_known(self, vocabulary: set[str]) -> None:
        """Words the agent can act on now (admissible commands, known rooms and things)."""
        self.known = vocabulary

    @property
    def current(self) -> Step | None:
        """The first open step that names something the agent knows (statements like "You are hungry!"
        name nothing actionable and wait)."""
        return next((s for s in self.steps if not s.done and not s.skipped and s.words & self.known), None)

    def open_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.done]

    def words(self) -> set[str]:
        out: set[str] = set()
        for s in self.open_steps():
            out |= s.words
        return out

    def note_affordance(self, name: str, said: set[str]) -> None:
        """Keep what the agent read about ``name`` (what it is for), for :func:`match`."""
        self.affordances[name] = said
        self._memo.clear()

    def _match(self, command: str, step: Step) -> float:
        key = (command, id(step))
        if key not in self._memo:
            self._memo[key] = match(command, step.words, self.affordances, step.said)
        return self._memo[key]

    def relevance(self, command: str) -> float:
        """How much ``command`` serves the plan: full weight for the current step, half for later open ones."""
        cur = self.current
        best = 0.0
        for s in self.open_steps():
            weight = 1.0 if s is cur else 0.5
            best = max(best, weight * self._match(command, s))
        return best

    def asks_for(self, command: str) -> bool:
        """Whether an open step asks for ``command``: it names the command's verb (or what the agent read about
        the tool names it, see :func:`match`) and every word of the command's first object."""
        cw = command_words(command)
        if len(cw) < 2:
            return False
        verb = cw[0]
        for s in self.open_steps():
            if self._match(command, s) <= 0.0:
                continue
            first = set(content_words(command.split(" with ")[0].split(" from ")[0])) - {verb}
            if not first or not first <= s.words:
                continue
            if verb in s.said - set(cw[1:]) or self._match(command, s) >= 1.0 or self._tool_says(cw, s):
                return True
        return False

    def _tool_says(self, cw: list[str], step: Step) -> bool:
        objects = cw[1:]
        for i in range(len(objects)):
            for j in range(i + 1, len(objects) + 1):
                if self.affordances.get(" ".join(objects[i:j]), set()) & step.words - set(objects):
                    return True
        return False

    def progress(self, command: str, succeeded: bool, reward: float) -> None:
        """Mark steps done after ``command``; count steps without progress."""
        cur = self.current
        advanced = False
        inspecting = command_words(command)[:1] in (["examine"], ["look"], ["inventory"])
        if succeeded and not inspecting and cur is not None and self._completes(command, cur):
            cur.done = True
            advanced = True
        if reward > 0 and not advanced:
            # the score rose: the step the command carried out is done (one step per reward), preferably one it
            # completes ("take tomato" earns the list line "tomato", not "chop the tomato")
            scored = [(self._completes(command, s), self._match(command, s), s) for s in self.open_steps()]
            best = max(scored, default=(False, 0.0, None), key=lambda x: x[:2])  # the earliest of equals
            if best[2] is not None and best[1] >= 0.3:
                best[2].done = True
        advanced = advanced or reward > 0
        self._stuck = 0 if advanced else self._stuck + 1
        if self._stuck >= self.patience and self.current is not None:
            self.current.skipped = True
            self._stuck = 0

    def _completes(self, command: str, step: Step) -> bool:
        """Whether ``command``, having succeeded, carries out ``step``: it matches the step, and the step names
        the command's verb, or the command moves in a direction the step names, or the step says nothing but the
        command's things ("take tomato" carries out a list line "tomato", not "chop the tomato")."""
        if self._match(command, step) < 0.5:
            return False
        cw = command_words(command)
        verb, objects = cw[0], set(cw[1:])
        return verb in step.said - objects or bool(objects.intersection(DIRECTIONS)) or step.words <= objects

    def mark_satisfied(self, entity_names: set[str]) -> None:
        """Mark done the steps whose result the agent already sees: "fry the X" when it knows a "fried X" (the
        step's verb and the participle in the name share a lemma)."""
        for s in self.open_steps():
            parts = words(s.text)
            if len(parts) < 2:
                continue
            verb = lemma(parts[0])
            rest = s.words - {verb}
            for name in entity_names:
                said = [w for w in words(name)]
                if (
                    rest
                    and verb in {lemma(w) for w in said if w != parts[0]}
                    and rest <= set(content_words(name))
                ):
                    s.done = True
                    break

    def render(self, limit: int = 4) -> str:
        todo = [s.text for s in self.steps if not s.done][:limit]
        return " ".join(todo)


__all__ = ["Plan", "Step", "match"]
