"""Export and import a namespace as JSON.

Format ``{"format": "cogarch-memory", "version": 1, "namespace", "embedder", "dim", "episodes", "facts",
"scenes", "entities", "persona", "edges"}``; each record carries every stored field (vectors as base64 float32
when ``with_vectors``), so export -> import -> export gives the same document (round trip exact). Import re-embeds
when vectors are absent or come from another embedder.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.memory import check_namespace
from memory.records import JSONDict
from memory.store.sqlite import from_blob, to_blob
from reasoning.errors import InvalidInputError

if TYPE_CHECKING:
    from memory.memory import Memory

FORMAT = "cogarch-memory"
_COLUMNS = {
    "episodes": [
        "id",
        "text",
        "speaker",
        "channel",
        "ts",
        "session",
        "metadata",
        "valence",
        "importance",
        "flags",
        "event_id",
        "consolidated",
        "created",
    ],
    "facts": [
        "id",
        "subject",
        "relation",
        "object",
        "text",
        "valid_from",
        "valid_to",
        "confidence",
        "sources",
        "superseded_by",
        "created",
    ],
    "scenes": ["id", "summary", "members", "calibration", "created"],
}
_JSON_COLS = {"metadata", "sources", "members"}


def export_namespace(memory: Memory, namespace: str, *, with_vectors: bool) -> JSONDict:
    store = memory.store
    out: JSONDict = {
        "format": FORMAT,
        "version": 1,
        "namespace": namespace,
        "embedder": memory.embedder.name,
        "dim": memory.embedder.dim,
    }
    for table, cols in _COLUMNS.items():
        records = []
        for r in store.q(f"SELECT * FROM {table} WHERE namespace=? ORDER BY seq", (namespace,)):
            rec = {c: (json.loads(r[c]) if c in _JSON_COLS else r[c]) for c in cols}
            if with_vectors and r["vector"] is not None:
                rec["vector"] = base64.b64encode(r["vector"]).decode()
            records.append(rec)
        out[table] = records
    out["entities"] = [
        dict(r)
        for r in store.q(
            "SELECT id, name, mentions FROM entities WHERE namespace=? ORDER BY id", (namespace,)
        )
    ]
    out["persona"] = [
        {
            "slot": r["slot"],
            "value": r["value"],
            "evidence": json.loads(r["evidence"]),
            "updated": r["updated"],
        }
        for r in store.q("SELECT * FROM persona WHERE namespace=? ORDER BY slot", (namespace,))
    ]
    out["edges"] = [
        list(r)
        for r in store.q(
            "SELECT src, dst, kind, weight FROM edges WHERE namespace=? ORDER BY src, dst, kind", (namespace,)
        )
    ]
    return out


def import_namespace(memory: Memory, data: Mapping[str, Any], *, namespace: str | None, replace: bool) -> int:
    if data.get("format") != FORMAT or data.get("version") != 1:
        raise InvalidInputError("not a cogarch memory export (format/version mismatch)")
    ns = check_namespace(namespace or str(data.get("namespace", "")))
    store = memory.store
    if any(store.q(f"SELECT 1 FROM {t} WHERE namespace=? LIMIT 1", (ns,)) for t in _COLUMNS):
        if not replace:
            raise InvalidInputError(f"namespace {ns!r} is not empty", hint="pass replace=True (--replace)")
        memory.forget(namespace=ns, all=True)
    same_space = data.get("embedder") == memory.embedder.name
    try:
        vectors: dict[str, bytes] = {}
        for table in _COLUMNS:
            recs = data.get(table, [])
            missing = [r for r in recs if not (same_space and r.get("vector"))]
            if missing:
                if table == "episodes":
                    from memory.memory import embed_text

                    texts = [embed_text(r["text"], r.get("speaker")) for r in missing]
                else:
                    texts = [r["summary"] if table == "scenes" else r["text"] for r in missing]
                for r, v in zip(missing, memory.embedder(texts), strict=True):
                    vectors[r["id"]] = to_blob(v)
            for r in recs:
                if r["id"] not in vectors:
                    vectors[r["id"]] = to_blob(from_blob(base64.b64decode(r["vector"])))
        count = 0
        with store.transaction() as conn:
            for table, cols in _COLUMNS.items():
                kind = {"episodes": "episode", "facts": "fact", "scenes": "scene"}[table]
                for r in data.get(table, []):
                    values = [
                        json.dumps(r[c], sort_keys=True, ensure_ascii=False) if c in _JSON_COLS else r[c]
                        for c in cols
                    ]
                    conn.execute(
                        f"INSERT INTO {table}(namespace, {', '.join(cols)}, vector) VALUES(?{', ?' * len(cols)}, ?)",
                        [ns, *values, vectors[r["id"]]],
                    )
                    text = (
                        r["summary"]
                        if table == "scenes"
                        else (
                            f"{r['speaker']}: {r['text']}"
                            if table == "episodes" and r.get("speaker")
                            else r["text"]
                        )
                    )
                    conn.execute(
                        "INSERT INTO fts(text, id, namespace, kind) VALUES(?,?,?,?)",
                        (text, r["id"], ns, kind),
                    )
                    store.enqueue(conn, ns, [(r["id"], kind)], "upsert")
                    count += 1
            for e in data.get("entities", []):
                conn.execute(
                    "INSERT OR REPLACE INTO entities VALUES(?,?,?,?)", (e["id"], ns, e["name"], e["mentions"])
                )
            for p in data.get("persona", []):
                conn.execute(
                    "INSERT OR REPLACE INTO persona VALUES(?,?,?,?,?)",
                    (ns, p["slot"], p["value"], json.dumps(p["evidence"]), p["updated"]),
                )
            conn.executemany(
                "INSERT OR REPLACE INTO edges VALUES(?,?,?,?,?)",
                [(ns, s, d, k, w) for s, d, k, w in data.get("edges", [])],
            )
            store.audit(conn, ns, "import", ns, {"records": count})
    except sqlite3.IntegrityError as exc:
        raise InvalidInputError(
            f"record ids already exist in this memory: {exc}", hint="import into another data directory"
        ) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"malformed memory export: {exc!r}") from exc
    return count


__all__ = ["FORMAT", "export_namespace", "import_namespace"]
_ = np
