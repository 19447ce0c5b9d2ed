"""Keeping the vector index in step with the records: the outbox is applied after each commit, and replayed at
open (index operations are idempotent, so a replay after a crash is safe).

``flush`` applies the queued operations, the last one per id winning (an upsert then a delete is a delete);
``reconcile(full=True)`` also compares every namespace's index with the records (re-adds missing vectors from the
store, deletes entries without a record).
"""

from __future__ import annotations

import numpy as np

from memory.index.base import VectorIndex
from memory.store.base import MemoryStore, OutboxOp, RecordKind

_KINDS: tuple[RecordKind, ...] = ("episode", "fact", "scene")


def flush(store: MemoryStore, index: VectorIndex) -> int:
    """Apply the outbox to the index; returns the number of operations applied.

    Raises:
        MemoryBackendError: the index or the store failed (the operations stay queued).
    """
    rows = store.pending()
    if not rows:
        return 0
    last: dict[tuple[str, str], OutboxOp] = {}
    for row in rows:
        last[(row.namespace, row.id)] = row
    by_ns: dict[tuple[str, str], list[OutboxOp]] = {}
    for (ns, _), row in last.items():
        by_ns.setdefault((ns, row.op), []).append(row)
    for (ns, op), items in by_ns.items():
        if op == "delete":
            index.delete(ns, [r.id for r in items])
            continue
        for kind in _KINDS:
            ids = [r.id for r in items if r.kind == kind]
            if not ids:
                continue
            vecs = store.vectors_of(kind, ids)
            present = [i for i in ids if i in vecs]
            gone = [i for i in ids if i not in vecs]
            if present:
                index.upsert(ns, present, np.stack([vecs[i] for i in present]), [kind] * len(present))
            if gone:
                index.delete(ns, gone)
    store.done([r.seq for r in rows])
    return len(rows)


def reconcile(store: MemoryStore, index: VectorIndex, *, full: bool = False) -> dict[str, int]:
    """Replay pending index operations; with ``full``, also compare every namespace's index with the records.
    Returns ``{"replayed", "added", "removed"}``."""
    replayed = flush(store, index)
    added = removed = 0
    if full:
        for ns in store.namespaces():
            have = store.record_ids(ns)
            indexed = index.ids(ns)
            stale = sorted(indexed - have.keys())
            index.delete(ns, stale)
            removed += len(stale)
            for kind in _KINDS:
                missing = [i for i, k in have.items() if k == kind and i not in indexed]
                vecs = store.vectors_of(kind, missing)
                ids = [i for i in missing if i in vecs]
                if ids:
                    index.upsert(ns, ids, np.stack([vecs[i] for i in ids]), [kind] * len(ids))
                    added += len(ids)
    return {"replayed": replayed, "added": added, "removed": removed}


__all__ = ["flush", "reconcile"]
