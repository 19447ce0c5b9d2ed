"""``ScriptedLLM``: a deterministic engine driven by a plain function, for tests and examples."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence

from pydantic import BaseModel

from reasoning.llm import Completion, GenerationOptions, Message, StreamChunk, ToolCall, Usage

Scripted = str | ToolCall | Sequence[ToolCall]
"""A scripted reply: text, or the tool call(s) the model makes."""
ScriptFn = Callable[[Sequence[Message], GenerationOptions], Scripted]
"""Maps the messages and options of a call to the reply text (or to tool calls)."""


def _count_tokens(text: str) -> int:
    # A stable whitespace count stands in for a tokenizer: good enough for budgets in tests.
    return len(text.split())


class ScriptedLLM:
    """An LLM whose replies come from ``fn(messages, options)``.

    Deterministic: the same calls give the same replies. When a pydantic ``schema`` is requested, the reply is
    validated into ``Completion.parsed`` (an invalid reply leaves ``parsed`` None, as a real engine would).
    A script that returns a :class:`~reasoning.llm.ToolCall` (or a list of them) makes the model call tools:
    the completion has ``tool_calls`` and finish reason "tool_calls" (:meth:`call` builds one).
    ``score`` (optional) makes it an :class:`~reasoning.llm.OptionScorer`:
    ``score(messages, option) -> float``.

    Example::

        llm = ScriptedLLM(lambda messages, options: "hello")
    """

    def __init__(
        self,
        fn: ScriptFn | None = None,
        *,
        name: str = "scripted",
        score: Callable[[Sequence[Message], str], float] | None = None,
        chunk_size: int = 1,
    ) -> None:
        self._fn: ScriptFn = fn if fn is not None else _echo
        self._name = name
        self._score = score
        self._chunk_size = chunk_size
        self.calls: list[tuple[list[Message], GenerationOptions]] = []

    @staticmethod
    def call(name: str, /, **arguments: object) -> ToolCall:
        """A scripted call of tool ``name`` with ``arguments`` (a fresh call id)."""
        return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=name, arguments=json.dumps(arguments))

    @classmethod
    def replies(cls, *texts: Scripted, name: str = "scripted") -> ScriptedLLM:
        """An engine answering ``texts`` (or tool calls) in order, then repeating the last one."""
        answers: list[Scripted] = list(texts) or [""]
        state = {"i": 0}

        def fn(messages: Sequence[Message], options: GenerationOptions) -> Scripted:
            text = answers[min(state["i"], len(answers) - 1)]
            state["i"] += 1
            return text

        return cls(fn, name=name)

    @property
    def name(self) -> str:
        return self._name

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        options = options or GenerationOptions()
        self.calls.append((list(messages), options))
        scripted = self._fn(messages, options)
        if isinstance(scripted, ToolCall) or not isinstance(scripted, str):
            calls = (scripted,) if isinstance(scripted, ToolCall) else tuple(scripted)
            usage = Usage(sum(_count_tokens(m["content"]) for m in messages), len(calls))
            return Completion(
                text="", usage=usage, model=self._name, finish_reason="tool_calls", tool_calls=calls
            )
        text = scripted
        if options.max_tokens is not None:
            words = text.split(" ")
            if len(words) > options.max_tokens:
                text = " ".join(words[: options.max_tokens])
        parsed = _parse(text, options)
        usage = Usage(sum(_count_tokens(m["content"]) for m in messages), _count_tokens(text))
        return Completion(text=text, usage=usage, model=self._name, parsed=parsed)

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        completion = self.complete(messages, options)
        words = completion.text.split(" ") if completion.text else []
        for i in range(0, len(words), self._chunk_size):
            piece = " ".join(words[i : i + self._chunk_size])
            yield StreamChunk(delta=piece if i == 0 else " " + piece)
        yield StreamChunk(
            delta="",
            done=True,
            usage=completion.usage,
            finish_reason=completion.finish_reason,
            tool_calls=completion.tool_calls,
        )

    def score_options(
        self,
        messages: Sequence[Message],
        options: Sequence[str],
        *,
        normalize: bool = True,
        end_of_turn: bool = True,
    ) -> list[float]:
        """Scores from the ``score`` function; without one, every option scores 0."""
        if self._score is None:
            return [0.0 for _ in options]
        return [float(self._score(messages, option)) for option in options]


def _echo(messages: Sequence[Message], options: GenerationOptions) -> str:
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return f"You said: {last}"


def remembering(messages: Sequence[Message], options: GenerationOptions) -> str:
    """A script that answers from what the prompt holds, so tests can see recall in replies: the first memory
    note quoted in the system prompt (``I remember: <note>``), else the latest earlier user message of the
    conversation (``I remember: <message>``), else ``Noted: <input>``."""
    notes = [line[3:-1] for line in str(messages[0]["content"]).splitlines() if line.startswith('- "')]
    if notes:
        return f"I remember: {notes[0]}"
    earlier = [m["content"] for m in messages[1:-1] if m["role"] == "user"]
    if earlier:
        return f"I remember: {earlier[-1]}"
    return f"Noted: {messages[-1]['content']}"


def _parse(text: str, options: GenerationOptions) -> object:
    schema = options.schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return None
    try:
        return schema.model_validate(json.loads(text))
    except (ValueError, TypeError):
        return None


__all__ = ["ScriptFn", "Scripted", "ScriptedLLM"]
