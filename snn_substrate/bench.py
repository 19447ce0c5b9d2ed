"""Benchmark runs S1/S2/S3 (BENCHMARKS.md, section S) with this package's engine; one JSON-able dict each.

- S1: Brian2's CUBA network (network.cuba_layout), fixed in-degree 80, no plasticity.
- S2: S1 with trace STDP on E->E synapses; ``reward=True``: STDP into eligibility traces plus a dopamine-like
  reward pulse every 100 ms (``w += lr * r * e``; r alternates +1/-1).
- S3: the 4-layer substrate as the agent uses it (idle background drive, plasticity on), about 91 synapses
  per neuron (20M at 220k): in-degrees scaled by 91/410 from the agent's 20k layout, recurrent weights by
  1/sqrt(that) (balanced-network scaling), feed-forward x1.2, noise 10 mV (s3_config): every layer idles
  at 0.6-3.7 Hz, 2.1 Hz overall (unscaled weights: 0.45 Hz; all weights x 1/sqrt: 2.5 Hz overall but the
  meta layer at 8.8 Hz).

Build time is reported apart (``build_s``); ``wall_s`` covers the simulation only.
"""

from __future__ import annotations

import resource
import time
from typing import Any, Literal

import torch

from snn_substrate.connectivity import build
from snn_substrate.dynamics import LIFParams, init_state
from snn_substrate.engine import Engine, resolve_device
from snn_substrate.network import SubstrateShape, cuba_layout
from snn_substrate.plasticity import STDPParams
from snn_substrate.substrate import Substrate, SubstrateConfig, _backend

Which = Literal["s1", "s2", "s2r", "s3"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


S3_SCALE = 91.0 / 410.0


def s3_config(neurons: int, seed: int = 0, dt: float = 1.0, threads: int | None = None) -> SubstrateConfig:
    """The S3 substrate (module docstring): in-degrees x S3_SCALE; recurrent, feedback and inhibitory
    weights x 1/sqrt(S3_SCALE); feed-forward weights x 1.2 only (the sensory -> concept -> category -> meta
    chain amplifies: at 1/sqrt the meta layer idles at 8.8 Hz); background noise 10 mV (8 at 20k)."""
    f = S3_SCALE**-0.5
    sh = SubstrateShape(conn_scale=S3_SCALE)
    sh = sh._replace(
        w_ff=sh.w_ff * 1.2,
        w_lat=sh.w_lat * f,
        w_fb=sh.w_fb * f,
        w_ei=sh.w_ei * f,
        w_ie=sh.w_ie * f,
        w_ii=sh.w_ii * f,
    )
    lif = SubstrateConfig().lif._replace(noise_w=10.0)
    return SubstrateConfig(neurons=neurons, seed=seed, dt_ms=dt, shape=sh, lif=lif, threads=threads)


def cuba_engine(
    neurons: int,
    which: Literal["s1", "s2", "s2r"],
    dt: float = 1.0,
    seed: int = 0,
    device: torch.device | None = None,
    backend: str | None = None,
    threads: int | None = None,
) -> Engine:
    """The S1 network (Brian2's CUBA), with trace STDP on its E->E projection for S2 and, for S2r, an
    eligibility array (the constants of Brian2's STDP example scaled to CUBA's 1.62 mV weights)."""
    lay = cuba_layout(neurons)
    projs = list(lay.projections)
    if which != "s1":
        projs[0] = projs[0]._replace(plastic=True)
    g = torch.Generator().manual_seed(seed)
    lif = LIFParams()
    dev = device or torch.device("cpu")
    return Engine(
        build(neurons, lay.is_exc(), projs, g),
        lif,
        STDPParams(a_plus=0.01 * 1.62, a_minus=0.0105 * 1.62, w_max=2 * 1.62),
        init_state(neurons, lif, g, dev),
        dt,
        seed,
        dev,
        backend=_backend(backend),
        eligibility=which == "s2r",
        threads=threads,
    )


def run_benchmark(
    which: Which,
    neurons: int,
    dt: float = 1.0,
    duration_s: float = 10.0,
    device: str = "cpu",
    seed: int = 0,
    backend: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Build and run one benchmark network; returns neurons, synapses, rate_hz, wall_s, rtf, events_per_s, ...

    Raises:
        ValueError: unknown benchmark or device.
    """
    dev = resolve_device(device)
    steps = round(duration_s * 1000.0 / dt)
    t0 = time.perf_counter()
    if which in ("s1", "s2", "s2r"):
        mode = {"s1": "off", "s2": "direct", "s2r": "eligibility"}[which]
        eng = cuba_engine(neurons, which, dt, seed, dev, backend=backend, threads=threads)
        build_s = time.perf_counter() - t0
        wall = 0.0
        spikes = events = 0
        chunk = steps if which != "s2r" else max(1, round(100.0 / dt))
        done, sign = 0, 1.0
        while done < steps:
            n = min(chunk, steps - done)
            r = eng.run(n, mode)
            t1 = time.perf_counter()
            if which == "s2r":
                eng.apply_reward(sign)
                sign = -sign
            wall += r.wall_s + (time.perf_counter() - t1)
            spikes += r.spikes
            events += r.events
            done += n
        synapses, nbytes, n = eng.conn.n_synapses, eng.conn.nbytes() + eng.elig.numel() * 4, neurons
        be, threads_used = eng.backend, eng.threads
    elif which == "s3":
        cfg = s3_config(neurons, seed, dt, threads)
        sub = Substrate(cfg, device=device, backend=backend)
        build_s = time.perf_counter() - t0
        st = sub.run(duration_s * 1000.0)
        wall, spikes, events = st.wall_s, sum(st.spikes.values()), st.synaptic_events
        synapses, nbytes, n, be = (
            sub.engine.conn.n_synapses,
            sub.stats()["bytes"],
            neurons,
            sub.engine.backend,
        )
        threads_used = sub.engine.threads
        rates = {k: round(v, 3) for k, v in st.rates_hz.items()}
    else:
        raise ValueError(f"unknown benchmark {which!r}; use s1, s2, s2r or s3")
    return {
        "benchmark": which,
        "neurons": n,
        "synapses": synapses,
        "dt_ms": dt,
        "duration_s": duration_s,
        "device": str(dev),
        "backend": be,
        "threads": threads_used,
        "rate_hz": spikes / n / duration_s,
        "wall_s": wall,
        "build_s": build_s,
        "rtf": wall / duration_s,
        "events": events,
        "events_per_s": events / wall if wall > 0 else 0.0,
        "bytes_per_synapse": nbytes / max(1, synapses),
        "peak_rss_mb": _peak_rss_mb(),
        **({"rates_hz": rates} if which == "s3" else {}),
    }
