"""The one error tree of cogarch, shared by every package but ``snn_substrate`` (which stays standalone).

Every error carries a message saying what went wrong and a ``hint`` saying what to do next.
The command line maps the three branches to distinct exit codes (usage 2, missing resource 3, failure 1).

::

    CogarchError
    ├── UsageError                    misuse: the caller must change something
    │   ├── ConfigError               an invalid or unknown setting
    │   └── InvalidInputError         bad arguments or a malformed input file
    ├── MissingResourceError          a model, file, server or record that is not there
    │   └── NotFoundError             a record id that does not exist
    └── OperationalError              a runtime failure of a working setup
        ├── LLMError                  the language model failed (after retries)
        │   ├── LLMTimeoutError
        │   ├── LLMRateLimitError
        │   ├── LLMConnectionError
        │   └── StructuredOutputError the model's output never matched the schema
        └── MemoryBackendError        SQLite / Postgres / Chroma failed
            ├── StoreLockedError      another process writes this data directory
            └── CorruptStoreError     a store file is damaged

``SearchBudgetExceeded`` is no error of this tree: a control signal raised and caught inside a search (it never
reaches a caller). The tree is defined here, in the lowest package, so every package can raise it;
``cogarch.errors`` re-exports all of it: import from there in user code.
"""

from __future__ import annotations


class CogarchError(Exception):
    """Base of every error cogarch raises on purpose.

    Args:
        message: what went wrong, one line.
        hint: what the user can do about it, one line (optional).
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class UsageError(CogarchError):
    """The caller used cogarch wrongly; retrying will not help, changing the call will."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting is unknown or has an invalid value; the message names the key and the allowed values."""


class InvalidInputError(UsageError):
    """An argument or an input file (script, import file, request) is malformed."""


class MissingResourceError(CogarchError):
    """Something the call needs is not there: a model package, a file, a server."""

    exit_code = 3


class NotFoundError(MissingResourceError):
    """A record id does not exist (or not in this namespace)."""


class OperationalError(CogarchError):
    """A working setup failed at run time (network, disk, a backend)."""

    exit_code = 1


class LLMError(OperationalError):
    """The language model failed, after the configured retries."""


class LLMTimeoutError(LLMError):
    """The model did not answer within the configured timeout."""


class LLMRateLimitError(LLMError):
    """The provider rate-limited the request (HTTP 429).

    Attributes:
        retry_after: seconds the provider asked to wait, when it said.
    """

    def __init__(self, message: str, *, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class LLMConnectionError(LLMError):
    """The model's server could not be reached, or answered with a server error."""


class StructuredOutputError(LLMError):
    """The model's output did not match the requested schema, even after repair attempts.

    Attributes:
        raw: the last raw output of the model.
    """

    def __init__(self, message: str, *, hint: str | None = None, raw: str = "") -> None:
        super().__init__(message, hint=hint)
        self.raw = raw


class MemoryBackendError(OperationalError):
    """A memory store (SQLite, Postgres, Chroma) failed."""


class StoreLockedError(MemoryBackendError):
    """Another process already writes this data directory."""


class CorruptStoreError(MemoryBackendError):
    """A store file is damaged; ``cogarch doctor`` may rebuild what can be rebuilt."""


class SearchBudgetExceeded(Exception):
    """Control signal, not a failure: a search exhausted one of its budgets. Raised and caught inside the search
    (``reasoning.search.coat``); it never reaches a caller."""


__all__ = [
    "CogarchError",
    "ConfigError",
    "CorruptStoreError",
    "InvalidInputError",
    "LLMConnectionError",
    "LLMError",
    "LLMRateLimitError",
    "LLMTimeoutError",
    "MemoryBackendError",
    "MissingResourceError",
    "NotFoundError",
    "OperationalError",
    "SearchBudgetExceeded",
    "StoreLockedError",
    "StructuredOutputError",
    "UsageError",
]
