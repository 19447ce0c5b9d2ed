"""``cogarch think "question"``: run the CoAT search on the configured model, with one live progress line.

Associations (AM(n) per node): ``memory`` recalls from the data directory's memory of ``--user`` (seeded by each
node's path, :class:`cogarch.associator.MemoryAssociator`); ``generative`` asks the model to recall facts;
``none``. The default, ``auto``, is ``memory`` when the data directory holds memories of the user, else
``generative``. Ctrl-C stops the search and prints the best answer so far (a second Ctrl-C aborts).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from cli.common import console, handled, load_settings, print_json

EvaluatorChoice = Literal["auto", "judge", "options", "step"]
AssociatorChoice = Literal["auto", "memory", "generative", "none"]


def _label(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= n else text[: n - 1] + "…")


def _evaluator(choice: str, llm: Any, model: str) -> Any:
    from reasoning.errors import ConfigError
    from reasoning.llm import OptionScorer
    from reasoning.search import LLMJudge, OptionScoringJudge, StepJudge

    scores = isinstance(llm, OptionScorer)
    match choice:
        case "judge":
            return LLMJudge(llm)
        case "options" | "step":
            if not scores:
                raise ConfigError(f"{model} cannot score options", hint="use --evaluator judge")
            return OptionScoringJudge(llm) if choice == "options" else StepJudge(llm)
        case "auto":
            return StepJudge(llm) if scores else LLMJudge(llm)
    raise ConfigError(f"unknown evaluator {choice!r}", hint="use auto, step, options or judge")


@contextmanager
def _associator(choice: str, settings: Any, llm: Any, user: str) -> Iterator[tuple[str, Any]]:
    """(the associations used, the associator) for ``choice``; the memory stays open inside."""
    from reasoning.errors import ConfigError
    from reasoning.search import GenerativeAssociator

    if choice not in ("auto", "memory", "generative", "none"):
        raise ConfigError(f"unknown associations {choice!r}", hint="use auto, memory, generative or none")
    if choice == "none":
        yield choice, None
        return
    if choice == "generative":
        yield choice, GenerativeAssociator(llm, max_tokens=64)
        return
    from cogarch.associator import MemoryAssociator
    from cogarch.composition import build_embedder
    from memory import Memory

    directory = Path(settings.data_dir) / "memory"
    if not directory.is_dir():
        if choice == "memory":
            raise ConfigError(
                f"no memory in {settings.data_dir}",
                hint="chat first, or `cogarch memory ingest`, or --data-dir",
            )
        yield "generative", GenerativeAssociator(llm, max_tokens=64)
        return
    with Memory.open(directory, settings.memory, embedder=build_embedder(settings)) as memory:
        if choice == "auto" and not memory.episodes(namespace=user, limit=1):
            yield "generative", GenerativeAssociator(llm, max_tokens=64)
            return
        yield "memory", MemoryAssociator(memory, user, k=settings.search.associations)


def think(
    question: Annotated[str, typer.Argument(help="The question to think about.")],
    json: Annotated[
        bool,
        typer.Option("--json", help="Print the result (nodes, depth, tokens, chain) and the tree as JSON."),
    ] = False,
    max_nodes: Annotated[int | None, typer.Option("--max-nodes", help="Node budget.")] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", help="Maximum chain length.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Token budget.")] = None,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="Wall-time budget.")] = None,
    branching: Annotated[
        int | None, typer.Option("--branching", help="Candidate thoughts per expansion.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    evaluator: Annotated[
        str,
        typer.Option(
            "--evaluator",
            help="auto (step on a model that scores options, else judge), step (P(yes) on the node's prompt), "
            "options, judge (an LLM verdict).",
        ),
    ] = "auto",
    associations: Annotated[
        str,
        typer.Option(
            "--associations",
            help="memory (recall from the data directory per node), generative (the model recalls facts), "
            "none; auto: memory when the user has memories.",
        ),
    ] = "auto",
    user: Annotated[str | None, typer.Option("--user", "-u", help="Whose memory to recall from.")] = None,
    show_tree: Annotated[bool, typer.Option("--tree/--no-tree", help="Print the final tree.")] = True,
    dot: Annotated[
        Path | None, typer.Option("--dot", help="Also write the tree as Graphviz DOT here.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Override the configured model.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")] = None,
) -> None:
    """Think about QUESTION with Chain-of-Associated-Thoughts tree search; print the chain and the answer.

    Ctrl-C stops the search and answers with the best so far."""
    with handled():
        from cli.thinking import ThinkingLine, ctrl_c_stops
        from cogarch.composition import build_llm
        from reasoning.search import CoATSearch, SearchEvent

        overrides: dict[str, Any] = {}
        if model:
            overrides["llm"] = {"model": model}
        settings = load_settings(data_dir, config, **overrides)
        budget = {
            "max_nodes": max_nodes,
            "max_depth": max_depth,
            "max_tokens": max_tokens,
            "max_seconds": max_seconds,
            "branching": branching,
        }
        search_settings = type(settings.search).model_validate(
            {**settings.search.model_dump(), **{k: v for k, v in budget.items() if v is not None}}
        )
        llm = build_llm(settings)
        judge = _evaluator(evaluator, llm, settings.llm.model)
        who = user or settings.user
        stop = threading.Event()
        line = ThinkingLine(console) if not json else None

        def on_event(event: SearchEvent) -> None:
            if line is not None:
                line.update(event.to_dict())

        def stopping() -> None:
            stop.set()
            if line is not None:
                line.mark_stopping()

        with _associator(associations, settings, llm, who) as (used, assoc):
            search = CoATSearch(
                llm, associator=assoc, evaluator=judge, settings=search_settings, seed=seed, on_event=on_event
            )
            with ctrl_c_stops(stopping):
                if line is not None:
                    with line:
                        result = search.run(question, stop=stop.is_set)
                else:
                    result = search.run(question, stop=stop.is_set)
        if dot is not None:
            dot.write_text(result.to_dot() + "\n", encoding="utf-8")
        if json:
            print_json({**result.to_dict(), "associations_from": used})
            return
        if show_tree:
            console.print(result.render_text(with_answer=False), highlight=False, markup=False)
        console.print("[bold]chain:[/]")
        for i, (thought, found) in enumerate(zip(result.chain, result.associations, strict=True), 1):
            console.print(f"  {i}. {_label(thought, n=200)}", highlight=False)
            for a in found:
                console.print(f"     [dim]~ {_label(a.text, n=150)}[/]", highlight=False)
        if result.answered_from:  # the facts the final answer was generated from (the winning path's, ranked)
            console.print("[bold]answered from:[/]")
            for a in result.answered_from:
                console.print(f"  [dim]~ {_label(a.text, n=150)}[/]", highlight=False)
        console.print(
            f"[bold green]answer:[/] {_label(result.answer, n=500)}  "
            f"[dim](value {result.value:.2f}, {result.nodes} nodes, depth {result.depth}, {result.tokens} tokens, "
            f"{result.seconds:.1f} s, associations from {used}, stopped by {result.stopped_by})[/]",
            highlight=False,
        )


app = typer.Typer(help="Deliberate with CoAT tree search.", no_args_is_help=True)
app.command("think")(think)

__all__ = ["app", "think"]
