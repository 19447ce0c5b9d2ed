"""What random memory access costs on this machine, by footprint: the floor under STDP's cost (BENCHMARKS.md, S).

S1's propagation gathers one input buffer per synaptic event; STDP adds at least a trace gather and a weight
write per plastic event (eager potentiation: a read-modify-write of a random weight in a tens-of-MB array).
This compiles a small C++ loop (the system compiler, as the kernel does) and prints, per array size:
independent random gathers (many misses in flight), a dependent chain (latency), and independent random
read-modify-writes of floats, in ns per access.

Run:
    .venv/bin/python benchmarks/substrate/gather_cost.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from snn_substrate import _native

SOURCE = r"""
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>
static double ns_since(std::chrono::steady_clock::time_point t0, int64_t n) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e9 / (double)n;
}
int main() {
  const int64_t M = 1 << 23;
  std::vector<int32_t> idx(M);
  std::mt19937 rng(1);
  printf("%9s %12s %12s %12s\n", "MB", "gather ns", "chain ns", "rmw ns");
  for (double mb : {0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 80.0}) {
    const int64_t n = (int64_t)(mb * 1048576 / 4);
    std::vector<float> a(n, 1.f);
    for (int64_t i = 0; i < M; ++i) idx[i] = (int32_t)(rng() % n);
    float s = 0.f;
    for (int64_t i = 0; i < M; ++i) s += a[idx[i]];  // warm
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < M; ++i) s += a[idx[i]];
    const double g = ns_since(t0, M);
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < M; ++i) a[idx[i]] += 1e-7f;
    const double w = ns_since(t0, M);
    std::vector<int32_t> nx(n);  // one random cycle through the array
    for (int64_t i = 0; i < n; ++i) nx[i] = (int32_t)i;
    for (int64_t i = n - 1; i > 0; --i) std::swap(nx[i], nx[rng() % i]);
    std::vector<int32_t> next(n);
    for (int64_t i = 0; i < n; ++i) next[nx[i]] = nx[(i + 1) % n];
    int32_t p = 0;
    const int64_t steps = 1 << 21;
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) p = next[p];
    const double c = ns_since(t0, steps);
    printf("%9.2f %12.2f %12.2f %12.2f   (%g %d)\n", mb, g, c, w, (double)s, p);
  }
}
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "gather.cpp", Path(tmp) / "gather"
        src.write_text(SOURCE)
        cxx = _native._compiler() or "g++"
        subprocess.run([cxx, "-O2", "-std=c++17", str(src), "-o", str(exe)], check=True)
        subprocess.run([str(exe)], check=True)


if __name__ == "__main__":
    main()
