"""Sparse connectivity for event-driven propagation.

Projections have a fixed in-degree: every postsynaptic neuron draws ``k`` presynaptic partners uniformly
(with replacement, as ``fixed_indegree`` in NEST) from the source population. The synapses are stored by
presynaptic neuron (CSR: ``row_ptr``, ``col`` = target, ``w``), so a step reads only the rows of the neurons
that spiked. Within each row the plastic synapses come first (``n_plastic[i]`` of them); a reverse index by
postsynaptic neuron (``rev_ptr``, ``rev_syn``, ``rev_pre``) lists each neuron's incoming plastic synapses for
STDP potentiation. Memory: 8 bytes per static synapse, 16 per plastic one (+4 for eligibility).
"""

from __future__ import annotations

from typing import NamedTuple

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
    n: int, is_exc: torch.Tensor, projections: list[Projection], generator: torch.Generator
) -> Connectivity:
    """Draw every projection and assemble the CSR (on CPU; move with ``.to``).

    Raises:
        ValueError: a projection range outside [0, n) or an empty source with k > 0.
    """
    pres, posts, ws, plast = [], [], [], []
    for pr in projections:
        (a, b), (c, d) = pr.pre, pr.post
        if not (0 <= a <= b <= n and 0 <= c <= d <= n):
            raise ValueError(f"projection {pr.name or pr} outside [0, {n})")
        if pr.k <= 0 or d == c:
            continue
        if b == a:
            raise ValueError(f"projection {pr.name or pr} has an empty source population")
        m = (d - c) * pr.k
        pre = torch.randint(a, b, (m,), generator=generator, dtype=torch.int64)
        post = torch.arange(c, d, dtype=torch.int64).repeat_interleave(pr.k)
        w = torch.full((m,), pr.w, dtype=torch.float32)
        if pr.jitter > 0:
            w *= 1.0 + pr.jitter * (2.0 * torch.rand(m, generator=generator) - 1.0)
        pres.append(pre)
        posts.append(post)
        ws.append(w)
        plast.append(torch.full((m,), pr.plastic, dtype=torch.bool))
    if pres:
        pre_all, post_all = torch.cat(pres), torch.cat(posts)
        w_all, pl_all = torch.cat(ws), torch.cat(plast)
    else:
        pre_all = post_all = torch.zeros(0, dtype=torch.int64)
        w_all, pl_all = torch.zeros(0), torch.zeros(0, dtype=torch.bool)
    del pres, posts, ws, plast
    # sort by (pre, static-after-plastic, post) -> CSR rows with plastic synapses first
    key = (pre_all * 2 + (~pl_all).to(torch.int64)) * n + post_all
    order = torch.sort(key).indices
    del key
    pre_s = pre_all[order]
    col = post_all[order].to(torch.int32)
    w_s = w_all[order].contiguous()
    pl_s = pl_all[order]
    del order, pre_all, post_all, w_all, pl_all
    row_ptr = torch.zeros(n + 1, dtype=torch.int64)
    row_ptr[1:] = torch.cumsum(torch.bincount(pre_s, minlength=n), 0)
    n_plastic = torch.bincount(pre_s[pl_s], minlength=n).to(torch.int32)
    syn_ids = torch.nonzero(pl_s).flatten()
    rev_post = col[syn_ids].to(torch.int64)
    rorder = torch.sort(rev_post * n + pre_s[syn_ids]).indices
    rev_syn = syn_ids[rorder].to(torch.int32)
    rev_pre = pre_s[syn_ids][rorder].to(torch.int32)
    rev_ptr = torch.zeros(n + 1, dtype=torch.int64)
    rev_ptr[1:] = torch.cumsum(torch.bincount(rev_post, minlength=n), 0)
    return Connectivity(row_ptr, col, w_s, n_plastic, rev_ptr, rev_syn, rev_pre, is_exc.to(torch.uint8))


def plastic_ids(conn: Connectivity) -> torch.Tensor:
    """Ids of all plastic synapses (int64)."""
    return conn.rev_syn.to(torch.int64)


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
