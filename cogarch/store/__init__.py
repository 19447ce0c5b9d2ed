"""The agent's own stores (besides memory, :mod:`memory.store`): the proactive log and the checkpoint file's
erasure helpers. Like ``memory/store/``, the only place in ``cogarch`` with SQL."""

from cogarch.store.checkpoints import open_sqlite_saver, secure_delete, truncate_wal
from cogarch.store.proactive import ProactiveLog

__all__ = ["ProactiveLog", "open_sqlite_saver", "secure_delete", "truncate_wal"]
