"""Benchmark M, "facts": personal facts, changes over time and the persona, through ``Agent.chat``.

    .venv/bin/python benchmarks/memory/facts.py [--wording dev|heldout] [--users 12] [--seed 0]
        [--llm local|scripted] [--out benchmarks/results/memory_facts_<wording>.json]

Generated stories (:mod:`benchmarks.memory.facts_data`: about 22 statements per user, 4 changes each, small talk
between) are told to one agent, each user in their own namespace, through ``Agent.chat`` on the bundled model
(``--llm local``, the default: the model replies, consolidation picks the fact extractor the default install
gets) with a simulated clock (20 days between statements, 8 idle hours after each: the "sleep" in which the
agent consolidates). Then, from ``Memory.facts`` and ``Memory.persona``:

- recall: share of true facts (subject, relation, object) stored (at any validity);
- precision: share of stored facts that are true (a fact is true when a truth fact has its subject, relation
  and object; objects compared by their word stems, so "hiking in the mountains" holds "hiking");
- changes: share of changes handled: the old fact closed (``valid_to`` set) and the new one current;
- as-of: for every user, single-valued relation (home, job) and pet set, queried in the middle of each true
  interval with ``Memory.facts(namespace, as_of=t)``: share of queries answered exactly (right value, nothing
  else);
- persona: share of (user, slot) checks right: name, home, work, family, pets, preferences, constraints hold
  the current values and none of the stale ones;
- extraction time per user turn (consolidation's fact step divided by the turns it read), median of batches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.memory.facts_data import DAY, Story, generate
from cogarch import Agent
from cogarch.clock import ManualClock
from reasoning.engines.scripted import ScriptedLLM

_WORD = re.compile(r"[a-z0-9]+")


def stems(text: str) -> set[str]:
    """Lower-case word stems (crude suffix stripping: the same on both sides of a comparison)."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in ("a", "an", "the", "my", "in", "of", "to"):
            continue
        for suffix in ("ing", "es", "s", "ed"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        out.add(w)
    return out


def same_object(truth: str, got: str) -> bool:
    t, g = stems(truth), stems(got)
    return bool(t) and t <= g and len(g) <= len(t) + 3


def matches(fact: Any, subject: str, relation: str, obj: str) -> bool:
    return (
        fact.subject.lower() == subject.lower()
        and fact.relation == relation
        and same_object(obj, fact.object)
    )


def score(agent: Agent, stories: list[Story]) -> dict[str, Any]:
    memory = agent.memory
    found = total = tp = stored = 0
    changes_ok = changes = 0
    asof_ok = asof_n = 0
    persona_ok = persona_n = 0
    errors: dict[str, list[str]] = {"missed": [], "wrong": [], "changes": [], "asof": [], "persona": []}
    for st in stories:
        facts = memory.facts(namespace=st.user)
        for tr in st.truth:
            total += 1
            if any(matches(f, tr.subject, tr.relation, tr.object) for f in facts):
                found += 1
            else:
                errors["missed"].append(f"{st.user}: {tr.subject} {tr.relation} {tr.object}")
        for f in facts:
            stored += 1
            if any(matches(f, tr.subject, tr.relation, tr.object) for tr in st.truth):
                tp += 1
            else:
                errors["wrong"].append(f"{st.user}: {f.subject} | {f.relation} | {f.object}  <- {f.text}")
        for ch in st.changes:
            changes += 1
            new_rel = "dislikes" if ch.relation == "likes" else ch.relation
            old_ok = any(
                matches(f, ch.subject, ch.relation, ch.old) and f.valid_to is not None for f in facts
            )
            old_open = any(matches(f, ch.subject, ch.relation, ch.old) and f.valid_to is None for f in facts)
            new_ok = ch.new is None or any(
                matches(f, ch.subject, new_rel, ch.new) and f.valid_to is None for f in facts
            )
            if old_ok and not old_open and new_ok:
                changes_ok += 1
            else:
                errors["changes"].append(
                    f"{st.user}: {ch.relation} {ch.old} -> {ch.new} old_closed={old_ok} new={new_ok}"
                )
        end = st.lines[-1][0] + DAY
        for relation in ("lives_in", "works_as", "has_pet"):
            intervals = [tr for tr in st.truth if tr.relation == relation and tr.subject == st.user]
            bounds = sorted(
                {tr.valid_from for tr in intervals} | {tr.valid_to for tr in intervals if tr.valid_to}
            )
            bounds.append(end)
            for a, b in itertools.pairwise(bounds):
                q = (a + b) / 2
                want = {
                    tr.object
                    for tr in intervals
                    if tr.valid_from <= q and (tr.valid_to is None or q < tr.valid_to)
                }
                got = [
                    f.object
                    for f in memory.facts(namespace=st.user, as_of=q)
                    if f.relation == relation and f.subject.lower() == st.user
                ]
                ok = len(got) == len(want) and all(any(same_object(w, g) for g in got) for w in want)
                asof_n += 1
                asof_ok += ok
                if not ok:
                    errors["asof"].append(
                        f"{st.user}: {relation} at +{(q - st.lines[0][0]) / DAY:.0f}d want {sorted(want)} got {got}"
                    )
        checks = _persona_checks(st)
        slots = {s.slot: s.value for s in memory.persona(st.user)}
        for slot, want, stale in checks:
            value = slots.get(slot, "")
            if slot == "preferences":
                value = value.split(";")[0]  # "likes ...; dislikes ...": the likes part
            ok = all(same_object(w, value) or stems(w) <= stems(value) for w in want) and not any(
                stems(x) <= stems(value) for x in stale
            )
            persona_n += 1
            persona_ok += ok
            if not ok:
                errors["persona"].append(f"{st.user}: {slot}={slots.get(slot)!r} want {want} not {stale}")
    return {
        "facts_true": total,
        "facts_stored": stored,
        "recall": found / max(1, total),
        "precision": tp / max(1, stored),
        "changes": changes_ok / max(1, changes),
        "changes_n": changes,
        "as_of": asof_ok / max(1, asof_n),
        "as_of_n": asof_n,
        "persona": persona_ok / max(1, persona_n),
        "persona_n": persona_n,
        "errors": errors,
    }


def _persona_checks(st: Story) -> list[tuple[str, list[str], list[str]]]:
    """(slot, values it must hold, stale values it must not hold) for the end of the story."""
    cur = [tr for tr in st.truth if tr.valid_to is None and tr.subject == st.user]
    past = [tr for tr in st.truth if tr.valid_to is not None and tr.subject == st.user]

    def now(*rels: str) -> list[str]:
        return [tr.object for tr in cur if tr.relation in rels]

    def old(*rels: str) -> list[str]:
        return [tr.object for tr in past if tr.relation in rels]

    kin = [
        tr.object
        for tr in cur
        if tr.relation
        not in {
            "name",
            "lives_in",
            "works_as",
            "works_for",
            "likes",
            "dislikes",
            "allergic_to",
            "plans",
            "has_pet",
        }
    ]
    return [
        ("name", now("name"), []),
        ("home", now("lives_in"), old("lives_in")),
        ("work", now("works_as"), old("works_as")),
        ("family", kin, []),
        ("pets", now("has_pet"), old("has_pet")),
        ("preferences", now("likes"), old("likes")),
        ("constraints", now("allergic_to"), []),
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    stories = generate(args.wording, args.users, args.seed)
    statements = sum(len(st.lines) for st in stories)
    start = min(st.lines[0][0] for st in stories) - DAY
    clock = ManualClock(start)
    llm: Any = ScriptedLLM.replies("I see.") if args.llm == "scripted" else {"max_tokens": args.max_tokens}
    # the scripted model stands in for the bundled one: the same extractor as the default install
    memory = {"facts": "parser"} if args.llm == "scripted" else None
    timings: list[float] = []
    load_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        agent = Agent.open(
            tmp, llm=llm, clock=clock, substrate={"enabled": False}, **({"memory": memory} if memory else {})
        )
        if type(agent.memory.extractor).__name__ == "ParseExtractor":  # load spaCy once, outside the timings
            from memory import nlp

            loading = time.perf_counter()
            nlp.parse("warm up")
            load_s = time.perf_counter() - loading
        began = time.perf_counter()
        try:
            # users talk in turns, in time order (stories 9 hours apart: each 8-hour idle ends before the next turn)
            events = sorted((t, st.user, text) for st in stories for t, text in st.lines)
            for i, (t, user, text) in enumerate(events):
                if t < clock.now():
                    raise RuntimeError(
                        "the simulated clock passed a statement's time: the truth would be off"
                    )
                clock.advance(t - clock.now())
                agent.chat(text, user=user)
                agent.idle(8 * 3600, user=user)
                if args.verbose and i % 20 == 0:
                    print(f"  {i}/{len(events)} turns, {time.perf_counter() - began:.0f} s", flush=True)
            wall = time.perf_counter() - began
            result = score(agent, stories)
            result["extractor"] = type(agent.memory.extractor).__name__
            for st in stories:  # the fact step's time per statement read, from the audit log (no content)
                for entry in agent.memory.audit_log(st.user, limit=10000):
                    if entry["op"] == "extract" and entry["detail"].get("statements"):
                        timings.append(entry["detail"]["seconds"] / entry["detail"]["statements"])
        finally:
            agent.close()
    per_turn = [t for t in timings if t >= 0]
    result.update(
        wording=args.wording,
        users=args.users,
        statements=statements,
        llm=args.llm,
        wall_s=wall,
        parser_load_s=load_s,
        extraction_ms_per_turn_median=1000 * statistics.median(per_turn) if per_turn else None,
        extraction_ms_per_turn_p95=1000 * sorted(per_turn)[int(0.95 * (len(per_turn) - 1))]
        if per_turn
        else None,
    )
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wording", choices=["dev", "heldout", "third"], default="dev")
    p.add_argument("--users", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--llm", choices=["local", "scripted"], default="local")
    p.add_argument(
        "--max-tokens",
        type=int,
        default=8,
        help="reply length of the bundled model (facts come from the user's words)",
    )
    p.add_argument("--out", default=None)
    p.add_argument("--errors", type=int, default=15, help="errors of each kind to print")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    res = run(args)
    out = Path(args.out or f"benchmarks/results/memory_facts_{args.wording}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    for kind, items in res["errors"].items():
        if items:
            print(f"-- {kind} ({len(items)})")
            for line in items[: args.errors]:
                print("   ", line)
    print(
        f"\nfacts, {res['wording']} wording, {res['users']} users, {res['statements']} statements, llm {res['llm']}"
    )
    print("| measure | value | target |\n|---|---|---|")
    print(f"| fact recall | {res['recall']:.3f} ({res['facts_true']} true facts) | >= 0.8 |")
    print(f"| precision | {res['precision']:.3f} ({res['facts_stored']} stored) | >= 0.7 |")
    print(f"| changes handled | {res['changes']:.3f} ({res['changes_n']}) | >= 0.9 |")
    print(f"| as-of right | {res['as_of']:.3f} ({res['as_of_n']}) | >= 0.9 |")
    print(f"| persona slots right | {res['persona']:.3f} ({res['persona_n']}) | >= 0.8 |")
    med = res["extraction_ms_per_turn_median"]
    p95 = res["extraction_ms_per_turn_p95"]
    print(f"| extraction per turn, median / p95 | {med or 0:.1f} / {p95 or 0:.1f} ms | <= 300 ms |")
    print(
        f"wall {res['wall_s']:.0f} s; spaCy pipeline loaded once in {res['parser_load_s']:.1f} s (not in the timings)"
    )


if __name__ == "__main__":
    main()
