"""The ASGI app: an OpenAI-compatible chat endpoint over :class:`~cogarch.agent.Agent`, plus memory, proactive
messages, health and metrics.

=====================================  =====================================================================
``POST /v1/chat/completions``          one turn (see :mod:`cogarch.serve.chat_request`); ``stream`` for SSE
``GET  /v1/models``                    ``<model_name>`` and ``<model_name>-think`` (System 2 search every turn)
``GET  /v1/memory/search?q=&k=``       recall, with scores and reasons
``GET  /v1/memory/records?kind=``      the user's episodes or facts (``limit``)
``GET  /v1/memory/stats``              record counts
``GET  /v1/memory/export``             the namespace as JSON (without vectors)
``POST /v1/memory/forget``             ``{"ids": [...]}`` | ``{"query": "...", "k": 5}`` | ``{"all": true}``
``GET  /v1/proactive/stream``          server-sent events: the user's proactive messages as they happen
``POST /v1/proactive/idle``            ``{"seconds": 3600}``: let idle time pass now; returns the actions
``POST /v1/feedback``                  ``{"reward": 1.0}`` in [-1, 1]: reward-modulated plasticity on recent learning
``GET  /healthz``, ``GET /metrics``    liveness (and memory stats), Prometheus text
=====================================  =====================================================================

Every endpoint needs an API key (``Authorization: Bearer``); the ``user`` (body field or query parameter) must be
one the key may act for, and defaults to the key's first user. Errors use OpenAI's shape
``{"error": {"message", "type", "code", "param"}}`` plus ``hint``.

Turns run on a thread pool (``serve.max_concurrent_turns``); a turn that passes ``serve.request_timeout_s``
answers 504 but is not cancelled: it completes and is stored (a client that gave up loses no memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, is_dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from cogarch.agent import Agent, Reply, StreamEvent
from cogarch.serve.auth import AuthError, KeyRing, Principal
from cogarch.serve.chat_request import RequestError, parse_chat_request
from cogarch.serve.hub import ProactiveHub
from cogarch.serve.metrics import Metrics
from cogarch.serve.ratelimit import RateLimiter, SharedRateLimiter
from cogarch.settings import ServeSettings
from reasoning.errors import (
    CogarchError,
    LLMRateLimitError,
    LLMTimeoutError,
    MemoryBackendError,
    MissingResourceError,
    NotFoundError,
    OperationalError,
    UsageError,
)

_END = object()


class HTTPFailure(Exception):
    """An error answer: status, OpenAI error type and code, message, hint, extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str,
        code: str,
        hint: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.hint = status, message, type_, code, hint
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": None,
                "hint": self.hint,
            }
        }


def _from_cogarch(error: CogarchError) -> HTTPFailure:
    """The HTTP answer for a cogarch error (matched on the error tree, most specific first)."""
    hint = error.hint or ""
    name = type(error).__name__
    if isinstance(error, NotFoundError):
        return HTTPFailure(404, error.message, type_="not_found_error", code=name, hint=hint)
    if isinstance(error, UsageError):
        return HTTPFailure(400, error.message, type_="invalid_request_error", code=name, hint=hint)
    if isinstance(error, LLMTimeoutError):
        return HTTPFailure(504, error.message, type_="timeout", code=name, hint=hint)
    if isinstance(error, LLMRateLimitError):
        return HTTPFailure(503, error.message, type_="server_error", code=name, hint=hint)
    if isinstance(error, (MemoryBackendError, MissingResourceError, OperationalError)):
        return HTTPFailure(503, error.message, type_="server_error", code=name, hint=hint)
    return HTTPFailure(500, error.message, type_="server_error", code=name, hint=hint)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _invalid(message: str, code: str = "invalid_request") -> HTTPFailure:
    return HTTPFailure(400, message, type_="invalid_request_error", code=code)


