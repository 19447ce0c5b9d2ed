"""The server speaks OpenAI's chat API fully, checked with the official ``openai`` client: the system message as
the turn's instruction, unseen earlier messages as context, sampling parameters passed on, response_format,
client-side tools (plain and streamed) continued by tool messages, clear 400s for what is not supported; and the
black-box check of a ``cogarch serve`` process against an OpenAI-compatible model server that calls tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from test_serve import ALICE, Live, free_port, make_agent

from cogarch.serve.auth import hash_key
from reasoning.engines.scripted import Scripted, ScriptedLLM
from reasoning.llm import GenerationOptions, Message
from reasoning.testing.stub_server import StubReply, StubServer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def weather_model(messages: Sequence[Message], options: GenerationOptions) -> Scripted:
    results = [m["content"] for m in messages if m["role"] == "tool"]
    if results:
        return f"It is {results[-1]} there."
    if any(t.name == "get_weather" for t in options.tools):
        return ScriptedLLM.call("get_weather", city="Oslo")
    return "no tools"


@pytest.fixture
def served(data_dir: Path) -> Iterator[tuple[Live, ScriptedLLM]]:
    llm = ScriptedLLM(weather_model)
    agent = make_agent(data_dir, llm=llm)
    try:
        with Live(agent, agent.settings.serve) as server:
            yield server, llm
    finally:
        agent.close()


def test_system_message_context_and_sampling_reach_the_model(served: tuple[Live, ScriptedLLM]) -> None:
    live, llm = served
    client = live.client()
    client.chat.completions.create(
        model="cogarch",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "My cat is Tom."},
            {"role": "assistant", "content": "Nice cat."},
            {"role": "user", "content": "What is my cat called?"},
        ],
        temperature=0.4,
        top_p=0.8,
        max_completion_tokens=20,
        stop=["\n\n"],
        seed=11,
    )
    messages, options = llm.calls[-1]
    assert messages[0]["content"].endswith("Answer in French.")
    assert [m["content"] for m in messages[1:]] == ["My cat is Tom.", "Nice cat.", "What is my cat called?"]
    assert (options.temperature, options.top_p, options.max_tokens, options.stop, options.seed) == (
        0.4,
        0.8,
        20,
        ("\n\n",),
        11,
    )
    stored = [e.text for e in live.agent.memory.episodes(namespace="alice")]
    assert not any(
        "French" in t or "Tom" in t for t in stored
    )  # instruction and client context: not memories
    # the agent has now seen this turn: sending the same history again does not repeat it as context
    client.chat.completions.create(
        model="cogarch",
        messages=[
            {"role": "user", "content": "What is my cat called?"},
            {"role": "assistant", "content": "no tools"},
            {"role": "user", "content": "And my dog?"},
        ],
    )
    later = llm.calls[-1][0]
    assert [m["content"] for m in later[1:]].count("What is my cat called?") == 1


def test_response_format_json_schema_and_json_object(served: tuple[Live, ScriptedLLM]) -> None:
    live, llm = served
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    live.client().chat.completions.create(
        model="cogarch",
        messages=[{"role": "user", "content": "city?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    assert llm.calls[-1][1].schema == schema
    live.client().chat.completions.create(
        model="cogarch",
        messages=[{"role": "user", "content": "json"}],
        response_format={"type": "json_object"},
    )
    assert llm.calls[-1][1].schema == {"type": "object"}


@pytest.mark.parametrize("stream", [False, True])
def test_client_side_tools_come_back_as_tool_calls_and_tool_messages_continue_the_turn(
    served: tuple[Live, ScriptedLLM], stream: bool
) -> None:
    live, llm = served
    client = live.client()
    question = {"role": "user", "content": "Weather in Oslo?"}
    if stream:
        parts = list(
            client.chat.completions.create(model="cogarch", messages=[question], tools=[WEATHER], stream=True)
        )
        finish = [c.choices[0].finish_reason for c in parts if c.choices and c.choices[0].finish_reason]
        deltas = [tc for c in parts if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
        assert finish == ["tool_calls"] and len(deltas) == 1
        call_id, name, arguments = deltas[0].id, deltas[0].function.name, deltas[0].function.arguments
    else:
        first = client.chat.completions.create(model="cogarch", messages=[question], tools=[WEATHER])
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        call = choice.message.tool_calls[0]
        call_id, name, arguments = call.id, call.function.name, call.function.arguments
    assert (name, json.loads(arguments or "")) == ("get_weather", {"city": "Oslo"})
    assert live.agent.memory.episodes(namespace="alice") == []
    follow = [
        question,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny, 12 C"},
    ]
    if stream:
        chunks = list(
            client.chat.completions.create(model="cogarch", messages=follow, tools=[WEATHER], stream=True)
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = (
            client.chat.completions.create(model="cogarch", messages=follow, tools=[WEATHER])
            .choices[0]
            .message.content
        )
    assert text == "It is sunny, 12 C there."
    assert llm.calls[-1][0][-1]["role"] == "tool"
    stored = [e.text for e in live.agent.memory.episodes(namespace="alice")]
    assert len(stored) == 3 and any("sunny, 12 C" in t for t in stored)


def test_unsupported_fields_get_a_clear_400(served: tuple[Live, ScriptedLLM]) -> None:
    live, _ = served
    client = live.client()
    hello = [{"role": "user", "content": "hi"}]
    cases: list[dict[str, Any]] = [
        {"n": 2},
        {"audio": {"voice": "alloy", "format": "wav"}, "modalities": ["text", "audio"]},
        {"logprobs": True},
        {"presence_penalty": 0.5},
        {"extra_body": {"frobnicate": 1}},
        {"functions": [{"name": "f", "parameters": {}}]},
        {"temperature": 3},
        {"tool_choice": {"type": "function", "function": {"name": "nope"}}, "tools": [WEATHER]},
    ]
    for extra in cases:
        body = dict(extra)
        extra_body = body.pop("extra_body", None)
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="cogarch", messages=hello, extra_body=extra_body, **body)
        assert caught.value.status_code == 400, extra
        assert caught.value.body["message"], extra  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="tool call"):
        client.chat.completions.create(
            model="cogarch",
            messages=[*hello, {"role": "tool", "tool_call_id": "x", "content": "?"}],
        )
    # accepted: fields that do not change the answer, and the defaults of the unsupported ones
    client.chat.completions.create(
        model="cogarch", messages=hello, n=1, presence_penalty=0, metadata={"a": "b"}
    )


def test_cogarch_serve_process_passes_the_system_message_and_returns_client_tool_calls(
    tmp_path: Path,
) -> None:
    """Black box: `cogarch serve` configured with COGARCH_LLM__MODEL and COGARCH_LLM__API_BASE, in front of an
    OpenAI-compatible model server that answers with a tool call."""

    def model(body: dict[str, Any]) -> StubReply:
        if body.get("tools") and not any(m.get("role") == "tool" for m in body["messages"]):
            return StubReply.tool_call("get_weather", {"city": "Lima"})
        return StubReply("done")

    with StubServer(default=model) as upstream:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("COGARCH_")},
            "COGARCH_DATA_DIR": str(tmp_path / "data"),
            "COGARCH_LLM__MODEL": "openai/stub",
            "COGARCH_LLM__API_BASE": upstream.url,
            "COGARCH_LLM__API_KEY": "x",
            "COGARCH_LLM__MAX_RETRIES": "0",
            "COGARCH_EMBEDDING__MODEL": "hash",
            "COGARCH_EMBEDDING__DIM": "64",
            "COGARCH_SUBSTRATE__ENABLED": "false",
            "COGARCH_SERVE__API_KEYS": json.dumps([{"name": "t", "hash": hash_key(ALICE), "users": ["ann"]}]),
        }
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("cogarch")), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 401):
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            client = openai.OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1", api_key=ALICE, max_retries=0, timeout=60
            )
            answer = client.chat.completions.create(
                model="cogarch",
                messages=[
                    {"role": "system", "content": "You are a weather bot."},
                    {"role": "user", "content": "Weather in Lima?"},
                ],
                tools=[WEATHER],
            )
        finally:
            process.terminate()
            process.wait(30)
        assert answer.choices[0].finish_reason == "tool_calls"
        call = answer.choices[0].message.tool_calls[0]
        assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Lima"})
        sent = upstream.requests[-1]
        assert "You are a weather bot." in sent["messages"][0]["content"]
        assert sent["tools"][0]["function"]["name"] == "get_weather"
