"""Benchmark R, memory multi-hop: questions over facts the user told the agent in chat, at equal tokens.

Task (generated; ``--relations dev`` or ``heldout``, disjoint vocabularies, so a check on held-out names and
relations uses the same protocol): per item a world of 3 chains of made-up people, A -r1-> B -r2-> C, each person
with a home ("Zorvan's coach is Kelmir.", "Kelmir lives in Ostria."); 15 facts, told to a fresh agent one chat
message each, in random order (the other chains are distractors of the same shape in the same memory). Then:

- 2-hop: "Where does Zorvan's coach live?" (A's r1, then B's home);
- 3-hop: "Where does the sister of Zorvan's coach live?" (A's r1, B's r2, then C's home).

Correct: the reply names the gold place and no other place of the world (9 candidates).

Every method runs on its own copy of the agent's data directory taken after the telling (a method's question and
reply never reach another's memory), on the same bundled model (SmolLM2-135M-Instruct), with the prefix cache
cleared first. Tokens: what the model ran, read from the engine (``LocalEngine.usage``, computed tokens: prompt
tokens not taken from the prefix cache, plus generated and option tokens), the same meter for every method.

- single: ``Agent.chat(question)``, System 1 (recall, one reply);
- best_of_n: n rounds, each: a thought sampled from the question and its recalled facts, a recall for that
  thought and those facts (the agent's ``MemoryAssociator``, as a CoAT node recalls), an answer generated the way
  CoAT's final answer is (the question and that sample's facts linked into a chain by ``answer_facts``, at most
  ``SearchSettings.answer_facts``), scored by the model's P(yes); the most confident answer wins; rounds continue
  while the last round's cost still fits the budget;
- self_consistency: answers sampled from the question and its recalled facts (put in the answer prompt as CoAT's
  answer step puts its facts: ``answer_facts``), majority vote over the places named; same budget rule;
- coat: ``Agent.chat(question, think=True)``: the CoAT search with memory associations per node, search budget =
  the budget; its final answer is generated from the winning path's facts (``answer_from="path"``).

Ablations (each removes one mechanism, through the same ``Agent.chat(think=True)``): coat_root (only the root
recalls; nodes recall nothing: ``recall_from="root"``), coat_thought (a node recalls for its thought alone, not
also for what its parent recalled: ``recall_from="thought"``), coat_tree (the final answer from the facts recalled
anywhere in the tree, same ranking and cap: ``answer_from="tree"``), coat_node (the best node's own answer, as
before: ``answer_from="node"``), coat_own_spelling (the answer keeps the model's spelling of names:
``spell_as_facts=False``; every answer step here, the baselines' too, writes a name it nearly copied from its facts
as they spell it: ``reasoning.search.thoughts.spell_as``).

Run (dev, then held-out):
  nice -n 10 .venv/bin/python benchmarks/search/bench_memory_hops.py --items 20 --budget 480
  nice -n 10 .venv/bin/python benchmarks/search/bench_memory_hops.py --items 20 --relations heldout --seed 1
Writes benchmarks/results/search_memory_hops[_heldout].json after every item and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_coat import machine, paired_diff, wilson

from cogarch import Agent
from cogarch.associator import MemoryAssociator
from reasoning.llm import GenerationOptions, Usage
from reasoning.search import Association, StepJudge
from reasoning.search.coat import ANSWER_MAX_TOKENS, answer_facts
from reasoning.search.thoughts import (
    NEXT_STEP,
    STEP_STOPS,
    answer_from_facts,
    clean_thought,
    thought_conversation,
)
from reasoning.search.tree import Node, new_tree

RELATIONS = {
    "dev": {"links": ["teacher", "sister", "neighbour", "coach"], "home": ("{p} lives in {v}.", "live")},
    "heldout": {"links": ["cousin", "boss", "doctor", "friend"], "home": ("{p} grew up in {v}.", "grow up")},
}
SYLLABLES = {
    "dev": [
        "ka",
        "lo",
        "mir",
        "zor",
        "van",
        "tel",
        "dro",
        "sen",
        "qua",
        "bel",
        "ris",
        "om",
        "ut",
        "fen",
        "gal",
    ],
    "heldout": [
        "pry",
        "nix",
        "tor",
        "eb",
        "sha",
        "vol",
        "dun",
        "kir",
        "aph",
        "lem",
        "ost",
        "wyn",
        "jas",
        "hul",
    ],
}
METHODS = ("single", "best_of_n", "self_consistency", "coat")
ABLATIONS = {
    "coat_root": {"recall_from": "root"},
    "coat_thought": {"recall_from": "thought"},
    "coat_tree": {"answer_from": "tree"},
    "coat_node": {"answer_from": "node"},
    "coat_own_spelling": {"spell_as_facts": False},
}
REFERENCES = ("gold_facts", "gold_plus_1", "gold_plus_3", "all_facts")
"""Not methods but bounds: the answer prompt with the question's own chain of facts (gold_facts), the chain and
1 or 3 other told facts drawn at random (gold_plus_n), or every fact told (all_facts), shuffled, in place of
anything recalled; no memory, one greedy answer. They measure how the model's answer depends on the precision of
the facts it is given."""


@dataclass(frozen=True)
class Question:
    hops: int
    text: str
    gold: str
    facts: tuple[str, ...] = ()  # the chain of told facts that answers it, in hop order


@dataclass(frozen=True)
class World:
    told: list[str]
    places: list[str]
    questions: list[Question]


def _names(rng: random.Random, syllables: Sequence[str], n: int, used: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 3)))).capitalize()
        if name not in used and len(name) >= 4:
            used.add(name)
            out.append(name)
    return out


def make_world(rng: random.Random, relations: str) -> World:
    spec, syl = RELATIONS[relations], SYLLABLES[relations]
    used: set[str] = set()
    people = _names(rng, syl, 9, used)
    places = _names(rng, syl, 9, used)
    r1, r2 = rng.sample(spec["links"], 2)
    home, verb = spec["home"]
    told: list[str] = []
    for c in range(3):
        a, b, k = people[3 * c : 3 * c + 3]
        told += [f"{a}'s {r1} is {b}.", f"{b}'s {r2} is {k}."]
        told += [home.format(p=p, v=places[3 * c + i]) for i, p in enumerate((a, b, k))]
    rng.shuffle(told)
    c = rng.randrange(3)
    a = people[3 * c]
    aux = "does" if verb == "live" else "did"
    b, k = people[3 * c + 1], people[3 * c + 2]
    link1, link2 = f"{a}'s {r1} is {b}.", f"{b}'s {r2} is {k}."
    questions = [
        Question(
            2, f"Where {aux} {a}'s {r1} {verb}?", places[3 * c + 1],
            (link1, home.format(p=b, v=places[3 * c + 1])),
        ),
        Question(
            3, f"Where {aux} the {r2} of {a}'s {r1} {verb}?", places[3 * c + 2],
            (link1, link2, home.format(p=k, v=places[3 * c + 2])),
        ),
    ]  # fmt: skip
    return World(told, places, questions)


def correct(reply: str, gold: str, places: Sequence[str]) -> bool:
    named = {p for p in places if re.search(rf"\b{re.escape(p)}\b", reply, flags=re.I)}
    return named == {gold}


def named_place(text: str, places: Sequence[str]) -> str | None:
    for p in places:
        if re.search(rf"\b{re.escape(p)}\b", text, flags=re.I):
            return p
    return None


class Meter:
    """Computed tokens of the engine between two readings."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.start = Usage()

    def reset(self) -> None:
        self.engine.clear_prefix_cache()
        self.start = self.engine.usage

    @property
    def used(self) -> int:
        u = self.engine.usage
        return (u.total_tokens - u.cached_tokens) - (self.start.total_tokens - self.start.cached_tokens)


