"""The simulation engine: network state + connectivity, advanced many steps per call.

Two backends with the same semantics (dynamics.py, plasticity.py):

- ``native``: the fused C++/OpenMP kernel (``_kernel.cpp``), CPU only. One call runs all steps inside one
  parallel region: a vectorised neuron update on a static slice per thread, spike lists merged in thread
  order, propagation of each thread's share of the spikes (cut by work: row lengths differ between layers)
  into event lists by target owner (no atomics, no dense per-thread buffers), depression fused into
  propagation, then potentiation on post spikes with software prefetch. With equal STDP time constants the
  two traces are one array. Results are bit-identical for any thread count (the owner adds its input in
  spike order, as one thread would).
- ``torch``: per-step tensor operations (gather of spiking rows + ``index_add_``), CPU or CUDA; the
  reference implementation and the CUDA path.

Per step: update neurons -> spikes -> propagate (input acts from the next step) -> STDP.
"""

from __future__ import annotations

import math
import os
import time
from typing import Literal, NamedTuple

import torch

from snn_substrate import _native
from snn_substrate.connectivity import (
    Connectivity,
    PlasticGate,
    expand_rows,
    has_reverse,
    plastic_ids,
    with_reverse,
)
from snn_substrate.dynamics import LIFConstants, LIFParams, LIFState, lif_constants, lif_step, noise_mask
from snn_substrate.plasticity import STDPParams, elig_gain, mode_bits, stdp_on_post, stdp_on_pre

Backend = Literal["native", "torch"]


def default_threads(n: int) -> int:
    """OpenMP threads for an ``n``-neuron network when none is given.

    One below 100k neurons: a step then takes tens of microseconds and the 3 barriers per step cost more
    than a second thread saves (the substrate the agent uses is therefore single-threaded). Above, torch's
    setting, unless the machine is already busy (1-minute load average >= 0.75 x the CPU count): spinning
    barriers on oversubscribed cores are 3-7x slower than one thread (BENCHMARKS.md, S3). The thread count
    changes speed only: the native kernel's results are bit-identical for any count.
    """
    if n < 100_000:
        return 1
    want = torch.get_num_threads()
    try:
        busy = os.getloadavg()[0] >= 0.75 * (os.cpu_count() or 1)
    except OSError:
        busy = False
    return 1 if busy else want


class RunResult(NamedTuple):
    """What one :meth:`Engine.run` call produced."""

    steps: int
    spikes: int
    events: int
    wall_s: float
    counts: torch.Tensor  # int32 (N,) spikes per neuron during the call
    raster: torch.Tensor  # int32 (R, 2) rows (step, neuron) if recorded, else (0, 2)


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU.

    Raises:
        ValueError: unknown device string, or 'cuda' without a GPU.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but no CUDA GPU is available")
        return torch.device(device)
    raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'")


