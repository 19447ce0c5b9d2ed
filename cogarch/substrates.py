"""One spiking substrate per user, created on first use and persisted beside the memory.

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
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


class SubstratePool:
    """Lazily loads or creates the substrate of each user; saves them on demand and at close."""

    def __init__(self, settings: SubstrateSettings, root: Path) -> None:
        self._settings = settings
        self._root = root
        self._substrates: dict[str, Any] = {}
        self._saved: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    def get(self, user: str) -> Any:
        """The user's :class:`snn_substrate.Substrate` (loaded from disk when saved before)."""
        with self._lock:
            substrate = self._substrates.get(user)
            if substrate is None:
                substrate = self._open(user)
                self._substrates[user] = substrate
                self._saved[user] = time.monotonic()
            return substrate

    def _open(self, user: str) -> Any:
        from snn_substrate import Substrate, SubstrateConfig

        path = user_file(self._root, user)
        device = self._settings.device
        if path.exists():
            return load_substrate(path, device)
        config = SubstrateConfig(
            neurons=self._settings.neurons,
            code_k=self._settings.code_k,
            seed=self._settings.seed,
            plasticity=self._settings.plasticity,
            dt_ms=self._settings.dt_ms,
        )
        return Substrate(config, device=device)

    def save(self, user: str | None = None) -> None:
        """Persist one user's substrate, or all loaded ones."""
        with self._lock:
            items = [(u, s) for u, s in self._substrates.items() if user is None or u == user]
        if not items:
            return
        self._root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, substrate in items:
            save_atomic(substrate, user_file(self._root, name))
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
        """Drop the user's substrate and its file."""
        with self._lock:
            self._substrates.pop(user, None)
            self._saved.pop(user, None)
        user_file(self._root, user).unlink(missing_ok=True)

    def unbind(self, user: str, keys: Sequence[str]) -> int:
        """Remove the bindings of ``keys`` (forgotten memory ids) from ``user``'s substrate, if the user has one
        (loaded or saved), and save it at once. Returns how many keys were bound."""
        if not self.enabled or not keys:
            return 0
        if user not in self.loaded() and not user_file(self._root, user).exists():
            return 0
        substrate = self.get(user)
        unbound = sum(bool(substrate.unbind(key)) for key in keys)
        if unbound:
            self.save(user)
        return unbound

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._substrates)


__all__ = ["TEMP_SUFFIX", "SubstratePool", "load_substrate", "save_atomic", "user_file"]
