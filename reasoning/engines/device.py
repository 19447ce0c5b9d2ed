"""Torch device and thread choices shared by the in-process models (the local LLM and the local embedder)."""

from __future__ import annotations

import os

from reasoning.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is available, else 'cpu'; 'cpu' and 'cuda' (or 'cuda:N') are checked.

    Raises:
        ConfigError: another value, or 'cuda' without a CUDA GPU.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "device 'cuda' was requested but no CUDA GPU is available", hint="use 'auto' or 'cpu'"
            )
        return device
    raise ConfigError(f"unknown device {device!r}", hint=f"allowed: {', '.join(DEVICES)}")


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask; containers often report more with cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def recommended_threads() -> int:
    """Intra-op threads for in-process inference: all usable CPUs but one (at least 1).

    Measured on a shared 2-core machine: with other processes busy, 2 torch threads were 4-5x SLOWER than 1
    (OpenMP threads spin waiting for a core), while on an idle machine 2 threads gained under 1.5x. Leaving a
    core free also keeps the rest of the agent (substrate, I/O) responsive.
    """
    available = available_cpus()
    return max(1, available - 1) if available > 1 else 1


def sensible_threads(threads: int | None = None) -> None:
    """Set torch's intra-op threads to ``threads``, or lower them to :func:`recommended_threads` (never
    raise them: the application may have chosen fewer). Process-wide."""
    import torch

    if threads is not None:
        torch.set_num_threads(max(1, threads))
    elif torch.get_num_threads() > recommended_threads():
        torch.set_num_threads(recommended_threads())


__all__ = ["DEVICES", "available_cpus", "recommended_threads", "resolve_device", "sensible_threads"]