class Engine:
    """Mutable network state around the pure step functions; see the module docstring.

    Args:
        conn: connectivity (moved to ``device``).
        lif: neuron constants; stdp: plasticity constants.
        state: initial neuron state (N,).
        dt: step in ms; seed: noise seed; device: torch device; backend: force 'native' or 'torch'
        (default: native on CPU when the kernel builds, else torch); threads: OpenMP threads for native.
    """

    def __init__(
        self,
        conn: Connectivity,
        lif: LIFParams,
        stdp: STDPParams,
        state: LIFState,
        dt: float,
        seed: int,
        device: torch.device,
        backend: Backend | None = None,
        threads: int | None = None,
        eligibility: bool = True,
    ) -> None:
        self.device = device
        self.conn = conn.to(device)
        self.lif = lif
        self.stdp = stdp
        self.dt = float(dt)
        self.seed = int(seed) & 0xFFFFFFFF
        self.consts: LIFConstants = lif_constants(lif, dt)
        self.n = int(state.v.numel())
        self.state = LIFState(*(t.to(device).contiguous() for t in state))
        z = torch.zeros(self.n, dtype=torch.float32, device=device)
        self.x_pre, self.x_post = z.clone(), z.clone()
        self.elig = torch.zeros(
            self.conn.n_synapses if eligibility else 0, dtype=torch.float32, device=device
        )
        self.elig_t0 = 0.0
        self.step = 0
        self.drive = z.clone()
        self.threads = threads or default_threads(self.n)
        lib = _native.load_kernel() if device.type == "cpu" and backend != "torch" else None
        if backend == "native" and lib is None:
            raise RuntimeError("native backend requested but the kernel is unavailable")
        self._lib = lib
        self.backend: Backend = "native" if lib is not None else "torch"
        self._plastic_ids: torch.Tensor | None = None
        self.profile = False  # native: accumulate thread 0's per-phase wall time into phase_s
        self.phase_s: dict[str, float] = {}
        self._gate: PlasticGate | None = None

    @property
    def t_ms(self) -> float:
        return self.step * self.dt

    def run(
        self, n_steps: int, plasticity: str = "off", record_cap: int = 0, gate: PlasticGate | None = None
    ) -> RunResult:
        """Advance ``n_steps`` with the current ``drive``; plasticity one of off|direct|eligibility|both.

        ``record_cap`` > 0 records up to that many (step, neuron) spikes into a preallocated buffer.
        ``gate`` (connectivity.gate) restricts STDP in this run to the synapses it lists; the same rule runs.
        """
        bits = mode_bits(plasticity)
        if bits and not has_reverse(self.conn):
            self.conn = with_reverse(self.conn)
        self._gate = gate if bits else None
        if bits & 2 and self.elig.numel() == 0:
            bits &= 1
        if bits & 2 and (self.t_ms + n_steps * self.dt - self.elig_t0) > 30 * self.stdp.tau_elig:
            self._renormalise()
        counts = torch.zeros(self.n, dtype=torch.int32, device=self.device)
        rec = torch.zeros((record_cap, 2), dtype=torch.int32, device=self.device)
        t0 = time.perf_counter()
        if self._lib is not None:
            spikes, events, nrec = self._run_native(n_steps, bits, counts, rec, record_cap)
        else:
            spikes, events, nrec = self._run_torch(n_steps, bits, counts, rec, record_cap)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        wall = time.perf_counter() - t0
        return RunResult(n_steps, spikes, events, wall, counts, rec[:nrec])

    def _renormalise(self) -> None:
        from snn_substrate.plasticity import renormalise_eligibility

        self.elig_t0 = renormalise_eligibility(self.elig, self.t_ms, self.elig_t0, self.stdp.tau_elig)

    def _params(self, bits: int) -> torch.Tensor:
        c, p, s = self.consts, self.lif, self.stdp
        vals = [
            c.em,
            c.ee,
            c.ei,
            c.ae,
            c.ai,
            c.ad,
            p.v_rest,
            p.v_reset,
            p.v_th,
            c.ref_steps,
            c.eth,
            p.d_theta,
            c.p_noise,
            p.noise_w,
            self.seed,
            bits,
            s.a_plus,
            s.a_minus,
            torch.exp(torch.tensor(-self.dt / s.tau_plus, dtype=torch.float64)).item(),
            torch.exp(torch.tensor(-self.dt / s.tau_minus, dtype=torch.float64)).item(),
            s.w_max,
            self.elig_t0,
            1.0 / s.tau_elig,
            self.dt,
        ]
        return torch.tensor(vals, dtype=torch.float64)

    def _run_native(
        self, n_steps: int, bits: int, counts: torch.Tensor, rec: torch.Tensor, cap: int
    ) -> tuple[int, int, int]:
        assert self._lib is not None
        st, cn = self.state, self.conn
        pl = self._gate or cn
        params = self._params(bits | (16 if self.profile else 0))
        out = torch.zeros(8, dtype=torch.int64)
        elig_ptr = self.elig.data_ptr() if self.elig.numel() else None
        # equal time constants keep the two traces equal: the kernel then decays and reads one array
        one_trace = (
            bits != 0 and self.stdp.tau_plus == self.stdp.tau_minus and torch.equal(self.x_pre, self.x_post)
        )
        self._lib.snn_run(
            self.n,
            st.v.data_ptr(),
            st.ge.data_ptr(),
            st.gi.data_ptr(),
            st.theta.data_ptr(),
            st.refrac.data_ptr(),
            self.x_pre.data_ptr(),
            (self.x_pre if one_trace else self.x_post).data_ptr(),
            self.drive.data_ptr() if bool(self.drive.any()) else None,  # none: skip reading it
            cn.is_exc.data_ptr(),
            cn.row_ptr.data_ptr(),
            cn.col.data_ptr(),
            cn.w.data_ptr(),
            pl.n_plastic.data_ptr(),
            pl.rev_ptr.data_ptr(),
            pl.rev_syn.data_ptr(),
            pl.rev_pre.data_ptr(),
            elig_ptr,
            params.data_ptr(),
            self.step,
            n_steps,
            counts.data_ptr(),
            rec.data_ptr() if cap > 0 else None,
            cap,
            out.data_ptr(),
            self.threads,
        )
        self.step += n_steps
        if one_trace:
            self.x_post.copy_(self.x_pre)
        if self.profile:
            names = ("neuron_sweep", "spike_merge", "propagation", "potentiation", "barrier")
            for nm, ns in zip(names, out[3:].tolist(), strict=True):
                self.phase_s[nm] = self.phase_s.get(nm, 0.0) + ns / 1e9
        return int(out[2]), int(out[1]), int(out[0])

    def _run_torch(
        self, n_steps: int, bits: int, counts: torch.Tensor, rec: torch.Tensor, cap: int
    ) -> tuple[int, int, int]:
        cn, p, s = self.conn, self.lif, self.stdp
        pl = self._gate or cn
        idx = torch.arange(self.n, device=self.device, dtype=torch.int64)
        e_pre = float(torch.exp(torch.tensor(-self.dt / s.tau_plus)).item())
        e_post = float(torch.exp(torch.tensor(-self.dt / s.tau_minus)).item())
        exc = cn.is_exc.bool()
        drive = self.drive if bool((self.drive != 0).any()) else None
        spikes_total = events = nrec = 0
        st = self.state
        for _ in range(n_steps):
            noise = (
                noise_mask(self.step, self.seed, idx, self.consts.p_noise)
                if self.consts.p_noise > 0
                else None
            )
            spk, st = lif_step(st, drive, self.consts, p, noise)
            if bits:
                self.x_pre.mul_(e_pre)
                self.x_post.mul_(e_post)
                self.x_pre.add_(spk.float())
                self.x_post.add_(spk.float())
            ids = torch.nonzero(spk).flatten()
            k = int(ids.numel())
            if k:
                counts.index_add_(0, ids, torch.ones(k, dtype=torch.int32, device=self.device))
                if nrec < cap:
                    take = min(k, cap - nrec)
                    rec[nrec : nrec + take, 0] = self.step
                    rec[nrec : nrec + take, 1] = ids[:take].to(torch.int32)
                    nrec += take
                syn = expand_rows(cn.row_ptr, ids)
                events += int(syn.numel())
                tgt = cn.col[syn].to(torch.int64)
                src_exc = torch.repeat_interleave(exc[ids], (cn.row_ptr[ids + 1] - cn.row_ptr[ids]))
                wv = cn.w[syn]
                ge = st.ge.index_add(0, tgt[src_exc], wv[src_exc])
                gi = st.gi.index_add(0, tgt[~src_exc], wv[~src_exc])
                st = LIFState(st.v, ge, gi, st.theta, st.refrac)
                if bits:
                    gain = elig_gain(self.step * self.dt, self.elig_t0, s.tau_elig)
                    pre_syn = expand_rows(cn.row_ptr, ids, pl.n_plastic)
                    if pre_syn.numel():
                        stdp_on_pre(
                            cn.w,
                            self.elig,
                            pre_syn,
                            cn.col[pre_syn].to(torch.int64),
                            self.x_post,
                            s,
                            bits,
                            gain,
                        )
                    rev = expand_rows(pl.rev_ptr, ids)
                    if rev.numel():
                        stdp_on_post(
                            cn.w,
                            self.elig,
                            pl.rev_syn[rev].to(torch.int64),
                            pl.rev_pre[rev].to(torch.int64),
                            self.x_pre,
                            s,
                            bits,
                            gain,
                        )
            spikes_total += k
            self.step += 1
        self.state = LIFState(*(t.contiguous() for t in st))
        return spikes_total, events, nrec

    def reset_drive(self) -> None:
        self.drive.zero_()

    def plastic_ids(self) -> torch.Tensor:
        """Ids of all plastic synapses (int64, cached)."""
        if self._plastic_ids is None:
            self._plastic_ids = plastic_ids(self.conn)
        return self._plastic_ids

    def apply_reward(self, reward: float) -> None:
        """Third factor on every plastic synapse: ``w += lr * reward * e(t)``, clipped to [0, w_max].

        Native kernel on CPU (one fused pass over the plastic part of each row, no temporaries); torch
        otherwise. No-op without an eligibility array.
        """
        if reward == 0.0 or self.elig.numel() == 0:
            return
        s = self.stdp
        scale = s.reward_lr * reward * math.exp(-(self.t_ms - self.elig_t0) / s.tau_elig)
        if self._lib is not None:
            cn = self.conn
            self._lib.snn_reward(
                self.n,
                cn.row_ptr.data_ptr(),
                cn.n_plastic.data_ptr(),
                cn.w.data_ptr(),
                self.elig.data_ptr(),
                float(scale),
                float(s.w_max),
                self.threads,
            )
            return
        ids = self.plastic_ids()
        self.conn.w[ids] = (self.conn.w[ids] + scale * self.elig[ids]).clamp_(0.0, s.w_max)
