"""Quiet loading of transformers models, shared by the local LLM and the local embedder (memory imports it)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Disable transformers' "Loading weights" progress bar and info logs inside the block, then restore."""
    hf_logging: Any = importlib.import_module("transformers.utils.logging")  # untyped module

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
