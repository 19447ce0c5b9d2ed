"""Benchmark R: CoAT search vs a single pass vs best-of-n sampling at the same token budget.

Task (generated, checkable): two-hop lookups over a small fact base per item. Each item is a world of 4
people, each living in a city, each city lying in a country ("Zorvan lives in Kelmoor.", "Kelmoor lies in
Ostria."); the question is "In which country does Zorvan live?", the gold answer is a country, and the 4
countries are the candidates. Names are made-up syllables, so the model cannot know them.

Every method sees knowledge only through the same retriever, ``LexicalAssociator(facts, k=2)``:

- single: one greedy answer, with the facts retrieved for the question;
- best_of_n: answers sampled (temperature 0.8) with that prompt until the token budget is spent, majority vote;
- coat: ``CoATSearch`` with the retriever as associator (queried per node with the path of thoughts) and
  ``OptionScoringJudge`` over the candidates as value function, under ``max_tokens = budget``;
- all_facts (reference, not budget-matched): one greedy answer with every fact of the world in the prompt.

An answer is correct when the first candidate country it mentions is the gold one. Tokens are the engine's
usage (prompt + completion) plus, for option scoring, an estimate of prompt + option tokens per option.

Run:  python benchmarks/search/bench_coat.py --items 100 --budget 1200
Writes benchmarks/results/search_coat.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning.config import LLMSettings, SearchSettings
from reasoning.llm import LLM, GenerationOptions, Message, Usage, system, user
from reasoning.search import Association, CoATSearch, Evaluation, LexicalAssociator
from reasoning.search.evaluators import estimate_tokens, p_first
from reasoning.search.thoughts import clean_thought, unique_associations
from reasoning.search.tree import path_to

_SYL = ["ka", "lo", "mir", "zor", "van", "tel", "dro", "sen", "qua", "bel", "ris", "om", "ut", "fen", "gal", "pry",
        "nix", "tor", "eb", "sha", "vol", "dun", "kir", "aph", "lem", "ost", "ria", "wyn", "jas", "hul"]  # fmt: skip


@dataclass(frozen=True)
class Item:
    question: str
    gold: str
    candidates: tuple[str, ...]
    facts: dict[str, str]


def _names(rng: random.Random, n: int, used: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = "".join(rng.choice(_SYL) for _ in range(rng.choice((2, 3)))).capitalize()
        if name not in used and len(name) >= 4:
            used.add(name)
            out.append(name)
    return out


def make_items(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    items: list[Item] = []
    for _ in range(n):
        used: set[str] = set()
        people, cities, countries = _names(rng, 4, used), _names(rng, 4, used), _names(rng, 4, used)
        facts_list = [f"{p} lives in {c}." for p, c in zip(people, cities, strict=True)]
        facts_list += [f"{c} lies in {k}." for c, k in zip(cities, countries, strict=True)]
        rng.shuffle(facts_list)
        facts = {f"f{i}": text for i, text in enumerate(facts_list)}
        who = rng.randrange(4)
        candidates = list(countries)
        rng.shuffle(candidates)
        items.append(
            Item(f"In which country does {people[who]} live?", countries[who], tuple(candidates), facts)
        )
    return items


def first_candidate(text: str, candidates: Sequence[str]) -> str | None:
    """The candidate mentioned first in ``text`` (whole word, case-insensitive)."""
    best: tuple[int, str] | None = None
    for c in candidates:
        m = re.search(rf"(?i)\b{re.escape(c)}\b", text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), c)
    return best[1] if best else None


def chooser_messages(question: str, facts: Sequence[str]) -> list[Message]:
    listing = "\n".join(f"- {f}" for f in facts)
    return [system("Answer with the country name only."), user(f"Facts:\n{listing}\nQuestion: {question}")]


def choose(llm: Any, item: Item, facts: Sequence[str]) -> tuple[str, float, int]:
    """The candidate the model finds most likely given ``facts``, its softmax probability, tokens charged."""
    messages = chooser_messages(item.question, facts)
    scores = llm.score_options(messages, list(item.candidates), normalize=True)
    probs = [p_first([s, *scores[:i], *scores[i + 1 :]]) for i, s in enumerate(scores)]
    best = max(range(len(probs)), key=lambda i: probs[i])
    prompt = sum(estimate_tokens(m["content"]) for m in messages)
    tokens = len(item.candidates) * prompt + sum(estimate_tokens(c) for c in item.candidates)
    return item.candidates[best], probs[best], tokens


THOUGHT = "Copy the one fact from the list that helps answer the question. Reply with that fact only."


def thought_prompt(
    question: str, context: str, path: Sequence[str], associations: Sequence[Association], final: bool
) -> list[Message]:
    """The expansion prompt used for SmolLM2: copy the helpful fact (its mention of a city drives the hop)."""
    listing = "\n".join(f"- {a.text}" for a in associations)
    return [system(THOUGHT), user(f"Facts:\n{listing}\nQuestion: {question}")]


class ConfidenceJudge:
    """F_g = the chooser's confidence in its best candidate given the node's associations and thoughts."""

    def __init__(self, llm: Any, item: Item) -> None:
        self.llm, self.item, self.usage = llm, item, Usage()

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        _, conf, tokens = choose(self.llm, self.item, [a.text for a in associations] + list(path))
        self.usage = self.usage + Usage(tokens, 0)
        return Evaluation(conf, sum(a.score for a in associations) / max(1, len(associations)))


def run_single(llm: Any, item: Item, facts: Sequence[str]) -> tuple[str | None, int]:
    got, _, tokens = choose(llm, item, facts)
    return got, tokens


def run_best_of_n(
    llm: LLM, item: Item, retrieved: Sequence[Association], budget: int, seed: int
) -> tuple[str | None, int, int]:
    """Sample thoughts with the search's own prompt until the budget is spent; answer from the most confident."""
    tokens, n, best = 0, 0, (-1.0, None)
    messages = thought_prompt(item.question, "", [], retrieved, False)
    facts = [a.text for a in retrieved]
    while tokens < budget:
        c = llm.complete(
            messages, GenerationOptions(max_tokens=24, temperature=0.8 if n else 0.0, seed=seed * 1000 + n)
        )
        n += 1
        got, conf, spent = choose(llm, item, [*facts, clean_thought(c.text)])
        tokens += c.usage.total_tokens + spent
        if conf > best[0]:
            best = (conf, got)
    return best[1], tokens, n


