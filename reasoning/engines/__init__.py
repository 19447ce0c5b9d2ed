"""LLM engines and the one factory that builds a configured, wrapped engine.

- :class:`~reasoning.engines.litellm_engine.LiteLLMEngine`: any litellm model string (hosted or served).
- :class:`~reasoning.engines.local.LocalEngine`: the bundled SmolLM2-135M-Instruct in-process on torch.
- :class:`~reasoning.engines.scripted.ScriptedLLM`: deterministic, for tests and examples.

:func:`build_llm` maps :class:`~reasoning.config.LLMSettings` to an engine wrapped in
``StructuredRepair(Accounting(Retrying(RateLimited(engine))))`` (see :mod:`reasoning.wrappers`), and the local
engine, which has no native function calling, also in :class:`~reasoning.prompted_tools.PromptedTools`;
:func:`preflight` checks, offline and fast, that the configured engine can start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reasoning.config import LOCAL_MODEL, LLMSettings
from reasoning.engines._litellm import check_credentials
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import ConfigError
from reasoning.llm import LLM
from reasoning.prompted_tools import PromptedTools
from reasoning.wrappers import Accounting, CostFn, RateLimited, Retrying, StructuredRepair

if TYPE_CHECKING:
    from reasoning.engines.litellm_engine import LiteLLMEngine
    from reasoning.engines.local import LocalEngine

LOCAL_MODELS = (LOCAL_MODEL,)
"""The ``local/...`` model names the local engine knows."""

SCRIPTED_MODELS = ("scripted/echo",)
"""The ``scripted/...`` model names (an echo engine, for tests and demos)."""


def _check_known(model: str) -> None:
    if model.startswith("local/") and model not in LOCAL_MODELS:
        raise ConfigError(
            f"unknown local model {model!r}",
            hint=f"allowed: {', '.join(LOCAL_MODELS + SCRIPTED_MODELS)}, or a litellm model string "
            "such as 'openai/gpt-4o-mini'",
        )
    if model.startswith("scripted/") and model not in SCRIPTED_MODELS:
        raise ConfigError(f"unknown scripted model {model!r}", hint=f"allowed: {', '.join(SCRIPTED_MODELS)}")
    if not model.strip():
        raise ConfigError("llm.model is empty", hint=f"e.g. {LOCAL_MODEL!r} or 'openai/gpt-4o-mini'")


def build_engine(settings: LLMSettings, *, cache_dir: Path) -> LLM:
    """The bare engine ``settings.model`` names (no wrappers).

    Raises:
        ConfigError: an unknown ``local/...`` or ``scripted/...`` name (the message lists the allowed ones).
        MissingResourceError: the bundled model is not installed (with the pip command), or an API key is
            missing (naming the variable).
    """
    model = settings.model.strip()
    _check_known(model)
    if model in SCRIPTED_MODELS:
        return ScriptedLLM(name=model)
    if model in LOCAL_MODELS:
        from reasoning.engines.local import LocalEngine

        return LocalEngine(cache_dir=cache_dir, device=settings.device, max_tokens=settings.max_tokens)
    from reasoning.engines.litellm_engine import LiteLLMEngine

    engine = LiteLLMEngine(settings)
    engine.check_credentials()
    return engine


def wrap(engine: LLM, settings: LLMSettings, *, cost: CostFn | None = None) -> LLM:
    """``engine`` inside the standard wrapper stack configured by ``settings``."""
    llm: LLM = RateLimited(
        engine, max_concurrency=settings.max_concurrency, requests_per_minute=settings.requests_per_minute
    )
    llm = Retrying(llm, max_retries=settings.max_retries, backoff_s=settings.backoff_s)
    llm = Accounting(llm, cost=cost)
    return StructuredRepair(llm, retries=settings.structured_retries)


def build_llm(settings: LLMSettings, *, cache_dir: Path) -> LLM:
    """The one factory: the engine for ``settings.model``, wrapped with retry, rate limiting, accounting and
    structured-output repair.

    ``"local/smollm2-135m-instruct"`` -> LocalEngine (converted weights cached in ``cache_dir``), tool calls
    through :class:`~reasoning.prompted_tools.PromptedTools`;
    ``"scripted/echo"`` -> ScriptedLLM echo; anything else -> LiteLLMEngine.
    Use :func:`reasoning.wrappers.find_wrapper` (``find_wrapper(llm, Accounting).totals()``) to read usage.
    The result has ``score_options`` when the engine has it (the local engine).

    Raises:
        ConfigError, MissingResourceError: see :func:`build_engine`.
    """
    engine = build_engine(settings, cache_dir=cache_dir)
    cost: CostFn | None = None
    model = settings.model.strip()
    if not (model in LOCAL_MODELS or model in SCRIPTED_MODELS):
        from reasoning.engines.litellm_engine import litellm_cost

        cost = litellm_cost
    llm = wrap(engine, settings, cost=cost)
    if model in LOCAL_MODELS:
        llm = PromptedTools(llm, retries=settings.structured_retries)  # tool calls through structured output
    return llm


def preflight(settings: LLMSettings) -> str:
    """Check, without loading a model or touching the network, that ``settings`` can start an engine.

    Returns:
        a one-line description of the engine that would be used.

    Raises:
        ConfigError: unknown model name.
        MissingResourceError: the bundled model package is missing, or the provider's API key variable is
            unset (the message names it, e.g. OPENAI_API_KEY).
    """
    model = settings.model.strip()
    _check_known(model)
    if model in SCRIPTED_MODELS:
        return f"{model}: scripted echo engine (tests)"
    if model in LOCAL_MODELS:
        from reasoning.engines.local import gguf_path

        return f"{model}: bundled SmolLM2-135M-Instruct on torch ({gguf_path()})"
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    check_credentials(model, api_key=api_key, api_base=settings.api_base)
    where = f" at {settings.api_base}" if settings.api_base else ""
    return f"{model}: litellm{where}"


def __getattr__(name: str) -> Any:
    # The engines import torch / litellm: load them only when asked for.
    if name == "LocalEngine":
        from reasoning.engines.local import LocalEngine

        return LocalEngine
    if name == "LiteLLMEngine":
        from reasoning.engines.litellm_engine import LiteLLMEngine

        return LiteLLMEngine
    raise AttributeError(name)


__all__ = [
    "LOCAL_MODELS",
    "SCRIPTED_MODELS",
    "LiteLLMEngine",
    "LocalEngine",
    "ScriptedLLM",
    "build_engine",
    "build_llm",
    "preflight",
    "wrap",
]
