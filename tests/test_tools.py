"""Tools: schemas from callables, running calls (errors, timeouts), and tool calls through every engine kind."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from reasoning.config import LLMSettings
from reasoning.engines.litellm_engine import LiteLLMEngine
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import ConfigError
from reasoning.llm import GenerationOptions, ToolCall, ToolSpec, tool_calls_message, tool_result, user
from reasoning.testing.stub_server import StubReply, StubServer
from reasoning.tools import run_call, tool, tools_of


def add(a: int, b: int = 2) -> int:
    """Add two integers.

    Args:
        a: the first number.
        b: the second number,
            two when not given.
    """
    return a + b


class Address(BaseModel):
    city: str
    zip: str | None = None


def ship(to: Address, weight_kg: float) -> str:
    """Ship a parcel."""
    return f"shipped {weight_kg} kg to {to.city}"


async def slow_echo(text: str) -> str:
    """Echo after a while."""
    await asyncio.sleep(5)
    return text


def test_schema_comes_from_type_hints_and_docstring() -> None:
    made = tool(add)
    assert made.spec.name == "add"
    assert made.spec.description == "Add two integers."
    params = made.spec.parameters
    assert params["required"] == ["a"]
    assert params["properties"]["a"]["type"] == "integer"
    assert params["properties"]["a"]["description"] == "the first number."
    assert params["properties"]["b"]["description"] == "the second number, two when not given."
    assert params["properties"]["b"]["default"] == 2


def test_pydantic_model_parameters_are_nested_objects_and_arrive_as_models() -> None:
    made = tool(ship)
    assert "to" in made.spec.parameters["required"]
    call = ToolCall("c1", "ship", json.dumps({"to": {"city": "Oslo"}, "weight_kg": 1.5}))
    result = run_call([made], call)
    assert (result.error, result.content) == (False, "shipped 1.5 kg to Oslo")


def test_bad_tools_are_refused_with_a_hint() -> None:
    def varargs(*items: int) -> int:
        return 0

    with pytest.raises(ConfigError):
        tool(varargs)
    with pytest.raises(ConfigError, match="two tools"):
        tools_of([add, add])
    with pytest.raises(ConfigError):
        tool(add, name="not a name")


def test_calls_that_fail_become_error_messages_for_the_model() -> None:
    def boom(x: int) -> int:
        """Fails."""
        raise RuntimeError("disk on fire")

    tools = tools_of([add, boom])
    assert run_call(tools, ToolCall("1", "add", '{"a": 40}')).content == "42"
    raised = run_call(tools, ToolCall("2", "boom", '{"x": 1}'))
    assert raised.error and "RuntimeError: disk on fire" in raised.content
    invalid = run_call(tools, ToolCall("3", "add", '{"a": "many"}'))
    assert invalid.error and "invalid arguments for add" in invalid.content and "a:" in invalid.content
    assert "not valid JSON" in run_call(tools, ToolCall("4", "add", "{a: 1")).content
    unknown = run_call(tools, ToolCall("5", "nope", "{}"))
    assert unknown.error and "no tool named 'nope'" in unknown.content and "add" in unknown.content
    extra = run_call(tools, ToolCall("6", "add", '{"a": 1, "c": 3}'))
    assert extra.error and "c:" in extra.content


def test_a_hanging_tool_times_out_sync_and_async() -> None:
    def hang(seconds: float) -> str:
        """Sleeps."""
        time.sleep(seconds)
        return "woke"

    tools = tools_of([hang, slow_echo])
    started = time.perf_counter()
    sync = run_call(tools, ToolCall("1", "hang", '{"seconds": 5}'), timeout_s=0.2)
    async_ = run_call(tools, ToolCall("2", "slow_echo", '{"text": "x"}'), timeout_s=0.2)
    assert time.perf_counter() - started < 3
    assert sync.error and "did not finish within 0.2 s" in sync.content
    assert async_.error and "did not finish within 0.2 s" in async_.content


def test_async_tools_run() -> None:
    async def fetch(key: str) -> dict[str, str]:
        """Look a key up."""
        await asyncio.sleep(0)
        return {"key": key, "value": "v"}

    result = run_call(tools_of([fetch]), ToolCall("1", "fetch", '{"key": "k"}'))
    assert json.loads(result.content) == {"key": "k", "value": "v"}


def test_results_are_cut_to_the_limit() -> None:
    def big() -> str:
        """Much text."""
        return "x" * 100

    result = run_call(tools_of([big]), ToolCall("1", "big", "{}"), max_chars=10)
    assert result.content.startswith("x" * 10) and "cut at 10" in result.content


def test_scripted_llm_scripts_tool_calls_in_complete_and_stream() -> None:
    llm = ScriptedLLM.replies(ScriptedLLM.call("add", a=1), "done")
    options = GenerationOptions(tools=(tool(add).spec,))
    first = llm.complete([user("add 1")], options)
    assert first.finish_reason == "tool_calls" and first.tool_calls[0].name == "add"
    assert json.loads(first.tool_calls[0].arguments) == {"a": 1}
    chunks = list(llm.stream([user("again")], options))
    assert chunks[-1].done and chunks[-1].tool_calls == () and "".join(c.delta for c in chunks) == "done"


@pytest.mark.parametrize("stream", [False, True])
def test_litellm_engine_sends_tools_and_reads_tool_calls(stream: bool) -> None:
    with StubServer() as server:
        server.enqueue(
            StubReply.tool_call("add", {"a": 2, "b": 3}, id="call_9"),
            StubReply("five"),
        )
        llm = LiteLLMEngine(LLMSettings(model="openai/stub", api_base=server.url, api_key="x"))
        spec = tool(add).spec
        options = GenerationOptions(tools=(spec,), tool_choice="required", top_p=0.5, seed=7)
        messages = [user("what is 2 + 3?")]
        if stream:
            final = list(llm.stream(messages, options))[-1]
            calls, finish = final.tool_calls, final.finish_reason
        else:
            completion = llm.complete(messages, options)
            calls, finish = completion.tool_calls, completion.finish_reason
        assert finish == "tool_calls"
        assert calls == (ToolCall("call_9", "add", '{"a": 2, "b": 3}'),)
        sent = server.requests[0]
        assert sent["tools"] == [spec.to_openai()]
        assert sent["tool_choice"] == "required" and sent["top_p"] == 0.5 and sent["seed"] == 7
        follow_up = [*messages, tool_calls_message(calls), tool_result("call_9", "5", "add")]
        assert llm.complete(follow_up, GenerationOptions(tools=(spec,))).text == "five"
        relayed = server.requests[1]["messages"]
        assert relayed[1]["tool_calls"][0]["function"]["name"] == "add"
        assert relayed[2] == {"role": "tool", "content": "5", "tool_call_id": "call_9", "name": "add"}


def test_tool_spec_round_trips_the_openai_shape() -> None:
    spec = ToolSpec("f", "does f", {"type": "object", "properties": {"x": {"type": "string"}}})
    assert ToolSpec.from_openai(spec.to_openai()) == spec
    with pytest.raises(ValueError):
        ToolSpec.from_openai({"type": "code_interpreter"})
    assert (
        ToolCall.from_openai({"id": "i", "function": {"name": "f", "arguments": {"x": 1}}}).arguments
        == '{"x": 1}'
    )


def test_prompted_tools_choose_by_calibrated_scores_fill_arguments_and_answer_with_results() -> None:
    from reasoning.prompted_tools import CONTENT_FREE, PromptedTools

    def score(messages: object, option: str) -> float:
        request = messages[-1]["content"]  # type: ignore[index]
        prior = {"Add two integers.": -1.0, "Reply in words.": -0.5}.get(option, -3.0)  # the model's bias
        if request == CONTENT_FREE:
            return prior
        cue = "plus" in request
        return prior + (
            2.0 if option == "Add two integers." and cue else 0.5 if option == "Reply in words." else 0.0
        )

    def script(messages: object, options: GenerationOptions) -> str:
        if options.schema is not None:
            return '{"a": 2, "b": 3}'
        lines = messages[0]["content"].splitlines()  # type: ignore[index]
        return "answer: " + (lines[-2] if len(lines) > 1 else "in words")

    llm = PromptedTools(ScriptedLLM(script, score=score))
    options = GenerationOptions(tools=(tool(add).spec,))
    called = llm.complete([user("what is 2 plus 3?")], options)
    assert called.finish_reason == "tool_calls"
    assert (called.tool_calls[0].name, json.loads(called.tool_calls[0].arguments)) == (
        "add",
        {"a": 2, "b": 3},
    )
    assert llm.complete([user("hello there")], options).tool_calls == ()  # words win without the cue
    follow_up = [
        user("what is 2 plus 3?"),
        tool_calls_message(called.tool_calls),
        tool_result(called.tool_calls[0].id, "5"),
    ]
    answer = llm.complete(follow_up, options)
    assert answer.tool_calls == () and answer.text == 'answer: - add({"a": 2, "b": 3}) returned: "5"'
    streamed = list(llm.stream([user("what is 2 plus 3?")], options))
    assert streamed[-1].tool_calls[0].name == "add"
    forced = llm.complete(
        [user("hello there")], GenerationOptions(tools=(tool(add).spec,), tool_choice="add")
    )
    assert forced.tool_calls[0].name == "add"


def test_prompted_tools_without_scores_ask_for_the_name_as_json() -> None:
    from reasoning.prompted_tools import PromptedTools

    def script(messages: object, options: GenerationOptions) -> str:
        schema = options.schema
        if isinstance(schema, dict) and "tool" in schema.get("properties", {}):
            return '{"tool": "add"}'
        return '{"a": 1, "b": 1}' if schema is not None else "words"

    class NoScores:  # an LLM without score_options
        def __init__(self) -> None:
            self.inner = ScriptedLLM(script)
            self.name = "no-scores"

        def complete(self, messages: Any, options: GenerationOptions | None = None) -> Any:
            return self.inner.complete(messages, options)

        def stream(self, messages: Any, options: GenerationOptions | None = None) -> Any:
            return self.inner.stream(messages, options)

    llm = PromptedTools(NoScores())
    call = llm.complete([user("one and one")], GenerationOptions(tools=(tool(add).spec,)))
    assert call.tool_calls and call.tool_calls[0].name == "add"


def test_constrained_json_decoding_writes_the_shape_and_lets_the_model_pick_values() -> None:
    import numpy as np

    from reasoning.engines.json_decoding import JsonDecoder, flat_properties

    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "n": {"type": "integer"},
            "unit": {"enum": ["a", "bb"]},
            "ok": {"type": "boolean"},
            "x": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        },
    }
    wanted = {"city": '"Oslo"', "n": "42,", "unit": '"bb"', "ok": "false", "x": "1.5}"}

    def encode(text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(ids: Sequence[int]) -> str:
        return "".join(chr(i) for i in ids)

    def next_logits(ids: list[int]) -> Any:  # a "model" that would write the wanted values, else a newline
        text = decode(ids)
        key = max(wanted, key=lambda k: text.rfind(f'"{k}": '))
        so_far = text[text.rfind(f'"{key}": ') + len(key) + 4 :]
        raw = wanted[key]
        logits = np.zeros(128)
        logits[ord(raw[len(so_far)] if len(so_far) < len(raw) else "\n")] = 10.0
        return logits

    decoder = JsonDecoder(encode, decode, 128, frozenset({0}))
    text, used = decoder.fill(schema, next_logits, encode("prompt:"))
    assert json.loads(text) == {"city": "Oslo", "n": 42, "unit": "bb", "ok": False, "x": 1.5}
    assert used > 0
    assert flat_properties({"type": "object", "properties": {"a": {"type": "array"}}}) is None
    assert flat_properties({"type": "object", "properties": {}}) is None
