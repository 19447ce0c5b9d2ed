"""Leaky integrate-and-fire neurons with exponential current synapses, integrated exactly.

Per neuron (Brian2's CUBA model plus a homeostatic threshold)::

    tau_m dv/dt = (v_rest - v) + g_e + g_i + I        (frozen while refractory)
    tau_e dg_e/dt = -g_e ;  tau_i dg_i/dt = -g_i       (g in mV; a spike of a presynaptic
                                                         excitatory/inhibitory neuron adds w to g_e/g_i)
    tau_theta dtheta/dt = -theta                        (spike: theta += d_theta; fires when v > v_th + theta)

The linear system is solved exactly over one step ``dt`` (the "exact" method of Brian2):
``v' = v_rest + (v - v_rest) e^{-dt/tau_m} + g_e A_e + g_i A_i + I (1 - e^{-dt/tau_m})`` with
``A_x = tau_x / (tau_x - tau_m) (e^{-dt/tau_x} - e^{-dt/tau_m})``. A spike at step t sets ``v = v_reset``
and freezes ``v`` for ``t_ref`` (as Brian2's ``unless refractory``); synaptic input arriving at step t acts
on ``v`` from step t+1. Background noise: each neuron receives a Poisson input of ``noise_hz`` adding
``noise_w`` to ``g_e``; the random draws are a counter-based hash of (seed, step, neuron), so the native
and torch backends draw the same noise and a run is reproducible from its step counter alone.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch


class LIFParams(NamedTuple):
    """Neuron constants (ms, mV). Defaults are Brian2's CUBA example."""

    tau_m: float = 20.0
    tau_e: float = 5.0
    tau_i: float = 10.0
    v_rest: float = -49.0
    v_reset: float = -60.0
    v_th: float = -50.0
    t_ref: float = 5.0
    tau_theta: float = 1000.0
    d_theta: float = 0.0
    noise_hz: float = 0.0
    noise_w: float = 0.0


class LIFState(NamedTuple):
    """Per-neuron state tensors, shape (N,): membrane ``v``, currents ``ge``/``gi``, threshold offset
    ``theta``, remaining refractory steps ``refrac`` (int32)."""

    v: torch.Tensor
    ge: torch.Tensor
    gi: torch.Tensor
    theta: torch.Tensor
    refrac: torch.Tensor


class LIFConstants(NamedTuple):
    """Per-step factors of the exact solution (see the module docstring)."""

    em: float
    ee: float
    ei: float
    ae: float
    ai: float
    ad: float
    eth: float
    ref_steps: int
    p_noise: float


def lif_constants(p: LIFParams, dt: float) -> LIFConstants:
    """Exact-integration factors for step ``dt`` ms.

    Raises:
        ValueError: if a time constant equals ``tau_m`` (the closed form needs distinct constants) or dt <= 0.
    """
    if dt <= 0:
        raise ValueError("dt must be positive")
    if p.tau_e == p.tau_m or p.tau_i == p.tau_m:
        raise ValueError("tau_e and tau_i must differ from tau_m")
    em = math.exp(-dt / p.tau_m)

    def a(tau: float) -> float:
        return tau / (tau - p.tau_m) * (math.exp(-dt / tau) - em)

    return LIFConstants(
        em=em,
        ee=math.exp(-dt / p.tau_e),
        ei=math.exp(-dt / p.tau_i),
        ae=a(p.tau_e),
        ai=a(p.tau_i),
        ad=1.0 - em,
        eth=math.exp(-dt / p.tau_theta),
        ref_steps=max(1, round(p.t_ref / dt)),
        p_noise=min(1.0, p.noise_hz * dt / 1000.0),
    )


def init_state(n: int, p: LIFParams, generator: torch.Generator, device: torch.device) -> LIFState:
    """Membranes uniform in [v_reset, v_th) (as Brian2's CUBA example), all currents zero."""
    u = torch.rand(n, generator=generator, dtype=torch.float32)
    v = (p.v_reset + u * (p.v_th - p.v_reset)).to(device)
    z = torch.zeros(n, dtype=torch.float32, device=device)
    return LIFState(v, z.clone(), z.clone(), z.clone(), torch.zeros(n, dtype=torch.int32, device=device))


_M32 = 0xFFFFFFFF


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    # murmur3 finaliser on uint32 values held in int64 (products wrap; the mask keeps the low 32 bits)
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & _M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def noise_mask(step: int, seed: int, idx: torch.Tensor, p_noise: float) -> torch.Tensor:
    """Which neurons receive a background Poisson input at ``step`` (bool, same draws as the C++ kernel)."""
    if p_noise <= 0:
        return torch.zeros_like(idx, dtype=torch.bool)
    s = step & _M32
    hs = int(_fmix32(torch.tensor([((s * 0x9E3779B1) & _M32) ^ (seed & _M32)]))[0]) ^ ((step >> 32) & _M32)
    hi = _fmix32(((idx * 0x27D4EB2F) + 0x165667B1) & _M32)
    h = _fmix32(hi ^ hs)
    thresh = _M32 if p_noise >= 1.0 else int(p_noise * 4294967296.0)
    return h < thresh


def lif_step(
    state: LIFState, drive: torch.Tensor | None, c: LIFConstants, p: LIFParams, noise: torch.Tensor | None
) -> tuple[torch.Tensor, LIFState]:
    """Advance every neuron one step; returns (spikes bool (N,), new state). Pure: inputs are not modified.

    ``drive`` is a constant current (mV) per neuron or None; ``noise`` a bool mask of background inputs.
    """
    v, ge, gi, theta, refrac = state
    frozen = refrac > 1
    v_int = p.v_rest + (v - p.v_rest) * c.em + ge * c.ae + gi * c.ai
    if drive is not None:
        v_int = v_int + drive * c.ad
    v_new = torch.where(frozen, v, v_int)
    r_new = torch.where(frozen, refrac - 1, torch.zeros_like(refrac))
    ge_new = ge * c.ee
    if noise is not None:
        ge_new = ge_new + noise.to(ge.dtype) * p.noise_w
    gi_new = gi * c.ei
    th_new = theta * c.eth
    spikes = (r_new == 0) & (v_new > p.v_th + th_new)
    v_new = torch.where(spikes, torch.full_like(v_new, p.v_reset), v_new)
    r_new = torch.where(spikes, torch.full_like(r_new, c.ref_steps), r_new)
    th_new = th_new + spikes.to(th_new.dtype) * p.d_theta
    return spikes, LIFState(v_new, ge_new, gi_new, th_new, r_new)
