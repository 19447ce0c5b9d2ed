"""Trace-based STDP and its three-factor (reward-modulated) variant.

Each neuron keeps two traces, decaying with ``tau_plus`` (presynaptic, ``x_pre``) and ``tau_minus``
(postsynaptic, ``x_post``), each incremented by 1 at the neuron's spike (all-to-all pairing, as Brian2's
STDP example). On a plastic synapse i -> j::

    pre spike of i:   dw = -a_minus * x_post[j]      (depression: post fired before pre)
    post spike of j:  dw = +a_plus  * x_pre[i]       (potentiation: pre fired before post)

``mode`` decides where ``dw`` goes: ``direct`` adds it to ``w`` (clipped to [0, w_max]); ``eligibility``
adds it to an eligibility trace ``e`` decaying with ``tau_elig``; ``both`` does both. A reward ``r``
(dopamine-like third factor) then applies ``w += lr * r * e`` (clipped) to every plastic synapse: recent
pairings are strengthened by positive and weakened by negative reward (Izhikevich 2007, "Solving the
distal reward problem"). The eligibility trace is stored scaled, ``e_true(t) = e_stored * exp(-(t-t0)/tau)``,
so it costs nothing per step; :func:`renormalise_eligibility` moves ``t0`` forward before the scale grows.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import torch

PlasticityMode = Literal["off", "direct", "eligibility", "both"]
_MODE_BITS: dict[str, int] = {"off": 0, "direct": 1, "eligibility": 2, "both": 3}


class STDPParams(NamedTuple):
    """STDP constants (ms; amplitudes in weight units, mV)."""

    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    w_max: float = 1.0
    tau_elig: float = 1000.0
    reward_lr: float = 1.0


def mode_bits(mode: str) -> int:
    """The kernel's mode bit field for ``mode``.

    Raises:
        ValueError: unknown mode.
    """
    try:
        return _MODE_BITS[mode]
    except KeyError:
        raise ValueError(f"unknown plasticity mode {mode!r}; use one of {sorted(_MODE_BITS)}") from None


def elig_gain(t_ms: float, t0_ms: float, tau_elig: float) -> float:
    """Factor turning a true eligibility increment at ``t_ms`` into its stored (scaled) value."""
    return math.exp((t_ms - t0_ms) / tau_elig)


def stdp_on_pre(
    w: torch.Tensor,
    elig: torch.Tensor | None,
    syn: torch.Tensor,
    post: torch.Tensor,
    x_post: torch.Tensor,
    p: STDPParams,
    bits: int,
    gain: float,
) -> None:
    """Depression for plastic synapses ``syn`` (ids) whose presynaptic neuron spiked; in place."""
    dw = -p.a_minus * x_post[post]
    if bits & 1:
        w[syn] = (w[syn] + dw).clamp_(min=0.0)
    if bits & 2 and elig is not None:
        elig.index_add_(0, syn, dw * gain)


def stdp_on_post(
    w: torch.Tensor,
    elig: torch.Tensor | None,
    syn: torch.Tensor,
    pre: torch.Tensor,
    x_pre: torch.Tensor,
    p: STDPParams,
    bits: int,
    gain: float,
) -> None:
    """Potentiation for plastic synapses ``syn`` whose postsynaptic neuron spiked; in place."""
    dw = p.a_plus * x_pre[pre]
    if bits & 1:
        w[syn] = (w[syn] + dw).clamp_(max=p.w_max)
    if bits & 2 and elig is not None:
        elig.index_add_(0, syn, dw * gain)


def apply_reward(
    w: torch.Tensor,
    elig: torch.Tensor,
    plastic: torch.Tensor,
    reward: float,
    t_ms: float,
    t0_ms: float,
    p: STDPParams,
) -> None:
    """Third factor: ``w += lr * reward * e(t)`` on the plastic synapse ids ``plastic``, clipped; in place."""
    if reward == 0.0 or plastic.numel() == 0:
        return
    scale = p.reward_lr * reward * math.exp(-(t_ms - t0_ms) / p.tau_elig)
    w[plastic] = (w[plastic] + scale * elig[plastic]).clamp_(0.0, p.w_max)


def renormalise_eligibility(elig: torch.Tensor, t_ms: float, t0_ms: float, tau_elig: float) -> float:
    """Fold the decay since ``t0_ms`` into the stored eligibility (in place); returns the new ``t0`` (= t)."""
    elig.mul_(math.exp(-(t_ms - t0_ms) / tau_elig))
    return t_ms


def assembly_potentiation(
    row_ptr: torch.Tensor,
    col: torch.Tensor,
    w: torch.Tensor,
    n_plastic: torch.Tensor,
    rev_ptr: torch.Tensor,
    rev_syn: torch.Tensor,
    members: torch.Tensor,
    eta: float,
    w_max: float,
    budget: float,
    use_numpy: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Assembly-restricted Hebbian learning with soft bounds and heterosynaptic normalisation; in place.

    For the plastic synapses i -> j with both i and j in ``members`` (int64 neuron ids):
    ``w += eta * (w_max - w)`` (the rate limit of pair STDP for neurons that fire together at high rate:
    net potentiation, saturating at ``w_max``). Then, for each member j, if the summed weight of all its
    incoming plastic synapses exceeds ``budget`` every one of them is scaled by ``budget / sum`` (synaptic
    scaling: a neuron's total lateral drive stays bounded however many assemblies it joins, older links
    fade as new ones form). Synapses of non-members are untouched.

    CPU tensors are updated through NumPy views (single-threaded: a few tens of thousands of synapses per
    call, where torch's intra-op thread pool costs more than it saves and keeps spinning afterwards);
    ``use_numpy=False`` forces the torch path (the one CUDA takes; same results).

    Returns:
        (synapse ids, net weight change) of every synapse that changed, for eligibility tagging.
    """
    dev = w.device
    if use_numpy is None:
        use_numpy = dev.type == "cpu"
    if use_numpy:
        ids, d = _assembly_potentiation_np(
            row_ptr.numpy(),
            col.numpy(),
            w.numpy(),
            n_plastic.numpy(),
            rev_ptr.numpy(),
            rev_syn.numpy(),
            members.numpy().astype(np.int64),
            eta,
            w_max,
            budget,
        )
        return torch.from_numpy(ids), torch.from_numpy(d)
    if members.numel() == 0:
        z = torch.zeros(0, dtype=torch.int64, device=dev)
        return z, torch.zeros(0, dtype=w.dtype, device=dev)
    n = int(n_plastic.numel())
    inside = torch.zeros(n, dtype=torch.bool, device=dev)
    inside[members] = True
    syn = _expand(row_ptr, members, n_plastic[members].to(torch.int64))
    syn = syn[inside[col[syn].to(torch.int64)]]
    rev = _expand(rev_ptr, members, rev_ptr[members + 1] - rev_ptr[members])
    incoming = rev_syn[rev].to(torch.int64)
    owner = torch.repeat_interleave(
        torch.arange(members.numel(), device=dev), (rev_ptr[members + 1] - rev_ptr[members])
    )
    before = w[incoming].clone()
    w[syn] += eta * (w_max - w[syn])
    total = torch.zeros(members.numel(), dtype=w.dtype, device=dev).index_add_(0, owner, w[incoming])
    factor = (budget / total.clamp(min=1e-12)).clamp(max=1.0)
    w[incoming] = w[incoming] * factor[owner]
    # syn (pre and post in the assembly) is a subset of incoming (every plastic synapse onto a member)
    dw = w[incoming] - before
    moved = dw != 0
    return incoming[moved], dw[moved]


