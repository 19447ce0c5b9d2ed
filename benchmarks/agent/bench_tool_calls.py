"""How often does the bundled model make a valid tool call? 50 generated requests, five tools.

The requests are generated from a seed: for each request a tool is drawn, then one of its phrasings and the
values to put in it (numbers, cities, currencies, minutes, file words). The model sees all five tools
(``tool_choice="auto"``, the agent's default) through :class:`reasoning.prompted_tools.PromptedTools`
(constrained choice of the tool by option scoring, arguments by structured output against the tool's schema).

A call is **valid** when the model called the tool the request was made for and its arguments validate
against that tool's schema (the pydantic model the schema was made from). **exact** also needs every value the
request stated to be in the arguments (the number, city, currencies, minutes). Ablations, each removing one
mechanism: ``--unconstrained`` generates the arguments freely (prefill + validation + re-asks) instead of by
constrained decoding; ``--choice json`` asks for the tool's name as JSON instead of scoring the tools;
``--no-calibration`` ranks the tools by their raw scores. Greedy decoding: deterministic on one machine.
Rows are printed as they come; ``--out FILE`` writes the JSON summary.

Run:
    .venv/bin/python benchmarks/agent/bench_tool_calls.py [--n 50] [--seed 0] [--choice score|json]
        [--unconstrained] [--no-calibration] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from reasoning.config import LLMSettings
from reasoning.engines import build_llm
from reasoning.llm import GenerationOptions, Message
from reasoning.prompted_tools import PromptedTools
from reasoning.tools import Tool, tool
from reasoning.wrappers import Wrapper

MODEL_CACHE = Path(tempfile.gettempdir()) / "cogarch-test-models"


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as 17 * 23.

    Args:
        expression: the arithmetic expression.
    """
    return expression


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Get the current weather in a city.

    Args:
        city: the city name.
        unit: celsius or fahrenheit.
    """
    return city


def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money from one currency to another.

    Args:
        amount: how much money.
        from_currency: the currency code to convert from, like USD.
        to_currency: the currency code to convert to, like EUR.
    """
    return str(amount)


def set_reminder(text: str, minutes: int) -> str:
    """Set a reminder that goes off in a number of minutes.

    Args:
        text: what to remind about.
        minutes: in how many minutes.
    """
    return text


def search_files(query: str) -> str:
    """Search the user's files for words.

    Args:
        query: the words to look for.
    """
    return query


TOOLS: list[Tool] = [tool(f) for f in (calculator, get_weather, convert_currency, set_reminder, search_files)]

