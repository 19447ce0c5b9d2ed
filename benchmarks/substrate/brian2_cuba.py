"""Brian2 reference for S1 and S2 (run inside /work/brian2-venv, see README.md): CUBA, fixed in-degree 80,
cpp_standalone, 2 OpenMP threads, float32. Prints one JSON object (build time apart from run time).

Arguments: N DT_MS DURATION_S THREADS [stdp]. With ``stdp`` (S2): the excitatory synapses (E->all, as in
``snn_substrate.bench.cuba_engine``) learn by the same trace rule and constants as ours: per-neuron traces
(+1 at a spike, tau 20 ms), depression ``w -= a_minus * x_post`` at a pre spike, potentiation
``w += a_plus * x_pre`` at a post spike, clipped to [0, w_max]. The traces live in the NeuronGroup and rise in
its reset (Brian2's efficient form; per-synapse event-driven traces would cost Brian2 more)."""

import json
import sys
import tempfile
import time

import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    SpikeMonitor,
    Synapses,
    defaultclock,
    device,
    ms,
    mV,
    prefs,
    set_device,
)

n, dt, dur, threads = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
stdp = sys.argv[5:6] == ["stdp"]
prefs.core.default_float_dtype = np.float32
prefs.devices.cpp_standalone.openmp_threads = threads
out = tempfile.mkdtemp(prefix="brian2_cuba_")
set_device("cpp_standalone", directory=out, build_on_run=False)
defaultclock.dt = dt * ms
taum, taue, taui, Vt, Vr, El = 20 * ms, 5 * ms, 10 * ms, -50 * mV, -60 * mV, -49 * mV
eqs = """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt"""
reset = "v = Vr"
if stdp:
    taupre = taupost = 20 * ms
    a_plus, a_minus, wmax = 0.01 * 1.62 * mV, 0.0105 * 1.62 * mV, 2 * 1.62 * mV
    eqs += """
dxpre/dt = -xpre/taupre : 1
dxpost/dt = -xpost/taupost : 1"""
    reset = "v = Vr; xpre += 1; xpost += 1"
P = NeuronGroup(n, eqs, threshold="v>Vt", reset=reset, refractory=5 * ms, method="exact")
P.v = "Vr + rand() * (Vt - Vr)"
ne = round(0.8 * n)
rng = np.random.default_rng(0)
if stdp:
    Ce = Synapses(
        P[:ne],
        P,
        "w : volt",
        on_pre="ge += w\nw = clip(w - a_minus * xpost_post, 0*mV, wmax)",
        on_post="w = clip(w + a_plus * xpre_pre, 0*mV, wmax)",
    )
else:
    Ce = Synapses(P[:ne], P, on_pre="ge += 1.62*mV")
Ci = Synapses(P[ne:], P, on_pre="gi -= 9*mV")
post = np.repeat(np.arange(n), 64)
Ce.connect(i=rng.integers(0, ne, n * 64), j=post)
Ci.connect(i=rng.integers(0, n - ne, n * 16), j=np.repeat(np.arange(n), 16))
if stdp:
    Ce.w = 1.62 * mV
M = SpikeMonitor(P, record=False)
net = Network(P, Ce, Ci, M)
net.run(dur * 1000 * ms, profile=False)
t0 = time.perf_counter()
device.build(directory=out, compile=True, run=False)
build_s = time.perf_counter() - t0
t0 = time.perf_counter()
device.run(directory=out)
wall_total = time.perf_counter() - t0
# the standalone binary's own timing of the simulation loop (excludes loading synapses from disk)
try:
    with open(f"{out}/results/last_run_info.txt") as f:
        sim_wall = float(f.read().split()[0])
except Exception:
    sim_wall = wall_total
count = int(M.num_spikes)
print(
    json.dumps(
        {
            "simulator": "brian2-2.9.0 cpp_standalone",
            "stdp": stdp,
            "neurons": n,
            "synapses": n * 80,
            "dt_ms": dt,
            "duration_s": dur,
            "threads": threads,
            "rate_hz": count / n / dur,
            "wall_s": sim_wall,
            "process_wall_s": wall_total,
            "build_s": build_s,
            "rtf": sim_wall / dur,
            "events_per_s": count * 80 / sim_wall,
        }
    )
)
