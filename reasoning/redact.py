"""Keep secrets (API keys) out of error messages, exception chains and anything printed from them.

A provider that rejects a key often echoes it back ("Incorrect API key provided: sk-..."); litellm puts that text
into its exception, and a mapped :class:`~reasoning.errors.CogarchError` would carry it on into logs, traces, the
server's JSON errors and the CLI's one-line message. The engines call :func:`redacted` on every mapped error and
chain the provider's exception only when it holds no secret (:func:`safe_cause`), so a traceback cannot show one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TypeVar

from reasoning.errors import CogarchError, StructuredOutputError

E = TypeVar("E", bound=BaseException)

MASK = "[REDACTED]"
MIN_SECRET_LEN = 6
"""Shorter values are not treated as secrets (masking "x" everywhere would garble every message)."""

PLACEHOLDERS = frozenset({"not-needed", "none", "null", "dummy", "changeme"})


def secrets_of(api_key: str | None, *env_vars: str | None) -> tuple[str, ...]:
    """The secret values to mask: ``api_key`` and the values of the named environment variables."""
    values = [api_key, *(os.environ.get(var) for var in env_vars if var)]
    return tuple(
        v for v in dict.fromkeys(values) if v and len(v) >= MIN_SECRET_LEN and v.lower() not in PLACEHOLDERS
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``[REDACTED]``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def leaks(exc: BaseException, secrets: Sequence[str]) -> bool:
    """Whether ``exc``'s text or args (or its cause's / context's) contain a secret."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts = [str(current), repr(current.args)]
        if any(secret in text for text in texts for secret in secrets):
            return True
        current = current.__cause__ or current.__context__
    return False


def redacted(error: E, secrets: Sequence[str]) -> E:
    """``error`` with the secrets masked in its message, hint, args (and a structured error's ``raw``)."""
    if not secrets:
        return error
    if isinstance(error, CogarchError):
        error.message = redact(error.message, secrets)
        error.hint = redact(error.hint, secrets) if error.hint else error.hint
        if isinstance(error, StructuredOutputError):
            error.raw = redact(error.raw, secrets)
    error.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in error.args)
    return error


def safe_cause(exc: BaseException, secrets: Sequence[str]) -> BaseException | None:
    """``exc`` to chain as the cause of the mapped error, or None when it holds a secret
    (``raise mapped from safe_cause(exc, secrets)``)."""
    return None if secrets and leaks(exc, secrets) else exc


__all__ = ["MASK", "leaks", "redact", "redacted", "safe_cause", "secrets_of"]
