"""``cogarch think "question"``: run the CoAT search on the configured model and show the tree as it grows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from cli.common import console, handled, load_settings, print_json

EvaluatorChoice = Literal["auto", "judge", "options"]
AssociatorChoice = Literal["generative", "none"]


def _label(text: str, value: float | None = None, n: int = 70) -> str:
    from rich.markup import escape

    text = " ".join(text.split())
    text = text if len(text) <= n else text[: n - 1] + "…"
    return escape(text) + (f" [dim](V={value:.2f})[/]" if value is not None else "")


def _evaluator(choice: str, llm: Any, model: str) -> Any:
    from reasoning.errors import ConfigError
    from reasoning.llm import OptionScorer
    from reasoning.search import LLMJudge, OptionScoringJudge

    match choice:
        case "judge":
            return LLMJudge(llm)
        case "options":
            if not isinstance(llm, OptionScorer):
                raise ConfigError(f"{model} cannot score options", hint="use --evaluator judge")
            return OptionScoringJudge(llm)
        case "auto":
            local = model.startswith("local/") and isinstance(llm, OptionScorer)
            return OptionScoringJudge(llm) if local else LLMJudge(llm)
    raise ConfigError(f"unknown evaluator {choice!r}", hint="use auto, judge or options")


def think(
    question: Annotated[str, typer.Argument(help="The question to think about.")],
    json: Annotated[
        bool, typer.Option("--json", help="Print the result and the whole tree as JSON.")
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
        str, typer.Option("--evaluator", help="auto (option scoring on the local model), judge, options.")
    ] = "auto",
    associations: Annotated[
        str, typer.Option("--associations", help="generative (the model recalls facts per node) or none.")
    ] = "generative",
    show_tree: Annotated[bool, typer.Option("--tree/--no-tree", help="Print the final tree.")] = True,
    dot: Annotated[
        Path | None, typer.Option("--dot", help="Also write the tree as Graphviz DOT here.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Override the configured model.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")] = None,
) -> None:
    """Think about QUESTION with Chain-of-Associated-Thoughts tree search; print the chain and the answer."""
    with handled():
        from rich.live import Live
        from rich.tree import Tree as RichTree

        from cogarch.composition import build_llm
        from reasoning.errors import ConfigError
        from reasoning.search import CoATSearch, GenerativeAssociator, SearchEvent

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
        search_settings = settings.search.model_copy(
            update={k: v for k, v in budget.items() if v is not None}
        )
        search_settings = type(settings.search).model_validate(search_settings.model_dump())
        if associations not in ("generative", "none"):
            raise ConfigError(f"unknown associations {associations!r}", hint="use generative or none")
        llm = build_llm(settings)
        assoc = GenerativeAssociator(llm, max_tokens=64) if associations == "generative" else None
        judge = _evaluator(evaluator, llm, settings.llm.model)

        tree = RichTree(_label(f"Q: {question}"))
        branches: dict[int, RichTree] = {0: tree}
        status = {"line": "[dim]thinking…[/]"}

        def view() -> Any:
            from rich.console import Group

            return Group(tree, status["line"])

        live = Live(view(), console=console, transient=False, refresh_per_second=8) if not json else None

        def on_event(event: SearchEvent) -> None:
            if event.kind == "node" and event.node_id is not None:
                parent = branches.get(event.parent_id if event.parent_id is not None else 0, tree)
                branches[event.node_id] = parent.add(_label(event.text))
            status["line"] = (
                f"[dim]thinking… {event.nodes} nodes, best value {event.best_value:.2f}, "
                f"{event.tokens} tokens, {event.seconds:.1f} s[/]"
            )
            if live is not None:
                live.update(view())

        search = CoATSearch(
            llm, associator=assoc, evaluator=judge, settings=search_settings, seed=seed, on_event=on_event
        )
        if live is not None:
            with live:
                result = search.run(question)
        else:
            result = search.run(question)
        if dot is not None:
            dot.write_text(result.to_dot() + "\n", encoding="utf-8")
        if json:
            print_json(result.to_dict())
            return
        if show_tree:
            console.print(result.render_text(with_answer=False), highlight=False, markup=False)
        console.print("[bold]chain:[/]")
        for i, (thought, found) in enumerate(zip(result.chain, result.associations, strict=True), 1):
            console.print(f"  {i}. {_label(thought, n=200)}")
            for a in found:
                console.print(f"     [dim]~ {_label(a.text, n=150)}[/]")
        console.print(
            f"[bold green]answer:[/] {_label(result.answer, n=500)}  "
            f"[dim](value {result.value:.2f}, {result.nodes} nodes, {result.tokens} tokens, "
            f"{result.seconds:.1f} s, stopped by {result.stopped_by})[/]"
        )


app = typer.Typer(help="Deliberate with CoAT tree search.", no_args_is_help=True)
app.command("think")(think)

__all__ = ["app", "think"]
