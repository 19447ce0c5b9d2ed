"""Network layouts: Brian2's CUBA benchmark network and the 4-layer substrate.

Substrate (EMBER's layout): four layers, each 80 % excitatory (E) and 20 % inhibitory (I)::

    sensory E --ff--> concept E --ff--> category E --ff--> meta E
                      concept E <--fb-- category E <--fb-- meta E
    lateral, plastic (STDP): concept E -> concept E, category E -> category E
    per layer: E -> I, I -> E, I -> I (E/I balance keeps idle activity low and asynchronous)

Every projection has a fixed in-degree (connectivity.py); in-degrees scale with ``conn_scale``.
Neurons are numbered layer by layer, E before I within a layer.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import torch

from snn_substrate.connectivity import Projection

LAYERS = ("sensory", "concept", "category", "meta")


class Population(NamedTuple):
    """A contiguous range of neurons [start, stop)."""

    name: str
    start: int
    stop: int
    excitatory: bool

    @property
    def size(self) -> int:
        return self.stop - self.start


class Layout(NamedTuple):
    """Populations and projections of a network."""

    n: int
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]

    def pop(self, name: str) -> Population:
        """The population called ``name`` (e.g. 'concept_E').

        Raises:
            KeyError: unknown name.
        """
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    def is_exc(self) -> torch.Tensor:
        m = torch.zeros(self.n, dtype=torch.uint8)
        for p in self.populations:
            if p.excitatory:
                m[p.start : p.stop] = 1
        return m


def cuba_layout(n: int, k_in: int = 80) -> Layout:
    """Brian2's CUBA example with fixed in-degree ``k_in`` (80 % of it excitatory): we = 1.62 mV,
    wi = -9 mV."""
    ne = round(0.8 * n)
    ke = round(0.8 * k_in)
    pops = (Population("E", 0, ne, True), Population("I", ne, n, False))
    projs = (
        Projection((0, ne), (0, n), ke, 60 * 0.27 / 10, name="E->all"),
        Projection((ne, n), (0, n), k_in - ke, -20 * 4.5 / 10, name="I->all"),
    )
    return Layout(n, pops, projs)


class SubstrateShape(NamedTuple):
    """Layer fractions (sensory, concept, category, meta), in-degrees at conn_scale 1 and weights (mV)."""

    fractions: tuple[float, float, float, float] = (0.15, 0.4, 0.3, 0.15)
    k_ff: int = 150
    k_lat: int = 400
    k_fb: int = 20
    k_ei: int = 100
    k_ie: int = 60
    k_ii: int = 30
    w_ff: float = 11.0
    w_lat: float = 0.1
    w_fb: float = 1.0
    w_ei: float = 3.0
    w_ie: float = -10.0
    w_ii: float = -4.0
    conn_scale: float = 1.0


def substrate_layout(n: int, shape: SubstrateShape = SubstrateShape()) -> Layout:
    """The 4-layer substrate with ``n`` neurons (module docstring).

    Raises:
        ValueError: ``n`` < 100.
    """
    if n < 100:
        raise ValueError("the substrate needs at least 100 neurons")
    sizes = [int(n * f) for f in shape.fractions]
    sizes[1] += n - sum(sizes)
    pops: list[Population] = []
    start = 0
    for name, size in zip(LAYERS, sizes, strict=True):
        ne = round(0.8 * size)
        pops.append(Population(f"{name}_E", start, start + ne, True))
        pops.append(Population(f"{name}_I", start + ne, start + size, False))
        start += size
    by = {p.name: (p.start, p.stop) for p in pops}

    def k(x: int, src: str) -> int:
        a, b = by[src]
        return max(1, min(b - a, round(x * shape.conn_scale)))

    projs: list[Projection] = []
    for lo, hi in itertools.pairwise(LAYERS):
        projs.append(
            Projection(
                by[f"{lo}_E"],
                by[f"{hi}_E"],
                k(shape.k_ff, f"{lo}_E"),
                shape.w_ff,
                jitter=0.3,
                name=f"{lo}->{hi}",
            )
        )
        if lo != "sensory":
            projs.append(
                Projection(
                    by[f"{hi}_E"],
                    by[f"{lo}_E"],
                    k(shape.k_fb, f"{hi}_E"),
                    shape.w_fb,
                    jitter=0.3,
                    name=f"{hi}->{lo} (fb)",
                )
            )
    for name in ("concept", "category"):
        projs.append(
            Projection(
                by[f"{name}_E"],
                by[f"{name}_E"],
                k(shape.k_lat, f"{name}_E"),
                shape.w_lat,
                plastic=True,
                jitter=0.5,
                name=f"{name} lateral",
            )
        )
    for name in LAYERS:
        e, i = by[f"{name}_E"], by[f"{name}_I"]
        projs.append(
            Projection(e, i, k(shape.k_ei, f"{name}_E"), shape.w_ei, jitter=0.3, name=f"{name} E->I")
        )
        projs.append(
            Projection(i, e, k(shape.k_ie, f"{name}_I"), shape.w_ie, jitter=0.3, name=f"{name} I->E")
        )
        projs.append(
            Projection(i, i, k(shape.k_ii, f"{name}_I"), shape.w_ii, jitter=0.3, name=f"{name} I->I")
        )
    return Layout(n, tuple(pops), tuple(projs))
