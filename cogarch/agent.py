"""``Agent``: the public face of the cognitive cycle, sync and async.

::

    with Agent.open("~/agent-data") as agent:
        reply = agent.chat("My sister Ada lives in Paris.", user="bob")
        print(reply.text, reply.recalled)
        for action in agent.idle(8 * 3600, user="bob"):
            print("proactive:", action.content)

Every collaborator is injectable (``llm=``, ``embedder=``, ``memory=``, ``clock=``, ``policy=``); by default the
composition root builds them from :class:`~cogarch.settings.Settings`. ``tools=`` gives the model Python
callables to call (and ``mcp=`` / ``settings.tools.mcp`` the tools of MCP servers); see :mod:`reasoning.tools`.
One thread of LangGraph checkpoints per user and conversation; turns of one user are serialised, different users
run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogarch.clock import Clock, ManualClock
from cogarch.cognitive_graph import build_checkpointer, compile_graph
from cogarch.composition import build_context, secure_data_dir
from cogarch.consolidator import ConsolidationStatus, Consolidator
from cogarch.context import AgentContext
from cogarch.events import Event
from cogarch.forgetting import UserStores, forget_items, forget_user
from cogarch.game import ActionPolicy
from cogarch.nodes import tool_uses
from cogarch.settings import Settings
from cogarch.state import RecalledItem, recalled_items
from cogarch.turns import TurnOptions
from reasoning.errors import InvalidInputError
from reasoning.llm import ToolCall, Usage


@dataclass(frozen=True)
class Association:
    """A memory the substrate's assemblies surfaced for this input."""

    key: str
    strength: float
    text: str


@dataclass(frozen=True)
class ToolUse:
    """A tool call of the turn and its result (``error``: the result is an error message)."""

    id: str
    name: str
    arguments: str
    content: str
    error: bool = False


@dataclass(frozen=True)
class Reply:
    """The result of one chat turn.

    Attributes:
        text: the reply.
        recalled: what memory contributed, with scores and reasons (suspicious items were not shown to the LLM).
        associations: memories surfaced by the spiking substrate.
        searched: whether the CoAT search ran (System 2); ``search`` then holds its summary.
        tokens: LLM token usage of the turn.
        latency_s: wall time of the turn; ``timings`` per node.
        tools: the tool calls of the turn with their results.
        tool_calls: calls of client-side tools (``TurnOptions.tools``) the caller must run; ``finish_reason`` is
            then "tool_calls" and nothing of the turn is stored until the caller continues it with the results
            (``TurnOptions.tool_messages``).
        finish_reason: "stop", "length" or "tool_calls".
        consolidation_error: the last consolidation of the user's memory failed (``"TypeName: message"``; its
            episodes stay pending and the next consolidation retries them); None once one succeeded. See
            :meth:`Agent.consolidation_status`.
    """

    text: str
    user: str
    turn_id: str
    recalled: list[RecalledItem]
    associations: list[Association]
    confidence: float
    searched: bool
    search: dict[str, Any] | None
    tokens: Usage
    latency_s: float
    timings: dict[str, float]
    stored: list[str]
    tools: list[ToolUse] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    consolidation_error: str | None = None


@dataclass(frozen=True)
class ActResult:
    """The result of one environment step: the chosen command and what memory contributed.

    ``timings``: seconds spent in each node of the cycle (perceive, encode, recall, act, learn)."""

    command: str
    recalled: list[RecalledItem]
    tokens: int
    latency_s: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ProactiveAction:
    """Something the agent did unprompted while idle, and why.

    Attributes:
        cause: the memories the substrate surfaced (episode ids).
        cue: the memory the reactivation started from (the latest memory of the concept that ignited), or None.
        path: the concepts it ran through, the ignited one first (``["tomas", "sailing"]``); empty with the
            ``assembly`` learning rule.
    """

    user: str
    t: float
    action: str
    content: str
    cause: list[str]
    cue: str | None = None
    path: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StreamEvent:
    """An item of :meth:`Agent.stream`: a ``token``, a ``search`` progress update, a ``tool`` call the agent ran
    (``data``: id, name, arguments, content, error, seconds), or the final ``reply``."""

    kind: str
    token: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    reply: Reply | None = None


