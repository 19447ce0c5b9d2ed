"""API-key authentication and the user (memory namespace) a request may act for.

A request carries ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). The key is hashed and looked up among
the configured hashes; the plain key is never stored. A key acts for the users it is bound to: a request that
names another user is refused (403), one that names none acts for the key's first user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cogarch.settings import ServeSettings

ANY_USER = "*"
KEY_PREFIX = "ck-"
"""Generated keys start with this, so they are easy to spot in logs and secret scanners."""


def hash_key(key: str) -> str:
    """The at-rest form of an API key: ``"sha256:" + hex digest``."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class AuthError(Exception):
    """A request is not authenticated (``status`` 401) or not allowed (403)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name, the users it may act for and its rate (requests per minute)."""

    name: str
    users: tuple[str, ...]
    rate_per_minute: float

    def user_for(self, requested: str | None) -> str:
        """The user this request acts for: ``requested`` if the key may act for it, else the key's default.

        Raises:
            AuthError: (403) ``requested`` is not among the key's users, or the key has no default user.
        """
        if requested is not None and requested != "":
            if ANY_USER in self.users or requested in self.users:
                return requested
            raise AuthError(403, f"this API key may not act for user {requested!r}", "user_not_allowed")
        default = next((u for u in self.users if u != ANY_USER), None)
        if default is None:
            raise AuthError(
                403, "this API key has no default user: name one in the 'user' field", "user_required"
            )
        return default


class KeyRing:
    """The accepted keys, by hash."""

    def __init__(self, settings: ServeSettings) -> None:
        self._by_hash = {
            k.hash: Principal(k.name, k.users, k.rate_per_minute or settings.rate_per_minute)
            for k in settings.api_keys
        }
        self._anonymous = (
            Principal("anonymous", (ANY_USER, "default"), settings.rate_per_minute)
            if settings.allow_anonymous
            else None
        )

    def authenticate(self, authorization: str | None, api_key: str | None = None) -> Principal:
        """The principal of a request's ``Authorization`` (Bearer) or ``X-API-Key`` header.

        Raises:
            AuthError: (401) no key, or a key that is not configured.
        """
        key = api_key
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                key = value.strip()
        if not key:
            if self._anonymous is not None:
                return self._anonymous
            raise AuthError(401, "missing API key: send 'Authorization: Bearer <key>'", "missing_api_key")
        digest = hash_key(key)
        for stored, principal in self._by_hash.items():
            if hmac.compare_digest(stored, digest):
                return principal
        raise AuthError(401, "invalid API key", "invalid_api_key")


__all__ = ["ANY_USER", "KEY_PREFIX", "AuthError", "KeyRing", "Principal", "hash_key", "new_key"]