CITIES = ["Paris", "Tokyo", "Berlin", "Lima", "Oslo", "Cairo", "Toronto", "Madrid", "Seoul", "Nairobi"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD"]
CHORES = ["call mom", "water the plants", "take the pizza out", "join the meeting", "stretch", "feed the cat"]
FILE_WORDS = ["tax return 2024", "holiday photos", "lease contract", "meeting notes", "invoice March"]


@dataclass(frozen=True)
class Request:
    text: str
    tool: str
    values: tuple[str, ...]  # what the request stated, each must appear in the arguments for "exact"


def generate(n: int, seed: int) -> list[Request]:
    """``n`` requests, tools drawn uniformly, phrasings and values drawn from the seed."""
    rng = random.Random(seed)
    out: list[Request] = []
    for _ in range(n):
        kind = rng.choice([t.name for t in TOOLS])
        if kind == "calculator":
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            op, word = rng.choice([("*", "times"), ("+", "plus"), ("-", "minus")])
            phrasing = rng.choice(
                ["What is {a} {w} {b}?", "Calculate {a} {op} {b}.", "How much is {a} {op} {b}?"]
            )
            out.append(Request(phrasing.format(a=a, b=b, w=word, op=op), kind, (str(a), str(b))))
        elif kind == "get_weather":
            city = rng.choice(CITIES)
            phrasing = rng.choice(
                [
                    "What's the weather in {c}?",
                    "Is it raining in {c} right now?",
                    "How warm is it in {c} today?",
                ]
            )
            out.append(Request(phrasing.format(c=city), kind, (city,)))
        elif kind == "convert_currency":
            amount = rng.choice([5, 20, 75, 120, 300, 1000])
            src, dst = rng.sample(CURRENCIES, 2)
            phrasing = rng.choice(
                [
                    "Convert {a} {s} to {d}.",
                    "How much is {a} {s} in {d}?",
                    "I have {a} {s}; what is that in {d}?",
                ]
            )
            out.append(Request(phrasing.format(a=amount, s=src, d=dst), kind, (str(amount), src, dst)))
        elif kind == "set_reminder":
            minutes = rng.choice([5, 10, 15, 30, 45, 90])
            chore = rng.choice(CHORES)
            phrasing = rng.choice(
                [
                    "Remind me to {t} in {m} minutes.",
                    "Set a reminder in {m} minutes to {t}.",
                    "In {m} minutes, remind me to {t}.",
                ]
            )
            out.append(Request(phrasing.format(t=chore, m=minutes), kind, (str(minutes),)))
        else:
            words = rng.choice(FILE_WORDS)
            phrasing = rng.choice(
                ["Find my files about {w}.", "Search my documents for {w}.", "Where did I save the {w}?"]
            )
            out.append(Request(phrasing.format(w=words), kind, tuple(words.split()[:1])))
    return out


def judge(request: Request, name: str | None, arguments: str | None) -> tuple[bool, bool, str]:
    """(valid, exact, why) of one answer."""
    if name is None:
        return False, False, "answered in words"
    if name != request.tool:
        return False, False, f"wrong tool {name}"
    found = next(t for t in TOOLS if t.name == name)
    try:
        parsed = json.loads(arguments or "")
    except ValueError:
        return False, False, "arguments not JSON"
    assert found.arguments is not None
    try:
        found.arguments.model_validate(parsed)
    except ValidationError as exc:
        return False, False, f"invalid arguments: {exc.errors()[0]['msg']}"
    flat = json.dumps(parsed).casefold()
    exact = all(v.casefold() in flat for v in request.values)
    return True, exact, "" if exact else "values missing"


class _NoScore(Wrapper):
    """The engine without ``score_options``: the choice ablation (tool name asked as JSON)."""

    def __getattr__(self, attr: str) -> Any:
        raise AttributeError(attr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--choice", choices=["score", "json"], default="score")
    parser.add_argument("--unconstrained", action="store_true")
    parser.add_argument("--no-calibration", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    settings = LLMSettings(device="cpu", max_tokens=64)
    built = build_llm(settings, cache_dir=MODEL_CACHE)
    assert isinstance(built, PromptedTools)
    inner: Any = _NoScore(built.inner) if args.choice == "json" else built.inner
    llm: Any = PromptedTools(
        inner,
        retries=settings.structured_retries,
        constrained=not args.unconstrained,
        calibrate=not args.no_calibration,
    )
    options = GenerationOptions(tools=tuple(t.spec for t in TOOLS), max_tokens=64)
    rows = []
    for request in generate(args.n, args.seed):
        messages: list[Message] = [{"role": "user", "content": request.text}]
        started = time.perf_counter()
        completion = llm.complete(messages, options)
        seconds = time.perf_counter() - started
        call = completion.tool_calls[0] if completion.tool_calls else None
        valid, exact, why = judge(request, call.name if call else None, call.arguments if call else None)
        row = {
            "request": request.text,
            "tool": request.tool,
            "called": call.name if call else None,
            "arguments": call.arguments if call else completion.text,
            "valid": valid,
            "exact": exact,
            "why": why,
            "seconds": seconds,
        }
        rows.append(row)
        mark = "ok " if valid else "-- "
        print(
            f"{mark}{request.text[:44]:<44} -> {row['called']}({str(row['arguments'])[:60]}) {why}",
            flush=True,
        )
    n = len(rows)
    result = {
        "n": n,
        "seed": args.seed,
        "choice": args.choice,
        "constrained": not args.unconstrained,
        "calibration": not args.no_calibration,
        "valid": sum(r["valid"] for r in rows) / n,
        "exact": sum(r["exact"] for r in rows) / n,
        "right_tool": sum(r["called"] == r["tool"] for r in rows) / n,
        "per_tool_valid": {
            t.name: round(
                sum(r["valid"] for r in rows if r["tool"] == t.name)
                / max(1, sum(r["tool"] == t.name for r in rows)),
                2,
            )
            for t in TOOLS
        },
        "median_s": statistics.median(r["seconds"] for r in rows),
        "rows": rows,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(
        f"valid {result['valid']:.2f}  exact {result['exact']:.2f}  right tool {result['right_tool']:.2f}  "
        f"median {result['median_s']:.2f} s/request  per tool {result['per_tool_valid']}"
    )


if __name__ == "__main__":
    main()
