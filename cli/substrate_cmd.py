"""`cogarch substrate stats|raster` and `cogarch bench substrate s1|s2|s3` (mounted by cli/main.py).

``stats``/``raster`` inspect the substrate the agent keeps for a user (``<data_dir>/substrate/<hash>.pt``,
cogarch.substrates.user_file), a given ``--file``, or a fresh one (``--neurons N``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.common import console, handled, print_json
from reasoning.errors import InvalidInputError, MissingResourceError

app = typer.Typer(help="Inspect the spiking substrate.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks of the spiking substrate (BENCHMARKS.md, section S).", no_args_is_help=True
)


def _open(
    file: Path | None,
    neurons: int | None,
    device: str,
    data_dir: Path | None,
    user: str | None,
    config: Path | None = None,
) -> tuple[Any, str]:
    """The substrate to inspect and where it came from.

    Precedence: ``--file``; else ``--neurons`` (a fresh substrate); else the user's saved substrate
    ``<data_dir>/substrate/<sha256(user)[:24]>.pt`` (data dir and user from the settings unless given).

    Raises:
        MissingResourceError: the file does not exist. InvalidInputError: not a substrate file, or a bad
        size/device.
    """
    from snn_substrate import Substrate, SubstrateConfig

    if file is None and neurons is None:
        from cli.common import load_settings
        from cogarch.substrates import user_file

        settings = load_settings(data_dir, config)
        name = user or settings.user
        file = user_file(settings.paths.substrate, name)
        if not file.exists():
            raise MissingResourceError(
                f"user {name!r} has no saved substrate at {file}",
                hint="chat with the agent first, or pass --file PATH or --neurons N for a fresh one",
            )
    if file is not None:
        if not file.exists():
            raise MissingResourceError(
                f"no substrate file at {file}", hint="pass --neurons N for a fresh one"
            )
        try:
            return Substrate.load(file, device=device), str(file)
        except ValueError as exc:
            raise InvalidInputError(str(exc), hint="pass a file written by Substrate.save") from None
    assert neurons is not None
    try:
        return Substrate(SubstrateConfig(neurons=neurons), device=device), f"fresh ({neurons} neurons)"
    except ValueError as exc:
        raise InvalidInputError(str(exc), hint="use --device cpu|cuda|auto and --neurons >= 100") from None


_FILE = typer.Option(None, "--file", help="A saved substrate file (overrides --user/--data-dir).")
_NEURONS = typer.Option(None, "--neurons", help="Inspect a fresh substrate of this size instead.")
_DEVICE = typer.Option("auto", "--device", help="auto|cpu|cuda")
_DATA = typer.Option(None, "--data-dir", help="Data directory (default: from the settings).")
_USER = typer.Option(None, "--user", help="Whose substrate (default: the settings' user).")
_CONFIG = typer.Option(None, "--config", help="A config.toml (default: <data-dir>/config.toml).")


@app.command()
def stats(
    file: Path | None = _FILE,
    neurons: int | None = _NEURONS,
    device: str = _DEVICE,
    data_dir: Path | None = _DATA,
    user: str | None = _USER,
    config: Path | None = _CONFIG,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Sizes, synapses, weights, bindings, device and simulated time of a user's substrate."""
    with handled():
        sub, source = _open(file, neurons, device, data_dir, user, config)
        info = {"source": source, **sub.stats()}
        if as_json:
            print_json(info)
            return
        for k, v in info.items():
            console.print(f"[bold]{k}[/]: {v}")


