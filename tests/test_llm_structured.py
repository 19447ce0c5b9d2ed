"""Structured output: JSON extraction, validation and the repair loop (no model needed)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import StructuredOutputError
from reasoning.llm import GenerationOptions, Message, user
from reasoning.structured import extract_json, generate_structured, validate_output


class Fact(BaseModel):
    subject: str
    relation: str
    object: str


GOOD = '{"subject": "Alice", "relation": "lives_in", "object": "Paris"}'


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        f"```json\n{GOOD}\n```",
        f"Sure! Here is the JSON:\n{GOOD}\nHope this helps.",
        f"```\n{GOOD}\n```",
        f"prose {{not json}} then {GOOD}",
    ],
)
def test_extract_json_tolerates_fences_and_prose(text: str) -> None:
    assert extract_json(text) == {"subject": "Alice", "relation": "lives_in", "object": "Paris"}


@pytest.mark.parametrize("text", ["", "   ", "no json here", "{broken", "```json\n{\n```"])
def test_extract_json_rejects_junk_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        extract_json(text)


@given(st.text(max_size=200))
def test_validate_output_never_crashes_on_arbitrary_text(text: str) -> None:
    with contextlib.suppress(ValueError):
        validate_output(text, Fact)


def test_validate_output_dict_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert validate_output('{"n": 3}', schema) == {"n": 3}
    with pytest.raises(ValueError, match="n"):
        validate_output('{"m": 3}', schema)


def test_generate_structured_first_try() -> None:
    llm = ScriptedLLM.replies(GOOD)
    fact = generate_structured(llm, [user("extract")], Fact)
    assert fact == Fact(subject="Alice", relation="lives_in", object="Paris")
    assert len(llm.calls) == 1
    assert llm.calls[0][1].schema is Fact


def test_generate_structured_repairs_with_the_validation_error() -> None:
    llm = ScriptedLLM.replies("I think Alice lives in Paris.", '{"subject": "Alice"}', GOOD)
    fact = generate_structured(llm, [user("extract")], Fact, retries=2)
    assert fact.object == "Paris"
    assert len(llm.calls) == 3
    repair_prompt = llm.calls[2][0][-1]["content"]
    assert "not valid" in repair_prompt and "relation" in repair_prompt
    assert llm.calls[2][0][-2] == {"role": "assistant", "content": '{"subject": "Alice"}'}


def test_generate_structured_gives_typed_error_with_raw_text() -> None:
    llm = ScriptedLLM.replies("{{{ junk")
    with pytest.raises(StructuredOutputError) as info:
        generate_structured(llm, [user("extract")], Fact, retries=1)
    assert info.value.raw == "{{{ junk"
    assert len(llm.calls) == 2


def test_generate_structured_dict_schema_and_options_kept() -> None:
    def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
        return '{"answer": 42}'

    llm = ScriptedLLM(fn)
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    value = generate_structured(llm, [user("q")], schema, options=GenerationOptions(max_tokens=50))
    assert value == {"answer": 42}
    assert llm.calls[0][1].max_tokens == 50
