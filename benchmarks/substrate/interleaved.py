"""S1, S2 and S3 at one size, run in turn in one process: the usable figures on a host whose speed drifts.

When a host's memory is contended, the same run can cost twice as much a minute later (BENCHMARKS.md S,
session 5), so single runs compare badly. This builds the three networks once and alternates short runs
between them. It prints each one's minimum and median RTF, and the S2/S1 overhead paired run by run.

Run:
    .venv/bin/python benchmarks/substrate/interleaved.py [--neurons 220000] [--reps 12] [--ms 250] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics

from snn_substrate.bench import cuba_engine, s3_config
from snn_substrate.substrate import Substrate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=220_000)
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--ms", type=int, default=250, help="simulated ms per run")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    s1 = cuba_engine(a.neurons, "s1", threads=a.threads)
    s2 = cuba_engine(a.neurons, "s2", threads=a.threads)
    s3 = Substrate(s3_config(a.neurons, 0, 1.0, a.threads), device="cpu")
    s1.run(200), s2.run(200, "direct"), s3.run(200)  # settle
    scale = 1000.0 / a.ms
    rtf: dict[str, list[float]] = {"s1": [], "s2": [], "s3": []}
    for _ in range(a.reps):
        rtf["s1"].append(s1.run(a.ms).wall_s * scale)
        rtf["s2"].append(s2.run(a.ms, "direct").wall_s * scale)
        rtf["s3"].append(s3.run(a.ms).wall_s * scale)
    for name, v in rtf.items():
        print(
            f"{name}: RTF min {min(v):.3f}  median {statistics.median(v):.3f}  runs {[round(x, 2) for x in v]}"
        )
    paired = statistics.median(b / a_ for a_, b in zip(rtf["s1"], rtf["s2"], strict=True))
    print(f"S2/S1 overhead: paired median {paired:.2f}, of the minima {min(rtf['s2']) / min(rtf['s1']):.2f}")


if __name__ == "__main__":
    main()
