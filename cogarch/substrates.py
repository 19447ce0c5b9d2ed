"""One spiking substrate per user, created on first use and persisted beside the memory (or, for processes on
several hosts, in Postgres: :class:`SubstrateRows`).

The pool is the only place that builds, loads and saves substrates, so the rest of the agent just asks for
``pool.get(user)``. Files live in ``<data_dir>/substrate/<user-hash>.pt`` (mode 0600) and are replaced
atomically (:func:`save_atomic`: a temporary file, fsync, rename, fsync of the directory), so a crash at any
point leaves either the previous state or the new one, never a torn file. A file that cannot be read raises
:class:`~reasoning.errors.CorruptStoreError` naming it (``cogarch doctor --repair`` moves it aside).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogarch.store.postgres import AgentDatabase
from reasoning.errors import CorruptStoreError, MemoryBackendError

if TYPE_CHECKING:
    from cogarch.settings import SubstrateSettings


def user_file(root: Path, user: str) -> Path:
    """The substrate file of ``user`` under ``root`` (user names are hashed: any string is safe)."""
    digest = hashlib.sha256(user.encode()).hexdigest()[:24]
    return root / f"{digest}.pt"


TEMP_SUFFIX = ".tmp"
"""How the temp files of interrupted saves end (``Substrate.save`` writes ``<name>.<random>.tmp``)."""
_log = logging.getLogger(__name__)


def save_atomic(substrate: Any, path: Path) -> None:
    """Write ``substrate`` to ``path`` so that a crash leaves the old file or the new one, whole.

    ``Substrate.save`` itself writes a private (0600) temp file beside ``path``, fsyncs and renames it; this
    adds the fsync of the folder (so the rename survives a power loss) and the typed error.

    Raises:
        MemoryBackendError: the write failed (full disk: the hint says to free space); the old file is kept.
    """
    try:
        substrate.save(path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except (OSError, RuntimeError) as exc:  # torch reports a failed write as a RuntimeError
        raise MemoryBackendError(
            f"saving the substrate to {path} failed (is the disk full, or a file-size limit reached?): {exc}",
            hint="free disk space (or raise the file-size limit) and retry; the previous state is kept",
        ) from exc


def load_substrate(path: Path, device: str) -> Any:
    """The substrate saved at ``path``.

    Raises:
        CorruptStoreError: the file is damaged or not a substrate file (the message names it).
    """
    from snn_substrate import Substrate

    try:
        return Substrate.load(path, device=device)
    except (ValueError, KeyError, TypeError, EOFError, RuntimeError) as exc:
        raise CorruptStoreError(
            f"the substrate file {path} is damaged: {exc}",
            hint="run `cogarch doctor --repair` to move it aside and start a fresh substrate "
            "(its learned associations are lost; memories are not)",
        ) from exc


class SubstrateFiles:
    """Substrates as files under ``root`` (one host). Unversioned: the last save wins."""

    shared = False

    def __init__(self, root: Path, device: str) -> None:
        self.root = root
        self._device = device

    def version(self, user: str) -> int | None:
        return 0 if user_file(self.root, user).exists() else None

    def load(self, user: str) -> tuple[Any, int] | None:
        path = user_file(self.root, user)
        return (load_substrate(path, self._device), 0) if path.exists() else None

    def save(self, user: str, substrate: Any, version: int) -> int | None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        save_atomic(substrate, user_file(self.root, user))
        return 0

    def delete(self, user: str) -> None:
        user_file(self.root, user).unlink(missing_ok=True)

    def erase(self) -> None:
        """Nothing to do: a file is replaced whole (the old one unlinked)."""


class SubstrateRows:
    """Substrates in Postgres (:class:`cogarch.store.postgres.AgentDatabase`), versioned, for processes on several
    hosts: a save is a compare-and-swap on the version loaded, so it never overwrites a newer save."""

    shared = True

    def __init__(self, database: AgentDatabase, device: str) -> None:
        self._db = database
        self._device = device

    def version(self, user: str) -> int | None:
        return self._db.substrate_version(user)

    def load(self, user: str) -> tuple[Any, int] | None:
        stored = self._db.load_substrate(user)
        if stored is None:
            return None
        data, version = stored
        with tempfile.TemporaryDirectory(prefix="cogarch-substrate-") as tmp:
            path = Path(tmp) / "substrate.pt"
            path.write_bytes(data)
            return load_substrate(path, self._device), version

    def save(self, user: str, substrate: Any, version: int) -> int | None:
        with tempfile.TemporaryDirectory(prefix="cogarch-substrate-") as tmp:
            path = Path(tmp) / "substrate.pt"
            substrate.save(path)
            data = path.read_bytes()
        return self._db.save_substrate(user, data, version)

    def delete(self, user: str) -> None:
        self._db.delete_substrate(user)

    def erase(self) -> None:
        """Mark the space of overwritten and deleted rows free (``VACUUM``)."""
        self._db.vacuum()


_PRISTINE: dict[tuple[Any, str], Any] = {}
_PRISTINE_LOCK = threading.Lock()


def fresh_substrate(config: Any, device: str) -> Any:
    """A new user's substrate: a copy of this process's pristine substrate of ``config`` (built once per
    process and configuration, never used itself). A copy is identical to a fresh build of the same seed and
    costs tens of milliseconds; the build (drawing millions of synapses) costs seconds, once per process. The
    pristine copy stays in memory (one substrate's size, ~65 MB at 20k neurons)."""
    from snn_substrate import Substrate

    with _PRISTINE_LOCK:
        pristine = _PRISTINE.get((config, device))
        if pristine is None:
            pristine = _PRISTINE[(config, device)] = Substrate(config, device=device)
        return pristine.copy()


class SubstratePool:
    """Lazily loads or creates the substrate of each user; saves them on demand and at close.

    ``store``: where substrates persist (default: files under ``root``). With a shared store (Postgres) each
    loaded substrate remembers the version it came from; :meth:`save` is a compare-and-swap on it, and the loser
    (another process saved since) reloads the newer one, dropping what it learned since its load. :meth:`refresh`
    (called when a turn takes the user's lock) reloads a substrate another process has saved meanwhile.
    """

    def __init__(self, settings: SubstrateSettings, root: Path, *, store: Any = None) -> None:
        self._settings = settings
        self._root = root
        self.store = store if store is not None else SubstrateFiles(root, settings.device)
        self._substrates: dict[str, Any] = {}
        self._versions: dict[str, int] = {}
        self._saved: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    def get(self, user: str) -> Any:
        """The user's :class:`snn_substrate.Substrate` (loaded from its store when saved before)."""
        with self._lock:
            substrate = self._substrates.get(user)
            if substrate is None:
                substrate, self._versions[user] = self._open(user)
                self._substrates[user] = substrate
                self._saved[user] = time.monotonic()
            return substrate

    def _open(self, user: str) -> tuple[Any, int]:
        from snn_substrate import SubstrateConfig

        stored = self.store.load(user)
        if stored is not None:
            return stored
        config = SubstrateConfig(
            neurons=self._settings.neurons,
            code_k=self._settings.code_k,
            seed=self._settings.seed,
            plasticity=self._settings.plasticity,
            dt_ms=self._settings.dt_ms,
        )
        return fresh_substrate(config, self._settings.device), 0

    def refresh(self, user: str) -> bool:
        """With a shared store: reload ``user``'s substrate if another process saved a newer one since this one
        was loaded or saved. Returns whether it reloaded."""
        if not self.store.shared or not self.enabled:
            return False
        with self._lock:
            if user not in self._substrates:
                return False
            mine = self._versions.get(user, 0)
        stored = self.store.version(user)
        if stored is None or stored == mine:
            return False
        self._reload(user)
        return True

    def _reload(self, user: str) -> None:
        with self._lock:
            self._substrates.pop(user, None)
        self.get(user)

    def save(self, user: str | None = None) -> None:
        """Persist one user's substrate, or all loaded ones. With a shared store, one that another process saved
        meanwhile is reloaded instead (its newer learning is kept; this process's since its load is dropped)."""
        with self._lock:
            items = [
                (u, s, self._versions.get(u, 0)) for u, s in self._substrates.items() if user in (None, u)
            ]
        for name, substrate, version in items:
            saved = self.store.save(name, substrate, version)
            if saved is None:
                _log.info("the substrate of %r was saved by another process: reloaded", name)
                self._reload(name)
                continue
            with self._lock:
                if self._substrates.get(name) is substrate:
                    self._versions[name] = saved
                    self._saved[name] = time.monotonic()

    def save_due(self, user: str) -> bool:
        """Save ``user``'s substrate if it is loaded and ``substrate.autosave_s`` passed since it was loaded or saved.
        Returns whether it saved. A failed save (full disk) is logged, not raised: the turn that calls this is
        already stored; the next call (or :meth:`save` at close) tries again."""
        with self._lock:
            last = self._saved.get(user)
        if (
            user not in self._substrates
            or last is None
            or time.monotonic() - last < self._settings.autosave_s
        ):
            return False
        try:
            self.save(user)
        except MemoryBackendError as exc:
            _log.warning("substrate autosave failed (retried later): %s", exc)
            return False
        return True

    def forget_user(self, user: str) -> None:
        """Drop the user's substrate and its stored copy."""
        with self._lock:
            self._substrates.pop(user, None)
            self._saved.pop(user, None)
            self._versions.pop(user, None)
        self.store.delete(user)

    def stored(self, user: str) -> bool:
        """Whether ``user`` has a substrate (loaded here, or saved before)."""
        return user in self.loaded() or self.store.version(user) is not None

    def unbind(self, user: str, keys: Sequence[str]) -> int:
        """Remove the bindings of ``keys`` (forgotten memory ids) from ``user``'s substrate, if the user has one
        (loaded or saved), and save it at once. Returns how many keys were bound."""
        if not self.enabled or not keys:
            return 0
        if not self.stored(user):
            return 0
        substrate = self.get(user)
        unbound = sum(bool(substrate.unbind(key)) for key in keys)
        if unbound:
            self.save(user)
            self.store.erase()  # Postgres: the row's previous version held the keys
        return unbound

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._substrates)


__all__ = [
    "TEMP_SUFFIX",
    "SubstrateFiles",
    "SubstratePool",
    "SubstrateRows",
    "fresh_substrate",
    "load_substrate",
    "save_atomic",
    "user_file",
]
