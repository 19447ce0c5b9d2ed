"""``cogarch doctor``: check a data directory and repair what can be rebuilt.

A data directory holds (see DESIGN.md)::

    <data_dir>/                     mode 0700
        memory/memory.sqlite3       the system of record (SQLite, WAL): every record and its vector
        memory/chroma/              the vector index (embedded Chroma): derived from memory.sqlite3
        substrate/<user-hash>.pt    one spiking substrate per user
        checkpoints.sqlite          LangGraph conversation checkpoints
        agent.db                    the proactive log

With ``memory.store = "postgres"`` the records are in the database instead of ``memory.sqlite3``: the check is that the
server answers, the schema is at this code's version and every table reads (``PostgresStore.check``); the vector
index is then checked the same way (embedded; a Chroma server is not checked). The agent's shared tables there
(``agent_*``: substrates, rate limits, proactive events) get the same check (``AgentDatabase.check``); the
proactive log stays ``agent.db`` in the data directory, checked as on SQLite.

Checks: each SQLite file passes ``PRAGMA integrity_check``; the vector index opens and holds exactly the records
of every namespace (no missing entry, no entry without a record, no pending outbox operation); every substrate
file loads; no temporary file of an interrupted save is left; the directory and its stores are private to the
owner.

Repairs (``repair=True``), only for what can be rebuilt or safely dropped:

- the vector index: moved aside when damaged (``chroma.corrupt-<ts>``) and rebuilt from SQLite, or brought back
  in sync when entries are missing or stale; vectors come from SQLite, records without a usable vector are
  re-embedded with the configured embedder (``progress`` reports both);
- a damaged substrate file: moved aside (``.corrupt-<ts>``); the user's substrate starts fresh at next use;
- a damaged checkpoint DB or proactive log: moved aside; a fresh one is created at next start (unfinished turns
  and the proactive history are lost, memories are not);
- leftovers of interrupted saves: deleted; permissions: made private.

The memory database itself is the system of record: when it is damaged, nothing can rebuild it, and the report
says so (restore a backup or an export).
"""

from __future__ import annotations

import contextlib
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cogarch import composition
from cogarch.datadir import DataDir
from cogarch.settings import Settings
from cogarch.store.postgres import TABLES
from cogarch.substrates import TEMP_SUFFIX, load_substrate
from memory.embedders import build_embedder
from memory.embedders.base import Embedder
from memory.index.base import VectorIndex
from memory.index.chroma import ChromaIndex, chroma_client
from memory.layout import MemoryDir
from memory.memory import INDEX_REBUILD_KEY
from memory.store import open_store
from memory.store.base import MemoryStore, RecordKind, Vector
from memory.store.lock import DirectoryLock
from memory.store.postgres import redact_url
from memory.store.sqlite import SQLiteStore, integrity, record_counts
from reasoning.errors import (
    CogarchError,
    CorruptStoreError,
    MemoryBackendError,
    MissingResourceError,
    StoreLockedError,
)

Status = Literal["ok", "warning", "error", "repaired"]
Progress = Callable[[str, int, int], None]
"""``progress(task, done, total)``: called while the vector index is rebuilt."""

_BATCH = 512
_KINDS: tuple[RecordKind, ...] = ("episode", "fact", "scene")


@dataclass(frozen=True)
class Check:
    """One finding: what was checked (``name``, ``path``), its status, what was found and what to do."""

    name: str
    path: str
    status: Status
    message: str
    hint: str | None = None


@dataclass
class DoctorReport:
    """Every check of one data directory. ``ok``: nothing is left in error (warnings allowed)."""

    data_dir: str
    repair: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "error" for c in self.checks)

    def add(self, name: str, path: Path | str, status: Status, message: str, hint: str | None = None) -> None:
        self.checks.append(Check(name, str(path), status, message, hint))

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "repair": self.repair,
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
        }


def aside(path: Path) -> Path:
    """Move ``path`` (file or directory) to ``<path>.corrupt-<timestamp>``; returns the new path."""
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.rename(target)
    for side in ("-wal", "-shm", "-journal"):  # SQLite's side files belong to the damaged file
        extra = path.with_name(path.name + side)
        if extra.exists():
            extra.rename(target.with_name(target.name + side))
    return target


