"""Benchmark E2 (shared BENCHMARKS.md): the substrate's associations follow content, not turn order.

Protocol, through the public API only. A conversation file names person-topic pairs (each mentioned three times
in different words, never two mentions of one pair in a row), small talk, the order and a probe sentence. For
each message in ``order``: ``agent.chat(message)``, then ``agent.idle(8 h)``. A proactive action counts when
all of its ``cause`` ids, and its ``cue``, are episodes of this conversation. Then, once per person,
``agent.chat(probe)`` and its ``reply.associations`` are read, leaving out the earlier probe texts.

- first action: exchanges until the first counted action (target <= 7; EMBER: 7);
- coherent: share of counted actions in which the cue and a surfaced memory, or two surfaced memories, are
  mentions of the same pair (target >= 0.7);
- probe precision: share of all probe associations that contain the probed person's topic word (>= 0.6);
  probe hit rate: share of probes with at least one such association (>= 0.9);
- control, plasticity off: zero triggers.

Default settings (``Agent.open(tmp, llm=ScriptedLLM(), clock=ManualClock(...), substrate={"plasticity": P,
"seed": s})``), the bundled embedder. ``--learning assembly`` runs the earlier rate rule (the ablation: the same
substrate without concept assemblies and spike-timing learning).

    .venv/bin/python benchmarks/agent/bench_e2.py [--conversation FILE] [--seeds 0 1 2] [--learning stdp|assembly]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cogarch.agent import Agent
from cogarch.clock import ManualClock
from reasoning.engines.scripted import ScriptedLLM

EIGHT_HOURS = 8 * 3600.0
START = 1_767_261_600.0  # 2026-01-01 10:00 UTC
DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "data" / "assoc" / "dev_conversation.json"


def messages(conv: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(text, person or None for small talk) in the conversation's order."""
    mentions = {p: iter(v["mentions"]) for p, v in conv["pairs"].items()}
    small = iter(conv["small_talk"])
    return [(next(small), None) if who == "_" else (next(mentions[who]), who) for who in conv["order"]]


def run(conv: dict[str, Any], plasticity: bool, seed: int, learning: str, embedder: Any) -> dict[str, Any]:
    pair_of: dict[str, str | None] = {}  # episode id -> person of the pair it mentions (None: small talk)
    counted: list[dict[str, Any]] = []
    first = None
    learn_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        agent = Agent.open(
            tmp,
            llm=ScriptedLLM(),
            embedder=embedder,
            clock=ManualClock(START),
            substrate={"plasticity": plasticity, "seed": seed, "learning": learning},
        )
        try:
            for i, (text, person) in enumerate(messages(conv), 1):
                reply = agent.chat(text, user="u")
                learn_s.append(reply.timings.get("encode", 0.0) + reply.timings.get("learn", 0.0))
                for key in reply.stored:
                    pair_of[key] = person
                for action in agent.idle(EIGHT_HOURS, user="u"):
                    ids = [*action.cause, *([action.cue] if action.cue else [])]
                    if not action.cause or not all(k in pair_of for k in ids):
                        continue
                    people = [pair_of[k] for k in action.cause]
                    cue_person = pair_of[action.cue] if action.cue else None
                    coherent = (cue_person is not None and cue_person in people) or any(
                        p is not None and people.count(p) >= 2 for p in people
                    )
                    counted.append({"exchange": i, "coherent": coherent, "path": action.path})
                    if first is None:
                        first = i
            probes: list[dict[str, Any]] = []
            probe_texts: set[str] = set()
            for person, pair in conv["pairs"].items():
                text = conv["probe"].format(person=person)
                reply = agent.chat(text, user="u")
                probe_texts.add(text)
                got = [a.text for a in reply.associations if a.text not in probe_texts]
                hits = sum(pair["topic"].lower() in g.lower() for g in got)
                probes.append({"person": person, "associations": got, "hits": hits})
            triggers = sum(1 for e in agent.proactive_log("u", 100_000) if e["kind"] == "trigger")
        finally:
            agent.close()
    n_assoc = sum(len(p["associations"]) for p in probes)
    return {
        "plasticity": plasticity,
        "seed": seed,
        "learning": learning,
        "first_action": first,
        "actions": len(counted),
        "coherent": sum(a["coherent"] for a in counted) / len(counted) if counted else None,
        "probe_precision": sum(p["hits"] for p in probes) / n_assoc if n_assoc else 0.0,
        "probe_hit_rate": sum(p["hits"] > 0 for p in probes) / len(probes),
        "triggers": triggers,
        "encode_learn_ms_median": 1000 * statistics.median(learn_s),
        "probes": probes,
        "counted": counted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversation", type=Path, default=DEFAULT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--learning", choices=["stdp", "assembly"], default="stdp")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/agent_e2.json"))
    args = parser.parse_args()
    from memory.config import EmbeddingSettings
    from memory.embedders import build_embedder

    conv = json.loads(args.conversation.read_text())
    embedder = build_embedder(EmbeddingSettings())
    t0 = time.perf_counter()
    runs = [run(conv, True, s, args.learning, embedder) for s in args.seeds]
    controls = [run(conv, False, s, args.learning, embedder) for s in args.seeds]
    print(
        f"{'seed':>4} {'first':>6} {'actions':>8} {'coherent':>9} {'precision':>10} {'hit rate':>9} {'control':>8}"
    )
    for r, c in zip(runs, controls, strict=True):
        coh = "-" if r["coherent"] is None else f"{r['coherent']:.2f}"
        print(
            f"{r['seed']:>4} {r['first_action']!s:>6} {r['actions']:>8} {coh:>9} {r['probe_precision']:>10.2f} "
            f"{r['probe_hit_rate']:>9.2f} {c['triggers']:>8}"
        )
    summary = {
        "benchmark": "E2 associations follow content",
        "conversation": str(args.conversation),
        "learning": args.learning,
        "runs": runs,
        "controls": [{k: c[k] for k in ("seed", "triggers", "first_action")} for c in controls],
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
