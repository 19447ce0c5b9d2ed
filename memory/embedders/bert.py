"""A small pure-torch BERT encoder (Devlin et al. 2019), enough for all-MiniLM-L6-v2, from safetensors.

Loading it needs torch, ``safetensors`` and ``tokenizers`` only (importing transformers costs seconds per
process). The computation is transformers' ``BertModel`` in eval mode:

- embeddings: ``LayerNorm(word[id] + position[i] + token_type[0])``;
- each of ``num_hidden_layers`` post-norm layers: ``h = LayerNorm(x + Wo·Attn(x))``,
  ``out = LayerNorm(h + W2·gelu(W1·h))``, attention over the non-padding keys only (an additive -inf mask),
  scaled by ``1/sqrt(head_dim)``; GELU is the exact (erf) form.

The tokenizer is ``tokenizer.json`` through ``tokenizers`` with the file's own padding/truncation replaced
by the caller's (no padding; truncation at ``max_length`` tokens, [CLS] and [SEP] included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from reasoning.engines import onednn
from reasoning.errors import ConfigError


class _Linear:
    """``y = act(x W^T + b)``; on CPU with W packed once for oneDNN, bias and GELU fused
    (:mod:`reasoning.engines.onednn`: 1.6-1.7x faster here), else ``F.linear``."""

    def __init__(self, weight: Tensor, bias: Tensor, gelu: bool = False) -> None:
        self.weight, self.bias, self.gelu = weight, bias, gelu
        self.packed = onednn.pack(weight) if onednn.usable_for(weight) else None

    def __call__(self, x: Tensor) -> Tensor:
        if self.packed is not None:
            return onednn.linear(x, self.packed, self.bias, gelu=self.gelu)
        y = F.linear(x, self.weight, self.bias)
        return F.gelu(y) if self.gelu else y


class BertEncoder:
    """BERT's encoder stack as plain tensors; call it inside ``torch.inference_mode()``.

    Per layer the query, key and value projections run as one linear (one GEMM of 3x the width), and on CPU
    every linear goes through oneDNN with packed weights (:class:`_Linear`).

    Args:
        directory: a transformers ``BertModel`` checkpoint (``config.json``, ``model.safetensors``).

    Raises:
        ConfigError: not a BERT config, or one this encoder does not implement (relative positions, another
            activation).
        OSError / KeyError: missing files or tensors.
    """

    def __init__(self, directory: Path) -> None:
        from safetensors.torch import load_file

        config: dict[str, Any] = json.loads((directory / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise ConfigError("not a plain BERT (GELU) model", hint=str(directory))
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigError("only absolute position embeddings are supported", hint=str(directory))
        raw = load_file(str(directory / "model.safetensors"))
        self._w = {k.removeprefix("bert."): v for k, v in raw.items()}
        self.hidden_size = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self._build_linears()

    def _build_linears(self) -> None:
        w = self._w
        self._lin: dict[str, _Linear] = {}
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
            self._lin[p + "qkv"] = _Linear(
                torch.cat([w[n + ".weight"] for n in qkv]), torch.cat([w[n + ".bias"] for n in qkv])
            )
            for name, gelu in (
                ("attention.output.dense", False),
                ("intermediate.dense", True),
                ("output.dense", False),
            ):
                self._lin[p + name] = _Linear(w[p + name + ".weight"], w[p + name + ".bias"], gelu)

    def to(self, device: str) -> BertEncoder:
        """Move the weights to ``device`` (in place); returns self."""
        self._w = {k: v.to(device) for k, v in self._w.items()}
        self._build_linears()
        return self

    def _norm(self, x: Tensor, name: str) -> Tensor:
        return F.layer_norm(
            x, (self.hidden_size,), self._w[name + ".weight"], self._w[name + ".bias"], self.eps
        )

    def __call__(self, ids: Tensor, mask: Tensor) -> Tensor:
        """Last hidden states (batch, t, hidden) of ``ids`` (batch, t); ``mask`` is 1 for real tokens."""
        w, (batch, steps) = self._w, ids.shape
        positions = torch.arange(steps, device=ids.device)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
        )
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        # which keys may be attended, (batch, 1, 1, t); None when nothing is padded (SDPA's fast path)
        keep = mask[:, None, None, :].bool() if bool((mask == 0).any()) else None
        head_dim = self.hidden_size // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (
                self._lin[p + "qkv"](x).view(batch, steps, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
            )
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            attended = attended.transpose(1, 2).reshape(batch, steps, self.hidden_size)
            x = self._norm(
                x + self._lin[p + "attention.output.dense"](attended), p + "attention.output.LayerNorm"
            )
            inner = self._lin[p + "intermediate.dense"](x)
            x = self._norm(x + self._lin[p + "output.dense"](inner), p + "output.LayerNorm")
        return x


def load_tokenizer(directory: Path, max_length: int) -> Any:
    """``directory/tokenizer.json`` as a ``tokenizers.Tokenizer``: no padding, truncation at ``max_length``."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


__all__ = ["BertEncoder", "load_tokenizer"]
