"""Forget: remove records and everything derived from them, with an audit entry that holds no content.

Cascade: forgetting an episode removes it from the facts, scenes and persona slots that cite it; a derived
item left with no source is removed too. A scene that keeps other members is rebuilt from them (its extractive
summary, lexical entry and vector are recomputed and its LLM calibration is dropped), so no trace of the forgotten
text stays in it. Index entries are removed through the outbox (crash-safe).

Erasure, not only unlinking: the connection deletes with ``secure_delete`` (freed bytes are zeroed), the lexical
index is optimised afterwards (FTS5 keeps deleted terms in its segments until they are merged; SQLite 3.40 has no
FTS5 ``secure-delete``) and the WAL is checkpointed and truncated, so the forgotten text is in no byte of
``memory.sqlite3`` or its WAL once ``forget`` returns. Optimising costs time linear in the lexical index (about a
second per 100k entries).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reasoning.errors import NotFoundError

if TYPE_CHECKING:
    from memory.memory import Memory

_TABLE = {"ep": ("episodes", "episode"), "fa": ("facts", "fact"), "sc": ("scenes", "scene")}


def forget(
    memory: Memory,
    namespace: str,
    *,
    ids: str | Sequence[str] | None,
    query: str | None,
    k: int,
    everything: bool,
) -> int:
    store = memory.store
    store.conn.execute("PRAGMA secure_delete=ON")  # per connection: zero freed bytes from now on
    if everything:
        with store.transaction() as conn:
            count = 0
            for table, kind in _TABLE.values():
                rows = conn.execute(f"SELECT id FROM {table} WHERE namespace=?", (namespace,)).fetchall()
                store.enqueue(conn, namespace, [(r[0], kind) for r in rows], "delete")
                conn.execute(f"DELETE FROM {table} WHERE namespace=?", (namespace,))
                count += len(rows)
            for table in ("fts", "edges", "entities", "persona"):
                conn.execute(f"DELETE FROM {table} WHERE namespace=?", (namespace,))
            store.audit(conn, namespace, "forget_namespace", namespace, {"records": count})
        memory.reconcile()
        memory.index.drop(namespace)
        erase(memory)
        vacuum_index(memory)
        scrub_hnsw(memory.directory / "chroma")
        return count
    if query is not None:
        found = memory.recall(query, namespace=namespace, k=k)
        targets = [r.id for r in found if r.kind in ("episode", "fact")]
        reason = "query"
    else:
        targets = [ids] if isinstance(ids, str) else list(ids or [])
        reason = "ids"
    for rid in targets:
        entry = _TABLE.get(rid[:2])
        row = None if entry is None else store.q(f"SELECT namespace FROM {entry[0]} WHERE id=?", (rid,))
        if not row or row[0][0] != namespace:
            raise NotFoundError(f"no memory record {rid!r} in namespace {namespace!r}")
    with store.transaction() as conn:
        removed = _cascade(memory, conn, namespace, set(targets))
        store.audit(
            conn,
            namespace,
            "forget",
            ",".join(sorted(targets))[:2000],
            {"by": reason, "requested": len(targets), "removed": removed},
        )
    memory.reconcile()
    erase(memory)
    scrub_hnsw(memory.directory / "chroma")
    return removed


def erase(memory: Memory) -> None:
    """Make deleted content unrecoverable from the files: merge the lexical index (dropping deleted terms) and
    checkpoint + truncate the WAL. Freed pages are already zeroed (``secure_delete``)."""
    conn = memory.store.conn
    conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def vacuum_index(memory: Memory) -> bool:
    """Erase a dropped collection from the embedded Chroma's files: remove the HNSW segment directories no
    segment refers to any more (Chroma leaves them on disk, vectors included) and VACUUM its SQLite file (Chroma
    deletes without ``secure_delete``). Returns False when the file is busy or absent (a Chroma server, or
    another process reading): the bytes then stay until Chroma reuses the pages."""
    root = memory.directory / "chroma"
    path = root / "chroma.sqlite3"
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(str(path), timeout=5.0)
        try:
            live = {str(r[0]) for r in conn.execute("SELECT id FROM segments")}
            for child in root.iterdir():
                if child.is_dir() and _UUID.fullmatch(child.name) and child.name not in live:
                    shutil.rmtree(child, ignore_errors=True)
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


def scrub_hnsw(root: Path) -> int:
    """Zero the unused capacity of every embedded HNSW segment's ``data_level0.bin``; returns the files changed.

    Chroma writes a segment's level-0 file at its full capacity (100 slots at first) from a buffer it does not
    clear, so the slots past ``cur_element_count`` can hold whatever the process had freed before, such as
    the text of a message just forgotten (seen once in CI). Only files whose ``header.bin`` is the
    layout this reads (version 1, and a file size of capacity x slot size) are touched; anything else is left
    as is. Run after a forget and when a Memory that forgot closes, once Chroma has written its files.
    """
    changed = 0
    if not root.is_dir():
        return 0
    for seg in root.iterdir():
        header, data = seg / "header.bin", seg / "data_level0.bin"
        if not (_UUID.fullmatch(seg.name) and header.is_file() and data.is_file()):
            continue
        try:
            head = header.read_bytes()
            if len(head) < 36 or struct.unpack_from("<i", head, 0)[0] != 1:
                continue
            capacity, used, slot = struct.unpack_from("<QQQ", head, 12)
            if used > capacity or slot == 0 or data.stat().st_size != capacity * slot:
                continue
            with open(data, "r+b") as f:
                pos, end = used * slot, capacity * slot
                while pos < end:
                    f.seek(pos)
                    chunk = f.read(min(1 << 20, end - pos))
                    if chunk.count(0) != len(chunk):
                        f.seek(pos)
                        f.write(bytes(len(chunk)))
                        changed += 1
                    pos += len(chunk)
        except OSError:
            continue
    return changed


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _rebuild_scene(
    conn: sqlite3.Connection, memory: Memory, namespace: str, sid: str, members: list[str]
) -> None:
    """Recompute a scene from its remaining members: summary, lexical entry and vector; drop its calibration."""
    import numpy as np

    from memory.consolidation import _summary
    from memory.store.sqlite import from_blob, to_blob

    rows = conn.execute(
        "SELECT id, text, vector FROM episodes WHERE namespace=? AND id IN (SELECT value FROM json_each(?))",
        (namespace, json.dumps(members)),
    ).fetchall()
    texts = {r["id"]: r["text"] for r in rows}
    summary = _summary([texts.get(m, "") for m in members])
    vectors = [from_blob(r["vector"]) for r in rows if r["vector"] is not None]
    blob = None
    if vectors:
        mean = np.mean(np.stack(vectors), axis=0)
        blob = to_blob(mean / (float(np.linalg.norm(mean)) or 1.0))
    conn.execute(
        "UPDATE scenes SET members=?, summary=?, calibration='', vector=? WHERE id=?",
        (json.dumps(members), summary, blob, sid),
    )
    conn.execute("DELETE FROM fts WHERE id=?", (sid,))
    conn.execute(
        "INSERT INTO fts(text, id, namespace, kind) VALUES(?,?,?,'scene')", (summary, sid, namespace)
    )


def _delete(conn: sqlite3.Connection, memory: Memory, namespace: str, rid: str) -> None:
    table, kind = _TABLE[rid[:2]]
    conn.execute(f"DELETE FROM {table} WHERE id=?", (rid,))
    conn.execute("DELETE FROM fts WHERE id=?", (rid,))
    conn.execute("DELETE FROM edges WHERE src=? OR dst=?", (rid, rid))
    memory.store.enqueue(conn, namespace, [(rid, kind)], "delete")


def _cascade(memory: Memory, conn: sqlite3.Connection, namespace: str, targets: set[str]) -> int:
    removed = 0
    episodes = {t for t in targets if t.startswith("ep_")}
    for rid in sorted(targets):
        _delete(conn, memory, namespace, rid)
        removed += 1
    if episodes:
        # relink the temporal chain around removed episodes is not needed: recall tolerates gaps
        for f in conn.execute("SELECT id, sources FROM facts WHERE namespace=?", (namespace,)).fetchall():
            sources = json.loads(f["sources"])
            left = [s for s in sources if s not in episodes]
            if len(left) == len(sources):
                continue
            if left:
                conn.execute("UPDATE facts SET sources=? WHERE id=?", (json.dumps(left), f["id"]))
            else:
                _delete(conn, memory, namespace, f["id"])
                removed += 1
        for s in conn.execute("SELECT id, members FROM scenes WHERE namespace=?", (namespace,)).fetchall():
            members = json.loads(s["members"])
            left = [m for m in members if m not in episodes]
            if len(left) == len(members):
                continue
            if left:
                _rebuild_scene(conn, memory, namespace, s["id"], left)
                memory.store.enqueue(conn, namespace, [(s["id"], "scene")], "upsert")
            else:
                _delete(conn, memory, namespace, s["id"])
                removed += 1
        for p in conn.execute(
            "SELECT slot, evidence FROM persona WHERE namespace=?", (namespace,)
        ).fetchall():
            evidence = json.loads(p["evidence"])
            left = [e for e in evidence if e not in episodes]
            if len(left) == len(evidence):
                continue
            if left:
                conn.execute(
                    "UPDATE persona SET evidence=? WHERE namespace=? AND slot=?",
                    (json.dumps(left), namespace, p["slot"]),
                )
            else:
                conn.execute("DELETE FROM persona WHERE namespace=? AND slot=?", (namespace, p["slot"]))
                removed += 1
    conn.execute(
        "DELETE FROM entities WHERE namespace=? AND id NOT IN (SELECT dst FROM edges WHERE namespace=?)",
        (namespace, namespace),
    )
    return removed


__all__ = ["erase", "forget", "scrub_hnsw", "vacuum_index"]