def _options(temperature: float, seed: int, max_tokens: int = 14) -> GenerationOptions:
    """A baseline's generation: one step (it stops where a thought does)."""
    return GenerationOptions(max_tokens=max_tokens, temperature=temperature, seed=seed, stop=STEP_STOPS)


def _complete(llm: Any, messages: Any, *, temperature: float, seed: int, max_tokens: int = 14) -> str:
    return clean_thought(llm.complete(messages, _options(temperature, seed, max_tokens)).text)


def run_best_of_n(
    agent: Agent, user: str, q: Question, budget: int, meter: Meter, seed: int
) -> dict[str, Any]:
    llm = agent.llm
    assoc = MemoryAssociator(agent.memory, user, k=agent.settings.search.associations)
    judge = StepJudge(llm)
    root = assoc(q.text, [])
    best: tuple[float, str] = (-1.0, "")
    n, last = 0, 0
    while n == 0 or meter.used + last <= budget:
        before = meter.used
        t = 0.0 if n == 0 else 0.8
        thought = _complete(
            llm, thought_conversation(q.text, "", root, [], NEXT_STEP), temperature=t, seed=seed + n
        )
        found = assoc(q.text, ["\n".join([*(a.text for a in root), thought])])  # as a CoAT node recalls
        tree = new_tree(q.text)
        chain = [
            replace(tree.root, associations=tuple(root)),
            Node(1, 0, 1, thought=thought, associations=tuple(found)),
        ]
        ordered = answer_facts(q.text, chain, agent.settings.search.answer_facts)  # as CoAT's answer step
        answer, _ = answer_from_facts(
            llm, q.text, "", ordered, _options(t, seed + 100 + n, ANSWER_MAX_TOKENS)
        )
        transcript = thought_conversation(q.text, "", ordered, [], None)
        confidence = judge.evaluate_transcript(transcript, found, answer).thought_score
        if confidence > best[0]:
            best = (confidence, answer)
        n += 1
        last = meter.used - before
    return {"reply": best[1], "n": n}


