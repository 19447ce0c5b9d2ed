"""Benchmark M, "facts": personal facts, changes over time and the persona, through ``Agent.chat``.

    .venv/bin/python benchmarks/memory/facts.py [--wording dev|heldout|third] [--users 12] [--seed 0]
        [--llm local|scripted] [--consolidate-in background|foreground|paired] [--consolidate-every N] [--no-idle]
        [--out benchmarks/results/memory_facts_<wording>[_<mode>].json]

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
- extraction time per user turn (consolidation's fact step divided by the turns it read), median of batches;
- the time of each ``chat`` call, with no consolidation running when it starts. With ``--consolidate-in paired``
  two agents, consolidating in the foreground (in the turn) and in the background (the agent's worker), hear the
  same statements in alternating order: both are scored, and the per-statement difference of their turn times
  is the time consolidation no longer adds to a turn (``--consolidate-every 2``: each turn asks for one).
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
    """Tell the stories to one agent per mode of ``--consolidate-in`` ("paired": a foreground and a background
    agent, each statement told to both, in alternating order); score each agent; time each ``chat`` call with
    no consolidation of either agent running (each waits for both workers first), so a background turn's time
    is its reply and episode write, a foreground turn's adds the consolidation it triggers."""
    stories = generate(args.wording, args.users, args.seed)
    statements = sum(len(st.lines) for st in stories)
    start = min(st.lines[0][0] for st in stories) - DAY
    modes = ["foreground", "background"] if args.consolidate_in == "paired" else [args.consolidate_in]
    memory: dict[str, Any] = {"facts": "parser"} if args.llm == "scripted" else {}
    if args.consolidate_every:
        memory["consolidate_every"] = args.consolidate_every
    clocks = {mode: ManualClock(start) for mode in modes}
    turn_s: dict[str, list[float]] = {mode: [] for mode in modes}
    results: dict[str, dict[str, Any]] = {}
    load_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        agents: dict[str, Agent] = {}
        try:
            for mode in modes:
                # the scripted model stands in for the bundled one: the same extractor as the default install
                llm: Any = (
                    ScriptedLLM.replies("I see.")
                    if args.llm == "scripted"
                    else {"max_tokens": args.max_tokens}
                )
                agents[mode] = Agent.open(
                    Path(tmp) / mode,
                    llm=llm,
                    clock=clocks[mode],
                    substrate={"enabled": False},
                    memory={**memory, "consolidate_in": mode},
                )
            first = agents[modes[0]]
            if (
                type(first.memory.extractor).__name__ == "ParseExtractor"
            ):  # load spaCy once, outside the timings
                from memory import nlp

                loading = time.perf_counter()
                nlp.parse("warm up")
                load_s = time.perf_counter() - loading
            began = time.perf_counter()
            # users talk in turns, in time order (stories 9 hours apart: each 8-hour idle ends before the next turn)
            events = sorted((t, st.user, text) for st in stories for t, text in st.lines)
            for i, (t, user, text) in enumerate(events):
                for mode in modes if i % 2 == 0 else modes[::-1]:
                    clock = clocks[mode]
                    if t < clock.now():
                        raise RuntimeError(
                            "the simulated clock passed a statement's time: the truth would be off"
                        )
                    clock.advance(t - clock.now())
                    for agent in agents.values():
                        agent.wait_consolidated()
                    timed = time.perf_counter()
                    agents[mode].chat(text, user=user)
                    turn_s[mode].append(time.perf_counter() - timed)
                for mode in modes if args.idle else ():
                    agents[mode].idle(8 * 3600, user=user)
                if args.verbose and i % 20 == 0:
                    print(f"  {i}/{len(events)} turns, {time.perf_counter() - began:.0f} s", flush=True)
            wall = time.perf_counter() - began
            for mode, agent in agents.items():
                agent.wait_consolidated()
                for st in stories:  # what the schedule had not reached yet (only without idle periods)
                    agent.memory.consolidate(namespace=st.user)
                results[mode] = score(agent, stories) | _timings(agent, stories, turn_s[mode])
                results[mode]["extractor"] = type(agent.memory.extractor).__name__
                results[mode]["consolidation_failures"] = sum(
                    agent.consolidation_status(st.user).failures for st in stories
                )
        finally:
            for agent in agents.values():
                agent.close()
    common = dict(
        wording=args.wording,
        users=args.users,
        statements=statements,
        llm=args.llm,
        consolidate_every=args.consolidate_every,
        wall_s=wall,
        parser_load_s=load_s,
    )
    if len(modes) == 1:
        return results[modes[0]] | common | {"consolidate_in": modes[0]}
    fg, bg = turn_s["foreground"], turn_s["background"]
    return common | {
        "consolidate_in": "paired",
        "foreground": results["foreground"],
        "background": results["background"],
        "turn_ms_saved_median": 1000 * statistics.median(f - b for f, b in zip(fg, bg, strict=True)),
        "turn_ratio_median": statistics.median(f / b for f, b in zip(fg, bg, strict=True) if b > 0),
    }


