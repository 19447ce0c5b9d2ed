"""Benchmark R: CoAT search vs a single pass vs best-of-n sampling at the same token budget.

Task (generated, checkable): two-hop lookups over a small fact base per item. Each item is a world of 4
people, each living in a city, each city lying in a country ("Zorvan lives in Kelmoor.", "Kelmoor lies in
Ostria."); the question is "In which country does Zorvan live?", the gold answer is a country, and the 4
countries are the candidates. Names are made-up syllables, so the model cannot know them: the answer needs
both facts, and the question names only the person, so one retrieval with the question finds only the first.

Every method gets knowledge only from the same retriever, ``LexicalAssociator(facts, k=2)`` (BM25), and every
answer is chosen the same way: option scoring of the 4 candidates (one batched forward pass of the bundled
model) given the facts and thoughts the method has; the chooser's softmax probability is its confidence.

- single: the facts retrieved for the question, one choice;
- best_of_n: n thoughts sampled from the model (the first greedy, then temperature 0.8) with the expansion
  prompt of the search and the retrieved facts; each thought is added to the facts and scored by the chooser;
  the most confident answer wins; n grows while another round fits in the budget;
- coat: ``CoATSearch`` with the retriever as associator (AM(n) retrieved per node, with the node's path of
  thoughts as the query) and the chooser's confidence as the value function F_g (beta = 0); the answer is the
  chooser's choice at the best node; the search's token budget is the budget minus one round, so its total
  stays within the budget too;
- all_facts (reference, not budget-matched): every fact of the world in the prompt, one choice.

Tokens are counted with the model's own tokenizer, the same way for all methods: a generation costs its
prompt tokens (chat template included) + the tokens generated (the engine's usage); a scoring call costs its
prompt tokens once + each option's tokens + 1 end-of-turn token (the engine runs the prompt once and shares its
KV cache across the options). The scripted engine counts about 4 characters per token.

Run:  nice -n 10 python benchmarks/search/bench_coat.py --items 120 --budget 480
Writes benchmarks/results/search_coat.json after every item (a partial run is not lost) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning.config import LLMSettings, SearchSettings
from reasoning.llm import GenerationOptions, Message, Usage, system, user
from reasoning.search import Association, CoATSearch, Evaluation, LexicalAssociator
from reasoning.search.evaluators import estimate_tokens, p_first
from reasoning.search.thoughts import clean_thought

_SYL = ["ka", "lo", "mir", "zor", "van", "tel", "dro", "sen", "qua", "bel", "ris", "om", "ut", "fen", "gal", "pry",
        "nix", "tor", "eb", "sha", "vol", "dun", "kir", "aph", "lem", "ost", "ria", "wyn", "jas", "hul"]  # fmt: skip

TokenCount = Callable[[Sequence[Message]], int]  # prompt tokens of a chat (template included)
TextCount = Callable[[str], int]  # tokens of a bare text


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


@dataclass
class Bench:
    """The model and the token counters shared by all methods."""

    llm: Any
    chat_tokens: TokenCount
    text_tokens: TextCount
    thought_tokens: int

    def choose(self, item: Item, facts: Sequence[str]) -> tuple[str, float, int]:
        """The candidate the model finds most likely given ``facts``, its softmax probability, tokens charged."""
        listing = "\n".join(f"- {f}" for f in facts)
        messages = [
            system("Answer with the country name only."),
            user(f"Facts:\n{listing}\nQ: {item.question}"),
        ]
        scores = self.llm.score_options(messages, list(item.candidates), normalize=True)
        probs = [p_first([s, *scores[:i], *scores[i + 1 :]]) for i, s in enumerate(scores)]
        best = max(range(len(probs)), key=lambda i: probs[i])
        tokens = self.chat_tokens(messages) + sum(self.text_tokens(c) + 1 for c in item.candidates)
        return item.candidates[best], probs[best], tokens

    def think(self, messages: list[Message], *, temperature: float, seed: int) -> tuple[str, int]:
        c = self.llm.complete(
            messages, GenerationOptions(max_tokens=self.thought_tokens, temperature=temperature, seed=seed)
        )
        return clean_thought(c.text), c.usage.total_tokens


THOUGHT = "Copy the one fact from the list that helps answer the question. Reply with that fact only."


def thought_prompt(
    question: str, context: str, path: Sequence[str], associations: Sequence[Association], final: bool
) -> list[Message]:
    """The expansion prompt for SmolLM2: copy the helpful fact (a thought naming the city drives the next hop)."""
    listing = "\n".join(f"- {a.text}" for a in associations)
    return [system(THOUGHT), user(f"Facts:\n{listing}\nQ: {question}")]


class ConfidenceJudge:
    """F_g = the chooser's confidence in its best candidate given the node's associations and path.

    Remembers the choice per path, so the search's answer is the choice made at its best node (no extra call).
    """

    def __init__(self, bench: Bench, item: Item) -> None:
        self.bench, self.item, self.usage = bench, item, Usage()
        self.choices: dict[tuple[str, ...], str] = {}

    def __call__(
        self, question: str, path: Sequence[str], associations: Sequence[Association], answer: str | None
    ) -> Evaluation:
        got, conf, tokens = self.bench.choose(self.item, [a.text for a in associations] + list(path))
        self.usage = self.usage + Usage(tokens, 0)
        self.choices[tuple(path)] = got
        mean = sum(a.score for a in associations) / max(1, len(associations))
        return Evaluation(conf, mean, False, got)


def round_cost(bench: Bench, item: Item, retrieved: Sequence[Association]) -> int:
    """An upper bound of one thought + its scoring: what best-of-n needs free before sampling again, and the
    reserve the search keeps so that its last (unchecked) evaluation stays inside the budget."""
    gen = bench.chat_tokens(thought_prompt(item.question, "", [], retrieved, False)) + bench.thought_tokens
    facts = [a.text for a in retrieved] + ["x " * bench.thought_tokens]
    listing = "\n".join(f"- {f}" for f in facts)
    prompt = [system("Answer with the country name only."), user(f"Facts:\n{listing}\nQ: {item.question}")]
    return gen + bench.chat_tokens(prompt) + sum(bench.text_tokens(c) + 1 for c in item.candidates)


def run_best_of_n(
    bench: Bench, item: Item, retrieved: Sequence[Association], budget: int, seed: int
) -> tuple[str, int, dict[str, Any]]:
    tokens, n, best = 0, 0, (-1.0, item.candidates[0])
    messages = thought_prompt(item.question, "", [], retrieved, False)
    facts = [a.text for a in retrieved]
    reserve = round_cost(bench, item, retrieved)
    while n == 0 or tokens + reserve <= budget:
        thought, spent = bench.think(messages, temperature=0.8 if n else 0.0, seed=seed * 1000 + n)
        got, conf, cost = bench.choose(item, [*facts, thought])
        tokens += spent + cost
        n += 1
        if conf > best[0]:
            best = (conf, got)
    return best[1], tokens, {"n": n}


def run_coat(
    bench: Bench, item: Item, retrieved: Sequence[Association], budget: int, seed: int, args: Any
) -> tuple[str, int, dict[str, Any]]:
    assoc = LexicalAssociator(item.facts, k=2)
    judge = ConfidenceJudge(bench, item)
    settings = SearchSettings.model_validate(
        {"max_tokens": max(1, budget - round_cost(bench, item, retrieved)), "max_depth": args.depth,
         "branching": args.branching, "max_nodes": args.max_nodes, "accept_value": args.accept, "beta": 0.0,
         "max_seconds": 600}
    )  # fmt: skip
    search = CoATSearch(bench.llm, associator=assoc, evaluator=judge, settings=settings, seed=seed,
                        thought_max_tokens=bench.thought_tokens, temperature=0.8, prompt=thought_prompt)  # fmt: skip
    result = search.run(item.question)
    tokens = result.tokens
    got = judge.choices.get(tuple(result.chain))
    if got is None:  # nothing was expanded: choose from the root's associations
        got, _, cost = bench.choose(item, [a.text for a in result.tree.root.associations])
        tokens += cost
    info = {"nodes": result.nodes, "stopped_by": result.stopped_by, "chain": result.chain,
            "associations": [[a.text for a in group] for group in result.associations]}  # fmt: skip
    return got, tokens, info


def build(engine: str, thought_tokens: int) -> Bench:
    if engine == "local":
        from transformers import PreTrainedTokenizerFast

        from cogarch.settings import Settings
        from reasoning.engines import build_llm

        cache = Path(Settings.load().data_dir) / "models"
        llm = build_llm(LLMSettings(), cache_dir=cache)
        tok = PreTrainedTokenizerFast.from_pretrained(
            str(cache / "smollm2-135m-instruct"), local_files_only=True
        )

        def chat(messages: Sequence[Message]) -> int:
            text = tok.apply_chat_template(
                [dict(m) for m in messages], add_generation_prompt=True, tokenize=False
            )
            return len(tok(str(text), add_special_tokens=False)["input_ids"])

        def text(t: str) -> int:
            return len(tok(t, add_special_tokens=False)["input_ids"])

        return Bench(llm, chat, text, thought_tokens)
    if engine == "scripted":  # pipeline check only: a model that copies the first fact
        from reasoning.engines.scripted import ScriptedLLM

        def fn(messages: Sequence[Message], options: GenerationOptions) -> str:
            facts = re.findall(r"- (.*)", messages[-1]["content"])
            return facts[0] if facts else "I do not know."

        def count(messages: Sequence[Message]) -> int:
            return sum(estimate_tokens(m["content"]) + 4 for m in messages) + 3

        return Bench(ScriptedLLM(fn, score=lambda m, o: 0.0), count, estimate_tokens, thought_tokens)
    raise SystemExit(f"unknown engine {engine!r}: use local or scripted")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def paired_diff(a: Sequence[bool], b: Sequence[bool], z: float = 1.96) -> tuple[float, float, float]:
    """Mean of a - b over paired items and its 95% normal interval."""
    d = [int(x) - int(y) for x, y in zip(a, b, strict=True)]
    mean = statistics.mean(d)
    se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("inf")
    return mean, mean - z * se, mean + z * se


def summarize(rows: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in methods:
        vals = [r[m] for r in rows]
        k = sum(v["correct"] for v in vals)
        out[m] = {
            "accuracy": k / len(vals),
            "ci95": wilson(k, len(vals)),
            "tokens_mean": statistics.mean(v["tokens"] for v in vals),
            "tokens_max": max(v["tokens"] for v in vals),
            "seconds_mean": statistics.mean(v["seconds"] for v in vals),
            "cpu_seconds_mean": statistics.mean(v["cpu_seconds"] for v in vals),
        }
        if m == "coat":
            out[m]["stopped_by"] = dict(Counter(v["stopped_by"] for v in vals))
            out[m]["nodes_mean"] = statistics.mean(v["nodes"] for v in vals)
        if m == "best_of_n":
            out[m]["n_mean"] = statistics.mean(v["n"] for v in vals)
    if "coat" in methods:
        for m in methods:
            if m != "coat":
                out[f"coat_minus_{m}"] = paired_diff(
                    [r["coat"]["correct"] for r in rows], [r[m]["correct"] for r in rows]
                )
    return out


def merge(paths: Sequence[str], out: Path, methods: Sequence[str]) -> None:
    """Combine the JSONs of one run split over processes (same config, disjoint item ranges)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    rows = sorted({r["i"]: r for part in parts for r in part["items"]}.values(), key=lambda r: r["i"])
    summary = summarize(rows, methods)
    merged = {**parts[0], "summary": summary, "items": rows, "merged_from": list(paths),
              "wall_seconds": [p["wall_seconds"] for p in parts],
              "loadavg_1min": [p["loadavg_1min"] for p in parts]}  # fmt: skip
    out.write_text(json.dumps(merged, indent=1))
    print(f"{len(rows)} items")
    for m in methods:
        s = summary[m]
        lo, hi = s["ci95"]
        print(f"{m:<10} {s['accuracy']:.3f} ({lo:.2f}-{hi:.2f}) tokens mean {s['tokens_mean']:.0f} "
              f"max {s['tokens_max']} s/item {s['seconds_mean']:.1f} cpu/item {s['cpu_seconds_mean']:.1f}")  # fmt: skip
    for key, val in summary.items():
        if key.startswith("coat_minus_"):
            print(f"{key}: {val[0]:+.3f} (95% {val[1]:+.3f} .. {val[2]:+.3f})")


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--items", type=int, default=120)
    ap.add_argument("--budget", type=int, default=480, help="token budget of best-of-n and of the search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--engine", default="local", help="local (the bundled SmolLM2) or scripted (pipeline check)"
    )
    ap.add_argument("--methods", default="single,all_facts,best_of_n,coat")
    ap.add_argument("--thought-tokens", type=int, default=12, help="generation cap of one thought")
    ap.add_argument("--branching", type=int, default=2)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--max-nodes", type=int, default=6)
    ap.add_argument("--accept", type=float, default=0.9, help="judge confidence that ends the search")
    ap.add_argument("--start", type=int, default=0, help="first item index (to split a run over processes)")
    ap.add_argument("--merge", nargs="+", help="result JSONs of one split run: combine them into --out")
    ap.add_argument("--out", default="benchmarks/results/search_coat.json")
    args = ap.parse_args(argv)
    methods = args.methods.split(",")
    if args.merge:
        merge(args.merge, Path(args.out), methods)
        return
    t0 = time.perf_counter()
    bench = build(args.engine, args.thought_tokens)
    load_s = time.perf_counter() - t0
    items = make_items(args.items, args.seed)
    rows: list[dict[str, Any]] = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    loads: list[float] = []
    started = time.perf_counter()
    for i, item in enumerate(items):
        if i < args.start:
            continue
        found = LexicalAssociator(item.facts, k=2)(item.question, [])
        retrieved = [a.text for a in found]
        row: dict[str, Any] = {"i": i, "question": item.question, "gold": item.gold, "retrieved": retrieved}
        for method in methods:
            start, cpu = time.perf_counter(), time.process_time()
            extra: dict[str, Any] = {}
            match method:
                case "single":
                    got, _, tokens = bench.choose(item, retrieved)
                case "all_facts":
                    got, _, tokens = bench.choose(item, list(item.facts.values()))
                case "best_of_n":
                    got, tokens, extra = run_best_of_n(bench, item, found, args.budget, args.seed + i)
                case "coat":
                    got, tokens, extra = run_coat(bench, item, found, args.budget, args.seed + i, args)
                case _:
                    raise SystemExit(f"unknown method {method!r}")
            row[method] = {"answer": got, "correct": got == item.gold, "tokens": tokens,
                           "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                           **extra}  # fmt: skip
        rows.append(row)
        loads.append(os.getloadavg()[0])
        done = ", ".join(f"{m} {sum(r[m]['correct'] for r in rows)}/{len(rows)}" for m in methods)
        print(
            f"[{i + 1}/{len(items)}] {done} ({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        summary = summarize(rows, methods)
        out.write_text(json.dumps({"config": vars(args), "load_seconds": load_s, "machine": machine(),
                                   "wall_seconds": time.perf_counter() - started,
                                   "loadavg_1min": {"median": statistics.median(loads), "max": max(loads)},
                                   "summary": summary, "items": rows}, indent=1))  # fmt: skip
    summary = summarize(rows, methods)
    print(f"\nBenchmark R: {len(rows)} two-hop items, budget {args.budget} tokens, engine {args.engine}")
    print(
        f"{'method':<10} {'accuracy':>9} {'95% CI':>14} {'tokens mean':>12} {'tokens max':>11} {'s/item':>7}"
    )
    for m in methods:
        s = summary[m]
        lo, hi = s["ci95"]
        print(f"{m:<10} {s['accuracy']:>9.3f} {f'{lo:.2f}-{hi:.2f}':>14} {s['tokens_mean']:>12.0f} "
              f"{s['tokens_max']:>11} {s['seconds_mean']:>7.1f}")  # fmt: skip
    for key, val in summary.items():
        if key.startswith("coat_minus_"):
            print(f"{key}: {val[0]:+.3f} (95% {val[1]:+.3f} .. {val[2]:+.3f})")
    print(f"load average (1 min) median {statistics.median(loads):.1f}; wrote {out}")


if __name__ == "__main__":
    main()
