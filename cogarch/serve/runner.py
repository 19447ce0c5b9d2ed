"""Running the server on uvicorn: one worker in this process, or several worker processes.

With one worker the app is built here before uvicorn listens, so a configuration error shows at once. With
several, each worker process builds its own agent from the settings sources (``cogarch.serve.factory``), which
requires ``serve.memory_mode = "shared"``.
"""

from __future__ import annotations

from cogarch.settings import Settings
from reasoning.errors import ConfigError


def check(settings: Settings) -> None:
    """Refuse settings a server cannot run with.

    Raises:
        ConfigError: several workers without shared memory, or no API key and anonymous access off.
    """
    serve = settings.serve
    if serve.workers > 1 and serve.memory_mode != "shared":
        raise ConfigError(
            f"{serve.workers} workers cannot share one memory in exclusive mode",
            hint="set serve.memory_mode='shared' with COGARCH_MEMORY__CHROMA_URL and a Postgres checkpointer",
        )
    if not serve.api_keys and not serve.allow_anonymous:
        raise ConfigError(
            "no API keys configured: every request would be refused",
            hint="create one with `cogarch serve --new-key` and add its hash to serve.api_keys",
        )


def run(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM: in-flight turns finish, then the agent is closed).

    Raises:
        ConfigError: see :func:`check`; StoreLockedError, MissingResourceError: the agent cannot be built.
    """
    import uvicorn

    from cogarch.serve.app import create_app
    from cogarch.serve.runtime import build_server_agent

    check(settings)
    serve = settings.serve
    host = host or serve.host
    port = port if port is not None else serve.port
    if serve.workers == 1:
        app = create_app(build_server_agent(settings), serve, owns_agent=True)
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30)
    else:
        uvicorn.run(
            "cogarch.serve.factory:app_from_settings",
            factory=True,
            host=host,
            port=port,
            workers=serve.workers,
            log_level="warning",
            timeout_graceful_shutdown=30,
        )


__all__ = ["check", "run"]
