"""Forget: remove records and everything derived from them, with an audit entry that holds no content.

Cascade: forgetting an episode removes it from the facts, scenes and persona slots that cite it; a derived
item left with no source is removed too. Index entries are removed through the outbox (crash-safe).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
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
    return removed


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
                conn.execute("UPDATE scenes SET members=? WHERE id=?", (json.dumps(left), s["id"]))
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


__all__ = ["forget"]
