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


def sensible_threads() -> None:
    """Keep torch's intra-op threads within :func:`available_cpus` (oversubscription slows inference)."""
    import torch

    available = available_cpus()
    if torch.get_num_threads() > available:
        torch.set_num_threads(available)


__all__ = ["DEVICES", "available_cpus", "resolve_device", "sensible_threads"]
