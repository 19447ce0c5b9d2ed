"""``cogarch serve``: an OpenAI-compatible agent server (see README.md in this folder).

The server's settings are the ``serve`` section of the settings root (:class:`cogarch.settings.ServeSettings`);
the app and the runtime are imported on first use, so importing this package never pulls in starlette.
"""

from __future__ import annotations

from typing import Any

from cogarch.serve.auth import hash_key, new_key
from cogarch.settings import ApiKeySettings, ServeSettings

_LAZY = {
    "create_app": "cogarch.serve.app",
    "Server": "cogarch.serve.app",
    "build_server_agent": "cogarch.serve.runtime",
    "app_from_settings": "cogarch.serve.factory",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cogarch.serve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ApiKeySettings",
    "ServeSettings",
    "Server",
    "app_from_settings",
    "build_server_agent",
    "create_app",
    "hash_key",
    "new_key",
]
