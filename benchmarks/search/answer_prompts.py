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
  the answer step since session 11);
- ``v4``: v3 after one worked example (facts of a 2-hop chain of another relation, its question, "Answer: Lima").

``--general``: the variants on :data:`GENERAL` instead, hand-written questions of other shapes (who, when, what,
how old; one hop and two) over two facts each, scored by the words that answer them: a prompt that only suits
the multi-hop set's "where does A's r live" shape shows here. (Session 12: v4 answered the multi-hop set's chains
39 of 40 dev and 20 of 20 held-out against v3's 34 and 14, but GENERAL 10 of 16 against v3's 15: it answers
with the last fact's last word, "Who is Ruth's teacher?" -> "Leeds". v3 stays.)

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

from reasoning.llm import GenerationOptions, Message, assistant, system, user
from reasoning.search import Association
from reasoning.search.coat import chain_facts
from reasoning.search.thoughts import (
    ANSWER_NOW,
    ANSWER_SYSTEM,
    STEP_STOPS,
    THOUGHT_SYSTEM,
    answer_messages,
    clean_thought,
    is_echo,
    parse_answer,
    spell_as,
    thought_conversation,
)


def _facts(fs: list[str]) -> str:
    return "Facts:\n" + "\n".join(f"- {f}" for f in fs)


def _as(fs: list[str]) -> list[Association]:
    return [Association(f, (), 1.0) for f in fs]


VARIANTS = {
    "v0": lambda q, fs: thought_conversation(q, "", _as(fs), [], ANSWER_NOW),
    "v1": lambda q, fs: [system(THOUGHT_SYSTEM), user(_facts(fs) + f"\nQuestion: {q}\n" + ANSWER_NOW)],
    "v2": lambda q, fs: [
        system(ANSWER_SYSTEM),
        user(f"Question: {q}\n{_facts(fs)}\nQuestion: {q}\nAnswer in a few words."),
    ],
    "v3": lambda q, fs: answer_messages(q, "", _as(fs)),
    "v4": lambda q, fs: [
        system(ANSWER_SYSTEM),
        user(_facts(["Tom's aunt is Rosa.", "Rosa works in Lima."]) + "\nWhere does Tom's aunt work?"),
        assistant("Answer: Lima"),
        *answer_messages(q, "", _as(fs))[1:],
    ],
}


GENERAL = [
    ("What should Sam bring to Mia's first lesson?", ["Mia is learning the violin.", "Sam is Mia's uncle."], ["violin"]),
    ("When did Ben start pottery?", ["Ben started a pottery class last March.", "Ben's wife is Kim."], ["march"]),
    ("Who is Ruth's teacher?", ["Ruth's teacher is Mr Patel.", "Mr Patel lives in Leeds."], ["patel"]),
    ("What does my sister do for a living?", ["My sister Ana lives in Porto.", "Ana is a nurse."], ["nurs"]),
    ("Where does my sister live?", ["My sister Ana lives in Porto."], ["porto"]),
    ("What is the name of Leo's dog?", ["Leo adopted a dog last year.", "The dog is called Biscuit."], ["biscuit"]),
    ("Which instrument does Noor's brother play?", ["Noor's brother is Sami.", "Sami plays the cello."], ["cello"]),
    ("What language does Emma's husband speak?", ["Emma is married to Jonas.", "Jonas speaks Swedish."], ["swedish"]),
    ("How old is Priya's daughter?", ["Priya's daughter is Maya.", "Maya is seven years old."], ["seven", "7"]),
    ("What is Carlos allergic to?", ["Carlos is allergic to peanuts.", "Carlos works at a bank."], ["peanut"]),
    ("Who did Lina go hiking with?", ["Lina went hiking with her cousin Omar.", "Omar lives in Denver."], ["omar"]),
    ("What colour is Hana's car?", ["Hana bought a red car.", "Hana lives in Kyoto."], ["red"]),
    ("Which city was Tariq's grandmother born in?", ["Tariq's grandmother is Leila.", "Leila was born in Cairo."],
     ["cairo"]),
    ("What sport does the husband of Zoe play?", ["Zoe's husband is Mark.", "Mark plays rugby on Sundays."], ["rugby"]),
    ("When is Ali's birthday?", ["Ali was born on 3 June.", "Ali likes cake."], ["june"]),
    ("What does Irene's son study?", ["Irene's son is Paul.", "Paul studies chemistry in Lyon."], ["chemistry"]),
]  # fmt: skip
"""(question, its facts, words of which one must be in a right answer)."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--dev", type=int, default=20)
    ap.add_argument("--heldout", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/results/search_answer_prompts.json")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="prompt variants to run (comma-separated)")
    ap.add_argument("--conds", default="gold_facts:given,gold_plus_1:given,gold_plus_1:chained",
                    help="fact conditions (cond:order, comma-separated)")  # fmt: skip
    ap.add_argument("--general", action="store_true", help="score the variants on GENERAL instead")
    args = ap.parse_args()

    from cogarch.composition import build_llm
    from cogarch.settings import Settings

    llm = build_llm(Settings.load())

    def answer(messages: list[Message], avoid: tuple[str, ...] = ()) -> str:
        options = GenerationOptions(max_tokens=24, temperature=0.0, stop=STEP_STOPS, avoid=avoid)
        said = clean_thought(llm.complete(messages, options).text)
        return parse_answer(said) or said

    if args.general:
        scores = dict.fromkeys(args.variants.split(","), 0)
        for q, fs, words in GENERAL:
            for name in scores:
                said = answer(VARIANTS[name](q, fs))
                right = any(w in said.lower() for w in words)
                scores[name] += right
                print(f"{name} {'ok ' if right else 'bad'} {q} -> {said}")
        print(", ".join(f"{name}: {n} of {len(GENERAL)}" for name, n in scores.items()))
        return
    rows = []
    for relations, seed, n in (("dev", 0, args.dev), ("heldout", 1, args.heldout)):
        rng = random.Random(seed)
        for i, world in enumerate([make_world(rng, relations) for _ in range(n)]):
            for q in world.questions:
                for cond, order in (c.split(":") for c in args.conds.split(",")):
                    facts = reference_facts(cond, q, world, f"{i}-{q.hops}")
                    if order == "chained":
                        facts = [a.text for a in chain_facts(q.text, _as(facts), 3)]
                    for name in args.variants.split(","):
                        prompt = VARIANTS[name]
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
            print(f"{relations} {i + 1}/{n}", file=sys.stderr, flush=True)
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
