"""snn_substrate: a spiking associative substrate (LIF + STDP) on PyTorch, with a fused native CPU kernel.

Standalone: imports no other cogarch package. See README.md in this folder.
"""

from snn_substrate.coding import Code, population_code
from snn_substrate.substrate import ConceptResponse, Response, RunStats, Substrate, SubstrateConfig, Trigger

__all__ = [
    "Code",
    "ConceptResponse",
    "Response",
    "RunStats",
    "Substrate",
    "SubstrateConfig",
    "Trigger",
    "population_code",
]
