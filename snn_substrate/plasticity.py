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