@app.command()
def raster(
    file: Path | None = _FILE,
    out: Path = typer.Option(Path("raster.png"), "--out", help="PNG to write."),
    neurons: int | None = _NEURONS,
    duration_ms: float = typer.Option(500.0, "--duration-ms", help="Simulated time to plot."),
    device: str = _DEVICE,
    data_dir: Path | None = _DATA,
    user: str | None = _USER,
    config: Path | None = _CONFIG,
) -> None:
    """Run a user's substrate idle for a while (no learning, the file is not changed) and plot its spikes,
    layers marked."""
    with handled():
        if duration_ms <= 0:
            raise InvalidInputError("--duration-ms must be > 0", hint="e.g. --duration-ms 500")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        sub, source = _open(file, neurons, device, data_dir, user, config)
        res = sub.run(duration_ms, record=True, learn=False)
        r = res.raster
        fig, ax = plt.subplots(figsize=(10, 6))
        if r is not None and len(r):
            t = (r[:, 0] - r[:, 0].min()) * sub.config.dt_ms
            ax.scatter(t, r[:, 1], s=0.5, c="k", marker=".")
        for p in sub.layout.populations:
            ax.axhline(p.start, color="tab:blue" if p.excitatory else "tab:red", lw=0.5)
            ax.text(duration_ms * 1.01, (p.start + p.stop) / 2, p.name, fontsize=7, va="center")
        ax.set_xlim(0, duration_ms)
        ax.set_ylim(0, sub.config.neurons)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron")
        ax.set_title(f"{source}: {sub.config.neurons} neurons, {res.rates_hz['all']:.2f} Hz mean")
        fig.tight_layout()
        fig.savefig(out, dpi=120)
        plt.close(fig)
        console.print(f"wrote {out}")


def _bench(
    which: str, neurons: int, dt: float, duration: float, device: str, as_json: bool, threads: int | None
) -> None:
    with handled():
        from snn_substrate.bench import run_benchmark

        if threads is not None and threads < 1:
            raise InvalidInputError("--threads must be >= 1", hint="or leave it out for the engine's choice")
        try:
            res = run_benchmark(which, neurons, dt, duration, device, threads=threads)  # type: ignore[arg-type]
        except ValueError as exc:
            raise InvalidInputError(str(exc), hint="use --device cpu|cuda") from None
        if as_json:
            print_json(res)
        else:
            for k, v in res.items():
                console.print(f"[bold]{k}[/]: {v}")


_N = typer.Option(16_000, "--neurons", help="Neurons.")
_DT = typer.Option(1.0, "--dt", help="Step (ms).")
_DUR = typer.Option(10.0, "--duration", help="Simulated seconds.")
_DEV = typer.Option("cpu", "--device", help="cpu|cuda")
_JSON = typer.Option(False, "--json", help="Print one JSON object.")
_THREADS = typer.Option(
    None, "--threads", help="Kernel threads (default: 1 below 100k neurons or when busy)."
)


@bench_app.command("s1")
def s1(
    neurons: int = _N,
    dt: float = _DT,
    duration: float = _DUR,
    device: str = _DEV,
    as_json: bool = _JSON,
    threads: int | None = _THREADS,
) -> None:
    """S1: Brian2's CUBA network (fixed in-degree 80)."""
    _bench("s1", neurons, dt, duration, device, as_json, threads)


@bench_app.command("s2")
def s2(
    neurons: int = _N,
    dt: float = _DT,
    duration: float = _DUR,
    device: str = _DEV,
    as_json: bool = _JSON,
    reward: bool = typer.Option(False, "--reward", help="Reward-modulated variant."),
    threads: int | None = _THREADS,
) -> None:
    """S2: S1 plus STDP on E->E synapses (``--reward``: eligibility traces + reward pulses)."""
    _bench("s2r" if reward else "s2", neurons, dt, duration, device, as_json, threads)


@bench_app.command("s3")
def s3(
    neurons: int = typer.Option(220_000, "--neurons"),
    dt: float = _DT,
    duration: float = _DUR,
    device: str = _DEV,
    as_json: bool = _JSON,
    threads: int | None = _THREADS,
) -> None:
    """S3: the 4-layer substrate idle with plasticity on."""
    _bench("s3", neurons, dt, duration, device, as_json, threads)