def reference_facts(name: str, q: Question, world: World, seed: str) -> list[str]:
    """The facts a reference row answers from (see :data:`REFERENCES`), in a seeded random order."""
    rng = random.Random(seed)
    others = [f for f in world.told if f not in q.facts]
    extra = {"gold_facts": 0, "gold_plus_1": 1, "gold_plus_3": 3}.get(name)
    facts = list(world.told) if extra is None else [*q.facts, *rng.sample(others, extra)]
    if name != "gold_facts":  # the chain's own order is kept only when it is alone (as measured first)
        rng.shuffle(facts)
    return facts


def run_reference(llm: Any, q: Question, facts: Sequence[str]) -> dict[str, Any]:
    """One greedy answer with ``facts`` in place of a recall (the answer prompt every method uses)."""
    given = [Association(f, (), 1.0) for f in facts]
    said, _ = answer_from_facts(llm, q.text, "", given, _options(0.0, 0), spell=False)
    return {"reply": said}


def run_self_consistency(
    agent: Agent, user: str, q: Question, places: Sequence[str], budget: int, meter: Meter, seed: int
) -> dict[str, Any]:
    llm = agent.llm
    root = MemoryAssociator(agent.memory, user, k=agent.settings.search.associations)(q.text, [])
    recalled = [replace(new_tree(q.text).root, associations=tuple(root))]
    facts = answer_facts(q.text, recalled, agent.settings.search.answer_facts)  # as CoAT's answer step
    votes: Counter[str] = Counter()
    answers: list[str] = []
    n, last = 0, 0
    while n == 0 or meter.used + last <= budget:
        before = meter.used
        options = _options(0.0 if n == 0 else 0.8, seed + n, ANSWER_MAX_TOKENS)
        said, _ = answer_from_facts(llm, q.text, "", facts, options)  # CoAT's answer step
        answers.append(said)
        place = named_place(said, places)
        if place is not None:
            votes[place] += 1
        n += 1
        last = meter.used - before
    reply = votes.most_common(1)[0][0] if votes else answers[0]
    return {"reply": reply, "n": n}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--budget", type=int, default=480)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--relations", choices=sorted(RELATIONS), default="dev")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--confidence", choices=("off", "thoughts", "all"), default=None,
                    help="SearchSettings.confidence for coat (default: the settings' default)")  # fmt: skip
    ap.add_argument("--report", nargs="+", default=None, help="summarize these results files (no run)")
    args = ap.parse_args(argv)
    if args.report:
        saved = [json.loads(Path(f).read_text()) for f in args.report]
        rows = [row for data in saved for row in data["items"]]
        for key in ("relations", "budget"):  # label the report with the saved runs' settings, not the flags
            setattr(args, key, "/".join(sorted({str(d["config"][key]) for d in saved})))
        done = [m for m in (*METHODS, *ABLATIONS, *REFERENCES) if all(m in r for r in rows)]
        report(summarize(rows, done), done, args, Path(args.report[0]))
        return
    methods = args.methods.split(",")
    suffix = "" if args.relations == "dev" else f"_{args.relations}"
    out = Path(args.out or f"benchmarks/results/search_memory_hops{suffix}.json")
    out.parent.mkdir(parents=True, exist_ok=True)

    from cogarch.composition import build_embedder, build_llm
    from cogarch.settings import Settings

    base = Settings.load()
    t0 = time.perf_counter()
    llm = build_llm(base)
    engine = llm
    while hasattr(engine, "inner"):
        engine = engine.inner
    embedder = build_embedder(base)
    load_s = time.perf_counter() - t0
    meter = Meter(engine)
    search: dict[str, Any] = {"max_tokens": args.budget, "max_nodes": 64, "max_depth": 4, "branching": 3,
                              "max_seconds": 900}  # fmt: skip
    if args.confidence is not None:
        search["confidence"] = args.confidence
    rng = random.Random(args.seed)
    worlds = [make_world(rng, args.relations) for _ in range(args.start + args.items)][args.start :]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    user = "ada"
    for i, world in enumerate(worlds, args.start):
        with tempfile.TemporaryDirectory() as tmp:
            told_dir = Path(tmp) / "told"

            def open_agent(path: Path, max_tokens: int, method: str = "") -> Agent:
                searching = {**search, **ABLATIONS.get(method, {})}
                settings = Settings.load(data_dir=path, llm={"max_tokens": max_tokens}, search=searching,
                                         substrate={"enabled": False})  # fmt: skip
                return Agent(settings, llm=llm, embedder=embedder)

            if any(m not in REFERENCES for m in methods):
                with open_agent(told_dir, 6) as agent:
                    for text in world.told:
                        agent.chat(text, user=user)
            for q in world.questions:
                row: dict[str, Any] = {"i": i, "hops": q.hops, "question": q.text, "gold": q.gold,
                                       "facts": list(q.facts)}  # fmt: skip
                for m in methods:
                    if m in REFERENCES:
                        meter.reset()
                        reply = run_reference(llm, q, reference_facts(m, q, world, f"{i}-{q.hops}"))["reply"]
                        row[m] = {"reply": reply, "correct": correct(reply, q.gold, world.places),
                                  "tokens": meter.used, "seconds": 0.0, "cpu_seconds": 0.0}  # fmt: skip
                        continue
                    copy = Path(tmp) / f"{m}-{q.hops}"
                    shutil.copytree(told_dir, copy)
                    with open_agent(copy, 24, m) as agent:
                        meter.reset()
                        start, cpu = time.perf_counter(), time.process_time()
                        extra: dict[str, Any] = {}
                        match m:
                            case "single":
                                reply = agent.chat(q.text, user=user).text
                            case (
                                "coat"
                                | "coat_root"
                                | "coat_thought"
                                | "coat_tree"
                                | "coat_node"
                                | "coat_own_spelling"
                            ):
                                r = agent.chat(q.text, user=user, think=True)
                                reply = r.text
                                s = r.search or {}
                                extra = {
                                    k: s.get(k)
                                    for k in (
                                        "nodes",
                                        "depth",
                                        "stopped_by",
                                        "chain",
                                        "fallback",
                                        "answered_from",
                                    )
                                }
                                extra["chain_depth"] = len(s.get("chain", []))
                                extra["associations"] = [
                                    [a["text"] for a in g] for g in s.get("associations", [])
                                ]
                            case "best_of_n":
                                extra = run_best_of_n(agent, user, q, args.budget, meter, 1000 * i)
                                reply = extra.pop("reply")
                            case "self_consistency":
                                extra = run_self_consistency(
                                    agent, user, q, world.places, args.budget, meter, 1000 * i
                                )
                                reply = extra.pop("reply")
                            case _:
                                raise SystemExit(f"unknown method {m!r}")
                        row[m] = {"reply": reply, "correct": correct(reply, q.gold, world.places),
                                  "tokens": meter.used, "seconds": time.perf_counter() - start,
                                  "cpu_seconds": time.process_time() - cpu, **extra}  # fmt: skip
                rows.append(row)
        done = ", ".join(f"{m} {sum(r[m]['correct'] for r in rows)}/{len(rows)}" for m in methods)
        print(f"[{i + 1}] {done} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        summary = summarize(rows, methods)
        out.write_text(json.dumps({"config": vars(args), "load_seconds": load_s, "machine": machine(),
                                   "wall_seconds": time.perf_counter() - started, "loadavg": os.getloadavg(),
                                   "summary": summary, "items": rows}, indent=1))  # fmt: skip
    report(summarize(rows, methods), methods, args, out)


def summarize(rows: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for hops in sorted({r["hops"] for r in rows}):
        sub = [r for r in rows if r["hops"] == hops]
        part: dict[str, Any] = {"n": len(sub)}
        for m in methods:
            k = sum(r[m]["correct"] for r in sub)
            part[m] = {"accuracy": k / len(sub), "ci95": wilson(k, len(sub)),
                       "tokens_mean": statistics.mean(r[m]["tokens"] for r in sub),
                       "tokens_max": max(r[m]["tokens"] for r in sub),
                       "seconds_mean": statistics.mean(r[m]["seconds"] for r in sub)}  # fmt: skip
        if "coat" in methods:
            nodes = [r["coat"]["nodes"] or 0 for r in sub]
            depths = [r["coat"]["chain_depth"] for r in sub]
            part["coat"]["nodes"] = {"median": statistics.median(nodes), "min": min(nodes), "max": max(nodes),
                                     "histogram": dict(sorted(Counter(nodes).items()))}  # fmt: skip
            part["coat"]["chain_depth"] = dict(sorted(Counter(depths).items()))
            part["coat"]["tree_depth"] = dict(sorted(Counter(r["coat"]["depth"] for r in sub).items()))
            part["coat"]["stopped_by"] = dict(Counter(r["coat"]["stopped_by"] for r in sub))
            # did the best chain's associations bring the gold place (the fact that answers) into the prompt?
            part["coat"]["gold_in_chain"] = sum(
                any(q_gold_in(g, r["gold"]) for g in r["coat"].get("associations") or []) for r in sub
            ) / len(sub)
            # where it fails: the gold place among the facts the answer was given; the whole chain of facts
            given = [[a["text"] for a in r["coat"].get("answered_from") or []] for r in sub]
            part["coat"]["gold_in_answer_facts"] = sum(
                q_gold_in(g, r["gold"]) for g, r in zip(given, sub, strict=True)
            ) / len(sub)
            part["coat"]["chain_in_answer_facts"] = sum(
                set(r["facts"]) <= set(g) for g, r in zip(given, sub, strict=True) if r.get("facts")
            ) / len(sub)
            for m in [
                m for m in methods if m.startswith("coat")
            ]:  # retrieval and choice vs the model's answer
                part[m]["answer_facts"] = answer_facts_diagnosis([r[m] for r in sub], sub)
            baselines = [m for m in methods if m != "coat" and m not in REFERENCES and m not in ABLATIONS]
            if baselines:
                best = max(baselines, key=lambda m: part[m]["accuracy"])
                part["best_baseline"] = best
            for m in [m for m in methods if m != "coat" and m not in REFERENCES]:
                a, b = [r["coat"]["correct"] for r in sub], [r[m]["correct"] for r in sub]
                part[f"coat_minus_{m}"] = (*paired_diff(a, b), *bootstrap_diff(a, b))
        out[f"{hops}-hop"] = part
    return out


def answer_facts_diagnosis(runs: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Where a CoAT variant fails: how often the facts its answer was given hold the question's whole chain
    (retrieval and chain choice), exactly the chain, and the accuracy with and without the chain there (the
    model's own share)."""
    given = [{a["text"] for a in run.get("answered_from") or []} for run in runs]
    has = [set(r["facts"]) <= g for g, r in zip(given, rows, strict=True)]
    ok = [bool(run["correct"]) for run in runs]
    with_chain = [c for c, h in zip(ok, has, strict=True) if h]
    without = [c for c, h in zip(ok, has, strict=True) if not h]
    return {
        "chain_given": sum(has) / len(rows),
        "exactly_the_chain": sum(g == set(r["facts"]) for g, r in zip(given, rows, strict=True)) / len(rows),
        "accuracy_with_chain": f"{sum(with_chain)}/{len(with_chain)}",
        "accuracy_without_chain": f"{sum(without)}/{len(without)}",
    }


def bootstrap_diff(a: Sequence[bool], b: Sequence[bool], n: int = 10000) -> tuple[float, float]:
    """95 % percentile bootstrap interval of mean(a - b) over paired items (resampling items, seeded)."""
    rng = random.Random(0)
    d = [int(x) - int(y) for x, y in zip(a, b, strict=True)]
    means = sorted(statistics.mean(rng.choices(d, k=len(d))) for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def q_gold_in(texts: Sequence[str], gold: str) -> bool:
    return any(re.search(rf"\b{re.escape(gold)}\b", t) for t in texts)


def report(summary: dict[str, Any], methods: Sequence[str], args: Any, out: Path) -> None:
    print(f"\nBenchmark R (memory multi-hop, {args.relations}), budget {args.budget} tokens")
    for key, part in summary.items():
        print(f"{key} ({part['n']} questions)")
        for m in methods:
            s = part[m]
            lo, hi = s["ci95"]
            print(f"  {m:<17} {s['accuracy']:.2f} ({lo:.2f}-{hi:.2f}) tokens mean {s['tokens_mean']:.0f} "
                  f"max {s['tokens_max']} s {s['seconds_mean']:.1f}")  # fmt: skip
        if "coat" in methods:
            c = part["coat"]
            print(f"  coat nodes {c['nodes']} chain depth {c['chain_depth']} tree depth {c['tree_depth']}")
            print(
                f"  coat stopped by {c['stopped_by']}; gold place in the best chain's facts {c['gold_in_chain']:.2f}; "
                f"in the answer's facts {c['gold_in_answer_facts']:.2f}; whole chain there {c['chain_in_answer_facts']:.2f}"
            )
            for m in [m for m in methods if m.startswith("coat")]:
                print(f"  {m} answer facts: {part[m]['answer_facts']}")
            for k, v in part.items():
                if k.startswith("coat_minus_"):
                    print(
                        f"  {k}: {v[0]:+.2f} (95% normal {v[1]:+.2f} .. {v[2]:+.2f}, bootstrap {v[3]:+.2f} .. {v[4]:+.2f})"
                    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