def diagnose(
    data_dir: str | Path,
    *,
    settings: Settings | None = None,
    repair: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> DoctorReport:
    """Check (and with ``repair`` fix) the data directory ``data_dir``; see the module docstring.

    Args:
        data_dir: the agent's data directory.
        settings: for the memory and embedding sections (default: ``Settings.load(data_dir=data_dir)``).
        repair: rebuild or move aside what is damaged.
        embedder: re-embeds records without a usable vector (default: built from ``settings`` when needed).
        progress: ``(task, done, total)`` during an index rebuild.

    Returns:
        The :class:`DoctorReport` (never raises for a damaged store: that is a finding).

    Raises:
        MissingResourceError: ``data_dir`` does not exist.
        StoreLockedError: ``repair`` while another process has the memory open.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise MissingResourceError(f"no data directory at {root}", hint="pass the agent's --data-dir")
    if settings is None:
        settings = Settings.load(data_dir=root)
    report = DoctorReport(str(root), repair)
    files = DataDir(root)
    _permissions(report, files, repair)
    _memory(report, files.memory, settings, repair, embedder, progress)
    _agent_tables(report, settings)
    _substrates(report, files.substrate, repair)
    for name, path in (("checkpoints", files.checkpoints), ("proactive_log", files.proactive_log)):
        _sqlite_file(report, name, path, repair)
    return report


# -- permissions --------------------------------------------------------------------------------------------------


def _permissions(report: DoctorReport, files: DataDir, repair: bool) -> None:
    root = files.root
    records = files.memory_files.records
    paths = [root] + [p for p in (files.memory, files.substrate) if p.is_dir()]
    paths += [p for p in root.glob("*.sqlite") if p.is_file()] + [p for p in root.glob("*.db") if p.is_file()]
    paths += [p for p in records.parent.glob(records.name + "*") if p.is_file()]
    paths += [p for p in files.substrate.glob("*.pt") if p.is_file()]
    open_to_others = [p for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o077]
    if not stat.S_IMODE(root.stat().st_mode) & 0o077:  # nothing inside is reachable by other users
        report.add("permissions", root, "ok", "the data directory is private to its owner (mode 0700)")
        return
    names = ", ".join(str(p.relative_to(root)) or "." for p in open_to_others[:5])
    if repair:
        for p in open_to_others:
            p.chmod(stat.S_IMODE(p.stat().st_mode) & 0o700)
        report.add("permissions", root, "repaired", f"made private: {names}")
    else:
        report.add(
            "permissions",
            root,
            "warning",
            f"readable or writable by other users: {names}",
            "run `cogarch doctor --repair` (chmod go-rwx)",
        )


# -- memory -------------------------------------------------------------------------------------------------------


def _memory(
    report: DoctorReport,
    directory: Path,
    settings: Settings,
    repair: bool,
    embedder: Embedder | None,
    progress: Progress | None,
) -> None:
    if settings.memory.store == "postgres":
        _postgres_memory(report, directory, settings, repair, embedder, progress)
        return
    db = MemoryDir(directory).records
    if not db.exists():
        report.add("memory", db, "ok", "no memory yet")
        return
    with _directory_lock(report, directory, repair) as locked:
        found = integrity(db)
        if found != "ok":
            report.add(
                "memory",
                db,
                "error",
                f"the memory database is damaged: {found}",
                "it is the system of record and cannot be rebuilt: restore a backup or an export "
                "(`cogarch memory import`) into a new data directory",
            )
            return
        try:
            counts = record_counts(db)
        except MemoryBackendError as exc:
            report.add("memory", db, "error", exc.message, "move it aside")
            return
        report.add("memory", db, "ok", "integrity ok; " + ", ".join(f"{n} {t}" for t, n in counts.items()))
        if _index_checkable(report, directory, settings, locked):
            store = SQLiteStore(db)
            try:
                _index(report, directory, store, settings, repair, embedder, progress)
            finally:
                store.close()


def _postgres_memory(
    report: DoctorReport,
    directory: Path,
    settings: Settings,
    repair: bool,
    embedder: Embedder | None,
    progress: Progress | None,
) -> None:
    """The Postgres store: the server answers, the schema is current, every table reads; then the index."""
    embedded = not settings.memory.chroma_url
    with _directory_lock(report, directory, repair, needed=embedded) as locked:
        try:
            store = open_store(directory, settings.memory)
        except CogarchError as exc:
            report.add("memory", "postgres", "error", exc.message, exc.hint)
            return
        try:
            found = store.check()
            if found != "ok":
                report.add(
                    "memory", store.describe(), "error", f"the memory database: {found}", "see its server log"
                )
                return
            counts = store.stats()
            report.add(
                "memory",
                store.describe(),
                "ok",
                "schema current, tables readable; "
                + ", ".join(f"{counts[t]} {t}" for t in ("episodes", "facts", "scenes")),
            )
            if _index_checkable(report, directory, settings, locked):
                _index(report, directory, store, settings, repair, embedder, progress)
        finally:
            store.close()


def _agent_tables(report: DoctorReport, settings: Settings) -> None:
    """The agent's shared tables in the memory's Postgres database (none with SQLite)."""
    if settings.memory.store != "postgres":
        return
    try:
        shared = composition.build_shared(settings)
    except CogarchError as exc:
        report.add("agent_tables", "postgres", "error", exc.message, exc.hint)
        return
    if shared is None:
        return
    try:
        found = shared.check()
        where = redact_url(shared.url) + (f" (schema {shared.schema})" if shared.schema else "")
        if found == "ok":
            report.add("agent_tables", where, "ok", "schema current, " + ", ".join(TABLES) + " readable")
        else:
            report.add("agent_tables", where, "error", f"the agent's tables: {found}", "see the server's log")
    finally:
        shared.close()


@contextlib.contextmanager
def _directory_lock(
    report: DoctorReport, directory: Path, repair: bool, *, needed: bool = True
) -> Iterator[bool]:
    """Hold the data directory's lock for the block when it can be had; yields whether it is held (or not
    needed). Without ``repair``, a directory in use is checked anyway (a warning says so)."""
    if not needed or not directory.is_dir():
        yield True
        return
    lock = DirectoryLock(directory)
    try:
        lock.acquire()
    except StoreLockedError as exc:
        if repair:
            raise
        report.add("memory", directory, "warning", f"in use: {exc.message}", "checked while in use")
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def _index_checkable(report: DoctorReport, directory: Path, settings: Settings, locked: bool) -> bool:
    if settings.memory.chroma_url:
        report.add("index", settings.memory.chroma_url, "ok", "remote Chroma server: not checked")
        return False
    if not locked:  # another process writes: the index is a moving target
        report.add("index", MemoryDir(directory).index, "warning", "not checked: the memory is in use")
        return False
    return True


class _Index:
    """A Chroma index on ``<memory>/chroma`` that closes its client (releasing Chroma's files)."""

    def __init__(self, directory: Path, store: MemoryStore, settings: Settings) -> None:
        self.client = chroma_client(path=MemoryDir(directory).index)
        self.index = ChromaIndex(
            self.client, prefix=settings.memory.collection_prefix, dim=int(store.meta("dim") or 0)
        )

    def close(self) -> None:
        self.index.close()
        with contextlib.suppress(Exception):
            self.client.close()


def _index(
    report: DoctorReport,
    directory: Path,
    store: MemoryStore,
    settings: Settings,
    repair: bool,
    embedder: Embedder | None,
    progress: Progress | None,
) -> None:
    chroma = MemoryDir(directory).index
    namespaces = [ns for ns in store.namespaces() if store.has_records(ns)]
    pending = store.pending_count()
    missing = stale = 0
    damage: str | None = None
    if not MemoryDir(directory).index_db.exists():
        damage = "the vector index is missing" if namespaces else None
    else:
        opened: _Index | None = None
        try:
            opened = _Index(directory, store, settings)
            for ns in namespaces:
                have = set(store.record_ids(ns))
                indexed = opened.index.ids(ns)
                missing += len(have - indexed)
                stale += len(indexed - have)
        except CogarchError as exc:
            damage = f"the vector index is damaged: {exc.message}"
        finally:
            if opened is not None:
                opened.close()
    if damage is None and missing == stale == pending == 0:
        report.add("index", chroma, "ok", f"in sync with the records ({len(namespaces)} namespaces)")
        return
    problem = (
        damage or f"{missing} records not indexed, {stale} index entries without a record, {pending} pending"
    )
    if not repair:
        report.add(
            "index",
            chroma,
            "error" if damage else "warning",
            problem,
            "run `cogarch doctor --repair` (rebuilds the vector index from the SQLite records)",
        )
        return
    moved = ""
    if damage and chroma.exists():
        moved = f"; the damaged index was moved to {aside(chroma).name}"
        _forget_cached_client(chroma)
    opened = _Index(directory, store, settings)
    try:
        added, removed, embedded = rebuild_index(
            store, opened.index, namespaces, embedder, settings, progress
        )
    finally:
        opened.close()
    report.add(
        "index",
        chroma,
        "repaired",
        f"{problem}: rebuilt from SQLite ({added} entries added, {removed} removed, {embedded} re-embedded){moved}",
    )


def _forget_cached_client(path: Path) -> None:
    """Chroma keeps one client system per path in a process: stop the one whose files were just moved away."""
    with contextlib.suppress(Exception):  # internals of chromadb: best effort
        from chromadb.api.shared_system_client import SharedSystemClient as Shared

        for key in {str(path), str(path.resolve())}:
            Shared._identifier_to_refcount.pop(key, None)
            system = Shared._identifier_to_system.pop(key, None)
            if system is not None:
                system.stop()


def rebuild_index(
    store: MemoryStore,
    index: VectorIndex,
    namespaces: list[str],
    embedder: Embedder | None,
    settings: Settings,
    progress: Progress | None = None,
) -> tuple[int, int, int]:
    """Bring ``index`` in sync with the records of ``namespaces``: add missing entries (stored vectors; records
    without a usable vector are re-embedded and their vector stored), delete entries without a record, clear the
    outbox. Returns ``(added, removed, re_embedded)``."""
    with store.transaction() as tx:  # a crash before the end makes the next Memory.open finish the job
        tx.set_meta(INDEX_REBUILD_KEY, str(time.time()))
    dim = int(store.meta("dim") or 0)
    work: list[tuple[str, RecordKind, list[str]]] = []
    removed = 0
    for ns in namespaces:
        indexed = index.ids(ns)
        have = store.record_ids(ns)
        for kind in _KINDS:
            todo = [i for i, k in have.items() if k == kind and i not in indexed]
            if todo:
                work.append((ns, kind, todo))
        stale = sorted(indexed - have.keys())
        index.delete(ns, stale)
        removed += len(stale)
    total = sum(len(w[2]) for w in work)
    done = added = embedded = 0
    if progress is not None:
        progress("index", 0, total)
    for ns, kind, todo in work:
        for start in range(0, len(todo), _BATCH):
            rows = store.index_sources(kind, todo[start : start + _BATCH])
            vectors: dict[str, Vector] = {}
            redo = []
            for r in rows:
                v = r.vector
                if v is None or v.shape != (dim,) or not np.all(np.isfinite(v)):
                    redo.append(r)
                else:
                    vectors[r.id] = v
            if redo:
                if embedder is None:
                    embedder = build_embedder(settings.embedding)
                fresh = np.asarray(embedder([r.text for r in redo]), dtype=np.float32)
                with store.transaction() as tx:
                    for r, v in zip(redo, fresh, strict=True):
                        tx.set_vector(kind, r.id, v)
                        vectors[r.id] = v
                embedded += len(redo)
            ids = [r.id for r in rows]
            index.upsert(ns, ids, np.stack([vectors[i] for i in ids]), [kind] * len(ids))
            added += len(ids)
            done += len(ids)
            if progress is not None:
                progress("index", done, total)
    with store.transaction() as tx:
        tx.clear_outbox()
        tx.set_meta(INDEX_REBUILD_KEY, None)
    return added, removed, embedded


# -- substrates ---------------------------------------------------------------------------------------------------


def _substrates(report: DoctorReport, directory: Path, repair: bool) -> None:
    if not directory.is_dir():
        return
    leftovers = [p for p in directory.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    if leftovers:
        if repair:
            for p in leftovers:
                p.unlink(missing_ok=True)
        report.add(
            "substrate",
            directory,
            "repaired" if repair else "warning",
            f"{len(leftovers)} temporary file(s) of interrupted saves" + (" deleted" if repair else ""),
            None if repair else "harmless; `cogarch doctor --repair` deletes them",
        )
    for path in sorted(directory.glob("*.pt")):
        try:
            load_substrate(path, "cpu")
        except CorruptStoreError as exc:
            if repair:
                moved = aside(path)
                report.add(
                    "substrate",
                    path,
                    "repaired",
                    f"damaged ({exc.message}); moved to {moved.name}: the user's substrate starts fresh",
                )
            else:
                report.add("substrate", path, "error", exc.message, exc.hint)
        else:
            report.add("substrate", path, "ok", "loads")


# -- other SQLite files -------------------------------------------------------------------------------------------


def _sqlite_file(report: DoctorReport, name: str, path: Path, repair: bool) -> None:
    if not path.exists():
        return
    found = integrity(path)
    if found == "ok":
        report.add(name, path, "ok", "integrity ok")
    elif repair:
        moved = aside(path)
        report.add(name, path, "repaired", f"damaged ({found}); moved to {moved.name}, a fresh one starts")
    else:
        report.add(name, path, "error", f"damaged: {found}", "run `cogarch doctor --repair` to move it aside")


__all__ = ["Check", "DoctorReport", "Progress", "aside", "diagnose", "integrity", "rebuild_index"]
