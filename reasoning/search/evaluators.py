"""Value functions of the search: F_g(Q, G(n)) for a thought and F_a(Q, AM(n)) for its associations.

An evaluator is any callable ``evaluator(question, path, associations, answer) -> Evaluation`` with both
scores in [0, 1]; the search combines them as V(n) = F_g + beta * F_a (CoAT, 2025). Two implementations:

- :class:`LLMJudge` asks the model for a structured verdict (JSON with a 0-10 score per part) through the shared
  structured-output path (:func:`reasoning.structured.complete_structured`: extract, validate, re-ask with the
  error). When the repairs run out it either raises the typed ``StructuredOutputError`` (``on_invalid=
  "raise"``) or, by default, reads the first number of the last reply, then 0, so a weak model's junk never
  breaks the search silently: the node's rationale says "unparsed verdict".
- :class:`OptionScoringJudge` needs no generation at all: it reads the model's likelihood of "yes" versus
  "no" (p = e^yes / (e^yes + e^no)) or, given candidate answers, the softmax over the candidates'
  likelihoods at the proposed answer. This lets a 135M model serve as a value function.
- :class:`StepJudge` is the same yes/no reading asked at the end of the node's own expansion prompt (a
  :class:`TranscriptEvaluator`: the search hands it the prompt that would expand the node), so on a
  prefix-caching engine a value costs the few tokens of the question asked plus the two options, and the
  node's later expansion reuses what the judge ran. F_a is the mean of the associations' own scores (free).

When the repairs give up, the tokens of the failed attempts are estimated (the error carries no usage). Both
keep their token use in
``usage``; option scoring has no usage report, so its tokens are estimated (prompt + option per option, by
``token_counter``) to charge the search's budget honestly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field, ValidationError

from reasoning.errors import ConfigError, StructuredOutputError
from reasoning.llm import LLM, GenerationOptions, Message, OptionScorer, Usage, system, user
from reasoning.search.associations import Association
from reasoning.structured import complete_structured


@dataclass(frozen=True)
class Evaluation:
    """A verdict on one node.

    Attributes:
        thought_score: F_g(Q, G(n)) in [0, 1]; for a final answer, the confidence that it is correct.
        association_score: F_a(Q, AM(n)) in [0, 1]: how relevant the associations are.
        accepted: the evaluator accepts this node's answer as final (the search also accepts an answer whose
            thought_score reaches ``SearchSettings.accept_value``).
        rationale: a short reason, for the tree rendering.
    """

    thought_score: float
    association_score: float = 0.0
    accepted: bool = False
    rationale: str = ""


@runtime_checkable
class Evaluator(Protocol):
    """Scores a node from the question, the path of thoughts (root first), its associations and its answer."""

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation: ...


@runtime_checkable
class TranscriptEvaluator(Protocol):
    """An evaluator that scores a node on the prompt that would expand it (``transcript``: the node's thought
    and associations included), so it shares that prompt's prefix with the search's generations."""

    def evaluate_transcript(
        self, transcript: Sequence[Message], associations: Sequence[Association], answer: str | None
    ) -> Evaluation: ...


def _clip(x: float) -> float:
    return 0.0 if math.isnan(x) else min(1.0, max(0.0, x))


def _knowledge(associations: Sequence[Association]) -> str:
    return "\n".join(f"- {a.text}" for a in associations)


def _steps(path: Sequence[str]) -> str:
    return "\n".join(f"{i + 1}. {t}" for i, t in enumerate(path))


class JudgeVerdict(BaseModel):
    """The structured output the LLM judge asks for."""

    thought_score: float = Field(ge=0, le=10, description="0-10: is the latest step correct and useful?")
    association_score: float = Field(
        default=0, ge=0, le=10, description="0-10: are the facts relevant to the question?"
    )
    final_answer_correct: bool = Field(
        default=False, description="true only if the latest step is a correct final answer"
    )


_JUDGE_SYSTEM = (
    "You grade reasoning. Reply with JSON only: "
    '{"thought_score": 0-10, "association_score": 0-10, "final_answer_correct": true|false}. '
    "thought_score: is the latest step correct and useful for answering the question? "
    "association_score: are the listed facts relevant to the question?"
)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_JSON = re.compile(r"\{.*\}", re.S)


def parse_verdict(text: str) -> JudgeVerdict | None:
    """Lenient parse of a judge reply: the JSON object in it, else the first number as the thought score."""
    match = _JSON.search(text)
    if match:
        try:
            return JudgeVerdict.model_validate(json.loads(match.group(0)))
        except (ValueError, ValidationError):
            pass
    number = _NUMBER.search(text)
    if number:
        return JudgeVerdict(thought_score=min(10.0, max(0.0, float(number.group(0)))))
    return None


class LLMJudge:
    """Asks the LLM to grade the latest thought and the associations (structured output with repair).

    Args:
        llm: the judging model (may be the searching one).
        max_tokens: generation cap of one verdict.
        retries: re-asks with the validation error after an invalid verdict.
        on_invalid: after the retries, "lenient" reads the first number of the last reply as the thought
            score (else 0); "raise" lets the ``StructuredOutputError`` through.

    Raises:
        ConfigError: an unknown ``on_invalid``.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        max_tokens: int = 64,
        retries: int = 1,
        on_invalid: Literal["lenient", "raise"] = "lenient",
    ) -> None:
        if on_invalid not in ("lenient", "raise"):
            raise ConfigError(f"unknown on_invalid {on_invalid!r}", hint="use 'lenient' or 'raise'")
        self._llm = llm
        self._max_tokens = max_tokens
        self._retries = retries
        self._on_invalid = on_invalid
        self.usage = Usage()

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        """Grade the node.

        Raises:
            StructuredOutputError: no valid verdict after the retries and ``on_invalid="raise"``.
            LLMError: the model call failed.
        """
        prompt = f"Question: {question}\n"
        if associations:
            prompt += f"Facts:\n{_knowledge(associations)}\n"
        prompt += f"Reasoning:\n{_steps(path)}\n"
        if answer is not None:
            prompt += f"Proposed final answer: {answer}\n"
        messages = [system(_JUDGE_SYSTEM), user(prompt)]
        options = GenerationOptions(max_tokens=self._max_tokens, temperature=0.0)
        try:
            completion = complete_structured(
                self._llm, messages, JudgeVerdict, retries=self._retries, options=options
            )
        except StructuredOutputError as exc:
            attempts = self._retries + 1  # the error carries no usage: estimate every attempt
            estimate = sum(estimate_tokens(m["content"]) for m in messages)
            self.usage = self.usage + Usage(estimate * attempts, estimate_tokens(exc.raw) * attempts)
            if self._on_invalid == "raise":
                raise
            lenient = parse_verdict(exc.raw)
            if lenient is None:
                return Evaluation(0.0, 0.0, False, "unparsed verdict")
            return Evaluation(
                _clip(lenient.thought_score / 10), 0.0, False, f"unparsed verdict: {exc.raw[:80]}"
            )
        self.usage = self.usage + completion.usage
        parsed = completion.parsed  # validated against JudgeVerdict by complete_structured
        verdict = parsed if isinstance(parsed, JudgeVerdict) else JudgeVerdict.model_validate(parsed)
        return Evaluation(
            _clip(verdict.thought_score / 10),
            _clip(verdict.association_score / 10) if associations else 0.0,
            bool(verdict.final_answer_correct and answer is not None),
            completion.text.strip()[:200],
        )


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about 4 characters per token."""
    return max(1, (len(text) + 3) // 4)


def p_first(scores: Sequence[float]) -> float:
    """Softmax probability of the first of ``scores`` (log-likelihoods)."""
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    return weights[0] / sum(weights)


class OptionScoringJudge:
    """A value function from option likelihoods: P(yes) vs P(no), or the softmax over candidate answers.

    Args:
        scorer: an engine with ``score_options`` (the local engine, or ``ScriptedLLM(score=...)``).
        candidates: question -> candidate answers; when given, a node stating an answer scores
            F_g = softmax over the candidates' likelihoods, read at the candidate equal to the answer
            (case-insensitive; 0 when the answer is none of them).
        association_mode: "llm" asks whether the facts are relevant (P(yes)); "scores" averages the
            associations' own scores (free).
        yes: the option meaning yes; no: the option meaning no.
        token_counter: estimates tokens of a text, to charge the budget.
    """

    def __init__(
        self,
        scorer: OptionScorer,
        *,
        candidates: Callable[[str], Sequence[str]] | None = None,
        association_mode: Literal["llm", "scores"] = "llm",
        yes: str = "yes",
        no: str = "no",
        token_counter: Callable[[str], int] = estimate_tokens,
    ) -> None:
        if association_mode not in ("llm", "scores"):
            raise ConfigError(f"unknown association_mode {association_mode!r}", hint="use 'llm' or 'scores'")
        self._scorer = scorer
        self._candidates = candidates
        self._mode = association_mode
        self._yes, self._no = yes, no
        self._count = token_counter
        self.usage = Usage()

    def _score(self, messages: list[Message], options: Sequence[str]) -> list[float]:
        prompt = sum(self._count(m["content"]) for m in messages)
        self.usage = self.usage + Usage(prompt * len(options), sum(self._count(o) for o in options))
        return self._scorer.score_options(messages, options, normalize=True)

    def _p_yes(self, prompt: str) -> float:
        scores = self._score([system("Answer yes or no."), user(prompt)], [self._yes, self._no])
        return p_first(scores)

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        facts = f"Facts:\n{_knowledge(associations)}\n" if associations else ""
        if answer is not None and self._candidates is not None:
            options = list(self._candidates(question))
            lowered = [o.lower() for o in options]
            if answer.strip().lower() not in lowered or not options:
                thought = 0.0
            else:
                scores = self._score(
                    [
                        system("Answer with the answer only."),
                        user(f"{facts}{_steps(path[:-1])}\nQuestion: {question}"),
                    ],
                    options,
                )
                i = lowered.index(answer.strip().lower())
                thought = p_first([scores[i], *scores[:i], *scores[i + 1 :]])
        elif answer is not None:
            thought = self._p_yes(
                f"{facts}Question: {question}\nProposed answer: {answer}\nIs the answer correct?"
            )
        else:
            thought = self._p_yes(
                f"{facts}Question: {question}\nReasoning:\n{_steps(path)}\n"
                "Is the last step correct and useful for answering the question?"
            )
        match self._mode:
            case "scores":
                assoc = sum(a.score for a in associations) / len(associations) if associations else 0.0
            case "llm":
                assoc = (
                    self._p_yes(f"Question: {question}\n{facts}Are these facts relevant to the question?")
                    if associations
                    else 0.0
                )
        return Evaluation(_clip(thought), _clip(assoc), False, f"p={thought:.2f}")


class StepJudge:
    """F_g = P(yes) that the node's latest step (or its answer) is correct, read by option scoring at the end of
    the node's expansion prompt; F_a = the mean score of its associations. No generation.

    As a plain :class:`Evaluator` (called outside a search) it builds the transcript with
    :func:`reasoning.search.thoughts.thought_messages`.

    Its token use is ``usage``: what the scorer reports it ran (``scorer.usage`` before and after, prefix
    cache discounted), else an estimate (prompt + options, by ``token_counter``).

    Args:
        scorer: an engine with ``score_options``.
        yes: the option meaning yes; no: the option meaning no.
        token_counter: estimates tokens of a text when the scorer reports no usage.
    """

    def __init__(
        self,
        scorer: OptionScorer,
        *,
        yes: str = "yes",
        no: str = "no",
        token_counter: Callable[[str], int] = estimate_tokens,
    ) -> None:
        self._scorer = scorer
        self._yes, self._no = yes, no
        self._count = token_counter
        self.usage = Usage()

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        from reasoning.search.thoughts import thought_messages

        return self.evaluate_transcript(
            thought_messages(question, "", path, associations, False), associations, answer
        )

    def evaluate_transcript(
        self, transcript: Sequence[Message], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        ask = (
            f"Is '{answer}' the right answer? yes or no"
            if answer is not None
            else "Is that step right? yes or no"
        )
        messages = [dict(m) for m in transcript]
        last = messages[-1]
        messages[-1] = {"role": last["role"], "content": f"{last['content']}\n{ask}"}
        options = [self._yes, self._no]
        before = getattr(self._scorer, "usage", None)
        scores = self._scorer.score_options(messages, options, normalize=True)  # type: ignore[arg-type]
        after = getattr(self._scorer, "usage", None)
        if isinstance(before, Usage) and isinstance(after, Usage):
            spent = Usage(
                after.prompt_tokens - before.prompt_tokens, 0, after.cached_tokens - before.cached_tokens
            )
        else:
            prompt = sum(self._count(str(m["content"])) for m in messages)
            spent = Usage(prompt + sum(self._count(o) for o in options), 0)
        self.usage = self.usage + spent
        thought = p_first(scores)
        assoc = sum(a.score for a in associations) / len(associations) if associations else 0.0
        return Evaluation(_clip(thought), _clip(assoc), False, f"p(yes)={thought:.2f}")


__all__ = [
    "Evaluation",
    "Evaluator",
    "JudgeVerdict",
    "LLMJudge",
    "OptionScoringJudge",
    "StepJudge",
    "TranscriptEvaluator",
    "estimate_tokens",
    "p_first",
    "parse_verdict",
]
