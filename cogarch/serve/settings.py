"""``ServeSettings``: the ``serve`` section of the settings root (``COGARCH_SERVE__PORT=8080``).

API keys are stored hashed (``sha256:<hex>`` of the key): the settings file never holds a usable secret. Keys are
random 256-bit tokens (``cogarch serve --new-key`` prints one with its hash), so a plain SHA-256 is enough (no salt
or slow hash is needed for high-entropy secrets, as with GitHub or Stripe tokens). Each key is bound to the users
(memory namespaces) it may act for; ``"*"`` means any user (an operator key).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

KEY_PREFIX = "ck-"
"""Generated keys start with this, so they are easy to spot in logs and secret scanners."""


def hash_key(key: str) -> str:
    """The at-rest form of an API key: ``"sha256:" + hex digest``."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeySettings(BaseModel):
    """One API key: its name (shown in metrics and logs), its hash, and the users it may act for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        ..., min_length=1, max_length=64, description="Label of the key (never the key itself)."
    )
    hash: str = Field(..., description="'sha256:<64 hex digits>' of the key (see `cogarch serve --new-key`).")
    users: tuple[str, ...] = Field(
        ..., min_length=1, description="Users this key may act for; the first is its default; '*' = any user."
    )
    rate_per_minute: float | None = Field(
        None, gt=0, description="Requests per minute for this key (None: serve.rate_per_minute)."
    )

    @field_validator("hash")
    @classmethod
    def _check_hash(cls, value: str) -> str:
        algo, _, digest = value.partition(":")
        if algo != "sha256" or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("must be 'sha256:' followed by 64 lowercase hex digits (never the plain key)")
        return value


class ServeSettings(BaseModel):
    """The OpenAI-compatible agent server (``cogarch serve``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0: every interface).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port).")
    workers: int = Field(
        1, ge=1, le=64, description="uvicorn worker processes (>1 needs memory_mode='shared')."
    )
    model_name: str = Field("cogarch", min_length=1, description="The model id clients see in /v1/models.")
    api_keys: tuple[ApiKeySettings, ...] = Field(
        (), description="The accepted API keys (hashed), bound to users."
    )
    allow_anonymous: bool = Field(
        False, description="Accept requests without a key (local development only: any user, no isolation)."
    )
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted request body (413 beyond).")
    max_message_chars: int = Field(32_000, ge=1, description="Longest accepted user message (413 beyond).")
    request_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Wall time allowed for one turn (504 beyond; the turn still completes and is kept).",
    )
    rate_per_minute: float = Field(600.0, gt=0, description="Default requests per minute per API key.")
    rate_burst: int = Field(60, ge=1, description="Requests a key may send at once before the rate applies.")
    max_concurrent_turns: int = Field(
        64, ge=1, description="Turns run at once in this process (more wait; each holds one worker thread)."
    )
    memory_mode: Literal["exclusive", "shared"] = Field(
        "exclusive",
        description="'exclusive': this process owns the data directory's memory (one writer). 'shared': several "
        "processes on one host share the data directory's records (SQLite WAL) with vectors in the Chroma server "
        "(needs memory.chroma_url) and checkpoints in Postgres.",
    )
    idle_tick_s: float = Field(
        0.0,
        ge=0,
        description="Every this many real seconds, let users with an open proactive stream idle (0: off).",
    )
    sse_heartbeat_s: float = Field(
        15.0, gt=0, description="Seconds between keep-alive comments on SSE streams."
    )


__all__ = ["KEY_PREFIX", "ApiKeySettings", "ServeSettings", "hash_key", "new_key"]
