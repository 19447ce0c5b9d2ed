"""Export and import a namespace as JSON.

Format ``{"format": "cogarch-memory", "version": 1, "namespace", "embedder", "dim", "episodes", "facts",
"scenes", "entities", "persona", "edges"}``; each record carries every stored field (vectors as base64 float32
when ``with_vectors``), so export -> import -> export gives the same document (round trip exact). Import re-embeds
when vectors are absent or come from another embedder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
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


_ID_PREFIX = {"episodes": "ep_", "facts": "fa_", "scenes": "sc_"}
# the type of every imported column: id / str / opt_str / num / opt_num / int / dict / str_list
_TYPES: dict[str, dict[str, str]] = {
    "episodes": {
        "id": "id",
        "text": "str",
        "speaker": "opt_str",
        "channel": "opt_str",
        "ts": "num",
        "session": "opt_str",
        "metadata": "dict",
        "valence": "num",
        "importance": "num",
        "flags": "str",
        "event_id": "opt_str",
        "consolidated": "int",
        "created": "num",
    },
    "facts": {
        "id": "id",
        "subject": "str",
        "relation": "str",
        "object": "str",
        "text": "str",
        "valid_from": "num",
        "valid_to": "opt_num",
        "confidence": "num",
        "sources": "str_list",
        "superseded_by": "opt_str",
        "created": "num",
    },
    "scenes": {"id": "id", "summary": "str", "members": "str_list", "calibration": "str", "created": "num"},
}
_MAX_TEXT = 1_000_000
_INT_RANGE = (-(2**63), 2**63 - 1)


def _bad(where: str, what: str) -> InvalidInputError:
    return InvalidInputError(
        f"malformed memory export: {where} {what}", hint="import a file written by `cogarch memory export`"
    )


def _check_value(kind: str, value: Any, where: str) -> None:
    if kind in ("opt_str", "opt_num") and value is None:
        return
    if kind in ("id", "str", "opt_str"):
        if not isinstance(value, str) or len(value) > _MAX_TEXT or "\x00" in value:
            raise _bad(where, "must be a string (no NUL, at most 1,000,000 characters)")
        if kind == "id" and not 0 < len(value) <= 256:
            raise _bad(where, "must be a non-empty id of at most 256 characters")
    elif kind in ("num", "opt_num"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _bad(where, "must be a finite number")
    elif kind == "int":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not _INT_RANGE[0] <= value <= _INT_RANGE[1]
        ):
            raise _bad(where, "must be a 64-bit integer")
    elif kind == "dict":
        if not isinstance(value, dict):
            raise _bad(where, "must be a JSON object")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise _bad(where, "must be plain JSON (no NaN or infinity)") from None
    elif kind == "str_list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise _bad(where, "must be a list of strings")


def _records(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise _bad(f"{key!r}", "must be a list")
    return value


def _validate(memory: Memory, data: Mapping[str, Any], ns: str, *, replace: bool) -> None:
    """Check every record before anything is written (an import is all or nothing).

    Raises:
        InvalidInputError: naming the first bad record and field.
    """
    dim = memory.embedder.dim
    ids: list[str] = []
    for table, types in _TYPES.items():
        for i, rec in enumerate(_records(data, table)):
            where = f"{table}[{i}]"
            if not isinstance(rec, dict):
                raise _bad(where, "must be a JSON object")
            for column, kind in types.items():
                if column not in rec:
                    raise _bad(f"{where}.{column}", "is missing")
                _check_value(kind, rec[column], f"{where}.{column}")
            if not rec["id"].startswith(_ID_PREFIX[table]):
                raise _bad(f"{where}.id", f"must start with {_ID_PREFIX[table]!r}")
            vector = rec.get("vector")
            if vector is not None:
                try:
                    raw = base64.b64decode(vector, validate=True) if isinstance(vector, str) else b""
                except ValueError:
                    raw = b""
                if len(raw) != 4 * dim or not np.isfinite(from_blob(raw)).all():
                    raise _bad(f"{where}.vector", f"must be base64 of {dim} finite float32 values")
            ids.append(rec["id"])
    entity_ids: list[str] = []
    for i, ent in enumerate(_records(data, "entities")):
        if not isinstance(ent, dict):
            raise _bad(f"entities[{i}]", "must be a JSON object")
        for column, kind in (("id", "id"), ("name", "str"), ("mentions", "int")):
            _check_value(kind, ent.get(column), f"entities[{i}].{column}")
        entity_ids.append(ent["id"])
    if len(set(entity_ids)) != len(entity_ids):
        raise _bad("entity ids", "are not unique")
    for i, slot in enumerate(_records(data, "persona")):
        if not isinstance(slot, dict):
            raise _bad(f"persona[{i}]", "must be a JSON object")
        for column, kind in (("slot", "str"), ("value", "str"), ("updated", "num")):
            _check_value(kind, slot.get(column), f"persona[{i}].{column}")
        try:
            json.dumps(slot.get("evidence"), allow_nan=False)
        except (TypeError, ValueError):
            raise _bad(f"persona[{i}].evidence", "must be plain JSON") from None
    for i, edge in enumerate(_records(data, "edges")):
        if not isinstance(edge, list) or len(edge) != 4:
            raise _bad(f"edges[{i}]", "must be [src, dst, kind, weight]")
        for j, kind in enumerate(("str", "str", "str", "num")):
            _check_value(kind, edge[j], f"edges[{i}][{j}]")
        known = set(ids) | set(entity_ids)
        if edge[0] not in known or edge[1] not in known:
            raise _bad(f"edges[{i}]", "links a record or entity that is not in the file")
    if len(set(ids)) != len(ids):
        raise _bad("record ids", "are not unique")
    taken = _existing_ids(memory, ids, ns if replace else None)
    taken |= _existing_entities(
        memory, [_entity_id(ns, e["name"]) for e in data.get("entities", [])], ns, replace
    )
    if taken:
        raise InvalidInputError(
            f"record ids already exist in this memory: {', '.join(sorted(taken)[:3])}",
            hint="import into another data directory",
        )


def _existing_ids(memory: Memory, ids: list[str], replaced: str | None) -> set[str]:
    """The ids among ``ids`` already stored (outside the namespace ``replaced``, which is about to be emptied)."""
    taken: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for table in _COLUMNS:
            for row in memory.store.q(f"SELECT id, namespace FROM {table} WHERE id IN ({marks})", chunk):
                if row["namespace"] != replaced:
                    taken.add(str(row["id"]))
    return taken


def _entity_id(namespace: str, name: str) -> str:
    """An entity's id in ``namespace`` (the same derivation as consolidation's, so later consolidation finds it)."""
    return "en_" + hashlib.sha1(f"{namespace}\0{name}".encode()).hexdigest()[:20]


def _existing_entities(memory: Memory, ids: list[str], ns: str, replace: bool) -> set[str]:
    """Entity ids among ``ids`` that another namespace owns (or ``ns`` itself, unless it is being replaced)."""
    taken: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in memory.store.q(f"SELECT id, namespace FROM entities WHERE id IN ({marks})", chunk):
            if row["namespace"] != ns or not replace:
                taken.add(str(row["id"]))
    return taken


def import_namespace(memory: Memory, data: Mapping[str, Any], *, namespace: str | None, replace: bool) -> int:
    """Import an export: all or nothing. Every record is validated (types, id prefixes, vector sizes, id clashes)
    and embedded before anything is written; with ``replace`` the namespace is emptied only then.

    Raises:
        InvalidInputError: not an export, a malformed record (named), the namespace is not empty without
            ``replace``, or record ids that exist in this memory.
    """
    if not isinstance(data, Mapping) or data.get("format") != FORMAT or data.get("version") != 1:
        raise InvalidInputError("not a cogarch memory export (format/version mismatch)")
    if namespace is None and not isinstance(data.get("namespace"), str):
        raise _bad("'namespace'", "must be a string")
    ns = check_namespace(namespace or str(data.get("namespace", "")))
    store = memory.store
    if any(store.q(f"SELECT 1 FROM {t} WHERE namespace=? LIMIT 1", (ns,)) for t in _COLUMNS) and not replace:
        raise InvalidInputError(f"namespace {ns!r} is not empty", hint="pass replace=True (--replace)")
    _validate(memory, data, ns, replace=replace)
    same_space = data.get("embedder") == memory.embedder.name
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
    # entity ids derive from the namespace: re-derive them for the target (the exported ids belong to the source)
    entity_ids = {e["id"]: _entity_id(ns, e["name"]) for e in data.get("entities", [])}
    if replace:
        memory.forget(namespace=ns, all=True)
    try:
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
                    "INSERT OR REPLACE INTO entities VALUES(?,?,?,?)",
                    (entity_ids[e["id"]], ns, e["name"], e["mentions"]),
                )
            for p in data.get("persona", []):
                conn.execute(
                    "INSERT OR REPLACE INTO persona VALUES(?,?,?,?,?)",
                    (ns, p["slot"], p["value"], json.dumps(p["evidence"]), p["updated"]),
                )
            conn.executemany(
                "INSERT OR REPLACE INTO edges VALUES(?,?,?,?,?)",
                [
                    (ns, entity_ids.get(s, s), entity_ids.get(d, d), k, w)
                    for s, d, k, w in data.get("edges", [])
                ],
            )
            store.audit(conn, ns, "import", ns, {"records": count})
    except sqlite3.IntegrityError as exc:
        raise InvalidInputError(
            f"record ids already exist in this memory: {exc}", hint="import into another data directory"
        ) from exc
    except (KeyError, TypeError, ValueError, OverflowError, sqlite3.InterfaceError) as exc:
        raise InvalidInputError(f"malformed memory export: {exc!r}") from exc
    return count


__all__ = ["FORMAT", "export_namespace", "import_namespace"]
_ = np