EPISODES_PER_TURN = 2
"""A turn stores its input and its output as two episodes (the consolidation schedule counts episodes)."""


class Agent:
    """The cognitive agent. Build it with :meth:`open` (a data directory) or ``Agent(settings, ...)``.

    Raises:
        cogarch.errors.ConfigError: invalid settings.
        cogarch.errors.StoreLockedError: another process writes this data directory.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: Any = None,
        embedder: Any = None,
        memory: Any = None,
        clock: Clock | None = None,
        policy: ActionPolicy | None = None,
        trace_path: Path | None = None,
        tools: Sequence[Callable[..., Any]] = (),
    ) -> None:
        self.settings = settings if settings is not None else Settings.load()
        self.context: AgentContext = build_context(
            self.settings,
            llm=llm,
            embedder=embedder,
            memory=memory,
            clock=clock,
            policy=policy,
            trace_path=trace_path,
            tools=tools,
        )
        self._checkpointer, self._checkpoint_resource = build_checkpointer(self.settings)
        secure_data_dir(Path(self.settings.data_dir))  # stores exist now: make their files 0600
        self.graph = compile_graph(self._checkpointer)
        self._consolidator = Consolidator(
            lambda user: self.memory.consolidate(namespace=user),
            every=self.settings.memory.consolidate_every,
            background=self.settings.memory.consolidate_in == "background",
            report=lambda user, data: self.context.emit("consolidated", user, data),
        )
        self._closed = False

    @classmethod
    def open(
        cls,
        data_dir: str | Path | None = None,
        *,
        llm: Any = None,
        embedder: Any = None,
        memory: Any = None,
        clock: Clock | None = None,
        policy: ActionPolicy | None = None,
        trace_path: Path | None = None,
        tools: Sequence[Callable[..., Any]] | Mapping[str, Any] = (),
        mcp: Sequence[Mapping[str, Any] | Any] = (),
        **overrides: Any,
    ) -> Agent:
        """An agent on ``data_dir`` with settings from the usual sources, ``overrides`` winning
        (``Agent.open(path, llm={"model": "openai/gpt-4o-mini"})``).

        ``tools``: callables the model may call (or a mapping: the ``tools`` settings section); ``mcp``: MCP
        servers whose tools it may call (:class:`~cogarch.tools.settings.MCPServerSettings` or mappings), added
        to ``tools.mcp`` of the settings."""
        if data_dir is not None:
            overrides["data_dir"] = Path(data_dir).expanduser()
        # ``llm=``, ``memory=`` and ``tools=`` take a collaborator, or a mapping of settings for that section
        if isinstance(llm, Mapping):
            overrides["llm"], llm = dict(llm), None
        if isinstance(memory, Mapping):
            overrides["memory"], memory = dict(memory), None
        if isinstance(tools, Mapping):
            overrides["tools"], tools = dict(tools), ()
        if mcp:
            section = dict(overrides.get("tools") or {})
            servers = [s.model_dump() if hasattr(s, "model_dump") else dict(s) for s in mcp]
            section["mcp"] = [*section.get("mcp", ()), *servers]
            overrides["tools"] = section
        settings = Settings.load(**overrides)
        return cls(
            settings,
            llm=llm,
            embedder=embedder,
            memory=memory,
            clock=clock,
            policy=policy,
            trace_path=trace_path,
            tools=tools,
        )

    # -- properties ---------------------------------------------------------------------------------------------

    @property
    def memory(self) -> Any:
        return self.context.memory

    @property
    def llm(self) -> Any:
        return self.context.llm

    @property
    def clock(self) -> Clock:
        return self.context.clock

    def substrate(self, user: str | None = None) -> Any:
        """The spiking substrate of ``user``."""
        return self.context.substrates.get(user or self.settings.user)

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        """Receive every event the nodes emit; returns the function that unsubscribes."""
        return self.context.events.subscribe(fn)

    # -- turns --------------------------------------------------------------------------------------------------

    def _config(self, user: str, conversation: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": f"{user}/{conversation}"}}

    def _check_user(self, user: str | None) -> str:
        user = user or self.settings.user
        if not user or not isinstance(user, str):
            raise InvalidInputError("user must be a non-empty string")
        return user

    def history_texts(self, user: str | None = None, conversation: str = "main") -> list[str]:
        """The texts of the conversation's checkpointed window (the messages the agent has seen lately)."""
        user = self._check_user(user)
        values = self.graph.get_state(self._config(user, conversation)).values or {}
        return [str(m.get("content", "")) for m in values.get("history") or []]

    def resume_pending(self, user: str | None = None, conversation: str = "main") -> bool:
        """Finish a turn that a crash interrupted (from its last checkpoint). Returns whether one was pending."""
        user = self._check_user(user)
        config = self._config(user, conversation)
        snapshot = self.graph.get_state(config)
        if not snapshot.next:
            return False
        with self.context.lock_for(user), self._dropping_failed_turn(config):
            self.graph.invoke(None, config, context=self.context, durability="sync")
        return True

    def interrupt(self, user: str | None = None) -> None:
        """Ask ``user``'s running CoAT search (``chat(think=True)``, or an escalated turn) to stop before its next
        model call; the turn then finishes with the best answer found so far (``search["stopped_by"]`` is
        "interrupted"). Safe to call from a signal handler or another thread; no effect when none runs."""
        self.context.search_stop(self._check_user(user)).set()

    def cancel_pending(self, user: str | None = None, conversation: str = "main") -> None:
        """Drop a turn that was interrupted on purpose (Ctrl-C): nothing of it is stored."""
        user = self._check_user(user)
        config = self._config(user, conversation)
        if self.graph.get_state(config).next:
            self.graph.update_state(config, {"reply": "", "stored": ["cancelled"]}, as_node="learn")

    @contextlib.contextmanager
    def _dropping_failed_turn(self, config: dict[str, Any]) -> Iterator[None]:
        """Run a turn; if it raises before ``learn`` (the model failed after its retries, a node raised), drop it
        whole so nothing of it is stored and the next turn starts fresh (the caller got the error and may retry).
        A turn that fails inside ``learn`` stays pending: it is completed idempotently before the next turn, so a
        half-stored turn is finished rather than left behind. A crash (no exception) leaves the turn pending too."""
        try:
            yield
        except Exception:
            with contextlib.suppress(Exception):  # never mask the turn's own error
                pending = self.graph.get_state(config).next
                if pending and "learn" not in pending:
                    self.graph.update_state(config, {"reply": "", "stored": ["failed"]}, as_node="learn")
            raise

    def chat(
        self,
        message: str,
        *,
        user: str | None = None,
        think: bool = False,
        conversation: str = "main",
        options: TurnOptions | None = None,
    ) -> Reply:
        """One turn: perceive, encode, recall, respond (calling tools) or search, learn. Returns the
        :class:`Reply`. ``options``: the turn's instruction, context, sampling, client tools
        (:class:`~cogarch.turns.TurnOptions`)."""
        reply: Reply | None = None
        for event in self.stream(message, user=user, think=think, conversation=conversation, options=options):
            if event.reply is not None:
                reply = event.reply
        assert reply is not None
        return reply

    def stream(
        self,
        message: str,
        *,
        user: str | None = None,
        think: bool = False,
        conversation: str = "main",
        options: TurnOptions | None = None,
    ) -> Iterator[StreamEvent]:
        """Like :meth:`chat`, yielding tokens, tool calls and search progress as they come, then the reply."""
        if not isinstance(message, str) or not message.strip():
            raise InvalidInputError("the message is empty", hint="type something to say to the agent")
        options = options or TurnOptions()
        options.check(self.context.tools.names)
        user = self._check_user(user)
        config = self._config(user, conversation)
        start = time.perf_counter()
        with self.context.lock_for(user):
            if self.graph.get_state(config).next:
                with self._dropping_failed_turn(config):
                    self.graph.invoke(None, config, context=self.context, durability="sync")
            state_in = {
                "mode": "chat",
                "user": user,
                "text": message,
                "think": think,
                "t": self.clock.now(),
                "request": options.to_state(),
                "tool_messages": [dict(m) for m in options.tool_messages],
            }
            final: dict[str, Any] = {}
            with self._dropping_failed_turn(config):
                for mode, chunk in self.graph.stream(
                    state_in,
                    config,
                    context=self.context,
                    stream_mode=["custom", "values"],
                    durability="sync",
                ):
                    if mode == "custom":
                        if "token" in chunk:
                            yield StreamEvent(kind="token", token=str(chunk["token"]))
                        elif "search" in chunk:
                            yield StreamEvent(kind="search", data=dict(chunk["search"]))
                        elif "tool" in chunk:
                            yield StreamEvent(kind="tool", data=dict(chunk["tool"]))
                    else:
                        final = chunk
            self._after_turn(user)
            reply = self._reply(final, user, time.perf_counter() - start)
        self.context.emit(
            "replied",
            user,
            {
                "text": reply.text,
                "tokens": reply.tokens.total_tokens,
                "latency_s": reply.latency_s,
                "timings": reply.timings,
            },
        )
        yield StreamEvent(kind="reply", reply=reply)

    def _reply(self, state: Mapping[str, Any], user: str, latency: float) -> Reply:
        tokens = state.get("tokens") or {}
        return Reply(
            text=str(state.get("reply", "")),
            user=user,
            turn_id=str(state.get("turn_id", "")),
            recalled=recalled_items(state),
            associations=[Association(**a) for a in state.get("associations", [])],
            confidence=float(state.get("confidence", 0.0)),
            searched=state.get("search") is not None,
            search=state.get("search"),
            tokens=Usage(int(tokens.get("prompt", 0)), int(tokens.get("completion", 0))),
            latency_s=latency,
            timings=dict(state.get("timings") or {}),
            stored=list(state.get("stored") or []),
            tools=[ToolUse(**use) for use in tool_uses(state)],  # type: ignore[arg-type]
            tool_calls=[ToolCall.from_openai(c) for c in state.get("tool_calls") or []],
            finish_reason=str(state.get("finish_reason") or "stop"),
            consolidation_error=self._consolidator.status(user).last_error,
        )

    def _after_turn(self, user: str) -> None:
        """Ask for ``user``'s consolidation every ``memory.consolidate_every`` new episodes (a chat turn stores
        ``EPISODES_PER_TURN``: the input and the reply; it runs on the worker unless ``memory.consolidate_in``
        is "foreground", :mod:`cogarch.consolidator`), and save the substrate when due."""
        self._consolidator.stored(user, EPISODES_PER_TURN)
        if self.context.substrates.enabled:
            self.context.substrates.save_due(user)  # bounds what a crash loses of the substrate's learning

    def act(
        self,
        observation: str,
        *,
        user: str | None = None,
        admissible: Sequence[str] = (),
        info: Mapping[str, Any] | None = None,
        reward: float | None = None,
        done: bool = False,
        conversation: str = "game",
    ) -> ActResult:
        """One environment step through the cognitive cycle; the action policy picks the command."""
        user = self._check_user(user)
        config = self._config(user, conversation)
        start = time.perf_counter()
        previous = self.context.game_state.pop(user, None)
        if previous is not None and self.context.policy is not None:
            prev_ctx, prev_command = previous
            self.context.policy.observe(prev_ctx, prev_command, observation, float(reward or 0.0), done)
        state_in = {
            "mode": "game",
            "user": user,
            "text": observation,
            "admissible": list(admissible),
            "info": dict(info or {}),
            "reward": reward,
            "t": self.clock.now(),
        }
        with self.context.lock_for(user):
            final = self.graph.invoke(state_in, config, context=self.context, durability="sync")
        tokens = final.get("tokens") or {}
        return ActResult(
            command=str(final.get("command", "")),
            recalled=recalled_items(final),
            tokens=int(tokens.get("prompt", 0)) + int(tokens.get("completion", 0)),
            latency_s=time.perf_counter() - start,
            timings=dict(final.get("timings") or {}),
        )

    def finish(self, observation: str, reward: float = 0.0, *, user: str | None = None) -> None:
        """End an episode: tell the policy how its last command turned out."""
        user = self._check_user(user)
        previous = self.context.game_state.pop(user, None)
        if previous is not None and self.context.policy is not None:
            self.context.policy.observe(previous[0], previous[1], observation, reward, True)

    # -- idle and feedback --------------------------------------------------------------------------------------

    def idle(
        self, seconds: float, *, user: str | None = None, clock: Clock | None = None
    ) -> list[ProactiveAction]:
        """Let ``seconds`` of (simulated) idle time pass for ``user``: the substrate runs in bursts, triggers may
        become proactive actions (within the guardrails). A :class:`ManualClock` is advanced by ``seconds``; with
        other clocks the period is the one that just ended (the chat calls this after idle time has passed)."""
        if seconds < 0:
            raise InvalidInputError("idle time cannot be negative")
        user = self._check_user(user)
        clock = clock or self.clock
        # the idle period ends now: a ManualClock is moved forward through it, other clocks already lived it
        start_t = clock.now() if isinstance(clock, ManualClock) else clock.now() - seconds
        with self.context.lock_for(user):
            final = self.graph.invoke(
                {"mode": "idle", "user": user, "idle_seconds": float(seconds), "t": start_t},
                self._config(user, "idle"),
                context=self.context,
            )
            if isinstance(clock, ManualClock):
                clock.advance(seconds)
        self._consolidator.sleep(user)  # "sleep": consolidate what the day brought (on the worker)
        return [ProactiveAction(**a) for a in final.get("actions", [])]

    # -- consolidation ------------------------------------------------------------------------------------------

    def wait_consolidated(self, user: str | None = None, timeout: float | None = None) -> bool:
        """Wait until the consolidations the agent asked for (every ``memory.consolidate_every`` episodes, and
        at :meth:`idle`) of ``user`` (None: of every user) have run, so their facts, scenes and persona are
        stored. Returns False when ``timeout`` seconds passed first. To consolidate now what was not yet due,
        call ``agent.memory.consolidate(namespace=user)``."""
        return self._consolidator.wait(None if user is None else self._check_user(user), timeout)

    def consolidation_status(self, user: str | None = None) -> ConsolidationStatus:
        """Whether ``user``'s consolidation is queued or running, how many ran and failed, the last error."""
        return self._consolidator.status(self._check_user(user))

    def feedback(self, reward: float, *, user: str | None = None) -> None:
        """Reward (+) or punish (-) the recent activity: reward-modulated plasticity in the substrate."""
        if not -1.0 <= reward <= 1.0:
            raise InvalidInputError("reward must be within [-1, 1]")
        user = self._check_user(user)
        if self.context.substrates.enabled:
            self.context.substrates.get(user).reward(reward)
        self.context.emit("learned", user, {"reward": reward})

    def proactive_log(self, user: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The logged triggers and decisions of ``user``, newest first."""
        return self.context.proactive_log.entries(self._check_user(user), limit)

    def forget_user(self, user: str) -> None:
        """Erase everything of ``user``: memory, substrate, proactive log and every conversation's checkpoints
        (see :mod:`cogarch.forgetting`)."""
        forget_user(self._stores(), self._check_user(user))

    def forget(
        self,
        ids: str | Sequence[str] | None = None,
        *,
        user: str | None = None,
        query: str | None = None,
        k: int = 5,
    ) -> int:
        """Erase memory records of ``user`` (by ``ids``, or the top ``k`` matches of ``query``) and their traces:
        substrate bindings, proactive log rows, and the checkpoints (threads rewritten without them). Returns the
        number of memory records removed.

        Raises:
            InvalidInputError: not exactly one of ``ids`` and ``query``. NotFoundError: an id not of this user.
        """
        return forget_items(self._stores(), self._check_user(user), ids, query=query, k=k)

    def _stores(self) -> UserStores:
        ctx = self.context
        return UserStores(
            memory=ctx.memory,
            substrates=ctx.substrates,
            proactive_log=ctx.proactive_log,
            checkpointer=self._checkpointer,
            graph=self.graph,
            lock_for=ctx.lock_for,
            shared=ctx.shared,
        )

    # -- async --------------------------------------------------------------------------------------------------

    # Each runs its sync twin on a worker thread (the turn's work is CPU-bound or blocking I/O); the event loop
    # stays free. Turns of one user are still serialised by the per-user lock.

    async def achat(
        self,
        message: str,
        *,
        user: str | None = None,
        think: bool = False,
        conversation: str = "main",
        options: TurnOptions | None = None,
    ) -> Reply:
        """:meth:`chat` without blocking the event loop."""
        return await asyncio.to_thread(
            self.chat, message, user=user, think=think, conversation=conversation, options=options
        )

    async def aidle(self, seconds: float, *, user: str | None = None) -> list[ProactiveAction]:
        """:meth:`idle` without blocking the event loop."""
        return await asyncio.to_thread(self.idle, seconds, user=user)

    async def aact(
        self,
        observation: str,
        *,
        user: str | None = None,
        admissible: Sequence[str] = (),
        info: Mapping[str, Any] | None = None,
        reward: float | None = None,
        done: bool = False,
        conversation: str = "game",
    ) -> ActResult:
        """:meth:`act` without blocking the event loop."""
        return await asyncio.to_thread(
            self.act,
            observation,
            user=user,
            admissible=admissible,
            info=info,
            reward=reward,
            done=done,
            conversation=conversation,
        )

    async def aforget(
        self,
        ids: str | Sequence[str] | None = None,
        *,
        user: str | None = None,
        query: str | None = None,
        k: int = 5,
    ) -> int:
        """:meth:`forget` without blocking the event loop."""
        return await asyncio.to_thread(self.forget, ids, user=user, query=query, k=k)

    async def aforget_user(self, user: str) -> None:
        """:meth:`forget_user` without blocking the event loop."""
        await asyncio.to_thread(self.forget_user, user)

    async def astream(
        self,
        message: str,
        *,
        user: str | None = None,
        think: bool = False,
        conversation: str = "main",
        options: TurnOptions | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """:meth:`stream` as an async iterator (the turn runs on a worker thread)."""
        queue: asyncio.Queue[StreamEvent | BaseException | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def produce() -> None:
            try:
                for event in self.stream(
                    message, user=user, think=think, conversation=conversation, options=options
                ):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        task = loop.run_in_executor(None, produce)
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
        await task

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def save(self) -> None:
        """Persist the substrates (memory and checkpoints are written as they change)."""
        self.context.substrates.save()

    def close(self) -> None:
        """Save and release everything. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._consolidator.close()  # the requested consolidations finish first: nothing asked for is dropped
            self.save()
        finally:
            self.context.tools.close()
            self.memory.close()
            self.context.proactive_log.close()
            if self.context.shared is not None:
                self.context.shared.close()
            self.context.events.close()
            if self._checkpoint_resource is not None:
                self._checkpoint_resource.close()
            secure_data_dir(Path(self.settings.data_dir))  # files the session added (index segments)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "ActResult",
    "Agent",
    "Association",
    "ConsolidationStatus",
    "ProactiveAction",
    "RecalledItem",
    "Reply",
    "StreamEvent",
    "ToolUse",
]
