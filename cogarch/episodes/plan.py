"""The plan: ordered instruction steps taken from the objective and from notes the agent chose to keep.

A step is a sentence (or a list line, such as a recipe's direction). The current step is the first one not
done; a command that succeeds while matching the current step marks it done. A step the agent cannot make
progress on for ``patience`` steps is set aside, so one unreachable instruction does not freeze the agent.
Matching is lexical over canonical content words (generic English synonyms folded, see
``cogarch.worldmodel.text``), with directions counted double: ``go west`` matches "take a trip west".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cogarch.worldmodel.text import DIRECTIONS, content_words, sentences, stem


def match(command: str, step_words: set[str], affordances: dict[str, set[str]] | None = None) -> float:
    """How well ``command`` carries out a step (0..1).

    The share of the command's object words found in the step (directions weighted double), times 1 when
    the step names the command's verb and 0.6 when it does not ("take X" serves a line "X" less than
    "slice X" serves "slice the X"). A move in a direction the step does not name scores 0.
    """
    cw = content_words(command)
    if not cw or not step_words:
        return 0.0
    verb, objects = cw[0], cw[1:]
    verb_ok = verb in step_words
    if not verb_ok and affordances:
        # what the agent read about the things in the command ("Useful for roasting things") can name the
        # step's verb: "cook X with oven" carries out "roast the X"
        step_stems = {stem(w) for w in step_words}
        for i in range(len(objects)):
            for j in range(i + 1, len(objects) + 1):
                said = affordances.get(" ".join(objects[i:j]), set())
                if {stem(w) for w in said} & step_stems - {stem(w) for w in objects}:
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


def participles(verb: str) -> set[str]:
    """English past participles of a regular verb: fry -> fried, slice -> sliced, chop -> chopped."""
    out = {verb + "ed", verb + "d"}
    if verb.endswith("y"):
        out.add(verb[:-1] + "ied")
    if len(verb) > 2:
        out.add(verb + verb[-1] + "ed")
    return out


@dataclass
class Step:
    text: str
    words: set[str]
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
            words = set(content_words(sent))
            if words and sent not in known:
                self.steps.append(Step(sent, words))
                known.add(sent)
                added += 1
        return added

    known: set[str] = field(default_factory=set)
    affordances: dict[str, set[str]] = field(default_factory=dict)

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

    def relevance(self, command: str) -> float:
        """How much ``command`` serves the plan: full weight for the current step, half for later open ones."""
        cur = self.current
        best = 0.0
        for s in self.open_steps():
            weight = 1.0 if s is cur else 0.5
            best = max(best, weight * match(command, s.words, self.affordances))
        return best

    def progress(self, command: str, succeeded: bool, reward: float) -> None:
        """Mark steps done after ``command``; count steps without progress."""
        cur = self.current
        advanced = False
        inspecting = content_words(command)[:1] in (["examine"], ["look"], ["inventory"])
        if (
            succeeded
            and not inspecting
            and cur is not None
            and match(command, cur.words, self.affordances) >= 0.5
        ):
            cur.done = True
            advanced = True
        if reward > 0:
            scored = [(match(command, s.words, self.affordances), s) for s in self.open_steps()]
            best = max(scored, default=(0.0, None), key=lambda x: x[0])  # the earliest of equals
            if best[1] is not None and best[0] >= 0.3:
                best[1].done = True
            advanced = True
        self._stuck = 0 if advanced else self._stuck + 1
        if self._stuck >= self.patience and self.current is not None:
            self.current.skipped = True
            self._stuck = 0

    def mark_satisfied(self, entity_names: set[str]) -> None:
        """Mark done the steps whose result the agent already sees: "fry the X" when it knows a "fried X"."""
        for s in self.open_steps():
            parts = s.text.lower().split()
            if len(parts) < 2:
                continue
            done_forms = participles(parts[0])
            rest = s.words - {parts[0]}
            for name in entity_names:
                nw = name.split()
                if rest and done_forms & set(nw) and rest <= set(nw):
                    s.done = True
                    break

    def render(self, limit: int = 4) -> str:
        todo = [s.text for s in self.steps if not s.done][:limit]
        return " ".join(todo)


__all__ = ["Plan", "Step", "match"]