def synaptic_scaling(
    rev_ptr: torch.Tensor, rev_syn: torch.Tensor, w: torch.Tensor, posts: torch.Tensor, budget: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Homeostatic synaptic scaling, in place: for each neuron in ``posts`` whose incoming plastic weights sum to
    more than ``budget``, scale all of them by ``budget / sum`` (multiplicative, so their ratios, i.e. what was
    learned, are kept while the neuron's total lateral drive stays bounded).

    Returns:
        (synapse ids, weight change) of the synapses scaled.
    """
    posts = torch.unique(posts.to(torch.int64))
    if w.device.type == "cpu":
        ids_np, d_np = _scale_np(rev_ptr.numpy(), rev_syn.numpy(), w.numpy(), posts.numpy(), budget)
        return torch.from_numpy(ids_np), torch.from_numpy(d_np)
    ln = rev_ptr[posts + 1] - rev_ptr[posts]
    incoming = rev_syn[_expand(rev_ptr, posts, ln)].to(torch.int64)
    owner = torch.repeat_interleave(torch.arange(posts.numel(), device=w.device), ln)
    total = torch.zeros(posts.numel(), dtype=w.dtype, device=w.device).index_add_(0, owner, w[incoming])
    factor = (budget / total.clamp(min=1e-12)).clamp(max=1.0)[owner]
    moved = factor < 1.0
    ids = incoming[moved]
    before = w[ids].clone()
    w[ids] = w[ids] * factor[moved]
    return ids, w[ids] - before


def _scale_np(
    rev_ptr: npt.NDArray[np.int64],
    rev_syn: npt.NDArray[np.int32],
    w: npt.NDArray[np.float32],
    posts: npt.NDArray[np.int64],
    budget: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    ln = rev_ptr[posts + 1] - rev_ptr[posts]
    incoming = rev_syn[_expand_np(rev_ptr, posts, ln)].astype(np.int64)
    owner = np.repeat(np.arange(posts.size), ln)
    total = np.bincount(owner, weights=w[incoming], minlength=posts.size)
    factor = np.minimum(budget / np.maximum(total, 1e-12), 1.0).astype(np.float32)[owner]
    moved = factor < 1.0
    ids = incoming[moved]
    before = w[ids].copy()
    w[ids] = before * factor[moved]
    return ids, w[ids] - before


def _expand_np(
    ptr: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], ln: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    total = int(ln.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.repeat(ptr[rows] - (np.cumsum(ln) - ln), ln) + np.arange(total, dtype=np.int64)


def _assembly_potentiation_np(
    row_ptr: npt.NDArray[np.int64],
    col: npt.NDArray[np.int32],
    w: npt.NDArray[np.float32],
    n_plastic: npt.NDArray[np.int32],
    rev_ptr: npt.NDArray[np.int64],
    rev_syn: npt.NDArray[np.int32],
    members: npt.NDArray[np.int64],
    eta: float,
    w_max: float,
    budget: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    if members.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    inside = np.zeros(n_plastic.size, dtype=bool)
    inside[members] = True
    syn = _expand_np(row_ptr, members, n_plastic[members].astype(np.int64))
    syn = syn[inside[col[syn]]]
    ln = rev_ptr[members + 1] - rev_ptr[members]
    incoming = rev_syn[_expand_np(rev_ptr, members, ln)].astype(np.int64)
    owner = np.repeat(np.arange(members.size), ln)
    before = w[incoming].copy()
    w[syn] += np.float32(eta) * (np.float32(w_max) - w[syn])
    total = np.bincount(owner, weights=w[incoming], minlength=members.size)
    factor = np.minimum(budget / np.maximum(total, 1e-12), 1.0).astype(np.float32)
    w[incoming] = w[incoming] * factor[owner]
    dw = w[incoming] - before
    moved = dw != 0
    return incoming[moved], dw[moved]


def _expand(ptr: torch.Tensor, rows: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    start = ptr[rows]
    total = int(lengths.sum())
    if total == 0:
        return torch.zeros(0, dtype=torch.int64, device=ptr.device)
    offs = torch.cumsum(lengths, 0) - lengths
    return torch.repeat_interleave(start - offs, lengths) + torch.arange(total, device=ptr.device)
