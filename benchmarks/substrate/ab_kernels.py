"""A/B kernel variants on one network: compile each C++ source, then alternate them between runs.

This machine's speed drifts by 20-30 % within minutes, so comparing kernel changes across processes says
little; this script builds one S3 (or S2) network and swaps the compiled kernel between 1 s runs, so every
variant sees the same network, the same state statistics and the same moment. Variants must keep the ABI of
``snn_substrate/_native.py``.

Run:
    .venv/bin/python benchmarks/substrate/ab_kernels.py [--threads 2] [--reps 5] [--ms 1000] [--case s3|s2] A.cpp B.cpp ...
(copy ``snn_substrate/_kernel.cpp`` to A.cpp, edit a copy into B.cpp). Prints wall seconds per simulated
second (RTF) per variant: median and minimum, and each variant's median ratio to the first one, paired run
by run (on a contended host short runs, ``--ms 250``, with many reps pair best).
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import subprocess
import tempfile
from pathlib import Path

from snn_substrate import _native
from snn_substrate.bench import cuba_engine, s3_config
from snn_substrate.substrate import Substrate


def compile_variant(source: Path, out_dir: Path) -> ctypes.CDLL:
    target = out_dir / (source.stem + ".so")
    cxx = _native._compiler() or "g++"
    subprocess.run([cxx, *_native._FLAGS, str(source), "-o", str(target)], check=True)
    lib = ctypes.CDLL(str(target))
    _native._declare(lib)
    return lib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", type=Path, nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ms", type=int, default=1000, help="simulated ms per run")
    ap.add_argument("--case", choices=["s3", "s2"], default="s3")
    ap.add_argument("--neurons", type=int, default=220_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        libs = [compile_variant(src, Path(tmp)) for src in args.sources]
        if args.case == "s3":
            engine = Substrate(s3_config(args.neurons, 0, 1.0, args.threads), device="cpu").engine
            mode = "both"
        else:
            engine = cuba_engine(args.neurons, "s2", threads=args.threads)
            mode = "direct"
        engine.run(200, mode)  # settle
        walls: dict[Path, list[float]] = {src: [] for src in args.sources}
        for _ in range(args.reps):
            for src, lib in zip(args.sources, libs, strict=True):
                engine._lib = lib
                walls[src].append(engine.run(args.ms, mode).wall_s * 1000.0 / args.ms)
        base = walls[args.sources[0]]
        for src in args.sources:
            w = walls[src]
            paired = statistics.median(x / b for x, b in zip(w, base, strict=True))
            print(
                f"{src}: RTF median {statistics.median(w):.3f}  min {min(w):.3f}  paired ratio {paired:.3f}"
                f"  runs {[round(x, 3) for x in w]}"
            )


if __name__ == "__main__":
    main()
