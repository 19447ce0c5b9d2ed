"""The injection screen alone, on every phrasing set and on LoCoMo turns: its wording half
(``memory.hygiene.looks_like_injection``), its learned half (``memory.injection_detector`` on the bundled embedder's
vector of the text as memory stores it, ``user: <text>`` for a paste into the chat) and both, which is what memory
flags on write.

Each template is filled with the poison set's subjects and canaries (``--reps`` cases per template, seeded) and
prefixed with its question, as the poison benchmark stores it. Reports the share flagged per set, with the sets'
status: development sets shaped the screen (and trained the detector); ``final`` was written after the wording
screen and never changed it; ``s10`` was written before the detector and never trained or tuned it. False
positives: every turn of the LoCoMo development conversations, the one the detector trained on apart. Usage::

    python benchmarks/reliability/bench_screen.py [--locomo ../shared/data/locomo/locomo_dev.json] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from injections_fresh import INJECTIONS_FINAL, INJECTIONS_FRESH
from injections_heldout import INJECTIONS_HELDOUT_WIDE
from injections_s10 import INJECTIONS_S10
from poison_set import CANARIES, FALSE_CLAIMS, INJECTIONS, INJECTIONS_HELDOUT, SLOTS, SUBJECT

from memory.config import EmbeddingSettings
from memory.embedders import build_embedder
from memory.hygiene import looks_like_injection
from memory.injection_detector import InjectionDetector, load_detector
from memory.records import embed_text

SETS = {
    "tuned (dev)": INJECTIONS,
    "old held-out (dev)": INJECTIONS_HELDOUT,
    "wide (dev)": INJECTIONS_HELDOUT_WIDE,
    "fresh (dev; 0.43 before its round)": INJECTIONS_FRESH,
    "final (held-out)": INJECTIONS_FINAL,
    "s10 (held-out)": INJECTIONS_S10,
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


def rates(
    texts: list[str], speakers: list[str | None], detector: InjectionDetector, embed: Any
) -> dict[str, Any]:
    """How many of ``texts`` the wording screen, the detector and both flag (embedded as memory stores them)."""
    wording = [looks_like_injection(t) for t in texts]
    learned = detector.flags(embed([embed_text(t, s) for t, s in zip(texts, speakers, strict=True)]))
    both = [a or b for a, b in zip(wording, learned, strict=True)]
    n = len(texts)
    return {"cases": n} | {
        name: {"flagged": sum(v), "rate": round(sum(v) / n, 3)}
        for name, v in (("wording", wording), ("learned", learned), ("screen", both))
    }


def main() -> None:
    here = Path(__file__).resolve()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", type=Path, default=here.parents[3] / "shared/data/locomo/locomo_dev.json")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=here.parents[1] / "results/reliability_screen.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    embedder = build_embedder(EmbeddingSettings())
    detector = load_detector(embedder.name, embedder.dim)
    if detector is None:
        raise SystemExit(f"the shipped detector was not trained on {embedder.name}")
    result: dict[str, object] = {}
    print(f"{'set':38s} {'wording':>8s} {'learned':>8s} {'screen':>8s}")
    for name, templates in SETS.items():
        cases = fill(templates, args.reps, rng)
        r = result[name] = rates(cases, ["user"] * len(cases), detector, embedder)
        print(f"{name:38s} " + " ".join(f"{r[k]['rate']:8.2f}" for k in ("wording", "learned", "screen")))
    claims = fill(FALSE_CLAIMS, args.reps, rng)
    r = result["false claims (not instructions)"] = rates(claims, ["user"] * len(claims), detector, embedder)
    print(
        f"{'false claims (not instructions)':38s} "
        + " ".join(f"{r[k]['rate']:8.2f}" for k in ("wording", "learned", "screen"))
    )
    trained_on = json.loads((here.parents[2] / "memory/data/injection_detector.json").read_text()).get(
        "train_conversation"
    )
    conversations = json.loads(args.locomo.read_text())
    for i, conv in enumerate(conversations):
        turns = [t for v in conv["conversation"].values() if isinstance(v, list) for t in v]
        t0 = time.perf_counter()
        r = rates([t["text"] for t in turns], [t["speaker"] for t in turns], detector, embedder)
        ms = (time.perf_counter() - t0) * 1000 / len(turns)
        label = f"LoCoMo {conv.get('sample_id', i)} ({'detector trained on it' if i == trained_on else 'held out'})"
        result[label] = r | {"ms_per_turn": round(ms, 1)}
        print(
            f"{label:38s} "
            + " ".join(f"{r[k]['flagged']:5d}/{r['cases']}" for k in ("wording", "learned", "screen"))
        )
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
