"""Benchmark R2, the answer step alone: which prompt the bundled model answers a multi-hop question from.

    .venv/bin/python benchmarks/search/answer_prompts.py [--dev 20] [--heldout 10] [--out FILE]

The memory multi-hop set of ``bench_memory_hops.py`` (dev worlds seed 0, held-out worlds seed 1), no memory and
no search: each question's own chain of told facts (``gold_facts``, in hop order), and the chain with one other
told fact (``gold_plus_1``, shuffled: ``given``; and after ``chain_facts`` links them from the question, as the
answer step does: ``chained``). One greedy answer of at most 24 tokens per prompt variant:

- ``v0``: the search's conversation, question first, ending "Reply with 'Answer: <answer>' now." (the answer
  step before session 11);
- ``v1``: the same system prompt, the facts first, then the question and that request;
- ``v2``: an answer system prompt; the question, the facts, the question again, "Answer in a few words.";
- ``v3``: the answer system prompt; the facts, then the question (``reasoning.search.thoughts.answer_messages``,
  the answer step since session 11).

Scored as benchmark R2 scores (the gold place named and no other of the world's; an answer that repeats a told
fact is no answer), raw and after ``spell_as`` (a name nearly copied from the facts written as they spell it:
a post-process of the same generation, so both columns come from one run). An answer that copied a fact word
for word is retried once with that fact in ``GenerationOptions.avoid`` (the column ``retry``; not adopted).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_memory_hops import correct, make_world, reference_facts

from reasoning.llm import GenerationOptions, Message, system, user
from reasoning.search import Association
from reasoning.search.coat import chain_facts
from reasoning.search.thoughts import (
    ANSWER_NOW,
    STEP_STOPS,
    THOUGHT_SYSTEM,
    answer_messages,
    clean_thought,
    is_echo,
    parse_answer,
    spell_as,
    thought_conversation,
)

SHORT = "Answer the question from the facts. Reply with 'Answer:' and the answer in a few words."


def _facts(fs: list[str]) -> str:
    return "Facts:\n" + "\n".join(f"- {f}" for f in fs)


def _as(fs: list[str]) -> list[Association]:
    return [Association(f, (), 1.0) for f in fs]


VARIANTS = {
    "v0": lambda q, fs: thought_conversation(q, "", _as(fs), [], ANSWER_NOW),
    "v1": lambda q, fs: [system(THOUGHT_SYSTEM), user(_facts(fs) + f"\nQuestion: {q}\n" + ANSWER_NOW)],
    "v2": lambda q, fs: [
        system(SHORT),
        user(f"Question: {q}\n{_facts(fs)}\nQuestion: {q}\nAnswer in a few words."),
    ],
    "v3": lambda q, fs: answer_messages(q, "", _as(fs)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--dev", type=int, default=20)
    ap.add_argument("--heldout", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/results/search_answer_prompts.json")
    args = ap.parse_args()

    from cogarch.composition import build_llm
    from cogarch.settings import Settings

    llm = build_llm(Settings.load())

    def answer(messages: list[Message], avoid: tuple[str, ...] = ()) -> str:
        options = GenerationOptions(max_tokens=24, temperature=0.0, stop=STEP_STOPS, avoid=avoid)
        said = clean_thought(llm.complete(messages, options).text)
        return parse_answer(said) or said

    rows = []
    for relations, seed, n in (("dev", 0, args.dev), ("heldout", 1, args.heldout)):
        rng = random.Random(seed)
        for i, world in enumerate([make_world(rng, relations) for _ in range(n)]):
            for q in world.questions:
                for cond, order in (
                    ("gold_facts", "given"),
                    ("gold_plus_1", "given"),
                    ("gold_plus_1", "chained"),
                ):
                    facts = reference_facts(cond, q, world, f"{i}-{q.hops}")
                    if order == "chained":
                        facts = [a.text for a in chain_facts(q.text, _as(facts), 3)]
                    for name, prompt in VARIANTS.items():
                        said = answer(prompt(q.text, facts))
                        spelled = spell_as(said, [q.text, *facts])
                        echo = is_echo(said, world.told)
                        retried = answer(prompt(q.text, facts), avoid=(said,)) if echo else said
                        rows.append({
                            "relations": relations, "i": i, "hops": q.hops, "cond": cond, "order": order,
                            "variant": name, "answer": said, "echo": echo,
                            "ok": not echo and correct(said, q.gold, world.places),
                            "ok_spelled": not is_echo(spelled, world.told) and correct(spelled, q.gold, world.places),
                            "ok_retry": not is_echo(retried, world.told) and correct(retried, q.gold, world.places),
                        })  # fmt: skip
            print(f"{relations} done", file=sys.stderr, flush=True)
    table: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in rows:
        t = table[(r["relations"], r["cond"], r["order"], r["variant"])]
        for j, key in enumerate(("ok", "ok_spelled", "ok_retry", "echo")):
            t[j] += int(r[key])
        t[4] += 1
    print("set, facts, order, prompt: answered / spelled / with retry / copied a fact, of n")
    for k, (ok, spelled, retry, echo, n) in sorted(table.items()):
        print(f"  {', '.join(k)}: {ok} / {spelled} / {retry} / {echo}, of {n}")
    Path(args.out).write_text(json.dumps({"config": vars(args), "rows": rows}, indent=0))


if __name__ == "__main__":
    main()
