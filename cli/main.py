"""The ``cogarch`` command. Heavy libraries (torch, chromadb, litellm) load inside the commands that need them,
so ``cogarch --help`` and the first prompt of ``cogarch chat`` stay fast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import common
from cli.common import console, handled, print_json

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no busy-waiting threads on shared cores
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    name="cogarch",
    help="LLM agents with a cognitive architecture: memory, associative search and a spiking substrate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show or create the settings.", no_args_is_help=True)
models_app = typer.Typer(help="Check the configured models.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(models_app, name="models")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: per-user data dir).")
]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"cogarch {version('cogarch')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    common.set_debug(debug)


@config_app.command("show")
def config_show(data_dir: DataDir = None, config: ConfigFile = None, json: Json = False) -> None:
    """Print the effective settings (secrets masked)."""
    with handled():
        settings = common.load_settings(data_dir, config)
        data = settings.masked()
        if json:
            print_json(data)
            return
        import tomllib  # noqa: F401 - only to show the format name below

        console.print(_as_toml(data), highlight=False)


@config_app.command("init")
def config_init(
    data_dir: DataDir = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config.toml with the defaults into the data directory."""
    with handled():
        from cogarch.errors import UsageError

        settings = common.load_settings(data_dir)
        path = settings.paths.config
        if path.exists() and not force:
            raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
        from cogarch.composition import prepare_data_dir

        prepare_data_dir(path.parent)  # 0700, or a ConfigError when it cannot be a directory
        data = {
            section: {
                k: (None if v == "**********" else v) for k, v in values.items()
            }  # secrets: never written
            if isinstance(values, dict)
            else values
            for section, values in settings.masked().items()
        }
        data.pop("data_dir", None)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold keys once edited
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("# cogarch settings; environment variables COGARCH_* override them\n" + _as_toml(data))
        os.chmod(path, 0o600)
        console.print(f"wrote {path}")


def _as_toml(data: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):  # a nested settings model (memory.recall, tools.mcp items): an inline table
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items() if x is not None) + " }"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    top = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict) and v is not None]
    lines = [*top]
    for section, values in data.items():
        if isinstance(values, dict):
            lines.append(f"\n[{section}]")
            for k, v in values.items():
                lines.append(f"{k} = {value(v)}" if v is not None else f"# {k} =")
    return "\n".join(lines) + "\n"


@models_app.command("check")
def models_check(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    json: Json = False,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Run a one-line live test of each.")] = True,
) -> None:
    """Report which LLM and embedder would be used, and test each with one call."""
    with handled():
        from cli.models import check_models

        settings = common.load_settings(data_dir, config)
        report = check_models(settings, live=live)
        if json:
            print_json(report)
        else:
            for part in ("llm", "embedder"):
                entry = report[part]
                status = "[green]ok[/]" if entry["ok"] else "[red]failed[/]"
                console.print(
                    f"{part:9} {entry['name']}  {status}  {entry.get('detail', '')}", highlight=False
                )
        failed = [report[p] for p in ("llm", "embedder") if not report[p]["ok"]]
        if failed:
            raise typer.Exit(code=max(int(e.get("error", {}).get("exit_code", 1)) for e in failed))


@app.command("graph")
def graph(
    out: Annotated[Path | None, typer.Option("--out", help="Write a PNG of the graph here.")] = None,
    json: Json = False,
) -> None:
    """Print the cognitive graph as Mermaid text (and render it to PNG with --out)."""
    with handled():
        from cogarch.cognitive_graph import build_graph

        drawable = build_graph().compile().get_graph()
        mermaid = drawable.draw_mermaid()
        if out is not None:
            _draw_png(drawable, out)
        if json:
            print_json(
                {"mermaid": mermaid, "nodes": sorted(drawable.nodes), "png": str(out) if out else None}
            )
        else:
            console.print(mermaid, highlight=False, markup=False)


def _draw_png(drawable: Any, out: Path) -> None:
    """Render the graph with matplotlib (offline: no Mermaid web service)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = [
        "__start__",
        "perceive",
        "encode",
        "recall",
        "respond",
        "tools",
        "deliberate",
        "act",
        "learn",
        "tick",
        "trigger",
        "decide",
        "__end__",
    ]
    pos = {
        "__start__": (1.5, 6),
        "perceive": (0, 5),
        "encode": (0, 4),
        "recall": (0, 3),
        "respond": (-1, 2),
        "tools": (-1.9, 2),
        "deliberate": (0, 2),
        "act": (1, 2),
        "learn": (0, 1),
        "tick": (3, 5),
        "trigger": (3, 4),
        "decide": (3, 3),
        "__end__": (1.5, 0),
    }
    fig, ax = plt.subplots(figsize=(7, 7))
    for edge in drawable.edges:
        (x1, y1), (x2, y2) = pos[edge.source], pos[edge.target]
        ax.annotate(
            "",
            xy=(x2, y2),
            xytext=(x1, y1),
            arrowprops={"arrowstyle": "->", "color": "grey", "linestyle": "--" if edge.conditional else "-"},
        )
    for name in order:
        x, y = pos[name]
        ax.text(
            x,
            y,
            name.strip("_"),
            ha="center",
            va="center",
            bbox={"boxstyle": "round", "facecolor": "#dde8f5" if name[0] != "_" else "#eeeeee"},
        )
    ax.set_xlim(-2.6, 4)
    ax.set_ylim(-0.5, 6.5)
    ax.axis("off")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _mount() -> None:
    """Attach the sub-commands (each module imports only typer/rich at top level, so this stays fast)."""
    from cli import (
        doctor_cmd,
        episode_cmd,
        mcp_cmd,
        memory_cmd,
        serve_cmd,
        substrate_cmd,
        textworld_cmd,
        think_cmd,
    )
    from cli.chat import chat

    app.command("chat")(chat)
    app.command("think")(think_cmd.think)
    app.command("serve")(serve_cmd.serve)
    app.command("mcp")(mcp_cmd.mcp)
    app.command("doctor")(doctor_cmd.doctor)
    app.add_typer(memory_cmd.app, name="memory")
    app.add_typer(episode_cmd.app, name="episode")
    app.add_typer(textworld_cmd.app, name="textworld")
    app.add_typer(substrate_cmd.app, name="substrate")
    bench_app = typer.Typer(help="Run the benchmarks (see BENCHMARKS.md).", no_args_is_help=True)
    bench_app.add_typer(substrate_cmd.bench_app, name="substrate")
    app.add_typer(bench_app, name="bench")


_mount()
