"""``cogarch episode run SCRIPT.yaml``: run an episode script with a live view, a summary table over runs,
results as JSON and a JSONL trace per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.common import console, handled, load_settings, print_json

app = typer.Typer(help="Run episode scripts (TextWorld games, scripted conversations).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Run episode scripts (TextWorld games, scripted conversations)."""


def agent_factory(
    settings: Any, *, direct: bool, use_llm: bool = True, overrides: dict[str, Any] | None = None
) -> Any:
    """``(policy, run) -> agent``: the full ``cogarch.Agent`` (default), or ``PolicyAgent`` with ``direct``.

    The LLM is built once and shared by the runs (loading the bundled model is the slow part).
    """
    from cogarch.episodes.agent_adapter import PolicyAgent

    if overrides:
        settings = settings.with_overrides(**overrides)
    shared: dict[str, Any] = {}

    def llm() -> Any:
        if not use_llm:
            return None
        if "llm" not in shared:
            from reasoning.engines import build_llm

            shared["llm"] = build_llm(settings.llm, cache_dir=settings.paths.models)
        return shared["llm"]

    def make(policy: Any, run: int) -> Any:
        if direct and policy is not None:
            return PolicyAgent(policy, llm=llm())
        from cogarch.agent import Agent

        return Agent(settings, llm=llm() if use_llm else None, policy=policy)

    return make


def summary_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in ("run", "seed", "score", "max", "norm", "steps", "won", "tokens", "s/step", "wm P/R"):
        table.add_column(col, justify="right")
    for r in rows:
        wm = f"{r['wm_precision']:.2f}/{r['wm_recall']:.2f}" if r.get("wm_precision") is not None else "-"
        table.add_row(
            str(r["run"]),
            str(r["seed"]),
            f"{r['score']:g}",
            f"{r['max_score'] or 0:g}",
            f"{r['normalized_score']:.2f}",
            str(r["steps"]),
            "yes" if r["won"] else "no",
            str(r["tokens"]),
            f"{r['time_per_step_s']:.3f}",
            wm,
        )
    return table


@app.command("run")
def run_cmd(
    script: Path = typer.Argument(..., help="The YAML episode script."),
    out: Path = typer.Option(
        Path("episode-results"), "--out", "-o", help="Folder for traces and results.json."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="The agent's data directory."),
    direct: bool = typer.Option(False, "--direct", help="Drive the policy without the full cognitive cycle."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Heuristics only (no model)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live view."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
) -> None:
    """Run every run of SCRIPT; exit 1 when an expectation fails."""
    with handled():
        from cogarch.episodes.script import load_script
        from cogarch.episodes.session import run_script

        spec = load_script(script)
        settings = load_settings(data_dir)
        factory = agent_factory(settings, direct=direct, use_llm=not no_llm, overrides=spec.agent)

        def live(run: int, rec: Any) -> None:
            if quiet or json_out:
                return
            cmd = rec.command if rec.command is not None else "(start)"
            console.print(
                f"[dim]run {run}[/] step {rec.step:>3}  [cyan]{rec.room or '?':<14}[/] "
                f"{cmd[:48]:<48} score {rec.score:g}",
                highlight=False,
            )

        result = run_script(
            spec,
            out,
            agent_factory=factory,
            cache_dir=Path(settings.data_dir) / "cache" / "games",
            on_step=live,
        )
        data = result.as_dict()
        if json_out:
            print_json(data)
        else:
            console.print(summary_table(spec.name, data["runs"]))
            console.print(
                f"results: {out / 'results.json'}  mean normalised score: {data['mean_normalized_score']}"
            )
            for f in result.failures:
                console.print(f"[red]expectation failed:[/] {f}")
        if not result.passed:
            raise typer.Exit(code=1)


__all__ = ["agent_factory", "app", "summary_table"]
