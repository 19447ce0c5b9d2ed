"""Does the agent repeat its previous reply? Five short conversations on the bundled model, 15 follow-ups.

Each conversation runs in a fresh data directory (substrate off: this measures the prompt and decoding).
For each follow-up turn, the reply's similarity to the previous reply is difflib's ratio. A near-repeat
has a ratio above 0.8. Greedy decoding makes the run deterministic on one machine.

Run:
    .venv/bin/python benchmarks/agent/bench_repeats.py [--json]
"""

from __future__ import annotations

import argparse
import difflib
import json
import statistics
import tempfile

from cogarch.agent import Agent

CONVERSATIONS = [
    [
        "hello, my name is Ada and I like tea",
        "what is my name?",
        "what do I like to drink?",
        "any tips for brewing it?",
    ],
    [
        "my favourite colour is green",
        "what is my favourite colour?",
        "name a fruit of that colour",
        "and a vegetable?",
    ],
    [
        "I have a dog called Rex",
        "what is my dog called?",
        "what kind of pet do I have?",
        "suggest a toy for him",
    ],
    [
        "I'm learning to play the piano",
        "what instrument am I learning?",
        "how long should I practise each day?",
        "any famous composers to start with?",
    ],
    ["I live in Paris", "where do I live?", "what is the capital of France?", "recommend a museum there"],
]
NEAR = 0.8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    ratios: list[float] = []
    for i, conversation in enumerate(CONVERSATIONS, 1):
        with (
            tempfile.TemporaryDirectory() as data_dir,
            Agent.open(data_dir, substrate={"enabled": False}) as agent,
        ):
            previous = None
            for text in conversation:
                reply = agent.chat(text).text
                if previous is not None:
                    ratios.append(difflib.SequenceMatcher(None, previous, reply).ratio())
                previous = reply
        if not args.json:
            print(f"conversation {i}/{len(CONVERSATIONS)} done", flush=True)
    result = {
        "follow_ups": len(ratios),
        "near_repeats": sum(r > NEAR for r in ratios),
        "mean_similarity": round(statistics.mean(ratios), 3),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
