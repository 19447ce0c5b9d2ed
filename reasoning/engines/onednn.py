"""Linear layers on oneDNN with packed weights: the fast CPU path of the bundled models.

torch's default CPU GEMM (MKL) runs its AVX2 code on AMD CPUs; oneDNN's kernel for a weight packed once into
its blocked layout uses the CPU's widest vector units (AVX-512 where present). Measured on this project's
2-core AMD machine (BENCHMARKS.md, Foundation): 2.3x faster on a batch of 480 rows, 2.5x on one text's 30,
and faster for single-row decoding too. The arithmetic is float32 in both; only the summation order differs
(results agree to ~1e-6 relative).

:func:`available` checks once per process that this torch build has the ops and that they agree with
``F.linear``; callers fall back to ``F.linear`` otherwise (other builds, other devices, other dtypes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_AVAILABLE: bool | None = None


def available() -> bool:
    """Whether oneDNN's packed linear exists in this torch build and matches ``F.linear`` (checked once)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            g = torch.Generator().manual_seed(0)
            w, b, x = (torch.randn(*s, generator=g) for s in ((24, 16), (24,), (3, 5, 16)))
            y = linear(x, pack(w), b, gelu=True)
            _AVAILABLE = bool(torch.allclose(y, F.gelu(F.linear(x, w, b)), atol=1e-4, rtol=1e-4))
        except (AttributeError, RuntimeError):
            _AVAILABLE = False
    return _AVAILABLE


def usable_for(weight: Tensor) -> bool:
    """True when ``weight`` can take the packed path: a float32 CPU tensor and oneDNN available."""
    return weight.device.type == "cpu" and weight.dtype == torch.float32 and available()


def pack(weight: Tensor) -> Tensor:
    """``weight`` (out, in) reordered into oneDNN's blocked layout (an opaque tensor for :func:`linear`)."""
    packed: Tensor = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
    return packed


def linear(x: Tensor, packed: Tensor, bias: Tensor | None = None, *, gelu: bool = False) -> Tensor:
    """``x W^T + b`` (then the exact GELU if ``gelu``) for a weight from :func:`pack`; any leading dims."""
    out: Tensor = torch.ops.mkldnn._linear_pointwise(x, packed, bias, "gelu" if gelu else "none", [], "none")
    return out


__all__ = ["available", "linear", "pack", "usable_for"]
