"""Where S3's plasticity time goes: the kernel with one piece of STDP work removed at a time, A/B in one process.

Each variant is ``snn_substrate/_kernel.cpp`` with one edit (below). A variant computes different weights, so
it is a timing probe only, never a candidate. All of them run on the same S3 substrate through ``ab_kernels.py``,
which prints each one's paired median ratio to the unchanged kernel (BENCHMARKS.md S, session 6).

Run:
    .venv/bin/python benchmarks/substrate/attribution.py [--reps 80] [--ms 250] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL = Path(__file__).resolve().parents[2] / "snn_substrate" / "_kernel.cpp"

# name -> (text in the kernel, replacement): each must occur exactly once
VARIANTS: dict[str, tuple[str, str]] = {
    "plasticity_off": ("const bool plastic = mode != 0;", "const bool plastic = false;"),
    "no_depression_trace_gather": (
        "const float dw = -Aminus * xpost[c];",
        "const float dw = -Aminus * 0.01f;",
    ),
    "no_depression_writeback": ("w[s] = nw < 0.f ? 0.f : nw;", "(void)nw;"),
    "no_depression_eligibility": (
        "          if (use_elig) elig[s] += dw * g;\n        }\n        for (int64_t s = pe;",
        "        }\n        for (int64_t s = pe;",
    ),
    "no_potentiation_trace_gather": ("Aplus * xpre[rev_pre[r]]}", "Aplus * 0.01f}"),
    "no_potentiation_write": ("w[s] = nw > wmax ? wmax : nw;", "(void)nw;"),
    "no_potentiation_eligibility": (
        "          if (use_elig) elig[s] += dw * g;\n        }\n      } else {",
        "        }\n      } else {",
    ),
}


def write_variants(out: Path, names: list[str]) -> list[Path]:
    """The unchanged kernel first, then one edited copy per name.

    Raises:
        SystemExit: an edit's text no longer occurs exactly once (the kernel changed: update VARIANTS).
    """
    src = KERNEL.read_text()
    paths = [out / "kernel.cpp"]
    paths[0].write_text(src)
    for name in names:
        old, new = VARIANTS[name]
        if src.count(old) != 1:
            raise SystemExit(f"variant {name}: its text occurs {src.count(old)} times in {KERNEL}, not once")
        p = out / f"{name}.cpp"
        p.write_text(src.replace(old, new))
        paths.append(p)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=80)
    ap.add_argument("--ms", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_variants(Path(tmp), a.only)
        ab = Path(__file__).with_name("ab_kernels.py")
        cmd = [sys.executable, str(ab), "--reps", str(a.reps), "--ms", str(a.ms), "--threads", str(a.threads)]
        subprocess.run([*cmd, *map(str, paths)], check=True)


if __name__ == "__main__":
    main()
