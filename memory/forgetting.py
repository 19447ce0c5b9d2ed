"""Forget: remove records and everything derived from them, with an audit entry that holds no content.

Cascade: forgetting an episode removes it from the facts, scenes and persona slots that cite it; a derived
item left with no source is removed too. A scene that keeps other members is rebuilt from them (its extractive
summary, lexical entry and vector are recomputed and its LLM calibration is dropped), so no trace of the forgotten
text stays in it. Index entries are removed through the outbox (crash-safe).

Erasure, not only unlinking: deletes run after ``MemoryStore.erase_on_delete`` and are followed by
``MemoryStore.erase`` (SQLite: freed bytes zeroed, the lexical index merged, the WAL truncated, so the forgotten
text is in no byte of ``memory.sqlite3`` or its WAL once ``forget`` returns; Postgres: see its store and
docs/reliability.md). The embedded Chroma's files are vacuumed and scrubbed too.
"""

from __future__ import annotations

import re
import shutil
import struct
from collections.abc import Sequence
from pathlib import Path

from memory.index.base import VectorIndex
from memory.scenes import centroid, summary
from memory.store.base import MemoryStore, MemoryWriter
from memory.store.sqlite import vacuum_file
from memory.sync import flush
from reasoning.errors import NotFoundError


def forget_namespace(store: MemoryStore, index: VectorIndex, namespace: str, chroma_dir: Path | None) -> int:
    """Forget every record of ``namespace`` and drop its index collection; returns the records removed.

    ``chroma_dir``: the embedded Chroma's directory, whose files are vacuumed and scrubbed (None: a server).
    """
    store.erase_on_delete()
    with store.transaction() as tx:
        count = tx.delete_namespace(namespace)
        tx.audit(namespace, "forget_namespace", namespace, {"records": count})
    flush(store, index)
    index.drop(namespace)
    store.erase()
    if chroma_dir is not None:
        vacuum_index(chroma_dir)
        scrub_hnsw(chroma_dir)
    return count


def forget(
    store: MemoryStore,
    index: VectorIndex,
    namespace: str,
    targets: Sequence[str],
    *,
    reason: str,
    chroma_dir: Path | None,
) -> int:
    """Forget the records ``targets`` of ``namespace`` and what derives from them only (the module's cascade);
    returns the number of records removed. ``reason`` ("ids", "query") goes to the audit entry.

    Raises:
        NotFoundError: a target is not a record of the namespace (nothing is removed).
    """
    store.erase_on_delete()
    owners = store.owners(list(targets))
    for rid in targets:
        if owners.get(rid) != namespace:
            raise NotFoundError(f"no memory record {rid!r} in namespace {namespace!r}")
    with store.transaction() as tx:
        removed = _cascade(tx, namespace, set(targets))
        tx.audit(
            namespace,
            "forget",
            ",".join(sorted(targets))[:2000],
            {"by": reason, "requested": len(targets), "removed": removed},
        )
    flush(store, index)
    store.erase()
    if chroma_dir is not None:
        scrub_hnsw(chroma_dir)
    return removed


def vacuum_index(root: Path) -> bool:
    """Erase a dropped collection from the embedded Chroma's files in ``root``: remove the HNSW segment
    directories no segment refers to any more (Chroma leaves them on disk, vectors included) and VACUUM its SQLite
    file (Chroma deletes without ``secure_delete``). Returns False when the file is busy or absent (a Chroma
    server, or another process reading): the bytes then stay until Chroma reuses the pages."""

    def remove_unused(live: set[str]) -> None:
        for child in root.iterdir():
            if child.is_dir() and _UUID.fullmatch(child.name) and child.name not in live:
                shutil.rmtree(child, ignore_errors=True)

    return vacuum_file(root / "chroma.sqlite3", remove_unused)


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


def _cascade(tx: MemoryWriter, namespace: str, targets: set[str]) -> int:
    removed = 0
    episodes = {t for t in targets if t.startswith("ep_")}
    for rid in sorted(targets):
        tx.delete_record(namespace, rid)
        removed += 1
    if episodes:
        # relink the temporal chain around removed episodes is not needed: recall tolerates gaps
        for fid, sources in tx.fact_sources(namespace):
            left = [s for s in sources if s not in episodes]
            if len(left) == len(sources):
                continue
            if left:
                tx.set_fact_sources(fid, left)
            else:
                tx.delete_record(namespace, fid)
                removed += 1
        for sid, members in tx.scene_members(namespace):
            left = [m for m in members if m not in episodes]
            if len(left) == len(members):
                continue
            if left:
                _rebuild_scene(tx, namespace, sid, left)
                tx.enqueue(namespace, [(sid, "scene")], "upsert")
            else:
                tx.delete_record(namespace, sid)
                removed += 1
        for slot, evidence in tx.persona_evidence(namespace):
            left = [e for e in evidence if e not in episodes]
            if len(left) == len(evidence):
                continue
            if left:
                tx.set_persona_evidence(namespace, slot, left)
            else:
                tx.delete_persona(namespace, slot)
                removed += 1
    tx.prune_entities(namespace)
    return removed


def _rebuild_scene(tx: MemoryWriter, namespace: str, sid: str, members: list[str]) -> None:
    """Recompute a scene from its remaining members: summary, lexical entry and vector; drop its calibration."""
    rows = tx.episode_vectors(namespace, members)
    texts = {eid: text for eid, text, _ in rows}
    vectors = [v for _, _, v in rows if v is not None]
    tx.rebuild_scene(namespace, sid, summary([texts.get(m, "") for m in members]), members, centroid(vectors))


__all__ = ["forget", "forget_namespace", "scrub_hnsw", "vacuum_index"]
