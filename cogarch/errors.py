"""The cogarch error tree (defined in :mod:`reasoning.errors`, shared by every package).

::

    CogarchError
    ├── UsageError                    misuse: the caller must change something      (exit code 2)
    │   ├── ConfigError               an invalid or unknown setting
    │   └── InvalidInputError         bad arguments or a malformed input file
    ├── MissingResourceError          a model, file, server or record is not there  (exit code 3)
    │   └── NotFoundError
    └── OperationalError              a runtime failure of a working setup          (exit code 1)
        ├── LLMError (LLMTimeoutError, LLMRateLimitError, LLMConnectionError, StructuredOutputError)
        ├── MemoryBackendError (StoreLockedError, CorruptStoreError)
        └── SearchBudgetExceeded

Every error has ``message`` and ``hint`` (what to do next).
"""

from reasoning.errors import (
    CogarchError,
    ConfigError,
    CorruptStoreError,
    InvalidInputError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMTimeoutError,
    MemoryBackendError,
    MissingResourceError,
    NotFoundError,
    OperationalError,
    SearchBudgetExceeded,
    StoreLockedError,
    StructuredOutputError,
    UsageError,
)

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
