"""An exact in-memory vector index (numpy brute force): for tests, small namespaces and as a reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory.embedders.base import Vectors
from memory.index.base import Hit


class _Space:
    def __init__(self, dim: int) -> None:
        self.ids: list[str] = []
        self.kinds: list[str] = []
        self.pos: dict[str, int] = {}
        self.mat = np.zeros((0, dim), dtype=np.float32)


class InMemoryIndex:
    """Brute-force cosine search over unit vectors held in RAM. Not persistent."""

    def __init__(self) -> None:
        self._spaces: dict[str, _Space] = {}

    def upsert(self, namespace: str, ids: Sequence[str], vectors: Vectors, kinds: Sequence[str]) -> None:
        if not ids:
            return
        space = self._spaces.setdefault(namespace, _Space(vectors.shape[1]))
        new_rows: list[int] = []
        for i, (rid, kind) in enumerate(zip(ids, kinds, strict=True)):
            if rid in space.pos:
                space.mat[space.pos[rid]] = vectors[i]
                space.kinds[space.pos[rid]] = kind
            else:
                space.pos[rid] = len(space.ids) + len(new_rows)
                new_rows.append(i)
        for i in new_rows:
            space.ids.append(ids[i])
            space.kinds.append(kinds[i])
        if new_rows:
            space.mat = np.vstack([space.mat, vectors[new_rows]])

    def delete(self, namespace: str, ids: Sequence[str]) -> None:
        space = self._spaces.get(namespace)
        if space is None:
            return
        gone = {i for i in ids if i in space.pos}
        if not gone:
            return
        keep = [j for j, rid in enumerate(space.ids) if rid not in gone]
        space.ids = [space.ids[j] for j in keep]
        space.kinds = [space.kinds[j] for j in keep]
        space.mat = space.mat[keep]
        space.pos = {rid: j for j, rid in enumerate(space.ids)}

    def query(self, namespace: str, vectors: Vectors, n: int, *, kind: str | None = None) -> list[list[Hit]]:
        space = self._spaces.get(namespace)
        if space is None or not space.ids:
            return [[] for _ in range(len(vectors))]
        sims = vectors @ space.mat.T
        if kind is not None:
            mask = np.array([k != kind for k in space.kinds])
            sims[:, mask] = -np.inf
        out: list[list[Hit]] = []
        for row in sims:
            m = min(n, len(row))
            top = np.argpartition(-row, m - 1)[:m]
            top = top[np.argsort(-row[top])]
            out.append([Hit(space.ids[j], space.kinds[j], float(row[j])) for j in top if np.isfinite(row[j])])
        return out

    def ids(self, namespace: str) -> set[str]:
        space = self._spaces.get(namespace)
        return set(space.ids) if space else set()

    def drop(self, namespace: str) -> None:
        self._spaces.pop(namespace, None)

    def close(self) -> None:
        self._spaces.clear()


__all__ = ["InMemoryIndex"]