class Server:
    """The app's state: the agent, keys, limits, metrics and the proactive hub."""

    def __init__(
        self,
        agent: Agent,
        settings: ServeSettings,
        *,
        owns_agent: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self.settings = settings
        self.owns_agent = owns_agent
        self.keys = KeyRing(settings)
        shared = agent.context.shared
        self.limiter: RateLimiter | SharedRateLimiter = (
            RateLimiter(settings.rate_burst, clock=monotonic)
            if shared is None
            else SharedRateLimiter(shared, settings.rate_burst)
        )
        self.metrics = Metrics()
        self.hub = ProactiveHub(self.metrics, publish=None if shared is None else shared.publish)
        self._stop_listening: Callable[[], None] | None = None
        self.executor = ThreadPoolExecutor(settings.max_concurrent_turns, thread_name_prefix="cogarch-turn")
        self._unsubscribe = agent.subscribe(self.hub.on_event)
        self._idle_task: asyncio.Task[None] | None = None
        self.models = (settings.model_name, f"{settings.model_name}-think")

    # -- plumbing -----------------------------------------------------------------------------------------------
    def authorize(self, request: Request) -> Principal:
        """The caller, after authentication and the rate limit.

        Raises:
            HTTPFailure: 401 (missing or wrong key), 429 (over the key's rate).
        """
        try:
            principal = self.keys.authenticate(
                request.headers.get("authorization"), request.headers.get("x-api-key")
            )
        except AuthError as exc:
            raise HTTPFailure(exc.status, exc.message, type_="authentication_error", code=exc.code) from None
        wait = self.limiter.acquire(principal.name, principal.rate_per_minute)
        if wait > 0:
            self.metrics.inc("cogarch_rate_limited_total", key=principal.name)
            raise HTTPFailure(
                429,
                f"rate limit of {principal.rate_per_minute:g} requests per minute reached",
                type_="rate_limit_error",
                code="rate_limited",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        return principal

    @staticmethod
    def user_of(principal: Principal, requested: Any) -> str:
        if requested is not None and not isinstance(requested, str):
            raise _invalid("'user' must be a string")
        try:
            return principal.user_for(requested)
        except AuthError as exc:
            raise HTTPFailure(exc.status, exc.message, type_="permission_error", code=exc.code) from None

    async def read_json(self, request: Request) -> dict[str, Any]:
        """The request body as a JSON object, refused beyond ``max_body_bytes`` (413) or when malformed (400)."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPFailure(
                413,
                f"request body over {limit} bytes",
                type_="invalid_request_error",
                code="request_too_large",
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPFailure(
                    413,
                    f"request body over {limit} bytes",
                    type_="invalid_request_error",
                    code="request_too_large",
                )
            chunks.append(chunk)
        try:
            body = json.loads(b"".join(chunks) or b"{}")
        except ValueError:
            raise _invalid("the body is not valid JSON", "invalid_json") from None
        if not isinstance(body, dict):
            raise _invalid("the body must be a JSON object")
        return body

    async def in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    # -- chat ---------------------------------------------------------------------------------------------------
    def parse_chat(
        self, body: dict[str, Any], principal: Principal, request_id: str | None = None
    ) -> dict[str, Any]:
        """The turn a chat-completions body asks for (:func:`~cogarch.serve.chat_request.parse_chat_request`);
        ``request_id``: the ``Idempotency-Key`` header (``TurnOptions.request_id``).

        Raises:
            HTTPFailure: 404 unknown model, 400 unsupported field or malformed value or key, 413 message too long.
        """
        if request_id is not None and not 0 < len(request_id) <= 200:
            raise _invalid("the Idempotency-Key header must be 1-200 characters")
        model = body.get("model", self.settings.model_name)
        if model not in self.models:
            raise HTTPFailure(
                404,
                f"the model {model!r} does not exist",
                type_="invalid_request_error",
                code="model_not_found",
                hint=f"use one of: {', '.join(self.models)}",
            )
        try:
            request = parse_chat_request(
                body, lambda: self.agent.history_texts(self.user_of(principal, body.get("user")))
            )
        except RequestError as exc:
            raise HTTPFailure(
                400,
                str(exc),
                type_="invalid_request_error",
                code="unsupported" if "support" in str(exc) else "invalid_request",
            ) from None
        if len(request.text) > self.settings.max_message_chars:
            raise HTTPFailure(
                413,
                f"the message is over {self.settings.max_message_chars} characters",
                type_="invalid_request_error",
                code="message_too_long",
            )
        user = self.user_of(principal, body.get("user"))
        return {
            "model": model,
            "text": request.text,
            "user": user,
            "stream": request.stream,
            "think": bool(body.get("think", False)) or model.endswith("-think"),
            "include_usage": request.include_usage,
            "options": dataclasses.replace(request.options, request_id=request_id),
            "parallel_tool_calls": request.parallel_tool_calls,
        }

    def _turn(self, turn: dict[str, Any]) -> Reply:
        return self.agent.chat(turn["text"], user=turn["user"], think=turn["think"], options=turn["options"])

    @staticmethod
    def _calls(reply: Reply, turn: dict[str, Any]) -> list[dict[str, Any]]:
        """The client-side tool calls of the reply, in OpenAI's shape (the first only without parallel calls)."""
        calls = [c.to_openai() for c in reply.tool_calls]
        return calls if turn["parallel_tool_calls"] else calls[:1]

    def _record_turn(self, status: str, reply: Reply | None = None) -> None:
        self.metrics.inc("cogarch_turns_total", status=status)
        if reply is not None:
            self.metrics.observe("cogarch_turn_latency_seconds", reply.latency_s)
            self.metrics.inc("cogarch_tokens_total", reply.tokens.prompt_tokens, kind="prompt")
            self.metrics.inc("cogarch_tokens_total", reply.tokens.completion_tokens, kind="completion")

    @staticmethod
    def _extension(reply: Reply) -> dict[str, Any]:
        """What the agent adds to OpenAI's answer (``cogarch`` field): user, turn, recalled memories, timing."""
        return {
            "user": reply.user,
            "turn_id": reply.turn_id,
            "recalled": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "text": r.text,
                    "score": r.score,
                    "why": r.why,
                    "suspicious": r.suspicious,
                }
                for r in reply.recalled
            ],
            "associations": [asdict(a) for a in reply.associations],
            "searched": reply.searched,
            "confidence": reply.confidence,
            "latency_s": reply.latency_s,
            "stored": reply.stored,
        }

    @staticmethod
    def _usage(reply: Reply) -> dict[str, int]:
        return {
            "prompt_tokens": reply.tokens.prompt_tokens,
            "completion_tokens": reply.tokens.completion_tokens,
            "total_tokens": reply.tokens.prompt_tokens + reply.tokens.completion_tokens,
        }

    async def chat(self, request: Request) -> Response:
        principal = self.authorize(request)
        turn = self.parse_chat(
            await self.read_json(request), principal, request.headers.get("idempotency-key")
        )
        if turn["stream"]:
            return StreamingResponse(
                self._sse_turn(turn),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        loop = asyncio.get_running_loop()
        self.metrics.gauge_add("cogarch_turns_in_flight", 1)
        future = loop.run_in_executor(self.executor, lambda: self._turn(turn))
        try:
            reply: Reply = await asyncio.wait_for(asyncio.shield(future), self.settings.request_timeout_s)
        except TimeoutError:
            self._record_turn("timeout")
            future.add_done_callback(lambda _: self.metrics.gauge_add("cogarch_turns_in_flight", -1))
            raise HTTPFailure(
                504,
                f"the turn took over {self.settings.request_timeout_s:g} s",
                type_="timeout",
                code="turn_timeout",
                hint="it still completes and is remembered",
            ) from None
        except BaseException:
            self.metrics.gauge_add("cogarch_turns_in_flight", -1)
            self._record_turn("error")
            raise
        self.metrics.gauge_add("cogarch_turns_in_flight", -1)
        self._record_turn("ok", reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        calls = self._calls(reply, turn)
        if calls:
            message = {"role": "assistant", "content": reply.text or None, "tool_calls": calls}
        return JSONResponse(
            {
                "id": f"chatcmpl-{reply.turn_id or uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": turn["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if calls else reply.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": self._usage(reply),
                "cogarch": self._extension(reply),
            }
        )

    async def _events(self, turn: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        """The agent's stream events, produced on a worker thread; raises TimeoutError past the deadline."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:
            with contextlib.suppress(
                RuntimeError
            ):  # the loop is gone (server stopping): the turn still completes
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                for event in self.agent.stream(
                    turn["text"], user=turn["user"], think=turn["think"], options=turn["options"]
                ):
                    put(event)
            except BaseException as exc:  # handed to the consumer
                put(exc)
            finally:
                put(_END)

        loop.run_in_executor(self.executor, produce)
        deadline = loop.time() + self.settings.request_timeout_s
        while True:
            item = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def _sse_turn(self, turn: dict[str, Any]) -> AsyncIterator[str]:
        chunk_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            body = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": turn["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                **extra,
            }
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        self.metrics.gauge_add("cogarch_turns_in_flight", 1)
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for event in self._events(turn):
                if event.kind == "token" and event.token:
                    yield chunk({"content": event.token})
                elif event.kind == "reply" and event.reply is not None:
                    reply = event.reply
                    self._record_turn("ok", reply)
                    calls = self._calls(reply, turn)
                    for index, call in enumerate(calls):
                        yield chunk({"tool_calls": [{"index": index, **call}]})
                    finish = "tool_calls" if calls else reply.finish_reason
                    yield chunk({}, finish, cogarch=self._extension(reply))
                    if turn["include_usage"]:
                        body = {
                            "id": chunk_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": turn["model"],
                            "choices": [],
                            "usage": self._usage(reply),
                        }
                        yield f"data: {json.dumps(body)}\n\n"
        except TimeoutError:
            self._record_turn("timeout")
            failure = HTTPFailure(
                504,
                f"the turn took over {self.settings.request_timeout_s:g} s",
                type_="timeout",
                code="turn_timeout",
                hint="it still completes and is remembered",
            )
            yield f"data: {json.dumps(failure.body())}\n\n"
        except CogarchError as error:
            self._record_turn("error")
            yield f"data: {json.dumps(_from_cogarch(error).body())}\n\n"
        finally:
            self.metrics.gauge_add("cogarch_turns_in_flight", -1)
        yield "data: [DONE]\n\n"

    # -- models, memory -------------------------------------------------------------------------------------------
    async def list_models(self, request: Request) -> Response:
        self.authorize(request)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "cogarch"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def memory_search(self, request: Request) -> Response:
        user = self.user_of(self.authorize(request), request.query_params.get("user"))
        query = request.query_params.get("q", "")
        if not query.strip():
            raise _invalid("give the query as ?q=...")
        if len(query) > self.settings.max_message_chars:
            raise HTTPFailure(
                413, "the query is too long", type_="invalid_request_error", code="query_too_long"
            )
        k = _int_param(request, "k", 10, 1, 200)
        items = await self.in_thread(self.agent.memory.recall, query, namespace=user, k=k)
        return JSONResponse({"object": "list", "user": user, "data": _jsonable(items)})

    async def memory_records(self, request: Request) -> Response:
        user = self.user_of(self.authorize(request), request.query_params.get("user"))
        kind = request.query_params.get("kind", "episode")
        limit = _int_param(request, "limit", 100, 1, 10_000)
        if kind == "episode":
            records = await self.in_thread(self.agent.memory.episodes, namespace=user, limit=limit)
        elif kind == "fact":
            records = (await self.in_thread(self.agent.memory.facts, namespace=user))[:limit]
        else:
            raise _invalid(f"unknown kind {kind!r}: use 'episode' or 'fact'")
        return JSONResponse({"object": "list", "user": user, "kind": kind, "data": _jsonable(records)})

    async def memory_stats(self, request: Request) -> Response:
        user = self.user_of(self.authorize(request), request.query_params.get("user"))
        return JSONResponse(_jsonable(await self.in_thread(self.agent.memory.stats, user)))

    async def memory_export(self, request: Request) -> Response:
        user = self.user_of(self.authorize(request), request.query_params.get("user"))
        data = await self.in_thread(self.agent.memory.export, user, with_vectors=False)
        return JSONResponse(_jsonable(data))

    async def memory_forget(self, request: Request) -> Response:
        principal = self.authorize(request)
        body = await self.read_json(request)
        user = self.user_of(principal, body.get("user"))
        ids, query, everything = body.get("ids"), body.get("query"), bool(body.get("all", False))
        if sum(x is not None and x is not False for x in (ids, query, everything or None)) != 1:
            raise _invalid("give exactly one of 'ids', 'query' or 'all': true")
        if everything:
            await self.in_thread(self.agent.forget_user, user)
            return JSONResponse({"user": user, "forgotten": "all"})
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
            raise _invalid("'ids' must be a list of record ids")
        if query is not None and (not isinstance(query, str) or not query.strip()):
            raise _invalid("'query' must be a non-empty string")
        k = body.get("k", 5)
        if not isinstance(k, int) or not 1 <= k <= 100:
            raise _invalid("'k' must be an integer in [1, 100]")
        count = await self.in_thread(self.agent.forget, ids, user=user, query=query, k=k)
        return JSONResponse({"user": user, "forgotten": count})

    # -- proactive ----------------------------------------------------------------------------------------------
    async def proactive_stream(self, request: Request) -> Response:
        user = self.user_of(self.authorize(request), request.query_params.get("user"))
        queue = self.hub.open(user)
        heartbeat = self.settings.sse_heartbeat_s

        async def events() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), heartbeat)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"event: proactive\ndata: {json.dumps(_jsonable(message), ensure_ascii=False)}\n\n"
            finally:
                self.hub.close(user, queue)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def proactive_idle(self, request: Request) -> Response:
        principal = self.authorize(request)
        body = await self.read_json(request)
        user = self.user_of(principal, body.get("user"))
        seconds = body.get("seconds")
        if (
            not isinstance(seconds, (int, float))
            or isinstance(seconds, bool)
            or not 0 <= seconds <= 30 * 86400
        ):
            raise _invalid("'seconds' must be a number in [0, 2592000]")
        actions = await self.in_thread(self.agent.idle, float(seconds), user=user)
        return JSONResponse({"user": user, "actions": _jsonable(actions)})

    async def feedback(self, request: Request) -> Response:
        """The third factor of the user's substrate (:meth:`Agent.feedback`): ``{"reward": r}``, r in [-1, 1]."""
        principal = self.authorize(request)
        body = await self.read_json(request)
        user = self.user_of(principal, body.get("user"))
        reward = body.get("reward")
        if not isinstance(reward, (int, float)) or isinstance(reward, bool) or not -1.0 <= reward <= 1.0:
            raise _invalid("'reward' must be a number in [-1, 1]")
        await self.in_thread(self.agent.feedback, float(reward), user=user)
        return JSONResponse({"user": user, "reward": float(reward)})

    async def idle_loop(self) -> None:
        """Every ``idle_tick_s``, let the users with an open proactive stream idle for that long."""
        tick = self.settings.idle_tick_s
        while True:
            await asyncio.sleep(tick)
            for user in self.hub.users():
                with contextlib.suppress(CogarchError):
                    await self.in_thread(self.agent.idle, tick, user=user)

    # -- health, metrics ----------------------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(
            {"status": "ok", "model": self.settings.model_name, "memory_mode": self.settings.memory_mode}
        )

    async def metrics_page(self, request: Request) -> Response:
        self.authorize(request)
        return PlainTextResponse(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def startup(self) -> None:
        shared = self.agent.context.shared
        if shared is not None:  # proactive events of every process reach this process's streams
            self._stop_listening = shared.listen(self.hub.deliver)
        if self.settings.idle_tick_s > 0:
            self._idle_task = asyncio.create_task(self.idle_loop())

    async def shutdown(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
        self._unsubscribe()
        if self._stop_listening is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._stop_listening)
        await asyncio.get_running_loop().run_in_executor(None, lambda: self.executor.shutdown(wait=True))
        if self.owns_agent:
            self.agent.close()


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise _invalid(f"'{name}' must be in [{low}, {high}]")
    return value


def _endpoint(
    server: Server, route: str, handler: Callable[[Request], Awaitable[Response]]
) -> Callable[..., Any]:
    """``handler`` with errors turned into OpenAI-shaped answers and every request counted."""

    async def endpoint(request: Request) -> Response:
        try:
            response = await handler(request)
        except HTTPFailure as failure:
            response = JSONResponse(failure.body(), status_code=failure.status, headers=failure.headers)
        except CogarchError as error:
            mapped = _from_cogarch(error)
            response = JSONResponse(mapped.body(), status_code=mapped.status)
        server.metrics.inc("cogarch_http_requests_total", route=route, status=str(response.status_code))
        return response

    return endpoint


def create_app(agent: Agent, settings: ServeSettings, *, owns_agent: bool = False) -> Starlette:
    """The ASGI app serving ``agent``. With ``owns_agent`` the app closes the agent when it shuts down."""
    server = Server(agent, settings, owns_agent=owns_agent)
    table: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
        ("/v1/chat/completions", "POST", server.chat),
        ("/v1/models", "GET", server.list_models),
        ("/v1/memory/search", "GET", server.memory_search),
        ("/v1/memory/records", "GET", server.memory_records),
        ("/v1/memory/stats", "GET", server.memory_stats),
        ("/v1/memory/export", "GET", server.memory_export),
        ("/v1/memory/forget", "POST", server.memory_forget),
        ("/v1/proactive/stream", "GET", server.proactive_stream),
        ("/v1/proactive/idle", "POST", server.proactive_idle),
        ("/v1/feedback", "POST", server.feedback),
        ("/healthz", "GET", server.healthz),
        ("/metrics", "GET", server.metrics_page),
    ]
    routes = [Route(path, _endpoint(server, path, fn), methods=[method]) for path, method, fn in table]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.startup()
        try:
            yield
        finally:
            await server.shutdown()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    return app


__all__ = ["HTTPFailure", "Server", "create_app"]