def run_coat(llm: Any, item: Item, budget: int, seed: int) -> tuple[str | None, int, dict[str, Any]]:
    assoc = LexicalAssociator(item.facts, k=2)
    settings = SearchSettings.model_validate(
        {"max_tokens": budget, "max_depth": 2, "branching": 2, "max_nodes": 6, "accept_value": 0.9, "beta": 0.0,
         "max_seconds": 600}
    )  # fmt: skip
    search = CoATSearch(llm, associator=assoc, evaluator=ConfidenceJudge(llm, item), settings=settings, seed=seed,
                        thought_max_tokens=24, prompt=thought_prompt)  # fmt: skip
    result = search.run(item.question)
    chain = path_to(result.tree, result.best_id)
    facts = [a.text for a in unique_associations([n.associations for n in chain])] + result.chain
    got, _, spent = choose(llm, item, facts)
    info = {"nodes": result.nodes, "stopped_by": result.stopped_by, "chain": result.chain}
    return got, result.tokens + spent, info


def build(engine: str) -> Any:
    if engine == "local":
        from cogarch.settings import Settings
        from reasoning.engines import build_llm

        return build_llm(LLMSettings(), cache_dir=Path(Settings.load().data_dir) / "models")
    if engine == "hf":  # the same bundled weights through plain transformers (before the local engine landed)
        sys.path.insert(0, str(Path(__file__).parent))
        from _hf_smollm2 import HFSmolLM2

        return HFSmolLM2()
    if engine == "scripted":  # pipeline check only: a model that copies the last fact's last word
        from reasoning.engines.scripted import ScriptedLLM

        def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
            facts = re.findall(r"- (.*)", messages[-1]["content"])
            return facts[0] if facts else "I do not know."

        return ScriptedLLM(fn, score=lambda m, o: 0.0)
    raise SystemExit(f"unknown engine {engine!r}: use local or scripted")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--budget", type=int, default=1200, help="token budget of best-of-n and of the search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--engine", default="local", help="local (the bundled SmolLM2) or scripted (pipeline check)"
    )
    ap.add_argument("--methods", default="single,all_facts,best_of_n,coat")
    ap.add_argument("--out", default="benchmarks/results/search_coat.json")
    args = ap.parse_args(argv)
    methods = args.methods.split(",")
    t0 = time.perf_counter()
    llm = build(args.engine)
    load_s = time.perf_counter() - t0
    items = make_items(args.items, args.seed)
    rows: list[dict[str, Any]] = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for i, item in enumerate(items):
        found = LexicalAssociator(item.facts, k=2)(item.question, [])
        retrieved = [a.text for a in found]
        row: dict[str, Any] = {"i": i, "question": item.question, "gold": item.gold}
        for method in methods:
            start = time.perf_counter()
            extra: dict[str, Any] = {}
            match method:
                case "single":
                    got, tokens = run_single(llm, item, retrieved)
                case "all_facts":
                    got, tokens = run_single(llm, item, list(item.facts.values()))
                case "best_of_n":
                    got, tokens, n = run_best_of_n(llm, item, found, args.budget, args.seed + i)
                    extra = {"n": n}
                case "coat":
                    got, tokens, extra = run_coat(llm, item, args.budget, args.seed + i)
                case _:
                    raise SystemExit(f"unknown method {method!r}")
            row[method] = {"answer": got, "correct": got == item.gold, "tokens": tokens,
                           "seconds": time.perf_counter() - start, **extra}  # fmt: skip
        rows.append(row)
        done = ", ".join(f"{m} {sum(r[m]['correct'] for r in rows)}/{len(rows)}" for m in methods)
        print(f"[{i + 1}/{len(items)}] {done}", file=sys.stderr, flush=True)
        summary = summarize(rows, methods)
        out.write_text(json.dumps({"config": vars(args), "load_seconds": load_s, "machine": machine(),
                                   "summary": summary, "items": rows}, indent=1))  # fmt: skip
    summary = summarize(rows, methods)
    print(f"\nBenchmark R: {len(rows)} two-hop items, budget {args.budget} tokens, engine {args.engine}")
    print(f"{'method':<10} {'accuracy':>9} {'tokens mean':>12} {'tokens median':>14} {'s/item':>7}")
    for m in methods:
        s = summary[m]
        print(
            f"{m:<10} {s['accuracy']:>9.3f} {s['tokens_mean']:>12.0f} {s['tokens_median']:>14.0f} {s['seconds_mean']:>7.1f}"
        )
    print(f"wrote {out}")


def summarize(rows: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in methods:
        vals = [r[m] for r in rows]
        out[m] = {
            "accuracy": sum(v["correct"] for v in vals) / len(vals),
            "tokens_mean": statistics.mean(v["tokens"] for v in vals),
            "tokens_median": statistics.median(v["tokens"] for v in vals),
            "seconds_mean": statistics.mean(v["seconds"] for v in vals),
            "answered": sum(v["answer"] is not None for v in vals) / len(vals),
        }
        if m == "coat":
            out[m]["stopped_by"] = dict(Counter(v["stopped_by"] for v in vals))
            out[m]["nodes_mean"] = statistics.mean(v["nodes"] for v in vals)
        if m == "best_of_n":
            out[m]["n_mean"] = statistics.mean(v["n"] for v in vals)
    return out


def machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


if __name__ == "__main__":
    main()
