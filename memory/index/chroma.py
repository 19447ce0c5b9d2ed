"""ChromaDB as the vector index: an embedded ``PersistentClient`` in the data directory, or an ``HttpClient``
when a server URL is configured (several processes then share vectors through the server).

One collection per namespace and vector space: ``<prefix>-<sha1(namespace)[:16]>-<dim>``; cosine HNSW. Chroma's
default embedding function is never used (it would download a model): vectors always come from our embedder.
Telemetry is off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from memory.embedders.base import Vectors
from memory.index.base import Hit
from reasoning.errors import ConfigError, CorruptStoreError, MemoryBackendError, MissingResourceError

_BATCH = 4000  # below Chroma's max batch size
_QUERY_BATCH = 32
_KIND_OF_PREFIX = {"ep_": "episode", "fa_": "fact", "sc_": "scene"}
_CORRUPT = ("malformed", "not a database", "hnsw", "segment reader", "pickle", "file is encrypted")
_REPAIR = "run `cogarch doctor --repair` (rebuilds the vector index from the SQLite records)"


def index_error(exc: BaseException, what: str, where: str = "the Chroma index") -> MemoryBackendError:
    """The typed error for a failed Chroma call: :class:`CorruptStoreError` when Chroma's files are damaged
    (its SQLite file, an HNSW segment), else :class:`MemoryBackendError`. The index is derived data, so the hint
    says how to rebuild it; a full disk gets the "free disk space" hint."""
    text = str(exc)
    low = text.lower()
    if "disk is full" in low or "no space left" in low or "file too large" in low or "disk i/o" in low:
        return MemoryBackendError(
            f"{what} failed: the disk is full or a file-size limit was reached ({text})",
            hint="free disk space and retry; records are safe in SQLite and re-indexed at the next open",
        )
    if any(m in low for m in _CORRUPT):
        return CorruptStoreError(f"{where} is damaged: {what} failed ({text})", hint=_REPAIR)
    return MemoryBackendError(f"{what} failed: {text}")


def chroma_client(*, path: Path | None = None, url: str | None = None, token: str | None = None) -> Any:
    """Build a Chroma client: ``HttpClient`` for ``url``, else ``PersistentClient`` at ``path``.

    Raises:
        ConfigError: neither or a malformed url. MissingResourceError: the server cannot be reached.
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"invalid Chroma URL {url!r}", hint="use http://host:port")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                headers=headers,
                settings=settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise MissingResourceError(
                f"cannot reach the Chroma server at {url}: {exc}",
                hint="start it with `chroma run --path DIR` or unset COGARCH_MEMORY__CHROMA_URL",
            ) from exc
        return client
    if path is None:
        raise ConfigError("chroma_client needs a path or a url")
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise index_error(exc, "opening the Chroma store", f"the Chroma store at {path}") from exc


class ChromaIndex:
    """:class:`~memory.index.base.VectorIndex` over a Chroma client (injected; closed by :meth:`close`)."""

    def __init__(self, client: Any, *, prefix: str = "cogarch", dim: int, ef_search: int = 100) -> None:
        self._client = client
        self._prefix = prefix
        self._dim = dim
        self._ef = ef_search
        self._collections: dict[str, Any] = {}

    def collection_name(self, namespace: str) -> str:
        digest = hashlib.sha1(namespace.encode()).hexdigest()[:16]
        return f"{self._prefix}-{digest}-{self._dim}"

    def _col(self, namespace: str, *, create: bool = True) -> Any:
        col = self._collections.get(namespace)
        if col is not None:
            return col
        name = self.collection_name(namespace)
        try:
            if create:
                col = self._client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine", "ef_search": self._ef}},
                    metadata={"namespace": namespace},
                )
            else:
                try:
                    col = self._client.get_collection(name, embedding_function=None)
                except Exception:
                    return None
        except Exception as exc:
            raise index_error(exc, f"opening Chroma collection {name}") from exc
        self._collections[namespace] = col
        return col

    def upsert(self, namespace: str, ids: Sequence[str], vectors: Vectors, kinds: Sequence[str]) -> None:
        if not ids:
            return
        col = self._col(namespace)
        try:
            for i in range(0, len(ids), _BATCH):
                col.upsert(
                    ids=list(ids[i : i + _BATCH]),
                    embeddings=np.asarray(vectors[i : i + _BATCH], dtype=np.float32),
                    metadatas=[{"kind": k} for k in kinds[i : i + _BATCH]],
                )
        except Exception as exc:
            raise index_error(exc, "Chroma upsert") from exc

    def delete(self, namespace: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        col = self._col(namespace, create=False)
        if col is None:
            return
        try:
            for i in range(0, len(ids), _BATCH):
                col.delete(ids=list(ids[i : i + _BATCH]))
        except Exception as exc:
            raise index_error(exc, "Chroma delete") from exc

    def query(self, namespace: str, vectors: Vectors, n: int, *, kind: str | None = None) -> list[list[Hit]]:
        col = self._col(namespace, create=False)
        if col is None or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        out: list[list[Hit]] = []
        # small query batches: a filtered query with many vectors exceeds SQLite's variable limit inside Chroma
        for start in range(0, len(vectors), _QUERY_BATCH):
            try:
                res = col.query(
                    query_embeddings=np.asarray(vectors[start : start + _QUERY_BATCH], dtype=np.float32),
                    n_results=n,
                    where={"kind": kind} if kind else None,
                    include=["distances"],  # kinds come from the ids: fetching metadata costs more than HNSW
                )
            except Exception as exc:
                if "Nothing found" in str(exc) or "0 elements" in str(exc):
                    out.extend([] for _ in vectors[start : start + _QUERY_BATCH])
                    continue
                raise index_error(exc, "Chroma query") from exc
            for ids, dists in zip(res["ids"], res["distances"] or [], strict=False):
                kinds = self._kinds(col, ids)
                out.append([Hit(i, kinds[i], 1.0 - float(d)) for i, d in zip(ids, dists, strict=False)])
        return out

    @staticmethod
    def _kinds(col: Any, ids: Sequence[str]) -> dict[str, str]:
        """Kind of each hit from its id prefix (``ep_``, ``fa_``, ``sc_``); other ids from their metadata."""
        out = {i: _KIND_OF_PREFIX[i[:3]] for i in ids if i[:3] in _KIND_OF_PREFIX}
        rest = [i for i in ids if i not in out]
        if rest:
            try:
                got = col.get(ids=rest, include=["metadatas"])
            except Exception as exc:
                raise index_error(exc, "Chroma get") from exc
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=False):
                out[i] = str((m or {}).get("kind", "episode"))
            out.update({i: "episode" for i in rest if i not in out})
        return out

    def ids(self, namespace: str) -> set[str]:
        col = self._col(namespace, create=False)
        if col is None:
            return set()
        found: set[str] = set()
        offset = 0
        while True:
            try:
                batch = col.get(include=[], limit=10000, offset=offset)["ids"]
            except Exception as exc:
                raise index_error(exc, "Chroma get") from exc
            found.update(batch)
            if len(batch) < 10000:
                return found
            offset += len(batch)

    def drop(self, namespace: str) -> None:
        self._collections.pop(namespace, None)
        with contextlib.suppress(Exception):  # nothing to drop
            self._client.delete_collection(self.collection_name(namespace))

    def close(self) -> None:
        """Release the client (the index owns it): Chroma's files are closed once no other client uses them."""
        self._collections.clear()
        close = getattr(self._client, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


__all__ = ["ChromaIndex", "chroma_client", "index_error"]
