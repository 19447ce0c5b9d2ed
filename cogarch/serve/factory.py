"""The app of one server process, built from the settings sources (``COGARCH_*`` environment, config file).

``uvicorn --factory cogarch.serve.factory:app_from_settings`` is what ``cogarch serve`` runs in each worker
process, so every worker reads the same settings (the command passes its options on through the environment).
"""

from __future__ import annotations

from starlette.applications import Starlette

from cogarch.serve.app import create_app
from cogarch.serve.runtime import build_server_agent
from cogarch.settings import Settings


def app_from_settings() -> Starlette:
    """Load :class:`~cogarch.settings.Settings`, build this process's agent and its app (which owns it).

    Raises:
        ConfigError, StoreLockedError, MissingResourceError: as :func:`~cogarch.serve.runtime.build_server_agent`.
    """
    settings = Settings.load()
    agent = build_server_agent(settings)
    return create_app(agent, settings.serve, owns_agent=True)


__all__ = ["app_from_settings"]
