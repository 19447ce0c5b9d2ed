"""Export and import a namespace as JSON.

Format ``{"format": "cogarch-memory", "version": 1, "namespace", "embedder", "dim", "episodes", "facts",
"scenes", "entities", "persona", "edges"}``; each record carries every stored field (vectors as base64 float32
when ``with_vectors``), so export -> import -> export gives the same document (round trip exact). Import re-embeds
when vectors are absent or come from another embedder.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from memory.embedders.base import Embedder
from memory.forgetting import forget_namespace
from memory.index.base import VectorIndex
from memory.records import JSONDict, check_namespace, embed_text
from memory.store.base import EXPORT_COLUMNS, MemoryStore, Vector, entity_id, from_blob
from reasoning.errors import InvalidInputError

FORMAT = "cogarch-memory"
_COLUMNS = EXPORT_COLUMNS
_JSON_COLS = {"metadata", "sources", "members"}


def export_namespace(
    store: MemoryStore, embedder: Embedder, namespace: str, *, with_vectors: bool
) -> JSONDict:
    """The namespace as a JSON-able dict (the module's format); ``embedder`` names the vectors' space."""
    out: JSONDict = {
        "format": FORMAT,
        "version": 1,
        "namespace": namespace,
        "embedder": embedder.name,
        "dim": embedder.dim,
    }
    for table, cols in _COLUMNS.items():
        records = []
        for r in store.export_rows(table, namespace):
            rec = {c: (json.loads(r[c]) if c in _JSON_COLS else r[c]) for c in cols}
            if with_vectors and r["vector"] is not None:
                rec["vector"] = base64.b64encode(r["vector"]).decode()
            records.append(rec)
        out[table] = records
    out["entities"] = store.entities(namespace)
    out["persona"] = [
        {"slot": p.slot, "value": p.value, "evidence": list(p.evidence), "updated": p.updated}
        for p in store.persona(namespace)
    ]
    out["edges"] = [list(e) for e in store.edges(namespace)]
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
        "expired": "opt_num",
    },
    "scenes": {"id": "id", "summary": "str", "members": "str_list", "calibration": "str", "created": "num"},
}
_ADDED = {"expired"}
"""Columns added after version 1 of the format: optional on import (absent = None)."""
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


def _validate(store: MemoryStore, dim: int, data: Mapping[str, Any], ns: str, *, replace: bool) -> None:
    """Check every record before anything is written (an import is all or nothing).

    Raises:
        InvalidInputError: naming the first bad record and field.
    """
    ids: list[str] = []
    for table, types in _TYPES.items():
        for i, rec in enumerate(_records(data, table)):
            where = f"{table}[{i}]"
            if not isinstance(rec, dict):
                raise _bad(where, "must be a JSON object")
            for column, kind in types.items():
                if column not in rec and column in _ADDED:
                    continue  # an export written before the column existed
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
    replaced = ns if replace else None
    taken = {i for i, owner in store.owners(ids).items() if owner != replaced}
    new_entities = [entity_id(ns, e["name"]) for e in data.get("entities", [])]
    taken |= {i for i, owner in store.entity_owners(new_entities).items() if owner != ns or not replace}
    if taken:
        raise InvalidInputError(
            f"record ids already exist in this memory: {', '.join(sorted(taken)[:3])}",
            hint="import into another data directory",
        )


def import_namespace(
    store: MemoryStore,
    index: VectorIndex,
    embedder: Embedder,
    data: Mapping[str, Any],
    *,
    namespace: str | None,
    replace: bool,
    chroma_dir: Path | None,
) -> int:
    """Import an export: all or nothing. Every record is validated (types, id prefixes, vector sizes, id clashes)
    and embedded before anything is written; with ``replace`` the namespace is emptied only then (erased as by
    :func:`memory.forgetting.forget_namespace`, ``chroma_dir`` included).

    Raises:
        InvalidInputError: not an export, a malformed record (named), the namespace is not empty without
            ``replace``, or record ids that exist in this memory.
    """
    if not isinstance(data, Mapping) or data.get("format") != FORMAT or data.get("version") != 1:
        raise InvalidInputError("not a cogarch memory export (format/version mismatch)")
    if namespace is None and not isinstance(data.get("namespace"), str):
        raise _bad("'namespace'", "must be a string")
    ns = check_namespace(namespace or str(data.get("namespace", "")))
    if store.has_records(ns) and not replace:
        raise InvalidInputError(f"namespace {ns!r} is not empty", hint="pass replace=True (--replace)")
    _validate(store, embedder.dim, data, ns, replace=replace)
    same_space = data.get("embedder") == embedder.name
    vectors: dict[str, Vector] = {}
    for table in _COLUMNS:
        recs = data.get(table, [])
        missing = [r for r in recs if not (same_space and r.get("vector"))]
        if missing:
            if table == "episodes":
                texts = [embed_text(r["text"], r.get("speaker")) for r in missing]
            else:
                texts = [r["summary"] if table == "scenes" else r["text"] for r in missing]
            for r, v in zip(missing, embedder(texts), strict=True):
                vectors[r["id"]] = np.asarray(v, dtype=np.float32)
        for r in recs:
            if r["id"] not in vectors:
                vectors[r["id"]] = from_blob(base64.b64decode(r["vector"]))
    # entity ids derive from the namespace: re-derive them for the target (the exported ids belong to the source)
    entity_ids = {e["id"]: entity_id(ns, e["name"]) for e in data.get("entities", [])}
    if replace:
        forget_namespace(store, index, ns, chroma_dir)
    try:
        count = 0
        with store.transaction() as tx:
            for table, cols in _COLUMNS.items():
                kind = {"episodes": "episode", "facts": "fact", "scenes": "scene"}[table]
                for r in data.get(table, []):
                    values = {
                        c: json.dumps(r[c], sort_keys=True, ensure_ascii=False)
                        if c in _JSON_COLS
                        else r.get(c)
                        for c in cols
                    }
                    tx.import_record(table, ns, values, vectors[r["id"]])
                    tx.enqueue(ns, [(r["id"], kind)], "upsert")
                    count += 1
            for e in data.get("entities", []):
                tx.put_entity(entity_ids[e["id"]], ns, e["name"], e["mentions"])
            for p in data.get("persona", []):
                tx.set_persona(ns, p["slot"], p["value"], p["evidence"], p["updated"])
            tx.add_edges(
                ns,
                [(entity_ids.get(s, s), entity_ids.get(d, d), k, w) for s, d, k, w in data.get("edges", [])],
            )
            tx.audit(ns, "import", ns, {"records": count})
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"malformed memory export: {exc!r}") from exc
    return count


__all__ = ["FORMAT", "export_namespace", "import_namespace"]
