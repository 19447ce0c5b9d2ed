"""``cogarch textworld play GAME`` (watch the agent, or ``--human``) and ``cogarch textworld eval GAMES...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.common import console, handled, load_settings, print_json
from cli.episode_cmd import agent_factory

app = typer.Typer(help="Play and evaluate TextWorld games.", no_args_is_help=True)

ABLATION_HELP = "full | no-memory | full-history | rag | random"


def _check_ablation(ablation: str) -> Any:
    from cogarch.episodes.policy import ABLATIONS
    from reasoning.errors import InvalidInputError

    if ablation not in (*ABLATIONS, "random"):
        raise InvalidInputError(f"unknown ablation {ablation!r}", hint=ABLATION_HELP)
    return ablation


@app.command("play")
def play(
    game: Path = typer.Argument(..., help="A .z8/.ulx TextWorld game."),
    max_steps: int = typer.Option(150, "--max-steps", min=1),
    seed: int = typer.Option(0, "--seed"),
    trace: Path | None = typer.Option(None, "--trace", help="Write the JSONL trace here."),
    ablation: str = typer.Option("full", "--ablation", help=ABLATION_HELP),
    human: bool = typer.Option(False, "--human", help="You play; the agent's world model is shown."),
    direct: bool = typer.Option(False, "--direct", help="Drive the policy without the full cognitive cycle."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Heuristics only (no model)."),
    lookahead: bool = typer.Option(
        False,
        "--lookahead",
        help="LATS look-ahead on copies of the game among the policy's contenders (budgets from the "
        "settings' search section; seconds per step with the bundled model).",
    ),
    llm_triplets: bool = typer.Option(
        False,
        "--llm-triplets",
        help="Also extract world-model triplets with the LLM (AriGraph-style, one structured call per step; "
        "meant for capable hosted models).",
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir"),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON object (score, max_score, steps, ...)."
    ),
) -> None:
    """Run one episode of GAME and report its score."""
    with handled():
        from cogarch.episodes.policy import WorldModelPolicy
        from cogarch.episodes.session import make_policy, play_game

        _check_ablation(ablation)
        if human:
            _human(game, max_steps)
            return
        settings = load_settings(data_dir)
        policy = make_policy(ablation, seed, consult_llm=not no_llm)  # type: ignore[arg-type]
        agent = agent_factory(settings, direct=direct, use_llm=not no_llm)(policy, 0)
        if llm_triplets and getattr(agent, "llm", None) is not None and isinstance(policy, WorldModelPolicy):
            from cogarch.worldmodel.extraction import LLMExtractor

            policy.extractor = policy.world.extractor = LLMExtractor(agent.llm)

        def live(rec: Any) -> None:
            if not json_out:
                cmd = rec.command if rec.command is not None else "(start)"
                console.print(
                    f"step {rec.step:>3}  [cyan]{rec.room or '?':<14}[/] {cmd[:50]:<50} score {rec.score:g}",
                    highlight=False,
                )

        try:
            res = play_game(
                game,
                agent,
                policy,
                user=f"textworld-{seed}",
                max_steps=max_steps,
                trace_path=trace,
                on_step=live,
                lookahead=_lookahead_factory(agent, settings, seed) if lookahead else None,
            )
        finally:
            agent.close()
        data = {
            "game": str(game),
            "seed": seed,
            "ablation": ablation,
            "lookahead": lookahead,
            **res.as_dict(),
        }
        if json_out:
            print_json(data)
        else:
            console.print(
                f"score {res.score:g}/{res.max_score or 0:g} in {res.steps} steps, "
                f"{'won' if res.won else 'not won'}, {res.tokens} tokens"
            )


def _lookahead_factory(agent: Any, settings: Any, seed: int) -> Any:
    """``env -> EnvLookahead`` on the agent's LLM (None: reward-only look-ahead) and ``settings.search``."""
    from cogarch.episodes.lookahead import build_lookahead

    llm = getattr(agent, "llm", None)
    return lambda env: build_lookahead(env, llm, settings.search, seed=seed)


