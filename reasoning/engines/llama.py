"""A small pure-torch Llama decoder: enough for SmolLM2-135M-Instruct, loaded from safetensors + config.json.

Architecture (Touvron et al. 2023, "LLaMA"), as transformers' ``LlamaForCausalLM`` computes it:

- token embedding, then ``num_hidden_layers`` pre-norm blocks, a final RMSNorm and the output projection
  (tied to the embedding for SmolLM2);
- each block: ``h = x + Attn(RMSNorm(x))``, ``out = h + MLP(RMSNorm(h))``;
- RMSNorm (Zhang & Sennrich 2019): ``w * x / sqrt(mean(x^2) + eps)``, computed in float32;
- attention: grouped-query attention (Ainslie et al. 2023; 9 query heads share 3 key/value heads for SmolLM2),
  rotary position embeddings (RoPE, Su et al. 2021) in the "rotate half" layout transformers uses:
  ``inv_freq_i = theta^(-2i/d)``, angle ``p * inv_freq``, ``q' = q*cos + rotate_half(q)*sin`` with
  ``rotate_half([a, b]) = [-b, a]``; scaled dot-product attention with a causal mask;
- MLP: SwiGLU (Shazeer 2020), ``down(silu(gate(x)) * up(x))``.

Speed choices (same arithmetic): the q/k/v projections are one fused matrix and gate/up another (two matmuls
per block instead of five); the key/value cache (:class:`KVCache`) is a preallocated buffer per layer that grows
in chunks (no concatenation per token); callers ask for the logits of the last position only when that is all
they need (a 49k-vocabulary projection per prompt token is a large share of a prompt's compute); the attention
mask is any boolean ``(query, key)`` matrix, so several continuations of one prompt can share its cache in a
single batch-1 pass ("tree attention", see :func:`continuation_mask`); on CPU the linears run on oneDNN with
packed weights (:meth:`Llama.pack_for_cpu`, 2x faster option scoring here; float32 as before, summation order
aside).

Only the default RoPE (no scaling), no biases and the SiLU activation are supported; anything else is refused
with a :class:`~reasoning.errors.ConfigError` rather than computed wrongly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reasoning.engines import onednn
from reasoning.errors import ConfigError

_KV_CHUNK = 256
"""The key/value buffers grow by at least this many positions at a time."""


class LlamaConfig(NamedTuple):
    """The hyper-parameters the decoder needs (names follow transformers' config.json)."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rope_theta: float
    rms_norm_eps: float
    max_positions: int
    tie_word_embeddings: bool
    eos_token_id: int | None


def load_config(path: Path) -> LlamaConfig:
    """Read a transformers ``config.json`` of a Llama model (see :func:`config_from_dict`).

    Raises:
        ConfigError: see :func:`config_from_dict`.
        OSError / ValueError: an unreadable file.
    """
    return config_from_dict(json.loads(Path(path).read_text()))


def config_from_dict(raw: dict[str, Any]) -> LlamaConfig:
    """A transformers Llama config (``config.json`` contents, or ``PretrainedConfig.to_dict()``).

    Raises:
        ConfigError: not a Llama config, or a feature this decoder does not implement (RoPE scaling, biases,
            another activation).
    """
    hint = "this decoder implements plain Llama only"
    if raw.get("model_type") != "llama":
        raise ConfigError(f"not a Llama model: model_type={raw.get('model_type')!r}", hint=hint)
    rope = raw.get("rope_parameters") or raw.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", rope.get("type", "default")) if isinstance(rope, dict) else "default"
    theta = rope.get("rope_theta") if isinstance(rope, dict) else None
    theta = theta if theta is not None else raw.get("rope_theta", 10000.0)
    if rope_type != "default":
        raise ConfigError(f"RoPE type {rope_type!r} is not supported", hint="only plain RoPE is implemented")
    if raw.get("attention_bias") or raw.get("mlp_bias") or raw.get("hidden_act", "silu") != "silu":
        raise ConfigError("biases or a non-SiLU activation are not supported", hint=hint)
    heads = int(raw["num_attention_heads"])
    return LlamaConfig(
        vocab_size=int(raw["vocab_size"]),
        hidden_size=int(raw["hidden_size"]),
        intermediate_size=int(raw["intermediate_size"]),
        num_layers=int(raw["num_hidden_layers"]),
        num_heads=heads,
        num_kv_heads=int(raw.get("num_key_value_heads") or heads),
        head_dim=int(raw.get("head_dim") or int(raw["hidden_size"]) // heads),
        rope_theta=float(theta),
        rms_norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
        max_positions=int(raw.get("max_position_embeddings", 2048)),
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
        eos_token_id=raw["eos_token_id"] if isinstance(raw.get("eos_token_id"), int) else None,
    )


class KVCache:
    """Keys and values of every layer for the positions computed so far, shape ``(batch, kv_heads, T, d)``.

    Buffers are allocated on first use and grown by doubling (at least ``_KV_CHUNK`` positions), so appending
    one token does not copy the cache. :meth:`truncate` forgets the positions after ``n`` (they are simply
    overwritten later), which is how a caller keeps a shared prompt prefix and drops the rest.
    """

    def __init__(self, num_layers: int) -> None:
        self._keys: list[Tensor | None] = [None] * num_layers
        self._values: list[Tensor | None] = [None] * num_layers
        self.length = 0

    def append(self, layer: int, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        """Store ``keys``/``values`` (batch, kv_heads, t, d) at positions ``length .. length+t`` of ``layer``;
        return the layer's keys and values for positions ``0 .. length+t`` (views into the buffers)."""
        start, end = self.length, self.length + keys.shape[2]
        buffer_k, buffer_v = self._keys[layer], self._values[layer]
        if (
            buffer_k is None
            or buffer_v is None
            or buffer_k.shape[2] < end
            or buffer_k.shape[0] != keys.shape[0]
        ):
            capacity = max(end, _KV_CHUNK, 2 * buffer_k.shape[2] if buffer_k is not None else 0)
            shape = (keys.shape[0], keys.shape[1], capacity, keys.shape[3])
            grown_k = keys.new_empty(shape)
            grown_v = values.new_empty(shape)
            if buffer_k is not None and buffer_v is not None and start > 0:
                grown_k[:, :, :start] = buffer_k[:, :, :start]
                grown_v[:, :, :start] = buffer_v[:, :, :start]
            buffer_k, buffer_v = grown_k, grown_v
            self._keys[layer], self._values[layer] = buffer_k, buffer_v
        buffer_k[:, :, start:end] = keys
        buffer_v[:, :, start:end] = values
        return buffer_k[:, :, :end], buffer_v[:, :, :end]

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` positions."""
        self.length = max(0, min(self.length, n))


Weights = dict[str, Tensor]
"""Parameters by this module's names (see :func:`load_llama`); every module takes its own from it."""


class Linear(nn.Linear):
    """``nn.Linear`` (no bias) around an existing weight: no random initialisation at load time.

    :meth:`pack` moves a CPU float32 weight into oneDNN's packed layout (:mod:`reasoning.engines.onednn`);
    ``forward`` then runs oneDNN's kernel, 2x faster here for option scoring and prompts.
    """

    def __init__(self, weight: Tensor) -> None:
        nn.Module.__init__(self)
        self.out_features, self.in_features = int(weight.shape[0]), int(weight.shape[1])
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.register_parameter("bias", None)
        self.packed: Tensor | None = None

    def pack(self, keep_dense: bool = False) -> bool:
        """Pack the weight for oneDNN if it can take that path; drop the dense copy unless ``keep_dense``
        (a weight shared with another module). Call after the model's last ``.to()``. Returns whether packed.
        """
        if self.packed is None and onednn.usable_for(self.weight):
            self.packed = onednn.pack(self.weight)
            if not keep_dense:
                self.weight = nn.Parameter(torch.empty(0, self.in_features), requires_grad=False)
        return self.packed is not None

    def forward(self, x: Tensor) -> Tensor:
        if self.packed is not None:
            return onednn.linear(x, self.packed)
        return F.linear(x, self.weight)


class RMSNorm(nn.Module):
    """``weight * x / sqrt(mean(x^2) + eps)`` over the last dimension (in float32)."""

    def __init__(self, weight: Tensor, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps).to(x.dtype)
        return self.weight * normed


def _rotate_half(x: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    """Grouped-query self-attention with RoPE and a key/value cache."""

    def __init__(self, config: LlamaConfig, layer: int, weights: Weights) -> None:
        super().__init__()
        self.layer = layer
        self.heads, self.kv_heads, self.head_dim = config.num_heads, config.num_kv_heads, config.head_dim
        self.split = (
            self.heads * self.head_dim,
            self.kv_heads * self.head_dim,
            self.kv_heads * self.head_dim,
        )
        prefix = f"layers.{layer}.self_attn."
        self.qkv_proj = Linear(weights[prefix + "qkv_proj.weight"])
        self.o_proj = Linear(weights[prefix + "o_proj.weight"])

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, cache: KVCache, mask: Tensor | None) -> Tensor:
        batch, steps, _ = x.shape
        q, k, v = self.qkv_proj(x).split(self.split, dim=-1)
        q = q.view(batch, steps, self.heads, self.head_dim).transpose(1, 2)
        k = k.view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
        v = v.view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        keys, values = cache.append(self.layer, k, v)
        causal = mask is None and steps > 1
        out = F.scaled_dot_product_attention(
            q, keys, values, attn_mask=mask, is_causal=causal, enable_gqa=self.heads != self.kv_heads
        )
        projected: Tensor = self.o_proj(out.transpose(1, 2).reshape(batch, steps, self.heads * self.head_dim))
        return projected


class MLP(nn.Module):
    """SwiGLU feed-forward: ``down(silu(gate(x)) * up(x))``, gate and up fused in one matrix."""

    def __init__(self, config: LlamaConfig, layer: int, weights: Weights) -> None:
        super().__init__()
        self.inner = config.intermediate_size
        self.gate_up_proj = Linear(weights[f"layers.{layer}.mlp.gate_up_proj.weight"])
        self.down_proj = Linear(weights[f"layers.{layer}.mlp.down_proj.weight"])

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up_proj(x).split(self.inner, dim=-1)
        out: Tensor = self.down_proj(F.silu(gate) * up)
        return out


class Block(nn.Module):
    """One pre-norm decoder layer."""

    def __init__(self, config: LlamaConfig, layer: int, weights: Weights) -> None:
        super().__init__()
        eps, prefix = config.rms_norm_eps, f"layers.{layer}."
        self.input_layernorm = RMSNorm(weights[prefix + "input_layernorm.weight"], eps)
        self.self_attn = Attention(config, layer, weights)
        self.post_attention_layernorm = RMSNorm(weights[prefix + "post_attention_layernorm.weight"], eps)
        self.mlp = MLP(config, layer, weights)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, cache: KVCache, mask: Tensor | None) -> Tensor:
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, mask)
        out: Tensor = h + self.mlp(self.post_attention_layernorm(h))
        return out


class Llama(nn.Module):
    """The decoder. Call :meth:`forward` inside ``torch.inference_mode()``.

    Args:
        config: the hyper-parameters.
        weights: every parameter by name (``embed_tokens.weight``, ``layers.N.self_attn.qkv_proj.weight``,
            ``layers.N.mlp.gate_up_proj.weight``, ..., ``norm.weight``, ``lm_head.weight``); the tensors are
            used as they are (no copy). :func:`load_llama` builds them from a transformers checkpoint.
    """

    def __init__(self, config: LlamaConfig, weights: Weights) -> None:
        super().__init__()
        self.config = config
        embedding = weights["embed_tokens.weight"]
        rows, width = int(embedding.shape[0]), int(embedding.shape[1])
        self.embed_tokens = nn.Embedding(rows, width, _weight=embedding, _freeze=True)
        self.layers = nn.ModuleList(Block(config, i, weights) for i in range(config.num_layers))
        self.norm = RMSNorm(weights["norm.weight"], config.rms_norm_eps)
        self.lm_head = Linear(weights["lm_head.weight"])
        if weights["lm_head.weight"] is weights["embed_tokens.weight"]:
            self.lm_head.weight = self.embed_tokens.weight  # tied: one parameter
        exponents = torch.arange(0, config.head_dim, 2, dtype=torch.float32) / config.head_dim
        self.register_buffer("inv_freq", 1.0 / (config.rope_theta**exponents), persistent=False)

    def pack_for_cpu(self) -> int:
        """Pack every linear's weight for oneDNN (CPU float32; the dense copies are freed, except the
        lm_head's when it is tied to the embeddings). Call once the model is on its final device; a packed
        model must not be moved. Returns how many linears were packed (0 when oneDNN is unavailable)."""
        tied = self.lm_head.weight is self.embed_tokens.weight
        packed = 0
        for module in self.modules():
            if isinstance(module, Linear):
                packed += module.pack(keep_dense=tied and module is self.lm_head)
        return packed

    def new_cache(self) -> KVCache:
        """An empty key/value cache for this model."""
        return KVCache(self.config.num_layers)

    def forward(
        self,
        ids: Tensor,
        cache: KVCache,
        *,
        positions: Tensor | None = None,
        mask: Tensor | None = None,
        last_only: bool = False,
    ) -> Tensor:
        """Run ``ids`` (batch, t) after the ``cache.length`` cached positions; append their keys/values.

        Args:
            ids: token ids, (batch, t), on the model's device.
            cache: the key/value cache; its length grows by t.
            positions: RoPE positions of the t tokens (default ``cache.length .. cache.length + t``).
            mask: boolean (t, cache.length + t) attention mask, True = may attend (default: causal).
            last_only: return the logits of the last position only, (batch, 1, vocab).

        Returns:
            float logits, (batch, t, vocab) (or (batch, 1, vocab) with ``last_only``).
        """
        start = cache.length
        steps = ids.shape[1]
        if positions is None:
            positions = torch.arange(start, start + steps, device=ids.device)
        if mask is None and steps > 1 and start > 0:
            mask = continuation_mask(start, [steps], device=ids.device)
        angles = positions.float()[:, None] * self.get_buffer("inv_freq")[None, :]
        angles = torch.cat((angles, angles), dim=-1)
        x = self.embed_tokens(ids)
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        for block in self.layers:
            x = block(x, cos, sin, cache, mask)
        cache.length = start + steps
        if last_only:
            x = x[:, -1:]
        out: Tensor = self.lm_head(self.norm(x))
        return out


def continuation_mask(prefix: int, lengths: list[int], device: torch.device | str = "cpu") -> Tensor:
    """The attention mask for several continuations of one cached prefix, packed into ONE sequence.

    Queries are the packed continuation tokens (``sum(lengths)`` of them); keys are the ``prefix`` cached
    positions followed by the same packed tokens. Every token sees the whole prefix and, causally, the earlier
    tokens of its own continuation only: the result equals running each continuation alone after the prefix.

    Returns:
        bool tensor (sum(lengths), prefix + sum(lengths)); True = may attend.
    """
    total = sum(lengths)
    segment = torch.repeat_interleave(
        torch.arange(len(lengths), device=device), torch.tensor(lengths, device=device)
    )
    index = torch.arange(total, device=device)
    own = (segment[:, None] == segment[None, :]) & (index[None, :] <= index[:, None])
    seen = torch.ones((total, prefix), dtype=torch.bool, device=device)
    return torch.cat((seen, own), dim=1)


FUSED_FILE = "llama-fused.safetensors"
"""The checkpoint re-saved with this module's (fused) parameter names: loads without any copying."""


def fuse_checkpoint(raw: Weights, config: LlamaConfig) -> Weights:
    """transformers' Llama parameters (``model.layers.N.self_attn.q_proj.weight`` ...) -> this module's names,
    with q/k/v and gate/up concatenated. ``lm_head.weight`` is left out when the embeddings are tied.

    Raises:
        KeyError: a missing tensor.
    """
    state: Weights = {
        "embed_tokens.weight": raw["model.embed_tokens.weight"],
        "norm.weight": raw["model.norm.weight"],
    }
    if not config.tie_word_embeddings:
        state["lm_head.weight"] = raw["lm_head.weight"]
    for i in range(config.num_layers):
        src, dst = f"model.layers.{i}.", f"layers.{i}."
        attn, mlp = src + "self_attn.", src + "mlp."
        state[dst + "self_attn.qkv_proj.weight"] = torch.cat(
            [raw[attn + "q_proj.weight"], raw[attn + "k_proj.weight"], raw[attn + "v_proj.weight"]]
        )
        state[dst + "self_attn.o_proj.weight"] = raw[attn + "o_proj.weight"]
        state[dst + "mlp.gate_up_proj.weight"] = torch.cat(
            [raw[mlp + "gate_proj.weight"], raw[mlp + "up_proj.weight"]]
        )
        state[dst + "mlp.down_proj.weight"] = raw[mlp + "down_proj.weight"]
        state[dst + "input_layernorm.weight"] = raw[src + "input_layernorm.weight"]
        state[dst + "post_attention_layernorm.weight"] = raw[src + "post_attention_layernorm.weight"]
    return state


def load_llama(directory: Path, *, dtype: torch.dtype = torch.float32, write_fused: bool = True) -> Llama:
    """Build :class:`Llama` from a transformers checkpoint directory (``config.json`` + ``model.safetensors``).

    The weights come from ``FUSED_FILE`` when present (memory-mapped, no copy); else ``model.safetensors`` is
    fused (:func:`fuse_checkpoint`) and, with ``write_fused``, saved as ``FUSED_FILE`` for the next load
    (atomically; a read-only directory is fine).

    Raises:
        ConfigError: an unsupported configuration.
        OSError / KeyError / ValueError: missing or damaged files.
    """
    from safetensors.torch import load_file, save_file

    directory = Path(directory)
    config = load_config(directory / "config.json")
    fused = directory / FUSED_FILE
    if fused.is_file():
        state = load_file(str(fused))
    else:
        state = fuse_checkpoint(load_file(str(directory / "model.safetensors")), config)
        if write_fused:
            tmp = fused.with_name(f".{fused.name}.tmp-{os.getpid()}")
            try:
                save_file(state, str(tmp))
                os.replace(tmp, fused)
            except OSError:
                tmp.unlink(missing_ok=True)
    weights = {name: tensor.to(dtype) for name, tensor in state.items()}
    weights.setdefault("lm_head.weight", weights["embed_tokens.weight"])  # tied
    return Llama(config, weights).eval()


__all__ = [
    "FUSED_FILE",
    "KVCache",
    "Llama",
    "LlamaConfig",
    "continuation_mask",
    "fuse_checkpoint",
    "load_config",
    "load_llama",
]
