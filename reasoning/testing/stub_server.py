"""A small OpenAI-compatible HTTP server for tests, scriptable per request.

It serves ``POST /v1/chat/completions`` (plain JSON or SSE streaming), ``POST /v1/embeddings`` and
``GET /v1/models`` on 127.0.0.1 with a free port, in a background thread (stdlib ``http.server``, HTTP/1.1).

Each request takes the next :class:`StubReply` from the queue (:meth:`StubServer.enqueue`); with an empty
queue the ``default`` reply function answers (by default: echo the last user message). A reply can be a plain
answer, a JSON answer for structured output, an HTTP error with headers (429 + Retry-After, 500), a delay (to
trigger client timeouts), a connection reset, a malformed body, a stream cut in the middle, or a stream that stalls
in the middle. Every received
request body is recorded in :attr:`StubServer.requests`.

Example::

    with StubServer() as server:
        server.enqueue(StubReply.rate_limited(retry_after=0.1), StubReply("hello"))
        llm = LiteLLMEngine(LLMSettings(model="openai/stub", api_base=server.url, api_key="x"))
        assert llm.complete([user("hi")]).text == "hello"
"""

from __future__ import annotations

import hashlib
import json
import math
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class StubReply:
    """What the stub answers to one request.

    Attributes:
        text: the assistant's reply (chat), split into word chunks when streamed; cut to the request's
            ``max_tokens`` words (finish reason "length").
        status: HTTP status; >= 400 sends an OpenAI-style error body.
        headers: extra response headers (e.g. ``{"Retry-After": "1"}``).
        delay_s: seconds to wait before answering (a client with a shorter timeout times out).
        reset: drop the connection with a TCP reset instead of answering.
        raw_body: send this body verbatim (status 200, JSON content type): a malformed response.
        cut_after_chunks: streaming only: send this many chunks, then break the stream off mid-way.
        stall_after_chunks: streaming only: send this many chunks, then go silent for ``stall_s`` seconds before
            the rest (a client with a shorter read timeout times out mid-stream).
        stall_s: how long a stalled stream stays silent.
        finish_reason: the reply's finish reason.
        usage: (prompt_tokens, completion_tokens); default: whitespace token counts.
        embedding: embeddings only: the vector for every input (default: a deterministic hash vector).
        tool_calls: tool calls the model makes, each ``{"name", "arguments"[, "id"]}`` (arguments a dict or a
            JSON text); the finish reason is then "tool_calls". Streamed as OpenAI does: the id and name first,
            then the arguments in two pieces.
    """

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    reset: bool = False
    raw_body: str | None = None
    cut_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    stall_s: float = 0.0
    finish_reason: str = "stop"
    usage: tuple[int, int] | None = None
    embedding: list[float] | None = None
    tool_calls: list[dict[str, Any]] | None = None

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any] | str, *, id: str | None = None) -> StubReply:
        """A reply that calls tool ``name`` with ``arguments``."""
        call: dict[str, Any] = {"name": name, "arguments": arguments}
        if id is not None:
            call["id"] = id
        return cls(tool_calls=[call], finish_reason="tool_calls")

    def openai_tool_calls(self) -> list[dict[str, Any]]:
        """``tool_calls`` in OpenAI's shape (ids made up where missing)."""
        out = []
        for i, call in enumerate(self.tool_calls or []):
            arguments = call.get("arguments", {})
            out.append(
                {
                    "id": str(call.get("id") or f"call_stub_{i}"),
                    "type": "function",
                    "function": {
                        "name": str(call["name"]),
                        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                    },
                }
            )
        return out

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> StubReply:
        """A reply whose text is ``value`` as JSON (structured output)."""
        return cls(text=json.dumps(value), **kwargs)

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0) -> StubReply:
        """HTTP 429, with a Retry-After header when ``retry_after`` is given."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(status=429, headers=headers, text="Rate limit reached for requests")

    @classmethod
    def server_error(cls, status: int = 500) -> StubReply:
        """An HTTP 5xx error."""
        return cls(status=status, text="The server had an error while processing your request")

    @classmethod
    def slow(cls, delay_s: float, text: str = "late") -> StubReply:
        """A reply after ``delay_s`` seconds."""
        return cls(text=text, delay_s=delay_s)

    @classmethod
    def connection_reset(cls) -> StubReply:
        """A TCP reset instead of an answer."""
        return cls(reset=True)

    @classmethod
    def malformed(cls, body: str = '{"id": "x", "choices": [{"mess') -> StubReply:
        """A 200 response whose body is not valid completion JSON."""
        return cls(raw_body=body)

    @classmethod
    def cut_stream(cls, text: str, after_chunks: int = 2) -> StubReply:
        """A stream that breaks off after ``after_chunks`` chunks."""
        return cls(text=text, cut_after_chunks=after_chunks)

    @classmethod
    def stalled_stream(cls, text: str, after_chunks: int = 2, stall_s: float = 5.0) -> StubReply:
        """A stream that goes silent for ``stall_s`` seconds after ``after_chunks`` chunks."""
        return cls(text=text, stall_after_chunks=after_chunks, stall_s=stall_s)


def _echo(body: dict[str, Any]) -> StubReply:
    messages = body.get("messages") or []
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    if isinstance(last, list):  # content parts
        last = " ".join(str(p.get("text", "")) for p in last if isinstance(p, dict))
    return StubReply(text=f"You said: {last}")


def hash_vector(text: str, dim: int) -> list[float]:
    """A deterministic unit vector for ``text`` (the stub's embedding)."""
    raw = hashlib.sha256(text.encode()).digest()
    while len(raw) < 4 * dim:
        raw += hashlib.sha256(raw).digest()
    values = [v / 2**31 - 1.0 for v in struct.unpack(f"<{dim}I", raw[: 4 * dim])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _count(text: str) -> int:
    return len(text.split())


class StubServer:
    """An OpenAI-compatible server on 127.0.0.1:<free port>, running in a daemon thread.

    Args:
        default: answers requests when the queue is empty (default: echo the last user message).
        embedding_dim: size of the deterministic embeddings.
        model: the model name reported back.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. ``url`` is the ``api_base``
    (``http://127.0.0.1:<port>/v1``).
    """

    def __init__(
        self,
        default: Callable[[dict[str, Any]], StubReply] | None = None,
        *,
        embedding_dim: int = 16,
        model: str = "stub-model",
    ) -> None:
        self.default = default or _echo
        self.embedding_dim = embedding_dim
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._queue: deque[StubReply] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------------------
    def enqueue(self, *replies: StubReply | str) -> None:
        """Queue replies for the next requests, in order (a str is a plain text reply)."""
        with self._lock:
            for reply in replies:
                self._queue.append(StubReply(text=reply) if isinstance(reply, str) else reply)

    def clear(self) -> None:
        """Drop queued replies and recorded requests."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.paths.clear()

    def _next(self, body: dict[str, Any], path: str) -> StubReply:
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)
            if self._queue:
                return self._queue.popleft()
        return self.default(body)

    @property
    def pending(self) -> int:
        """Queued replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the stub server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The ``api_base`` of the server: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StubServer:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="stub-openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _make_handler(server: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        # -- helpers -------------------------------------------------------------------------------------
        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self._send_bytes(status, data, headers)

        def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _reset(self) -> None:
            # SO_LINGER with a zero timeout makes close() send a TCP RST instead of a FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _error(self, reply: StubReply) -> None:
            kind = {429: "rate_limit_exceeded", 401: "invalid_api_key", 404: "model_not_found"}
            payload = {
                "error": {
                    "message": reply.text or f"stub error {reply.status}",
                    "type": "server_error" if reply.status >= 500 else "invalid_request_error",
                    "code": kind.get(reply.status, str(reply.status)),
                }
            }
            self._send_json(reply.status, payload, reply.headers)

        def _prelude(self, reply: StubReply) -> bool:
            """Apply delay, reset, error and raw-body behaviour; True when the reply is fully handled."""
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.reset:
                self._reset()
                return True
            if reply.status >= 400:
                self._error(reply)
                return True
            if reply.raw_body is not None:
                self._send_bytes(200, reply.raw_body.encode(), reply.headers)
                return True
            return False

        # -- endpoints -----------------------------------------------------------------------------------
        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send_json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: dict[str, Any] = json.loads(raw or b"{}")
            except ValueError:
                self._send_json(400, {"error": {"message": "request body is not JSON"}})
                return
            path = self.path.rstrip("/")
            try:
                if path.endswith("/chat/completions"):
                    self._chat(body, server._next(body, path))
                elif path.endswith("/embeddings"):
                    self._embeddings(body, server._next(body, path))
                else:
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            except (BrokenPipeError, ConnectionResetError, OSError):
                self.close_connection = True  # the client went away (e.g. it timed out)

        def _chat(self, body: dict[str, Any], reply: StubReply) -> None:
            if self._prelude(reply):
                return
            limit = body.get("max_tokens") or body.get("max_completion_tokens")
            words = reply.text.split(" ")
            if isinstance(limit, int) and len(words) > limit:  # a "token" is a word here
                reply = replace(reply, text=" ".join(words[:limit]), finish_reason="length")
            prompt = sum(_count(str(m.get("content", ""))) for m in body.get("messages") or [])
            usage = reply.usage or (prompt, _count(reply.text))
            usage_json = {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            }
            created = int(time.time())
            if not body.get("stream"):
                payload = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": created,
                    "model": server.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": self._message(reply),
                            "finish_reason": reply.finish_reason,
                        }
                    ],
                    "usage": usage_json,
                }
                self._send_json(200, payload, reply.headers)
                return
            self._stream(body, reply, usage_json, created)

        @staticmethod
        def _message(reply: StubReply) -> dict[str, Any]:
            if reply.tool_calls:
                return {
                    "role": "assistant",
                    "content": reply.text or None,
                    "tool_calls": reply.openai_tool_calls(),
                }
            return {"role": "assistant", "content": reply.text}

        def _stream(
            self, body: dict[str, Any], reply: StubReply, usage: dict[str, int], created: int
        ) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()

            def chunk(delta: dict[str, Any], finish: str | None, extra: dict[str, Any] | None = None) -> None:
                event = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": server.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                    if delta is not None
                    else [],
                }
                if extra:
                    event.update(extra)
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())

            words = reply.text.split(" ") if reply.text else []
            pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
            chunk({"role": "assistant", "content": ""}, None)
            for i, piece in enumerate(pieces):
                if reply.cut_after_chunks is not None and i >= reply.cut_after_chunks:
                    # Break the stream off: half an HTTP chunk, then a reset.
                    self.wfile.write(b'40\r\ndata: {"id": "chatcm')
                    self.wfile.flush()
                    self._reset()
                    return
                if reply.stall_after_chunks is not None and i == reply.stall_after_chunks:
                    time.sleep(reply.stall_s)
                chunk({"content": piece}, None)
            for index, call in enumerate(reply.openai_tool_calls()):
                function = call["function"]
                head = {"index": index, "id": call["id"], "type": "function"}
                chunk(
                    {"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]}, None
                )
                half = len(function["arguments"]) // 2
                for part in (function["arguments"][:half], function["arguments"][half:]):
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]}, None)
            chunk({}, reply.finish_reason)
            if (body.get("stream_options") or {}).get("include_usage"):
                event = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": server.model,
                    "choices": [],
                    "usage": usage,
                }
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _embeddings(self, body: dict[str, Any], reply: StubReply) -> None:
            if self._prelude(reply):
                return
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": reply.embedding or hash_vector(str(t), server.embedding_dim),
                }
                for i, t in enumerate(texts)
            ]
            tokens = sum(_count(str(t)) for t in texts)
            payload = {
                "object": "list",
                "data": data,
                "model": server.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
            self._send_json(200, payload, reply.headers)

    return Handler


__all__ = ["StubReply", "StubServer", "hash_vector"]