def _human(game: Path, max_steps: int) -> None:
    from cogarch.environments.textworld_env import TextWorldEnv
    from cogarch.episodes.policy import GameContext, WorldModelPolicy

    env = TextWorldEnv(game)
    policy = WorldModelPolicy("full")
    res = env.reset()
    step = 0
    try:
        while not res.done and step < max_steps:
            console.print(res.observation, highlight=False)
            ctx = GameContext(res.observation, res.admissible, res.info, step=step)
            hint = policy.choose(ctx)
            wm = policy.world
            console.print(
                f"[dim]room: {wm.room}; exits: {wm.graph.exits(wm.room)}; plan: "
                f"{policy.plan.render(2)}\nknown:\n{wm.graph.summary(15)}\nagent would: {hint}[/]",
                highlight=False,
            )
            command = typer.prompt(">", default=hint)
            res = env.step(command)
            policy.observe(ctx, command, res.observation, res.reward, res.done)
            step += 1
        console.print(res.observation, highlight=False)
        console.print(f"score {res.score:g}/{env.max_score or 0:g}")
    finally:
        env.close()


@app.command("eval")
def eval_cmd(
    games: list[Path] = typer.Argument(..., help="Game files."),
    runs: int = typer.Option(3, "--runs", min=1),
    ablation: str = typer.Option("full", "--ablation", help=ABLATION_HELP),
    max_steps: int = typer.Option(150, "--max-steps", min=1),
    out: Path | None = typer.Option(None, "--out", help="Folder for traces and results.json."),
    direct: bool = typer.Option(False, "--direct", help="Drive the policy without the full cognitive cycle."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Heuristics only (no model)."),
    data_dir: Path | None = typer.Option(None, "--data-dir"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Play each game RUNS times; report normalised score, steps, tokens, time per step and world-model
    precision/recall (against the game's true facts)."""
    with handled():
        import json

        from cogarch.environments.textworld_env import check_game_file
        from cogarch.episodes.session import make_policy, play_game

        _check_ablation(ablation)
        for g in games:
            check_game_file(g)
        settings = load_settings(data_dir)
        factory = agent_factory(settings, direct=direct, use_llm=not no_llm)
        rows: list[dict[str, Any]] = []
        for g in games:
            for i in range(runs):
                policy = make_policy(ablation, i, consult_llm=not no_llm)  # type: ignore[arg-type]
                agent = factory(policy, i)
                trace = out / f"{g.stem}-{ablation}-run{i}.jsonl" if out else None
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                try:
                    res = play_game(
                        g, agent, policy, user=f"eval-{g.stem}-{i}", max_steps=max_steps, trace_path=trace
                    )
                finally:
                    agent.close()
                rows.append({"game": g.stem, "run": i, "ablation": ablation, **res.as_dict()})
                if out:
                    (out / "results.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
        mean = sum(r["normalized_score"] for r in rows) / len(rows)
        if json_out:
            print_json({"ablation": ablation, "mean_normalized_score": round(mean, 4), "runs": rows})
            return
        table = Table(title=f"TextWorld eval ({ablation})")
        for col in ("game", "norm score", "steps", "won", "tokens", "s/step", "wm P/R"):
            table.add_column(col, justify="right")
        for name in dict.fromkeys(r["game"] for r in rows):
            rs = [r for r in rows if r["game"] == name]
            n = len(rs)
            p = [r["wm_precision"] for r in rs if r["wm_precision"] is not None]
            rc = [r["wm_recall"] for r in rs if r["wm_recall"] is not None]
            table.add_row(
                name,
                f"{sum(r['normalized_score'] for r in rs) / n:.2f}",
                f"{sum(r['steps'] for r in rs) / n:.0f}",
                f"{sum(r['won'] for r in rs)}/{n}",
                f"{sum(r['tokens'] for r in rs) / n:.0f}",
                f"{sum(r['time_per_step_s'] for r in rs) / n:.3f}",
                f"{sum(p) / len(p):.2f}/{sum(rc) / len(rc):.2f}" if p else "-",
            )
        console.print(table)
        console.print(f"mean normalised score: {mean:.3f}")


__all__ = ["app"]
