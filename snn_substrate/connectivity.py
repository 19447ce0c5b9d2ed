"""Sparse connectivity for event-driven propagation.

Projections have a fixed in-degree: every postsynaptic neuron draws ``k`` presynaptic partners uniformly
(with replacement, as ``fixed_indegree`` in NEST) from the source population. The synapses are stored by
presynaptic neuron (CSR: ``row_ptr``, ``col`` = target, ``w``), so a step reads only the rows of the neurons
that spiked. Within each row the plastic synapses come first (``n_plastic[i]`` of them); a reverse index by
postsynaptic neuron (``rev_ptr``, ``rev_syn``, ``rev_pre``) lists each neuron's incoming plastic synapses for
STDP potentiation. Memory: 8 bytes per static synapse, 16 per plastic one (+4 per synapse for eligibility in S2r only).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch


class Projection(NamedTuple):
    """``k`` synapses onto each neuron of ``post`` from ``pre`` (index ranges [start, stop)), weight ``w``
    (mV; multiplied by a uniform jitter in [1 - jitter, 1 + jitter]), plastic or not."""

    pre: tuple[int, int]
    post: tuple[int, int]
    k: int
    w: float
    plastic: bool = False
    jitter: float = 0.0
    name: str = ""


class Connectivity(NamedTuple):
    """CSR synapses by presynaptic neuron plus the reverse index of the plastic ones."""

    row_ptr: torch.Tensor  # int64 (N+1,)
    col: torch.Tensor  # int32 (S,) target neuron
    w: torch.Tensor  # float32 (S,)
    n_plastic: torch.Tensor  # int32 (N,) plastic synapses at the start of each row
    rev_ptr: torch.Tensor  # int64 (N+1,) incoming plastic synapses by post neuron
    rev_syn: torch.Tensor  # int32 (P,) synapse id
    rev_pre: torch.Tensor  # int32 (P,) presynaptic neuron
    is_exc: torch.Tensor  # uint8 (N,) 1: the neuron's spikes feed g_e, 0: g_i

    @property
    def n_synapses(self) -> int:
        return int(self.col.numel())

    @property
    def n_plastic_total(self) -> int:
        return int(self.rev_syn.numel())

    def nbytes(self) -> int:
        """Bytes held by the connectivity tensors."""
        return sum(int(t.numel() * t.element_size()) for t in self)

    def to(self, device: torch.device) -> Connectivity:
        return Connectivity(*(t.to(device) for t in self))


def build(
    n: int,
    is_exc: torch.Tensor,
    projections: list[Projection],
    generator: torch.Generator,
    reverse: bool = True,
) -> Connectivity:
    """Draw every projection and assemble the CSR (on CPU; move with ``.to``).

    Vectorised and gather-free where it matters: the presynaptic partners of every projection are drawn in
    bulk (post-major), one stable sort of the int32 presynaptic ids gives the permutation into CSR order
    (plastic projections are placed first, so within each row the plastic synapses come first). Targets are
    recomputed from the permutation arithmetically (a synapse's draw position gives its target), weights and
    their jitter are drawn directly in CSR order (they are i.i.d. per synapse), and the reverse index of the
    plastic synapses is in draw order already (post-major); only one random scatter remains.
    ``reverse=False`` leaves the reverse index empty (build it later with :func:`with_reverse`).

    Raises:
        ValueError: a projection range outside [0, n) or an empty source with k > 0.
    """
    for pr in projections:
        (a, b), (c, d) = pr.pre, pr.post
        if not (0 <= a <= b <= n and 0 <= c <= d <= n):
            raise ValueError(f"projection {pr.name or pr} outside [0, {n})")
        if pr.k > 0 and d > c and b == a:
            raise ValueError(f"projection {pr.name or pr} has an empty source population")
    drawn: dict[int, torch.Tensor] = {}
    for i, pr in enumerate(projections):  # draw in declaration order: reproducible streams
        (a, b), (c, d) = pr.pre, pr.post
        if pr.k > 0 and d > c:
            drawn[i] = torch.randint(a, b, ((d - c) * pr.k,), generator=generator, dtype=torch.int32)
    parts = sorted(drawn, key=lambda i: (not projections[i].plastic, i))  # plastic first
    sizes = [int(drawn[i].numel()) for i in parts]
    n_pl = sum(sz for i, sz in zip(parts, sizes, strict=True) if projections[i].plastic)
    empty_rev = _empty_reverse(n)
    if not parts:
        z = torch.zeros(0, dtype=torch.int32)
        return Connectivity(
            torch.zeros(n + 1, dtype=torch.int64),
            z,
            torch.zeros(0),
            torch.zeros(n, dtype=torch.int32),
            *empty_rev,
            is_exc.to(torch.uint8),
        )
    pre_all = torch.cat([drawn[i] for i in parts])
    del drawn
    # per-row block lengths of every projection -> row_ptr, n_plastic, and each CSR slot's projection
    counts = torch.stack(
        [
            torch.bincount(pre_all[o : o + sz], minlength=n)
            for o, sz in zip(_offsets(sizes), sizes, strict=True)
        ],
        dim=1,
    )  # (n, P)
    row_len = counts.sum(1)
    row_ptr = torch.zeros(n + 1, dtype=torch.int64)
    row_ptr[1:] = torch.cumsum(row_len, 0)
    plastic_cols = [j for j, i in enumerate(parts) if projections[i].plastic]
    n_plastic = (
        counts[:, plastic_cols].sum(1).to(torch.int32) if plastic_cols else torch.zeros(n, dtype=torch.int32)
    )
    proj_of = torch.repeat_interleave(torch.arange(len(parts)).repeat(n), counts.reshape(-1))  # CSR order
    del counts
    order = torch.sort(pre_all, stable=True).indices  # CSR slot -> draw position
    # target of draw position o in projection p: post_start[p] + (o - offset[p]) // k[p]
    off = torch.tensor(_offsets(sizes), dtype=torch.int64)
    kk = torch.tensor([projections[i].k for i in parts], dtype=torch.int64)
    post0 = torch.tensor([projections[i].post[0] for i in parts], dtype=torch.int64)
    col = (post0[proj_of] + torch.div(order - off[proj_of], kk[proj_of], rounding_mode="floor")).to(
        torch.int32
    )
    base = torch.tensor([projections[i].w for i in parts], dtype=torch.float32)
    jit = torch.tensor([projections[i].jitter for i in parts], dtype=torch.float32)
    u = torch.rand(int(order.numel()), generator=generator)
    w = base[proj_of] * (1.0 + jit[proj_of] * (2.0 * u - 1.0))
    del u, proj_of
    conn = Connectivity(row_ptr, col, w.contiguous(), n_plastic, *empty_rev, is_exc.to(torch.uint8))
    if reverse and n_pl:
        # draw order of the plastic synapses is post-major (posts ascending within each projection)
        slots = torch.nonzero(order < n_pl).flatten()
        rev_syn = torch.empty(n_pl, dtype=torch.int32)
        rev_syn[order[slots]] = slots.to(torch.int32)
        pre_pl = pre_all[:n_pl]
        post_pl = col[rev_syn.to(torch.int64)].to(torch.int64)
        if bool((post_pl[1:] < post_pl[:-1]).any()):  # plastic projections not in ascending post order
            return _reverse_from(conn, rev_syn.to(torch.int64), pre_pl, n)
        rev_ptr = torch.zeros(n + 1, dtype=torch.int64)
        rev_ptr[1:] = torch.cumsum(torch.bincount(post_pl, minlength=n), 0)
        conn = conn._replace(rev_ptr=rev_ptr, rev_syn=rev_syn, rev_pre=pre_pl.clone())
    return conn


def _offsets(sizes: list[int]) -> list[int]:
    out, acc = [], 0
    for sz in sizes:
        out.append(acc)
        acc += sz
    return out


def _empty_reverse(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.zeros(n + 1, dtype=torch.int64),
        torch.zeros(0, dtype=torch.int32),
        torch.zeros(0, dtype=torch.int32),
    )


def _reverse_from(conn: Connectivity, syn: torch.Tensor, pre: torch.Tensor, n: int) -> Connectivity:
    post = conn.col[syn].to(torch.int64)
    o = torch.sort(post, stable=True).indices
    rev_ptr = torch.zeros(n + 1, dtype=torch.int64)
    rev_ptr[1:] = torch.cumsum(torch.bincount(post, minlength=n), 0)
    return conn._replace(rev_ptr=rev_ptr, rev_syn=syn[o].to(torch.int32), rev_pre=pre[o].to(torch.int32))


def has_reverse(conn: Connectivity) -> bool:
    """True when the reverse index lists every plastic synapse."""
    return int(conn.rev_ptr.numel()) == int(conn.n_plastic.numel()) + 1 and int(conn.rev_syn.numel()) == int(
        conn.n_plastic.sum()
    )


def with_reverse(conn: Connectivity) -> Connectivity:
    """``conn`` with its reverse index of plastic synapses built (a no-op if present)."""
    if has_reverse(conn):
        return conn
    dev = conn.col.device
    n = int(conn.n_plastic.numel())
    cpu = conn.to(torch.device("cpu"))
    rows = torch.arange(n, dtype=torch.int64)
    syn = expand_rows(cpu.row_ptr, rows, cpu.n_plastic)
    pre = torch.repeat_interleave(rows, cpu.n_plastic.to(torch.int64))
    return _reverse_from(cpu, syn, pre, n).to(dev)


class PlasticGate(NamedTuple):
    """A restriction of the plastic index for one run (``Engine.run(gate=...)``): which rows depress on a pre
    spike (``n_plastic``: a member's full plastic part, 0 elsewhere) and which incoming synapses potentiate on a
    post spike (``rev_*``: only those whose pre and post neurons are both members)."""

    n_plastic: torch.Tensor  # int32 (N,)
    rev_ptr: torch.Tensor  # int64 (N+1,)
    rev_syn: torch.Tensor  # int32 (G,)
    rev_pre: torch.Tensor  # int32 (G,)


def gate(conn: Connectivity, members: npt.NDArray[np.int64]) -> PlasticGate:
    """The :class:`PlasticGate` that makes only the plastic synapses among ``members`` (neuron ids) potentiate,
    and only members' outgoing plastic synapses depress. ``conn`` must have its reverse index. Built with
    NumPy (a few hundred members: small-op torch calls would cost more than the work)."""
    n = int(conn.n_plastic.numel())
    cpu = conn.col.device.type == "cpu"
    rev_ptr_all = conn.rev_ptr.numpy() if cpu else conn.rev_ptr.cpu().numpy()
    rev_pre_all = conn.rev_pre.numpy() if cpu else conn.rev_pre.cpu().numpy()
    m = np.unique(np.asarray(members, dtype=np.int64))
    inside = np.zeros(n, dtype=bool)
    inside[m] = True
    ln = rev_ptr_all[m + 1] - rev_ptr_all[m]
    total = int(ln.sum())
    rev = np.repeat(rev_ptr_all[m] - (np.cumsum(ln) - ln), ln) + np.arange(total, dtype=np.int64)
    keep = inside[rev_pre_all[rev]]
    counts = np.bincount(np.repeat(m, ln)[keep], minlength=n)
    rev_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=rev_ptr[1:])
    n_plastic = np.zeros(n, dtype=np.int32)
    n_plastic[m] = (conn.n_plastic.numpy() if cpu else conn.n_plastic.cpu().numpy())[m]
    sel = torch.from_numpy(rev[keep])
    dev = conn.col.device
    return PlasticGate(
        torch.from_numpy(n_plastic).to(dev),
        torch.from_numpy(rev_ptr).to(dev),
        conn.rev_syn[sel.to(dev)].contiguous(),
        conn.rev_pre[sel.to(dev)].contiguous(),
    )


def plastic_ids(conn: Connectivity) -> torch.Tensor:
    """Ids of all plastic synapses (int64), row by row."""
    rows = torch.arange(int(conn.n_plastic.numel()), device=conn.row_ptr.device)
    return expand_rows(conn.row_ptr, rows, conn.n_plastic)


def expand_rows(
    row_ptr: torch.Tensor, rows: torch.Tensor, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Synapse ids of ``rows`` (all of each row, or its first ``lengths[row]``), concatenated (int64)."""
    start = row_ptr[rows]
    ln = (row_ptr[rows + 1] - start) if lengths is None else lengths[rows].to(torch.int64)
    total = int(ln.sum())
    if total == 0:
        return torch.zeros(0, dtype=torch.int64, device=row_ptr.device)
    offs = torch.cumsum(ln, 0) - ln
    base = torch.repeat_interleave(start - offs, ln)
    return base + torch.arange(total, device=row_ptr.device)
