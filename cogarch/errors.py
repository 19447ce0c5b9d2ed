"""The cogarch error tree: import errors from here (they are defined in :mod:`reasoning.errors`, the lowest
package, so that every package raises the same classes).

::

    CogarchError
    ├── UsageError                    misuse: the caller must change something      (exit code 2)
    │   ├── ConfigError               an invalid or unknown setting
    │   └── InvalidInputError         bad arguments or a malformed input file
    ├── MissingResourceError          a model, file, server or record is not there  (exit code 3)
    │   └── NotFoundError
    └── OperationalError              a runtime failure of a working setup          (exit code 1)
        ├── LLMError (LLMTimeoutError, LLMRateLimitError, LLMConnectionError, StructuredOutputError)
        └── MemoryBackendError (StoreLockedError, CorruptStoreError)

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
    "StoreLockedError",
    "StructuredOutputError",
    "UsageError",
]
