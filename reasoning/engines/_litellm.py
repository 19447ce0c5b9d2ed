"""Private: import litellm safely (no telemetry, no cost-map download) and map its exceptions to ours.

litellm fetches its model price map from GitHub at import time unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is set,
and it may send telemetry: :func:`import_litellm` sets both off before the first import. The import is slow
(about a second), so it happens on first use, never when ``reasoning`` is imported.
"""

from __future__ import annotations

import os
import re
from types import ModuleType
from typing import Any

from reasoning.errors import (
    CogarchError,
    ConfigError,
    InvalidInputError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMTimeoutError,
    MissingResourceError,
)

_litellm: ModuleType | None = None

PROVIDER_KEY_VARS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "perplexity": "PERPLEXITYAI_API_KEY",
    "xai": "XAI_API_KEY",
    "voyage": "VOYAGE_API_KEY",
}
"""The environment variable litellm reads for each provider's API key (providers that need one)."""


def import_litellm() -> ModuleType:
    """Import litellm once, offline and quiet: local cost map, telemetry off, no logging spam."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True  # a provider that lacks e.g. ``seed`` ignores it instead of failing
        _litellm = litellm
    return _litellm


def provider_of(model: str) -> str:
    """The provider prefix of a litellm model string (``openai/gpt-4o-mini`` -> ``openai``); bare names:
    litellm's own guess (``gpt-4o`` -> ``openai``), else ``""``."""
    if "/" in model:
        return model.split("/", 1)[0]
    try:
        _, provider, _, _ = import_litellm().get_llm_provider(model)
        return str(provider)
    except Exception:
        return ""


def key_var_for(model: str) -> str | None:
    """The API-key environment variable ``model``'s provider needs, or None when it needs none we know of."""
    return PROVIDER_KEY_VARS.get(provider_of(model))


def check_credentials(model: str, *, api_key: str | None, api_base: str | None) -> None:
    """Fail fast, without network, when ``model`` needs an API key that is not configured.

    An explicit ``api_key`` or an ``api_base`` (a self-hosted OpenAI-compatible server, which often needs no
    key) passes. Otherwise the provider's variable (``OPENAI_API_KEY`` for ``openai/...``) must be set.

    Raises:
        MissingResourceError: naming the variable to set.
    """
    if api_key or api_base:
        return
    var = key_var_for(model)
    if var and not os.environ.get(var):
        raise MissingResourceError(
            f"model {model!r} needs an API key and {var} is not set",
            hint=f"export {var}=... (or set COGARCH_LLM__API_KEY), or use the bundled model "
            "COGARCH_LLM__MODEL=local/smollm2-135m-instruct",
        )


_RETRY_AFTER = re.compile(r"retry[- ]after[\"':\s]+([0-9.]+)", re.IGNORECASE)


def _retry_after(exc: BaseException) -> float | None:
    value: Any = None
    candidates = (
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    )
    for headers in candidates:
        if headers is None or value is not None:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
        except Exception:
            value = None
    if value is None:
        match = _RETRY_AFTER.search(str(exc))
        value = match.group(1) if match else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def map_litellm_error(exc: BaseException, *, model: str, timeout_s: float | None = None) -> CogarchError:
    """Translate a litellm / provider / transport exception into the cogarch error tree.

    timeout -> LLMTimeoutError; 429 -> LLMRateLimitError (with ``retry_after`` from the Retry-After header);
    5xx, connection errors and broken streams -> LLMConnectionError; authentication -> MissingResourceError
    naming the key variable; a bad request (unknown model, invalid params) -> InvalidInputError / ConfigError;
    anything else -> LLMError. Never returns the provider's own type.
    """
    if isinstance(exc, CogarchError):
        return exc
    litellm = import_litellm()
    exceptions = litellm.exceptions
    text = f"{type(exc).__name__}: {exc}".strip()
    short = text if len(text) <= 300 else text[:300] + "..."
    status = getattr(exc, "status_code", None)
    import httpx

    if isinstance(exc, exceptions.Timeout | httpx.TimeoutException | TimeoutError):
        limit = f" after {timeout_s:g} s" if timeout_s else ""
        return LLMTimeoutError(
            f"model {model!r} did not answer{limit}",
            hint="raise COGARCH_LLM__TIMEOUT_S, or check that the server is not overloaded",
        )
    if isinstance(exc, exceptions.RateLimitError) or status == 429:
        retry_after = _retry_after(exc)
        return LLMRateLimitError(
            f"model {model!r} is rate-limited (HTTP 429)",
            hint="wait, lower COGARCH_LLM__MAX_CONCURRENCY or set COGARCH_LLM__REQUESTS_PER_MINUTE",
            retry_after=retry_after,
        )
    auth_errors = exceptions.AuthenticationError | exceptions.PermissionDeniedError
    if isinstance(exc, auth_errors) or status in (401, 403):
        var = key_var_for(model) or "the provider's API key variable"
        return MissingResourceError(
            f"model {model!r} rejected the credentials ({short})",
            hint=f"set a valid {var} (or COGARCH_LLM__API_KEY)",
        )
    if isinstance(exc, exceptions.NotFoundError) or status == 404:
        return ConfigError(
            f"model {model!r} was not found by the server ({short})",
            hint="check COGARCH_LLM__MODEL and COGARCH_LLM__API_BASE",
        )
    if isinstance(exc, exceptions.ContextWindowExceededError):
        return InvalidInputError(f"the prompt is too long for {model!r}", hint="shorten the conversation")
    if isinstance(
        exc,
        exceptions.APIConnectionError
        | exceptions.ServiceUnavailableError
        | exceptions.InternalServerError
        | exceptions.BadGatewayError
        | httpx.TransportError
        | ConnectionError,
    ) or (isinstance(status, int) and status >= 500):
        # litellm reports some client timeouts as APIConnectionError whose text says "timed out".
        if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
            return LLMTimeoutError(
                f"model {model!r} did not answer in time ({short})",
                hint="raise COGARCH_LLM__TIMEOUT_S, or check that the server is not overloaded",
            )
        return LLMConnectionError(
            f"model {model!r} failed: {short}",
            hint="check that the server is running and reachable (COGARCH_LLM__API_BASE)",
        )
    if isinstance(exc, exceptions.BadRequestError) or status == 400:
        message = str(exc)
        if "api_key" in message.lower() or "api key" in message.lower():
            var = key_var_for(model) or "the provider's API key variable"
            return MissingResourceError(f"model {model!r} has no API key", hint=f"set {var}")
        if "LLM Provider NOT provided" in message:
            return ConfigError(
                f"litellm does not know the provider of model {model!r}",
                hint="use '<provider>/<model>', e.g. 'openai/gpt-4o-mini' or 'ollama/llama3.1'",
            )
        return InvalidInputError(f"model {model!r} rejected the request: {short}")
    return LLMError(f"model {model!r} failed: {short}")


__all__ = ["PROVIDER_KEY_VARS", "check_credentials", "import_litellm", "key_var_for", "map_litellm_error"]
