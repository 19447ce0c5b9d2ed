"""Benchmark runs S1/S2/S3 (BENCHMARKS.md, section S) with this package's engine; one JSON-able dict each.

- S1: Brian2's CUBA network (network.cuba_layout), fixed in-degree 80, no plasticity.
- S2: S1 with trace STDP on E->E synapses; ``reward=True``: STDP into eligibility traces plus a dopamine-like
  reward pulse every 100 ms (``w += lr * r * e``; r alternates +1/-1).
- S3: the 4-layer substrate as the agent uses it (idle background drive, plasticity on), about 91 synapses
  per neuron (20M at 220k).

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


def run_benchmark(
    which: Which,
    neurons: int,
    dt: float = 1.0,
    duration_s: float = 10.0,
    device: str = "cpu",
    seed: int = 0,
    backend: str | None = None,
) -> dict[str, Any]:
    """Build and run one benchmark network; returns neurons, synapses, rate_hz, wall_s, rtf, events_per_s, ...

    Raises:
        ValueError: unknown benchmark or device.
    """
    dev = resolve_device(device)
    steps = round(duration_s * 1000.0 / dt)
    t0 = time.perf_counter()
    if which in ("s1", "s2", "s2r"):
        lay = cuba_layout(neurons)
        projs = list(lay.projections)
        mode = "off"
        if which != "s1":
            projs[0] = projs[0]._replace(plastic=True)
            mode = "direct" if which == "s2" else "eligibility"
        g = torch.Generator().manual_seed(seed)
        conn = build(neurons, lay.is_exc(), projs, g)
        lif = LIFParams()
        stdp = STDPParams(a_plus=0.01 * 1.62, a_minus=0.0105 * 1.62, w_max=2 * 1.62)
        eng = Engine(
            conn,
            lif,
            stdp,
            init_state(neurons, lif, g, dev),
            dt,
            seed,
            dev,
            backend=_backend(backend),
            eligibility=which == "s2r",
        )
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
        synapses, nbytes, n = conn.n_synapses, eng.conn.nbytes() + eng.elig.numel() * 4, neurons
        be = eng.backend
    elif which == "s3":
        scale = 91.0 / 410.0  # about 20M synapses at 220k neurons
        cfg = SubstrateConfig(neurons=neurons, seed=seed, dt_ms=dt, shape=SubstrateShape(conn_scale=scale))
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
        "threads": torch.get_num_threads(),
        "rate_hz": spikes / n / duration_s,
        "wall_s": wall,
        "build_s": build_s,
        "rtf": wall / duration_s,
        "events": events,
        "events_per_s": events / wall if wall > 0 else 0.0,
        "bytes_per_synapse": nbytes / max(1, synapses),
        "peak_rss_mb": _peak_rss_mb(),
    }
