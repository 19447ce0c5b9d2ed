"""Tools in the cognitive cycle: the model calls Python callables (scripted and through a real OpenAI-compatible
server), errors and timeouts reach the model, the step limit holds, calls are stored as external episodes,
client-side tools end the turn and continue it, and the turn's instruction, context and sampling reach the model."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cogarch.agent import Agent
from cogarch.clock import ManualClock
from cogarch.settings import Settings
from cogarch.turns import TurnOptions
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import Scripted, ScriptedLLM
from reasoning.errors import ConfigError
from reasoning.llm import GenerationOptions, Message, ToolSpec, tool_calls_message, tool_result
from reasoning.testing.stub_server import StubReply, StubServer


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"cannot: {reason}")


def sleepy(seconds: float) -> str:
    """Sleeps a while."""
    time.sleep(seconds)
    return "rested"


def last_tool_result(messages: Sequence[Message]) -> str | None:
    results = [m["content"] for m in messages if m["role"] == "tool"]
    return results[-1] if results else None


def agent_with(
    data_dir: Path, script: Any, tools: Sequence[Any] = (), **tool_settings: Any
) -> tuple[Agent, ScriptedLLM]:
    llm = script if isinstance(script, ScriptedLLM) else ScriptedLLM(script)
    settings = Settings.load(
        data_dir=data_dir,
        substrate={"enabled": False},
        tools=tool_settings,
        persistence={"checkpointer": "sqlite"},
    )
    agent = Agent(settings, llm=llm, embedder=HashEmbedder(256), clock=ManualClock(1.7e9), tools=tools)
    return agent, llm


def calls_then_answers(call: Any) -> Any:
    def script(messages: Sequence[Message], options: GenerationOptions) -> Scripted:
        result = last_tool_result(messages)
        if result is None and options.tools:
            return call
        return f"The tool said: {result}"

    return script


def test_a_tool_is_called_and_its_result_used_and_stored_as_external(data_dir: Path) -> None:
    agent, llm = agent_with(data_dir, calls_then_answers(ScriptedLLM.call("add", a=2, b=3)), [add])
    with agent:
        events = list(agent.stream("What is 2 + 3?", user="bob"))
        reply = events[-1].reply
        assert reply is not None
        assert reply.text == "The tool said: 5"
        assert [(u.name, json.loads(u.arguments), u.content, u.error) for u in reply.tools] == [
            ("add", {"a": 2, "b": 3}, "5", False)
        ]
        assert [e.data["name"] for e in events if e.kind == "tool"] == ["add"]
        first_options = llm.calls[0][1]
        assert [t.name for t in first_options.tools] == ["add"]
        assert first_options.tools[0].parameters["required"] == ["a", "b"]
        second = llm.calls[1][0]
        assert second[-2]["tool_calls"][0]["function"]["name"] == "add"
        assert second[-1] == {
            "role": "tool",
            "content": "5",
            "tool_call_id": second[-2]["tool_calls"][0]["id"],
            "name": "add",
        }
        episodes = agent.memory.episodes(namespace="bob")
        tool_episodes = [e for e in episodes if e.metadata.get("channel") == "tool"]
        assert len(tool_episodes) == 1 and len(episodes) == 3
        assert tool_episodes[0].text.startswith("add(") and tool_episodes[0].text.endswith("-> 5")
        assert tool_episodes[0].speaker == "tool:add"
        later = agent.chat("What did the add tool return?", user="bob")
        from_tool = [r for r in later.recalled if r.id == tool_episodes[0].id]
        assert from_tool and "unverified source: tool" in from_tool[0].why  # the gateway's external channel
        assert "tools" in reply.timings


def test_a_tool_that_raises_becomes_an_error_message_to_the_model(data_dir: Path) -> None:
    agent, _ = agent_with(data_dir, calls_then_answers(ScriptedLLM.call("explode", reason="test")), [explode])
    with agent:
        reply = agent.chat("Blow up", user="bob")
    assert reply.text == "The tool said: error: explode raised ValueError: cannot: test"
    assert reply.tools[0].error


def test_a_tool_that_hangs_times_out_and_the_turn_goes_on(data_dir: Path) -> None:
    agent, _ = agent_with(
        data_dir, calls_then_answers(ScriptedLLM.call("sleepy", seconds=30)), [sleepy], timeout_s=0.3
    )
    with agent:
        started = time.perf_counter()
        reply = agent.chat("Take a nap", user="bob")
        assert time.perf_counter() - started < 10
    assert reply.text == "The tool said: error: the tool sleepy did not finish within 0.3 s"


def test_the_step_limit_makes_the_model_answer(data_dir: Path) -> None:
    def insistent(messages: Sequence[Message], options: GenerationOptions) -> Scripted:
        if options.tools:
            return ScriptedLLM.call("add", a=1, b=1)
        return f"stopped after {sum(m['role'] == 'tool' for m in messages)} results"

    agent, llm = agent_with(data_dir, insistent, [add], max_steps=2)
    with agent:
        reply = agent.chat("Keep adding", user="bob")
    assert reply.text == "stopped after 2 results"
    assert len(reply.tools) == 2 and len(llm.calls) == 3 and llm.calls[2][1].tools == ()


def test_client_side_tools_end_the_turn_and_the_results_continue_it(data_dir: Path) -> None:
    weather = ToolSpec(
        "get_weather", "Weather of a city", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    agent, llm = agent_with(data_dir, calls_then_answers(ScriptedLLM.call("get_weather", city="Oslo")), [add])
    with agent:
        first = agent.chat("Weather in Oslo?", user="bob", options=TurnOptions(tools=[weather]))
        assert first.finish_reason == "tool_calls" and first.text == ""
        assert [c.name for c in first.tool_calls] == ["get_weather"]
        assert [t.name for t in llm.calls[0][1].tools] == ["add", "get_weather"]
        assert agent.memory.episodes(namespace="bob") == []  # stored when the turn is continued
        exchange = [tool_calls_message(first.tool_calls), tool_result(first.tool_calls[0].id, "rain, 4 C")]
        second = agent.chat(
            "Weather in Oslo?", user="bob", options=TurnOptions(tools=[weather], tool_messages=exchange)
        )
        assert second.text == "The tool said: rain, 4 C" and second.finish_reason == "stop"
        texts = [e.text for e in agent.memory.episodes(namespace="bob")]
        assert len(texts) == 3 and any("rain, 4 C" in t for t in texts)


def test_a_round_calling_agent_and_client_tools_returns_only_the_clients_calls(data_dir: Path) -> None:
    weather = ToolSpec(
        "get_weather", "Weather of a city", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    both = [ScriptedLLM.call("add", a=1, b=2), ScriptedLLM.call("get_weather", city="Oslo")]
    ran: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:  # the agent's own tool, counting its runs
        """Add two integers."""
        ran.append((a, b))
        return a + b

    agent, llm = agent_with(data_dir, calls_then_answers(both), [add])
    with agent:
        first = agent.chat("Weather in Oslo?", user="bob", options=TurnOptions(tools=[weather]))
        # the client is asked only for what it can run, so it can answer every call it got
        assert first.finish_reason == "tool_calls" and [c.name for c in first.tool_calls] == ["get_weather"]
        assert [t.name for t in llm.calls[0][1].tools] == ["add", "get_weather"] and ran == []
        exchange = [tool_calls_message(first.tool_calls), tool_result(first.tool_calls[0].id, "rain, 4 C")]
        second = agent.chat(
            "Weather in Oslo?", user="bob", options=TurnOptions(tools=[weather], tool_messages=exchange)
        )
        assert second.finish_reason == "stop" and "rain, 4 C" in second.text


def test_instruction_context_and_sampling_reach_the_model(data_dir: Path) -> None:
    agent, llm = agent_with(data_dir, lambda messages, options: "ok")
    options = TurnOptions(
        instruction="Answer like a pirate.",
        context=[{"role": "user", "content": "I am Ann."}, {"role": "assistant", "content": "Hi Ann."}],
        temperature=0.7,
        top_p=0.9,
        max_tokens=12,
        stop=["END"],
        seed=3,
        response_format={"type": "object"},
    )
    with agent:
        agent.chat("Who am I?", user="bob", options=options)
        messages, sent = llm.calls[-1]
        assert messages[0]["role"] == "system" and messages[0]["content"].endswith("Answer like a pirate.")
        assert [m["content"] for m in messages[1:]] == ["I am Ann.", "Hi Ann.", "Who am I?"]
        assert (sent.temperature, sent.top_p, sent.max_tokens, sent.stop, sent.seed) == (
            0.7,
            0.9,
            12,
            ("END",),
            3,
        )
        assert sent.schema == {"type": "object"}
        texts = [e.text for e in agent.memory.episodes(namespace="bob")]
        assert not any("pirate" in t or "Ann" in t for t in texts)  # instruction and context are not stored


def test_bad_turn_options_and_tools_are_refused(data_dir: Path) -> None:
    agent, _ = agent_with(data_dir, lambda messages, options: "ok", [add])
    with agent:
        with pytest.raises(Exception, match="names of the agent's own tools"):
            agent.chat("x", user="bob", options=TurnOptions(tools=[ToolSpec("add")]))
        with pytest.raises(Exception, match="tool_choice"):
            agent.chat("x", user="bob", options=TurnOptions(tool_choice="nothing"))
    with pytest.raises(ConfigError, match="two tools"):
        agent_with(data_dir / "other", lambda m, o: "ok", [add, add])


def test_library_runs_a_tool_against_an_openai_compatible_server(data_dir: Path) -> None:
    """The black-box check: a real OpenAI-compatible server whose model calls the tool, then answers."""

    def model(body: dict[str, Any]) -> StubReply:
        results = [m["content"] for m in body["messages"] if m.get("role") == "tool"]
        if body.get("tools") and not results:
            return StubReply.tool_call("add", {"a": 20, "b": 22})
        return StubReply(text=f"It is {results[-1]}." if results else "no tool")

    with StubServer(default=model) as server:
        with Agent.open(
            data_dir,
            llm={"model": "openai/stub", "api_base": server.url, "api_key": "x", "max_retries": 0},
            embedder=HashEmbedder(256),
            substrate={"enabled": False},
            tools=[add],
        ) as agent:
            reply = agent.chat("What is 20 + 22?", user="bob")
        assert reply.text == "It is 42."
        assert server.requests[0]["tools"][0]["function"]["name"] == "add"
        assert server.requests[1]["messages"][-1]["role"] == "tool"


def test_async_forget_forget_user_and_act(data_dir: Path) -> None:
    class First:
        def choose(self, ctx: Any) -> str:
            return str(ctx.admissible[0])

        def observe(self, ctx: Any, command: str, next_observation: str, reward: float, done: bool) -> None:
            return None

    async def run() -> None:
        with Agent.open(
            data_dir,
            llm=ScriptedLLM(lambda m, o: "noted"),
            embedder=HashEmbedder(256),
            substrate={"enabled": False},
            policy=First(),
        ) as agent:
            await agent.achat("my locker code is 4711", user="bob")
            assert await agent.aforget(query="locker code", user="bob", k=1) == 1
            step = await agent.aact("A door.", user="bob", admissible=["open door", "wait"])
            assert step.command == "open door"
            await agent.aforget_user("bob")
            assert agent.memory.episodes(namespace="bob") == []

    asyncio.run(run())


@pytest.mark.parametrize(
    ("fn", "arguments", "expected"),
    [
        (explode, {"reason": "x"}, "error: explode raised ValueError: cannot: x"),
        (sleepy, {"seconds": 30}, "error: the tool sleepy did not finish within 0.3 s"),
    ],
)
def test_failing_tools_through_an_openai_compatible_server(
    data_dir: Path, fn: Any, arguments: dict[str, Any], expected: str
) -> None:
    def model(body: dict[str, Any]) -> StubReply:
        results = [m["content"] for m in body["messages"] if m.get("role") == "tool"]
        if body.get("tools") and not results:
            return StubReply.tool_call(fn.__name__, arguments)
        return StubReply(text=f"Result: {results[-1]}")

    with StubServer(default=model) as server:
        settings = Settings.load(
            data_dir=data_dir,
            llm={"model": "openai/stub", "api_base": server.url, "api_key": "x", "max_retries": 0},
            substrate={"enabled": False},
            tools={"timeout_s": 0.3},
        )
        with Agent(settings, embedder=HashEmbedder(256), tools=[fn]) as agent:
            reply = agent.chat("go", user="bob")
    assert reply.text == f"Result: {expected}"


def test_the_step_limit_through_an_openai_compatible_server(data_dir: Path) -> None:
    def model(body: dict[str, Any]) -> StubReply:  # calls add whenever it may
        if body.get("tools"):
            return StubReply.tool_call("add", {"a": 1, "b": 2})
        return StubReply(text=f"gave up after {sum(m.get('role') == 'tool' for m in body['messages'])}")

    with StubServer(default=model) as server:
        settings = Settings.load(
            data_dir=data_dir,
            llm={"model": "openai/stub", "api_base": server.url, "api_key": "x", "max_retries": 0},
            substrate={"enabled": False},
            tools={"max_steps": 3},
        )
        with Agent(settings, embedder=HashEmbedder(256), tools=[add]) as agent:
            reply = agent.chat("go", user="bob")
        assert reply.text == "gave up after 3" and len(reply.tools) == 3
        assert "tools" not in server.requests[-1]
