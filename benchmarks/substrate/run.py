"""S1/S2/S3 side by side with Brian2 (BENCHMARKS.md section S). One command:

    .venv/bin/python benchmarks/substrate/run.py [--quick] [--repeats 3] [--skip-brian2] [--threads N]

Creates the Brian2 reference venv at $BRIAN2_VENV (default /work/brian2-venv: brian2==2.9.0, numpy<2) if
missing. Prints a table and writes benchmarks/results/substrate.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BRIAN2_VENV", "/work/brian2-venv"))


def ensure_brian2() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "brian2==2.9.0", "numpy<2", "setuptools"], check=True
        )
    return py


THREADS: int | None = None


def ours(which: str, n: int, dt: float, dur: float) -> dict:
    code = (
        "import json,sys,torch; torch.set_num_threads(2); from snn_substrate.bench import run_benchmark;"
        f"print(json.dumps(run_benchmark({which!r},{n},{dt},{dur},threads={THREADS!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def brian(py: Path, n: int, dt: float, dur: float, stdp: bool = False) -> dict:
    out = subprocess.run(
        [str(py), str(HERE / "brian2_cuba.py"), str(n), str(dt), str(dur), "2", *(["stdp"] if stdp else [])],
        capture_output=True,
        text=True,
        check=True,
        cwd="/tmp",
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict]) -> dict:
    best = dict(runs[0])
    for k in ("wall_s", "rtf", "events_per_s", "rate_hz"):
        best[k] = statistics.median(r[k] for r in runs)
    best["runs"] = len(runs)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2 s simulated instead of 10 s")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-brian2", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="kernel threads (default: engine's choice)")
    a = ap.parse_args()
    global THREADS
    THREADS = a.threads
    dur = 2.0 if a.quick else 10.0
    py = None if a.skip_brian2 else ensure_brian2()
    rows = []
    for n, dt in ((16_000, 1.0), (16_000, 0.1), (220_000, 1.0), (220_000, 0.1)):
        d = dur if (n, dt) != (220_000, 0.1) else min(dur, 2.0)
        o = median_of([ours("s1", n, dt, d) for _ in range(a.repeats)])
        b = median_of([brian(py, n, dt, d) for _ in range(a.repeats)]) if py else None
        rows.append(
            {
                "case": f"S1 N={n} dt={dt}",
                "ours": o,
                "brian2": b,
                "time_ratio": (o["wall_s"] / b["wall_s"]) if b else None,
                "rate_diff": (abs(o["rate_hz"] - b["rate_hz"]) / b["rate_hz"]) if b else None,
            }
        )
    for which in ("s2", "s2r"):
        for n in (16_000, 220_000):
            o = median_of([ours(which, n, 1.0, dur) for _ in range(a.repeats)])
            ref = next(r for r in rows if r["case"] == f"S1 N={n} dt=1.0")
            row = {
                "case": f"{which.upper()} N={n} dt=1.0",
                "ours": o,
                "overhead_vs_s1": o["wall_s"] / ref["ours"]["wall_s"],
            }
            if py and which == "s2":  # Brian2 with the same STDP rule: its own overhead, and the time ratio
                b = median_of([brian(py, n, 1.0, dur, stdp=True) for _ in range(a.repeats)])
                row |= {
                    "brian2": b,
                    "time_ratio": o["wall_s"] / b["wall_s"],
                    "rate_diff": abs(o["rate_hz"] - b["rate_hz"]) / b["rate_hz"],
                    "brian2_overhead_vs_s1": b["wall_s"] / ref["brian2"]["wall_s"],
                }
            rows.append(row)
    o = median_of([ours("s3", 220_000, 1.0, dur) for _ in range(a.repeats)])
    rows.append({"case": "S3 N=220000 dt=1.0", "ours": o})
    print(
        f"{'case':28} {'rate':>6} {'wall_s':>8} {'rtf':>6} {'ev/s':>9} {'B/syn':>6} "
        f"{'brian rate':>10} {'brian wall':>10} {'ratio':>6} {'S2/S1':>6} {'brian S2/S1':>11}"
    )
    nan = float("nan")
    for r in rows:
        o, b = r["ours"], r.get("brian2")
        extra = (
            f"{b['rate_hz']:10.2f} {b['wall_s']:10.3f} {r['time_ratio']:6.2f}"
            if b
            else f"{'':10} {'':10} {'':6}"
        )
        if "overhead_vs_s1" in r:
            extra += f" {r['overhead_vs_s1']:6.2f} {r.get('brian2_overhead_vs_s1', nan):11.2f}"
        print(
            f"{r['case']:28} {o['rate_hz']:6.2f} {o['wall_s']:8.3f} {o['rtf']:6.3f} {o['events_per_s']:9.2e} "
            f"{o['bytes_per_synapse']:6.1f} {extra}"
        )
    out = HERE.parent / "results" / "substrate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
