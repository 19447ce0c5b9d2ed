"""``cogarch serve``: run the OpenAI-compatible agent server on uvicorn (see ``cogarch/serve/README.md``).

The lead mounts :func:`serve` as a command: ``app.command("serve")(serve)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, handled, load_settings, print_json


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: serve.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: serve.port, 8000).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (>1 needs --memory-mode shared, a Chroma server, Postgres)."),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The agent's data directory.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML config file.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="LLM (litellm model string, local/..., scripted/echo).")
    ] = None,
    memory_mode: Annotated[str | None, typer.Option(help="'exclusive' (default) or 'shared'.")] = None,
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key", help="Print a new API key and the hash to put in serve.api_keys, then exit."
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="With --new-key: print JSON.")] = False,
) -> None:
    """Serve the agent over an OpenAI-compatible HTTP API (chat completions, memory, proactive messages)."""
    from cogarch.serve.auth import hash_key
    from cogarch.serve.auth import new_key as make_key

    if new_key:
        key = make_key()
        if json_out:
            print_json({"key": key, "hash": hash_key(key)})
        else:
            console.print(f"key:  {key}\nhash: {hash_key(key)}", highlight=False)
            console.print(
                'add to the config: [[serve.api_keys]] name = "...", hash = "<hash>", users = ["alice"]',
                markup=False,
                style="dim",
            )
        return
    with handled():
        # The options reach every worker process through the environment (each worker loads the settings).
        env = {
            "COGARCH_DATA_DIR": str(data_dir.expanduser()) if data_dir else None,
            "COGARCH_CONFIG": str(config.expanduser()) if config else None,
            "COGARCH_LLM__MODEL": model,
            "COGARCH_SERVE__MEMORY_MODE": memory_mode,
            "COGARCH_SERVE__WORKERS": str(workers) if workers else None,
        }
        os.environ.update({k: v for k, v in env.items() if v is not None})
        settings = load_settings(data_dir, config)
        from cogarch.serve.runner import run

        run(settings, host=host, port=port)


__all__ = ["serve"]
