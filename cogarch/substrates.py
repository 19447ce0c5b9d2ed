"""One spiking substrate per user, created on first use and persisted beside the memory.

The pool is the only place that builds, loads and saves substrates, so the rest of the agent just asks for
``pool.get(user)``. Files live in ``<data_dir>/substrate/<user-hash>.pt`` and are written atomically by the
substrate's own ``save`` (to a temporary file, then renamed) so any process can pick up any user's state.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cogarch.settings import SubstrateSettings


def user_file(root: Path, user: str) -> Path:
    """The substrate file of ``user`` under ``root`` (user names are hashed: any string is safe)."""
    digest = hashlib.sha256(user.encode()).hexdigest()[:24]
    return root / f"{digest}.pt"


class SubstratePool:
    """Lazily loads or creates the substrate of each user; saves them on demand and at close."""

    def __init__(self, settings: SubstrateSettings, root: Path) -> None:
        self._settings = settings
        self._root = root
        self._substrates: dict[str, Any] = {}
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
            return substrate

    def _open(self, user: str) -> Any:
        from snn_substrate import Substrate, SubstrateConfig

        path = user_file(self._root, user)
        device = self._settings.device
        if path.exists():
            return Substrate.load(path, device=device)
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
            substrate.save(user_file(self._root, name))

    def forget_user(self, user: str) -> None:
        """Drop the user's substrate and its file."""
        with self._lock:
            self._substrates.pop(user, None)
        user_file(self._root, user).unlink(missing_ok=True)

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._substrates)


__all__ = ["SubstratePool", "user_file"]
