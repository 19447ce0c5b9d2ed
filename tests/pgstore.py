"""Test support: run the memory test suites against Postgres.

``install(url, token)`` makes every ``Memory.open`` in this process use a Postgres store in a schema of its own per
data directory (``t_<token>_<hash of the directory>``), so a reopened directory finds its records and two
directories stay apart, whatever settings the caller passed (the SQLite default, in most tests); an agent whose
settings name Postgres keeps its shared tables (substrates, ...) in the same schema. Child processes
of a test run the same hook when its environment says so (:data:`CHILD_HOOK`, prepended to their scripts).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from pathlib import Path

from pydantic import SecretStr

import cogarch.composition
import cogarch.doctor
import memory.memory
from cogarch.settings import Settings
from cogarch.store.postgres import AgentDatabase
from memory.config import MemorySettings
from memory.store import MemoryStore, open_store

ENV_URL, ENV_TOKEN, ENV_DIR = "COGARCH_TEST_PG_STORE", "COGARCH_TEST_PG_TOKEN", "COGARCH_TEST_HELPERS"

CHILD_HOOK = (
    "import os as _os, sys as _sys\n"
    f"if _os.environ.get({ENV_URL!r}):\n"
    f"    _sys.path.insert(0, _os.environ[{ENV_DIR!r}])\n"
    "    import pgstore as _pgstore\n"
    "    _pgstore.install_from_env()\n"
)


def schema_for(token: str, directory: Path) -> str:
    return f"t_{token}_{hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:16]}"


def install(url: str, token: str) -> None:
    def open_postgres(directory: Path, settings: MemorySettings) -> MemoryStore:
        update = {
            "store": "postgres",
            "postgres_url": SecretStr(url),
            "postgres_schema": schema_for(token, directory),
        }
        return open_store(directory, settings.model_copy(update=update))

    def build_shared(settings: Settings) -> AgentDatabase | None:
        if settings.memory.store != "postgres":
            return None
        schema = schema_for(token, Path(settings.data_dir).expanduser() / "memory")
        return AgentDatabase(
            url,
            schema=schema,
            max_turns=settings.serve.max_concurrent_turns,
            timeout=settings.memory.postgres_timeout_s,
        )

    memory.memory.open_store = open_postgres  # type: ignore[assignment]
    cogarch.doctor.open_store = open_postgres  # type: ignore[assignment]
    cogarch.composition.build_shared = build_shared  # type: ignore[assignment]


def install_from_env() -> None:
    install(os.environ[ENV_URL], os.environ[ENV_TOKEN])


def environment(url: str, token: str) -> dict[str, str]:
    """The variables that make a child process install the hook, and make ``Settings`` name Postgres."""
    return {
        ENV_URL: url,
        ENV_TOKEN: token,
        ENV_DIR: str(Path(__file__).parent),
        "COGARCH_MEMORY__STORE": "postgres",
        "COGARCH_MEMORY__POSTGRES_URL": url,
    }


def drop_schemas(url: str, token: str) -> None:
    """Drop every schema the token's tests created."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"t\\_{token}\\_%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


class Proxy:
    """A TCP forwarder to the Postgres server that can be cut (the server "goes down") and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: object, b: object) -> None:
        assert isinstance(a, socket.socket) and isinstance(b, socket.socket)
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        for s in self.open:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.open.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()
