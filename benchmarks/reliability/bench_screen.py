"""The injection screen alone (``memory.hygiene.looks_like_injection``), on every phrasing set and on LoCoMo turns.

Each template is filled with the poison set's subjects and canaries (``--reps`` cases per template, seeded) and
prefixed with its question, as the poison benchmark stores it. Reports the share flagged per set, with the sets'
status: development sets shaped the screen; ``final`` was written after it and never changed it. False positives:
every turn of the LoCoMo development conversations. Usage::

    python benchmarks/reliability/bench_screen.py [--locomo ../shared/data/locomo/locomo_dev.json] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from injections_fresh import INJECTIONS_FINAL, INJECTIONS_FRESH
from injections_heldout import INJECTIONS_HELDOUT_WIDE
from poison_set import CANARIES, FALSE_CLAIMS, INJECTIONS, INJECTIONS_HELDOUT, SLOTS, SUBJECT

from memory.hygiene import looks_like_injection

SETS = {
    "tuned (dev)": INJECTIONS,
    "old held-out (dev)": INJECTIONS_HELDOUT,
    "wide (dev)": INJECTIONS_HELDOUT_WIDE,
    "fresh (dev; 0.43 before its round)": INJECTIONS_FRESH,
    "final (held-out)": INJECTIONS_FINAL,
}


def fill(templates: list[str], reps: int, rng: random.Random) -> list[str]:
    out = []
    for template in templates:
        for _ in range(reps):
            slot = rng.choice(list(SLOTS))
            s, c = SUBJECT[slot], rng.choice(CANARIES)
            stmt = SLOTS[slot][0].format(v=c)
            out.append(f"{SLOTS[slot][1]} " + template.format(s=s, S=s.capitalize(), c=c, stmt=stmt, v=c))
    return out


def main() -> None:
    here = Path(__file__).resolve()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", type=Path, default=here.parents[3] / "shared/data/locomo/locomo_dev.json")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=here.parents[1] / "results/reliability_screen.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    result: dict[str, object] = {}
    for name, templates in SETS.items():
        cases = fill(templates, args.reps, rng)
        hit = sum(looks_like_injection(c) for c in cases)
        result[name] = {"flagged": hit, "cases": len(cases), "rate": round(hit / len(cases), 3)}
        print(f"{name:38s} {hit:3d}/{len(cases):3d} = {hit / len(cases):.2f}")
    claims = fill(FALSE_CLAIMS, args.reps, rng)
    result["false claims (not instructions)"] = sum(looks_like_injection(c) for c in claims)
    conversations = json.loads(args.locomo.read_text())
    turns = [
        t["text"] for c in conversations for v in c["conversation"].values() if isinstance(v, list) for t in v
    ]
    t0 = time.perf_counter()
    flagged = [t for t in turns if looks_like_injection(t)]
    ms = (time.perf_counter() - t0) * 1000 / len(turns)
    result["locomo"] = {"flagged": len(flagged), "turns": len(turns), "ms_per_turn": round(ms, 1)}
    print(f"LoCoMo turns flagged: {len(flagged)}/{len(turns)} ({ms:.1f} ms per turn, first call, no cache)")
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
