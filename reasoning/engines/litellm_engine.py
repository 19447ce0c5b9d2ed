"""``LiteLLMEngine``: every hosted or served model through ``litellm.completion``.

Any litellm model string works: ``openai/gpt-4o-mini``, ``anthropic/claude-3-5-haiku-latest``,
``ollama/llama3.1``, or ``openai/<name>`` with ``api_base`` for any OpenAI-compatible server (vLLM, llama.cpp
server, a LiteLLM proxy, the test stub). litellm's own retries are switched off: retrying is the job of the
:class:`~reasoning.wrappers.Retrying` wrapper, so the policy is one and visible.

Structured output: a pydantic model or JSON schema becomes ``response_format`` (``json_schema``, non-strict,
which litellm translates per provider) and the schema is also stated in the system prompt for servers that
ignore ``response_format``. The reply is validated into ``Completion.parsed`` (None when it does not match;
``StructuredRepair`` / :func:`reasoning.structured.generate_structured` then re-ask).

Streaming asks for usage in the final chunk (``stream_options.include_usage``); if the server sends none,
usage is estimated with litellm's tokenizer-free counter. A stream that ends without a finish reason (the
connection broke), or that carried no role, text or usage at all (a malformed body, which litellm would turn into
an empty reply with a made-up "stop"), raises :class:`~reasoning.errors.LLMConnectionError`, never a silent
truncation.

Every exception is mapped to the cogarch error tree (:func:`reasoning.engines._litellm.map_litellm_error`), with
the API key masked in the message and the provider's exception chained only when it does not hold the key
(:mod:`reasoning.redact`).
No network call happens at construction; :meth:`LiteLLMEngine.check_credentials` is an offline preflight.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from reasoning.config import LLMSettings
from reasoning.engines._litellm import (
    check_credentials,
    import_litellm,
    key_var_for,
    map_litellm_error,
    provider_of,
)
from reasoning.errors import LLMConnectionError
from reasoning.llm import Completion, GenerationOptions, Message, StreamChunk, ToolCall, Usage
from reasoning.redact import redacted, safe_cause, secrets_of
from reasoning.structured import json_schema_of, schema_name, validate_output, with_schema_instruction


class LiteLLMEngine:
    """An :class:`~reasoning.llm.LLM` backed by ``litellm.completion``.

    Args:
        settings: model string, api_base, api_key, timeout, default temperature and max_tokens.

    Raises (on calls): LLMTimeoutError, LLMRateLimitError (with ``retry_after``), LLMConnectionError (5xx,
    refused or reset connections, broken streams, malformed responses), MissingResourceError (missing or
    rejected API key, naming the variable), ConfigError / InvalidInputError (unknown model, bad request).
    """

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._api_key = settings.api_key.get_secret_value() if settings.api_key else None
        if self._api_key is None and settings.api_base and provider_of(settings.model) == "openai":
            # A self-hosted OpenAI-compatible server needs no key, but the OpenAI client insists on one.
            self._api_key = os.environ.get("OPENAI_API_KEY") or "not-needed"

    @property
    def name(self) -> str:
        return self.settings.model

    def check_credentials(self) -> None:
        """Offline preflight: raise MissingResourceError naming the variable to set when the provider needs
        an API key that is not configured. No network."""
        check_credentials(self.settings.model, api_key=self._api_key, api_base=self.settings.api_base)

    # -- request building -------------------------------------------------------------------------------
    def _kwargs(
        self, messages: Sequence[Message], options: GenerationOptions, *, stream: bool
    ) -> dict[str, Any]:
        settings = self.settings
        msgs: list[Message] = list(messages)
        kwargs: dict[str, Any] = {
            "model": settings.model,
            "timeout": settings.timeout_s,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens or settings.max_tokens,
            "num_retries": 0,
            "max_retries": 0,
        }
        if options.top_p is not None:
            kwargs["top_p"] = options.top_p
        if options.tools:
            kwargs["tools"] = [t.to_openai() for t in options.tools]
            choice = options.tool_choice
            kwargs["tool_choice"] = (
                choice
                if choice in ("auto", "none", "required")
                else {"type": "function", "function": {"name": choice}}
            )
        if options.stop:
            kwargs["stop"] = list(options.stop)
        if options.seed is not None:
            kwargs["seed"] = options.seed
        if settings.api_base:
            kwargs["api_base"] = settings.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if options.schema is not None:
            msgs = with_schema_instruction(msgs, options.schema)
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(options.schema),
                    "schema": json_schema_of(options.schema),
                    "strict": False,
                },
            }
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        kwargs["messages"] = [dict(m) for m in msgs]
        return kwargs

    def _parse(self, text: str, options: GenerationOptions) -> Any:
        schema = options.schema
        if schema is None:
            return None
        try:
            value = validate_output(text, schema)
        except ValueError:
            return None
        return value if isinstance(value, BaseModel) or isinstance(schema, dict) else None

    # -- LLM protocol ------------------------------------------------------------------------------------
    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        """One chat completion. See the class for the errors raised."""
        options = options or GenerationOptions(temperature=self.settings.temperature)
        self.check_credentials()
        litellm = import_litellm()
        kwargs = self._kwargs(messages, options, stream=False)
        try:
            response = litellm.completion(**kwargs)
            choice = response.choices[0]
            text = choice.message.content or ""
            finish = str(choice.finish_reason or "stop")
            raw_usage = getattr(response, "usage", None)
            calls = tuple(
                ToolCall(
                    id=str(call.id or f"call_{i}"),
                    name=str(call.function.name or ""),
                    arguments=str(call.function.arguments or "{}"),
                )
                for i, call in enumerate(getattr(choice.message, "tool_calls", None) or [])
            )
        except Exception as exc:
            raise self._error(exc) from safe_cause(exc, self._secrets())
        usage = _usage(raw_usage) or self._estimate(kwargs["messages"], text)
        if calls and finish == "stop":
            finish = "tool_calls"  # some servers say "stop" after a call
        return Completion(
            text=text,
            usage=usage,
            model=self.name,
            finish_reason=finish,
            parsed=self._parse(text, options),
            tool_calls=calls,
        )

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        """Stream a completion; the last chunk has ``done=True`` and the usage."""
        options = options or GenerationOptions(temperature=self.settings.temperature)
        self.check_credentials()
        litellm = import_litellm()
        kwargs = self._kwargs(messages, options, stream=True)
        pieces: list[str] = []
        finish: str | None = None
        usage: Usage | None = None
        heard = False  # the server sent a role, text or usage (litellm invents a "stop" for an empty stream)
        calls: dict[int, dict[str, str]] = {}  # tool calls by index, their argument pieces joined
        try:
            response = litellm.completion(**kwargs)
            for chunk in response:
                chunk_usage = _usage(getattr(chunk, "usage", None))
                if chunk_usage is not None:
                    usage = chunk_usage
                    heard = True
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(getattr(choice, "delta", None), "content", None)
                    heard = (
                        heard or bool(delta) or bool(getattr(getattr(choice, "delta", None), "role", None))
                    )
                    for piece in getattr(getattr(choice, "delta", None), "tool_calls", None) or []:
                        heard = True
                        _add_call_piece(calls, piece)
                    if delta:
                        pieces.append(delta)
                        yield StreamChunk(delta=delta)
                    if getattr(choice, "finish_reason", None):
                        finish = str(choice.finish_reason)
        except GeneratorExit:
            raise
        except Exception as exc:
            raise self._error(exc) from safe_cause(exc, self._secrets())
        if not heard:
            raise LLMConnectionError(
                f"the stream from {self.name!r} carried no data (a malformed or non-SSE response)",
                hint="check that COGARCH_LLM__API_BASE is an OpenAI-compatible server; retry",
            )
        if finish is None:
            raise LLMConnectionError(
                f"the stream from {self.name!r} broke off before the model finished ({len(pieces)} pieces)",
                hint="the server or the connection broke off; retry, or check the server's logs",
            )
        text = "".join(pieces)
        tool_calls = tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"] or "{}")
            for i, c in sorted(calls.items())
        )
        if tool_calls and finish == "stop":
            finish = "tool_calls"
        yield StreamChunk(
            delta="",
            done=True,
            usage=usage or self._estimate(kwargs["messages"], text),
            finish_reason=finish,
            tool_calls=tool_calls,
        )

    def _secrets(self) -> tuple[str, ...]:
        """The API key in use (explicit or from the provider's variable): masked in every error."""
        return secrets_of(self._api_key, key_var_for(self.settings.model), "OPENAI_API_KEY")

    def _error(self, exc: BaseException) -> Exception:
        """``exc`` mapped to the cogarch error tree, with the API key masked (providers echo rejected keys)."""
        return redacted(_mapped(exc, self.settings), self._secrets())

    def _estimate(self, messages: list[dict[str, Any]], text: str) -> Usage:
        """Token usage when the server reports none (litellm's counter; whitespace split as a last resort)."""
        litellm = import_litellm()
        try:
            prompt = int(litellm.token_counter(model=self.name, messages=messages))
            completion = int(litellm.token_counter(model=self.name, text=text)) if text else 0
        except Exception:
            prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
            completion = len(text.split())
        return Usage(prompt, completion)


def _add_call_piece(calls: dict[int, dict[str, str]], piece: Any) -> None:
    """Fold one streamed tool-call delta into ``calls`` (OpenAI sends the id and name first, then the
    arguments in pieces, all under the call's ``index``)."""
    index = getattr(piece, "index", None)
    index = int(index) if isinstance(index, int) else len(calls)
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if getattr(piece, "id", None):
        call["id"] = str(piece.id)
    function = getattr(piece, "function", None)
    if function is not None:
        if getattr(function, "name", None) and not call["name"]:
            call["name"] = str(function.name)
        if getattr(function, "arguments", None):
            call["arguments"] += str(function.arguments)


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    prompt = getattr(raw, "prompt_tokens", None)
    completion = getattr(raw, "completion_tokens", None)
    if prompt is None and completion is None:
        return None
    return Usage(int(prompt or 0), int(completion or 0))


def _mapped(exc: BaseException, settings: LLMSettings) -> Exception:
    return map_litellm_error(exc, model=settings.model, timeout_s=settings.timeout_s)


def litellm_cost(model: str, usage: Usage) -> float:
    """US dollars for ``usage`` on ``model`` from litellm's bundled price map (0 for unknown models)."""
    litellm = import_litellm()
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
        )
    except Exception:
        return 0.0
    return float(prompt_cost) + float(completion_cost)


__all__ = ["LiteLLMEngine", "litellm_cost"]