def _timings(agent: Agent, stories: list[Story], turns: list[float]) -> dict[str, Any]:
    """The fact step's time per statement read (from the audit log: no content) and the ``chat`` calls' times."""
    per_turn = [
        entry["detail"]["seconds"] / entry["detail"]["statements"]
        for st in stories
        for entry in agent.memory.audit_log(st.user, limit=10000)
        if entry["op"] == "extract" and entry["detail"].get("statements")
    ]
    return {
        "extraction_ms_per_turn_median": 1000 * statistics.median(per_turn) if per_turn else None,
        "extraction_ms_per_turn_p95": 1000 * _p95(per_turn) if per_turn else None,
        "turn_ms_median": 1000 * statistics.median(turns),
        "turn_ms_p95": 1000 * _p95(turns),
        "turn_ms_max": 1000 * max(turns),
    }


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


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
    p.add_argument(
        "--consolidate-in",
        choices=["background", "foreground", "paired"],
        default="background",
        help="where the agent consolidates (memory.consolidate_in); paired: one agent of each, the same turns",
    )
    p.add_argument(
        "--consolidate-every",
        type=int,
        default=None,
        help="memory.consolidate_every (2: every turn consolidates its own episodes; default: the setting's)",
    )
    p.add_argument(
        "--no-idle",
        dest="idle",
        action="store_false",
        help="no idle period after each statement: consolidation only by memory.consolidate_every (a turn "
        "crossing it consolidates every episode since the last one)",
    )
    p.add_argument("--out", default=None)
    p.add_argument("--errors", type=int, default=15, help="errors of each kind to print")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    res = run(args)
    suffix = "" if res["consolidate_in"] == "background" else f"_{res['consolidate_in']}"
    out = Path(args.out or f"benchmarks/results/memory_facts_{args.wording}{suffix}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    runs = (
        {res["consolidate_in"]: res} if "recall" in res else {m: res[m] for m in ("foreground", "background")}
    )
    for mode, r in runs.items():
        for kind, items in r["errors"].items():
            if items:
                print(f"-- {mode}: {kind} ({len(items)})")
                for line in items[: args.errors]:
                    print("   ", line)
    print(
        f"\nfacts, {res['wording']} wording, {res['users']} users, {res['statements']} statements, llm {res['llm']}"
    )
    print(f"| measure | {' | '.join(runs)} | target |\n|---|{'---|' * len(runs)}---|")

    def row(name: str, cell: Any, target: str) -> None:
        print(f"| {name} | {' | '.join(cell(r) for r in runs.values())} | {target} |")

    row("fact recall", lambda r: f"{r['recall']:.3f} ({r['facts_true']} true facts)", ">= 0.8")
    row("precision", lambda r: f"{r['precision']:.3f} ({r['facts_stored']} stored)", ">= 0.7")
    row("changes handled", lambda r: f"{r['changes']:.3f} ({r['changes_n']})", ">= 0.9")
    row("as-of right", lambda r: f"{r['as_of']:.3f} ({r['as_of_n']})", ">= 0.9")
    row("persona slots right", lambda r: f"{r['persona']:.3f} ({r['persona_n']})", ">= 0.8")
    row(
        "extraction per turn, median / p95",
        lambda r: (
            f"{r['extraction_ms_per_turn_median'] or 0:.1f} / {r['extraction_ms_per_turn_p95'] or 0:.1f} ms"
        ),
        "<= 300 ms",
    )
    row(
        "chat() per turn, median / p95 / max",
        lambda r: f"{r['turn_ms_median']:.0f} / {r['turn_ms_p95']:.0f} / {r['turn_ms_max']:.0f} ms",
        "",
    )
    if "turn_ratio_median" in res:
        print(
            f"paired, per statement: foreground - background {res['turn_ms_saved_median']:.0f} ms (median), "
            f"foreground / background {res['turn_ratio_median']:.2f}x (median)"
        )
    print(
        f"wall {res['wall_s']:.0f} s; spaCy pipeline loaded once in {res['parser_load_s']:.1f} s (not in the timings)"
    )


if __name__ == "__main__":
    main()
