"""``Substrate``: the stateful shell the agent uses (encode, stimulate, bind, reward, idle, run, save/load).

Assemblies. ``stimulate(code)`` drives the code's sensory neurons with a constant current for the given
time; the responding assembly is 2k excitatory concept neurons and k category neurons, k = ``assembly_k``
(scaled by the code's size / ``code_k``: a union of two codes recruits an assembly as large as both). The
sensory code and the assembly have separate sizes: the code must be dense enough to keep the embedding's
similarity order (k = 128 of 2400 sensory neurons: 94 % of orders differing by >= 0.1 in cosine; 32 units:
72 %, mostly ties), while the assembly must be small enough that its members' summed lateral input stays
within the budget and half of it recalls the rest (BENCHMARKS.md, E). Selection is a recurrent k-winners-
take-all among the neurons that fired (``Substrate._compete``): candidates by feed-forward input, winners by
lateral weight from the other winners ('count', the earlier rule: most spikes, ties by feed-forward input).
Key strengths (Response.keys, triggers) are measured on concept-layer members only. ``bind(code, key)``
stores that assembly under an external key.

Concepts (what the agent uses). ``present_concepts([(key, kind), ...], code)`` presents one message: each
concept's assembly (``concept_k`` concept-layer E neurons fixed by the seed and a hash of the key, so the same
concept is the same neurons in every message; concepts.py) with its kind's assembly in the category layer
(``kind_k`` neurons: person, place, activity, ...) is driven for ``concept_ms``, successive concepts
``concept_gap_ms`` apart (in the order the message mentions them), with the message's population code on the
sensory layer throughout. Learning is the kernel's pair STDP (``learn_stdp``: traces with tau 20 ms,
``a_plus`` 10 > ``a_minus`` 6 mV, clipped to [0, w_max]) during that window, gated to the lateral synapses
among the presented assemblies (connectivity.gate: nothing else is plastic in that window; the presented
neurons' outgoing plastic synapses also depress on their spikes), followed by homeostatic synaptic scaling of the
presented neurons' incoming lateral weights to ``lat_budget_mv`` (plasticity.synaptic_scaling). Concepts
driven within ~20 ms of each other link in both directions, the earlier onto the later more strongly;
concepts never presented together stay at their initial weights. The net weight changes of the window are its
eligibility tags: ``reward(r)`` adds ``r`` times them, decaying with ``tau_elig`` (three-factor rule), and
raises the salience of the last message's concepts. A concept surfaces when its own members fire with a share
>= ``trigger_threshold``; ``bind_memory(key, concepts)`` binds a memory to the concepts it mentions, and
memories bound to surfaced concepts are the associations. With plasticity off nothing is learned.

Code assemblies (the earlier path, kept for comparison and for benchmark E). ``stimulate(code, learn=True)``
learns with a rate rule restricted to the stimulated assembly's own lateral synapses
(plasticity.assembly_potentiation): ``w += eta (w_max - w)`` among its members, then synaptic scaling to
``lat_budget_mv``; the previous learned assembly (the context) is linked with the new one at ``context_rate``
(so what is learned follows turn order). Every change is tagged for ``tag_ms`` for ``reward``.

Idle. ``idle(ms)`` advances the network under weak background Poisson drive in windows of ``cue_window_ms``.
With memories bound to concepts: in each window spontaneous activity ignites one concept, drawn with
probability proportional to its salience (recency of mention over ``salience_tau`` messages, times 1 + the
reward it was presented under, plus a floor); concepts that just took part in a reactivation rest for
``cooldown_ms`` (adaptation). The ignited concept gets ``cue_drive_mv`` for ``cue_ms``; if its members fire
(share >= ``trigger_threshold``), every other concept whose own members then fire with that share has been
reactivated through learned lateral links, and a ``Trigger`` records the path (ignited concept, surfaced
concepts), the memories bound to the surfaced concepts, and the cue (the ignited concept's latest memory).
``idle(ms, learn=True)`` is a sleep phase: the same replay with the gated STDP of the default ``stdp`` constants
(depression-dominated) on the ignited assembly, then synaptic scaling. Only learned lateral links carry activity
from one concept to another: without plasticity nothing surfaces. With code bindings only (the earlier path)
the cue is one bound assembly drawn uniformly. In-kernel trace STDP over the whole network remains available
for ``run(learn=True)`` and benchmark S2.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from snn_substrate.coding import Code, population_code
from snn_substrate.concepts import ConceptRegistry, hashed_members
from snn_substrate.connectivity import Connectivity, build, expand_rows, gate, with_reverse
from snn_substrate.dynamics import LIFParams, LIFState, init_state
from snn_substrate.engine import Backend, Engine, resolve_device
from snn_substrate.network import Layout, Population, SubstrateShape, substrate_layout
from snn_substrate.plasticity import STDPParams, assembly_potentiation, synaptic_scaling

FORMAT = "snn_substrate"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)

DEFAULT_LIF = LIFParams(
    tau_m=20.0,
    tau_e=5.0,
    tau_i=10.0,
    v_rest=-65.0,
    v_reset=-65.0,
    v_th=-50.0,
    t_ref=2.0,
    tau_theta=200.0,
    d_theta=1.0,
    noise_hz=200.0,
    noise_w=8.0,
)
DEFAULT_STDP = STDPParams(
    a_plus=0.02, a_minus=0.025, tau_plus=20.0, tau_minus=20.0, w_max=30.0, tau_elig=1000.0, reward_lr=1.0
)
LEARN_STDP = STDPParams(
    a_plus=10.0, a_minus=6.0, tau_plus=20.0, tau_minus=20.0, w_max=30.0, tau_elig=1000.0, reward_lr=1.0
)
"""Pair STDP of a message window (gated to the presented assemblies): a_plus > a_minus, so concepts whose
neurons fire within ~20 ms of each other link in both directions, the earlier one more strongly onto the later."""


@dataclass(frozen=True)
class SubstrateConfig:
    """Everything that defines a substrate (frozen; saved with it).

    Attributes:
        neurons: total neurons over the 4 layers; code_k: active sensory neurons per code; seed: construction,
        noise and sampling seed; plasticity: learning on (off is the control); dt_ms: step.
        shape/lif/stdp: network layout, neuron and plasticity constants.
        stim_drive_mv: drive on a code's sensory neurons; assembly_min_spikes: (unused, kept for format stability);
        settle_ms: undriven time after each stimulation; key_threshold: share of a key's members active to
        report it in a Response; trigger_threshold, cooldown_ms, cue_drive_mv, cue_ms, cue_window_ms: idle
        replay (module docstring); threads: CPU threads for the native kernel (None: one below 100k neurons,
        else torch's setting). learn_rate: assembly learning step (``eta`` of
        plasticity.assembly_potentiation); lat_budget_mv: cap on a neuron's summed incoming lateral weight;
        tag_ms: how long learned changes stay eligible for ``reward``; context_rate: learning step of the
        links between an assembly and the one learned just before it (0: no sequence association).
        assembly_k: concept-layer assembly = 2 x assembly_k, category part = assembly_k (scaled by the code's
        size / code_k for unions); None: follow the code size (k = code_k, the version-2 behaviour).
        assembly_rule: 'lateral' (recurrent k-WTA, ``Substrate._compete``) or 'count' (most spikes, ties by
        feed-forward input: the earlier rule); assembly_candidates: candidate pool / assembly size.
        drive_ref_k: codes larger than this drive each sensory neuron with ``stim_drive_mv x sqrt(drive_ref_k
        / code_k)`` in ``stimulate`` (``code_drive_mv``), so a denser code recruits a smaller share of the
        concept layer (measured at 20k: 14 % of concept E fire for k = 32 at 30 mV, 44 % for k = 128 at
        30 mV, 25 % at 15 mV); None: no scaling. ``present`` and replay cues use stim/cue drive.
        concept_k / kind_k: neurons per concept assembly (concept layer) / per kind assembly (category layer);
        concept_ms, concept_gap_ms, concept_drive_mv: how long each concept of a message is driven, the onset
        spacing of successive concepts (they overlap by concept_ms - gap) and the drive; learn_stdp: the pair
        STDP constants of a message window; salience_tau: messages over which a concept's recency decays.
    """

    neurons: int = 20_000
    code_k: int = 32
    seed: int = 0
    plasticity: bool = True
    dt_ms: float = 1.0
    shape: SubstrateShape = field(default_factory=SubstrateShape)
    lif: LIFParams = DEFAULT_LIF
    stdp: STDPParams = DEFAULT_STDP
    stim_drive_mv: float = 30.0
    assembly_min_spikes: int = 2
    settle_ms: float = 30.0
    key_threshold: float = 0.3
    trigger_threshold: float = 0.4
    cooldown_ms: float = 2000.0
    cue_drive_mv: float = 30.0
    cue_ms: float = 20.0
    cue_window_ms: float = 50.0
    threads: int | None = None
    learn_rate: float = 0.7
    context_rate: float = 0.5
    lat_budget_mv: float = 150.0
    tag_ms: float = 5000.0
    assembly_k: int | None = 32
    assembly_rule: str = "lateral"
    assembly_candidates: float = 2.0
    drive_ref_k: int | None = 32
    concept_k: int = 48
    kind_k: int = 24
    concept_ms: float = 20.0
    concept_gap_ms: float = 10.0
    concept_drive_mv: float = 40.0
    learn_stdp: STDPParams = LEARN_STDP
    salience_tau: float = 30.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["shape"], d["lif"], d["stdp"] = self.shape._asdict(), self.lif._asdict(), self.stdp._asdict()
        d["learn_stdp"] = self.learn_stdp._asdict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SubstrateConfig:
        d = dict(d)
        shape = d.pop("shape", {})
        if isinstance(shape.get("fractions"), list):
            shape["fractions"] = tuple(shape["fractions"])
        return cls(
            shape=SubstrateShape(**shape),
            lif=LIFParams(**d.pop("lif", {})),
            stdp=STDPParams(**d.pop("stdp", {})),
            learn_stdp=STDPParams(**d.pop("learn_stdp", LEARN_STDP._asdict())),
            **d,
        )


def _backend(name: str | None) -> Backend | None:
    if name is None or name == "native" or name == "torch":
        return name  # type: ignore[return-value]
    raise ValueError(f"unknown backend {name!r}; use 'native' or 'torch'")


class Response(NamedTuple):
    """What a stimulation evoked: assembly (sorted concept/category E neuron ids), bound keys co-activated
    (key, share of its members active), strongest first; total spikes; simulated time at the end."""

    assembly: npt.NDArray[np.int64]
    keys: list[tuple[str, float]]
    spikes: int
    t_ms: float


class Trigger(NamedTuple):
    """An idle reactivation: surfaced keys (key, strength) strongest first; path = [cued key, *surfaced];
    simulated time of the window's end. With concepts (``learning="stdp"``): keys are the memories bound to the
    surfaced concepts, path = [ignited concept, *surfaced concepts], cue = the memory of the ignited concept
    the reactivation started from (its latest), or None."""

    keys: list[tuple[str, float]]
    path: list[str]
    t_ms: float
    cue: str | None = None


class ConceptResponse(NamedTuple):
    """What presenting a message's concepts evoked: the concepts presented; the other concepts their lateral
    links reactivated (key, share of members active), strongest first; the memories bound to those (key,
    score), best first; total spikes; simulated time at the end."""

    concepts: list[str]
    surfaced: list[tuple[str, float]]
    memories: list[tuple[str, float]]
    spikes: int
    t_ms: float


class RunStats(NamedTuple):
    """One ``run``: steps, simulated ms, wall s, spikes and rates per population, synaptic events, and the
    raster (int32 rows (step, neuron)) when recorded (None otherwise)."""

    steps: int
    duration_ms: float
    wall_s: float
    spikes: dict[str, int]
    rates_hz: dict[str, float]
    synaptic_events: int
    raster: npt.NDArray[np.int32] | None


class _Binding(NamedTuple):
    code: npt.NDArray[np.int64]
    members: npt.NDArray[np.int64]


def _gather(values: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``values[ids]`` (a copy); through NumPy on the CPU, where torch's indexing wakes its thread pool."""
    if values.device.type == "cpu":
        return torch.from_numpy(values.numpy()[ids.numpy()])
    return values[ids]


class Substrate:
    """A spiking associative substrate (module docstring). Not thread-safe: one caller at a time.

    Args:
        config: the configuration (default: 20k neurons).
        device: 'auto' | 'cpu' | 'cuda'.
        backend: force 'native' or 'torch' (default: native kernel on CPU when it builds).

    Raises:
        ValueError: invalid device or configuration.
    """

    def __init__(
        self,
        config: SubstrateConfig | None = None,
        device: str = "auto",
        backend: str | None = None,
        *,
        _conn: Connectivity | None = None,
    ) -> None:
        self.config = cfg = config or SubstrateConfig()
        if cfg.code_k < 1 or cfg.neurons < 100 or (cfg.assembly_k is not None and cfg.assembly_k < 1):
            raise ValueError("need code_k >= 1, assembly_k >= 1 (or None) and neurons >= 100")
        if cfg.assembly_rule not in ("lateral", "count"):
            raise ValueError(f"unknown assembly_rule {cfg.assembly_rule!r}; use 'lateral' or 'count'")

        self.device = resolve_device(device)
        self.layout: Layout = substrate_layout(cfg.neurons, cfg.shape)
        gen = torch.Generator().manual_seed(cfg.seed)
        t0 = time.perf_counter()
        conn = (
            _conn
            if _conn is not None
            else build(cfg.neurons, self.layout.is_exc(), list(self.layout.projections), gen)
        )
        state = init_state(cfg.neurons, cfg.lif, gen, torch.device("cpu"))
        if backend not in (None, "native", "torch"):
            raise ValueError(f"unknown backend {backend!r}")
        self.engine = Engine(
            conn,
            cfg.lif,
            cfg.stdp,
            state,
            cfg.dt_ms,
            cfg.seed,
            self.device,
            backend=_backend(backend),
            threads=cfg.threads,
            eligibility=False,
        )
        self.build_s = time.perf_counter() - t0
        self._rng = torch.Generator().manual_seed(cfg.seed + 1)
        self._bindings: dict[str, _Binding] = {}
        self._cool: dict[str, float] = {}
        self._tags: list[tuple[float, torch.Tensor, torch.Tensor]] = []
        self._context: npt.NDArray[np.int64] | None = None
        self._last: tuple[bytes, npt.NDArray[np.int64]] | None = None
        self._index: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]] | None = None
        self._sens = self.layout.pop("sensory_E")
        self._ce, self._ge = ce, ge = self.layout.pop("concept_E"), self.layout.pop("category_E")
        self._cat_ids = np.arange(ge.start, ge.stop, dtype=np.int64)
        self._assembly_mask = torch.zeros(cfg.neurons, dtype=torch.bool, device=self.device)
        self._assembly_mask[ce.start : ce.stop] = True
        self._assembly_mask[ge.start : ge.stop] = True
        self._concepts = ConceptRegistry()
        self._recent: list[str] = []  # the concepts of the last learned message (reward's salience target)

    # ------------------------------------------------------------------ coding
    @property
    def n_sensory(self) -> int:
        return self._sens.size

    def encode(self, embedding: npt.ArrayLike) -> Code:
        """The population code of ``embedding`` (coding.population_code with this substrate's sizes)."""
        return population_code(embedding, self.n_sensory, self.config.code_k, seed=self.config.seed)

    # ------------------------------------------------------------------ stimulation
    @property
    def code_drive_mv(self) -> float:
        """Drive per sensory neuron of a code in ``stimulate`` (``drive_ref_k`` in SubstrateConfig)."""
        cfg = self.config
        if cfg.drive_ref_k is None or cfg.code_k <= cfg.drive_ref_k:
            return cfg.stim_drive_mv
        return float(cfg.stim_drive_mv * (cfg.drive_ref_k / cfg.code_k) ** 0.5)

    def _check_code(self, code: Code) -> npt.NDArray[np.int64]:
        idx = np.asarray(code.indices if isinstance(code, Code) else code, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_sensory):
            raise ValueError(f"code indices must lie in [0, {self.n_sensory})")
        return idx

    def _steps(self, ms: float) -> int:
        return max(0, round(ms / self.config.dt_ms))

    def _learn_mode(self, learn: bool) -> str:
        return "both" if (learn and self.config.plasticity) else "off"

    def stimulate(self, code: Code, duration_ms: float = 50.0, learn: bool = True) -> Response:
        """Present ``code`` for ``duration_ms``, then let the network settle (``settle_ms``, no drive).

        Returns the responding assembly and the bound keys it co-activates.

        Raises:
            ValueError: code indices outside the sensory population or a negative duration.
        """
        if duration_ms < 0:
            raise ValueError("duration_ms must be >= 0")
        idx = self._check_code(code)
        eng = self.engine
        eng.drive.zero_()
        eng.drive[torch.as_tensor(idx + self._sens.start, device=self.device)] = self.code_drive_mv
        res = eng.run(self._steps(duration_ms), "off")
        eng.drive.zero_()
        counts = res.counts
        asm = self._assembly(idx, counts)
        if learn and self.config.plasticity:
            self._learn(asm)
        keys = self._key_strengths(counts >= 1, exclude=self._cat_ids)
        keys = [(k, s) for k, s in keys if s >= self.config.key_threshold]
        if self.config.settle_ms > 0:
            eng.run(self._steps(self.config.settle_ms), "off")
        self._last = (idx.tobytes(), asm)
        return Response(asm, keys, res.spikes, eng.t_ms)

    def _learn(self, asm: npt.NDArray[np.int64]) -> None:
        """Assembly-restricted Hebbian learning (plasticity.assembly_potentiation), tagged for reward:
        the previous learned assembly (the context) with this one at ``context_rate``, then this one
        within itself at ``learn_rate``."""
        cfg, conn = self.config, self.engine.conn
        now = self.engine.t_ms
        self._tags = [t for t in self._tags if now - t[0] <= cfg.tag_ms]
        steps = []
        if self._context is not None and cfg.context_rate > 0:
            steps.append((np.union1d(self._context, asm), cfg.context_rate))
        steps.append((asm, cfg.learn_rate))
        for members, rate in steps:
            syn, dw = assembly_potentiation(
                conn.row_ptr,
                conn.col,
                conn.w,
                conn.n_plastic,
                conn.rev_ptr,
                conn.rev_syn,
                torch.as_tensor(members, device=self.device),
                rate,
                cfg.stdp.w_max,
                cfg.lat_budget_mv,
            )
            if syn.numel():
                self._tags.append((now, syn, dw))
        self._context = asm.copy()

    def _ff_input(self, rows: torch.Tensor, pop_start: int, pop_stop: int) -> torch.Tensor:
        """Summed static weight from neurons ``rows`` onto each neuron of [pop_start, pop_stop)."""
        conn = self.engine.conn
        if self.device.type == "cpu":
            rp, col, w = conn.row_ptr.numpy(), conn.col.numpy(), conn.w.numpy()
            r = rows.numpy()
            starts, stops = rp[r], rp[r + 1]
            ln = stops - starts
            if int(ln.sum()) == 0:
                return torch.zeros(pop_stop - pop_start, dtype=torch.float32)
            ids = np.repeat(starts - (np.cumsum(ln) - ln), ln) + np.arange(int(ln.sum()))
            t_np = col[ids]
            k_np = (t_np >= pop_start) & (t_np < pop_stop)
            o_np = np.bincount(t_np[k_np] - pop_start, weights=w[ids][k_np], minlength=pop_stop - pop_start)
            return torch.from_numpy(o_np.astype(np.float32))
        syn = expand_rows(conn.row_ptr, rows)
        tgt = conn.col[syn].to(torch.int64)
        keep = (tgt >= pop_start) & (tgt < pop_stop)
        out = torch.zeros(pop_stop - pop_start, dtype=torch.float32, device=self.device)
        return out.index_add_(0, tgt[keep] - pop_start, conn.w[syn][keep])

    def _assembly(self, idx: npt.NDArray[np.int64], counts: torch.Tensor) -> npt.NDArray[np.int64]:
        # The most active neurons of each layer; ties (spike counts are small integers) are resolved by
        # the feed-forward input from the code (concept) or from the concept assembly (category).
        # The assembly size follows the code (a co-occurrence, a union of codes, recruits both), scaled by
        # assembly_k / code_k when assembly_k is set.
        cfg = self.config
        ak = cfg.assembly_k
        k = max(1, int(idx.size) if ak is None else round(ak * idx.size / cfg.code_k))
        rows = torch.as_tensor(idx + self._sens.start, device=self.device)
        picked = []
        for pop, size in ((self._ce, 2 * k), (self._ge, k)):
            ff = self._ff_input(rows, pop.start, pop.stop)
            c = counts[pop.start : pop.stop].float()
            n_ok = int((c > 0).sum())
            if cfg.assembly_rule == "count" or n_ok == 0:
                score = torch.where(c > 0, c * 1e4 + ff, torch.full_like(c, -1.0))
                top = (
                    torch.topk(score, min(size, n_ok)).indices
                    if n_ok
                    else score.new_zeros(0, dtype=torch.int64)
                )
            else:
                top = self._compete(pop, ff, c, size, lateral=pop is self._ce)
            sel = top + pop.start
            picked.append(sel)
            rows = sel
        return np.sort(torch.cat(picked).cpu().numpy().astype(np.int64))

    def _compete(
        self, pop: Population, ff: torch.Tensor, counts: torch.Tensor, size: int, lateral: bool
    ) -> torch.Tensor:  # counts: spikes of pop's neurons during the stimulation
        """Recurrent k-winners-take-all (``assembly_rule="lateral"``): among the neurons that fired, the
        ``assembly_candidates`` x ``size`` with the largest feed-forward input are candidates (a fixed function
        of the code, so repeated presentations recruit the same neurons); in the concept layer the winners are
        then the ``size`` candidates receiving the most lateral weight from the current winners (two rounds,
        starting from the feed-forward ranking), i.e. the candidates best wired into the assembly, so half of
        it can recall the other half. Returns indices relative to ``pop.start``."""
        fired = counts > 0
        score = torch.where(fired, ff, torch.full_like(ff, -1e30))
        m = min(int(fired.sum()), max(size, round(self.config.assembly_candidates * size)))
        cand = torch.topk(score, m).indices
        if not lateral or m <= size:
            return cand[:size]
        chosen = cand[:size]
        tie = 1e-3 * ff[cand] / max(float(ff[cand].max()), 1e-9)
        for _ in range(2):
            lat = self._ff_input(chosen + pop.start, pop.start, pop.stop)[cand]
            chosen = cand[torch.topk(lat + tie, size).indices]
        return chosen

    def present(
        self, neurons: npt.ArrayLike, duration_ms: float = 50.0, drive_mv: float | None = None
    ) -> npt.NDArray[np.int32]:
        """Drive ``neurons`` (any ids, e.g. half of an assembly) directly for ``duration_ms`` without learning,
        then settle; returns the spike count of every neuron during the drive (int32 (N,)).

        Raises:
            ValueError: ids outside [0, neurons) or a negative duration.
        """
        ids = np.asarray(neurons, dtype=np.int64).reshape(-1)
        if duration_ms < 0:
            raise ValueError("duration_ms must be >= 0")
        if ids.size and (ids.min() < 0 or ids.max() >= self.config.neurons):
            raise ValueError(f"neuron ids must lie in [0, {self.config.neurons})")
        eng = self.engine
        eng.drive.zero_()
        eng.drive[torch.as_tensor(ids, device=self.device)] = (
            self.config.stim_drive_mv if drive_mv is None else float(drive_mv)
        )
        res = eng.run(self._steps(duration_ms), "off")
        eng.drive.zero_()
        if self.config.settle_ms > 0:
            eng.run(self._steps(self.config.settle_ms), "off")
        return res.counts.cpu().numpy()

    # ------------------------------------------------------------------ bindings
    def bind(self, code: Code, key: str) -> npt.NDArray[np.int64]:
        """Associate ``code``'s assembly with ``key`` (replacing an earlier binding of the key); returns it.

        Uses the assembly of the last stimulation when it was this code, else stimulates without learning.

        Raises:
            ValueError: empty key or invalid code.
        """
        if not key:
            raise ValueError("key must be a non-empty string")
        idx = self._check_code(code)
        if self._last is not None and self._last[0] == idx.tobytes():
            members = self._last[1]
        else:
            members = self.stimulate(Code(idx), learn=False).assembly
        self._bindings[key] = _Binding(idx.copy(), members.copy())
        self._index = None
        return members

    def unbind(self, key: str) -> bool:
        """Forget ``key``'s binding (a code binding or a memory's concepts); True if it existed. Concepts no
        memory is bound to any more leave the registry (their keys are text)."""
        self._cool.pop(key, None)
        existed = self._bindings.pop(key, None) is not None
        self._index = None
        if self._concepts.unbind(key):
            existed = True
            self._concepts.drop_unbound()
        return existed

    def keys(self) -> list[str]:
        """Bound keys (code bindings, then memories bound to concepts) in binding order."""
        return [*self._bindings, *(k for k in self._concepts.memories if k not in self._bindings)]

    def assembly_of(self, key: str) -> npt.NDArray[np.int64]:
        """The neurons bound to ``key``. Raises KeyError if unbound."""
        return self._bindings[key].members.copy()

    def _key_index(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
        if self._index is None:
            names = list(self._bindings)
            mem = [self._bindings[k].members for k in names]
            flat = np.concatenate(mem) if mem else np.zeros(0, dtype=np.int64)
            owner = np.repeat(np.arange(len(names)), [m.size for m in mem]).astype(np.int64)
            self._index = (flat, owner, names)
        return self._index

    def _key_strengths(
        self, active: torch.Tensor, exclude: npt.NDArray[np.int64] | None
    ) -> list[tuple[str, float]]:
        """(key, share of its members in ``active``, ignoring ``exclude``d neurons), strongest first."""
        flat, owner, names = self._key_index()
        if not names:
            return []
        act_all = active.cpu().numpy()
        keep = np.ones(flat.size, dtype=bool)
        if exclude is not None and exclude.size:
            mask = np.zeros(act_all.size, dtype=bool)
            mask[exclude] = True
            keep = ~mask[flat]
        act = act_all[flat] & keep
        sizes = np.maximum(np.bincount(owner, weights=keep, minlength=len(names)), 1.0)
        share = np.bincount(owner, weights=act, minlength=len(names)) / sizes
        out = [(names[i], float(share[i])) for i in np.flatnonzero(share > 0)]
        out.sort(key=lambda kv: (-kv[1], kv[0]))
        return out

    # ------------------------------------------------------------------ concepts
    def concept_members(self, key: str, kind: str = "thing") -> npt.NDArray[np.int64]:
        """The concept-layer assembly of ``key`` (fixed by the seed and the key: concepts.hashed_members)."""
        entry = self._concepts.concepts.get(key)
        if entry is not None:
            return entry.members.copy()
        ce = self._ce
        return hashed_members(self.config.seed, "concept:" + key, ce.start, ce.size, self.config.concept_k)

    def _kind_members(self, kind: str) -> npt.NDArray[np.int64]:
        ge = self._ge
        return hashed_members(self.config.seed, "kind:" + kind, ge.start, ge.size, self.config.kind_k)

    def present_concepts(
        self, concepts: Sequence[tuple[str, str]], code: Code | None = None, learn: bool = True
    ) -> ConceptResponse:
        """Present a message's concepts ((key, kind) pairs, in the order the message mentions them), with its
        population ``code`` on the sensory layer throughout when given, and read which other concepts their
        learned lateral links reactivate.

        Concept i's assembly (with its kind's category assembly) is driven with ``concept_drive_mv`` from
        ``i x concept_gap_ms`` for ``concept_ms``, so successive concepts overlap; then the network settles
        for ``settle_ms``. With ``learn`` (and plasticity on) the kernel's pair STDP runs with ``learn_stdp``
        during the presentation, gated to the synapses among the presented assemblies (connectivity.gate:
        nothing else learns), followed by synaptic scaling of the presented neurons' incoming lateral weights
        to ``lat_budget_mv``; the net changes are tagged for ``reward``. A concept surfaces when its members
        (outside the presented assemblies) fire with a share >= ``trigger_threshold``; memories bound to
        surfaced concepts are scored by the activity of all their concepts (presented ones count 1).

        Raises:
            ValueError: an empty concept key.
        """
        cfg, eng = self.config, self.engine
        reg = self._concepts
        if any(not key for key, _ in concepts):
            raise ValueError("concept keys must be non-empty strings")
        if learn:
            reg.messages += 1
        keys: list[str] = []
        groups: list[npt.NDArray[np.int64]] = []
        for key, kind in concepts:
            if key in keys:
                continue
            entry = reg.add(key, self.concept_members(key), kind)
            if learn:
                entry.last, entry.mentions, entry.reward = reg.messages, entry.mentions + 1, 0.0
            keys.append(key)
            groups.append(np.concatenate([entry.members, self._kind_members(entry.kind)]))
        if not keys:
            return ConceptResponse([], [], [], 0, eng.t_ms)
        union = np.unique(np.concatenate(groups))
        learning = learn and cfg.plasticity
        counts = np.zeros(cfg.neurons, dtype=np.int64)
        spikes = 0
        g = None
        if learning:
            conn = self._with_reverse()
            g = gate(conn, union)
            incoming = self._incoming(union)
            before = _gather(conn.w, incoming)
        on = [i * cfg.concept_gap_ms for i in range(len(keys))]
        edges = sorted({0.0, *on, *[t + cfg.concept_ms for t in on]})
        drives = [torch.as_tensor(members, device=self.device) for members in groups]
        sensory = None
        if code is not None:
            sensory = torch.as_tensor(self._check_code(code) + self._sens.start, device=self.device)
        saved, eng.stdp = eng.stdp, cfg.learn_stdp
        try:
            for a, b in itertools.pairwise(edges):
                eng.drive.zero_()
                if sensory is not None:
                    eng.drive[sensory] = self.code_drive_mv
                for i, ids in enumerate(drives):
                    if on[i] <= a < on[i] + cfg.concept_ms:
                        eng.drive[ids] = cfg.concept_drive_mv
                res = eng.run(self._steps(b - a), "direct" if learning else "off", gate=g)
                counts += res.counts.cpu().numpy()
                spikes += res.spikes
        finally:
            eng.stdp = saved
            eng.drive.zero_()
        if cfg.settle_ms > 0:
            res = eng.run(self._steps(cfg.settle_ms), "off")
            counts += res.counts.cpu().numpy()
            spikes += res.spikes
        if learning:
            w = eng.conn.w
            synaptic_scaling(eng.conn.rev_ptr, eng.conn.rev_syn, w, torch.as_tensor(union), cfg.lat_budget_mv)
            dw = _gather(w, incoming) - before
            moved = (
                torch.nonzero(dw).flatten()
                if dw.device.type != "cpu"
                else torch.from_numpy(np.flatnonzero(dw.numpy()))
            )
            if moved.numel():
                self._tags = [t for t in self._tags if eng.t_ms - t[0] <= cfg.tag_ms]
                self._tags.append((eng.t_ms, _gather(incoming, moved), _gather(dw, moved)))
            self._recent = keys
        surfaced = self._surfaced(counts, union, exclude=keys)
        memories = self._memories_of(dict.fromkeys(keys, 1.0), surfaced)
        return ConceptResponse(keys, surfaced, memories, spikes, eng.t_ms)

    def _with_reverse(self) -> Connectivity:
        eng = self.engine
        eng.conn = with_reverse(eng.conn)
        return eng.conn

    def _incoming(self, posts: npt.NDArray[np.int64]) -> torch.Tensor:
        """Ids of the plastic synapses onto ``posts`` (int64)."""
        conn = self._with_reverse()
        if self.device.type == "cpu":
            rp = conn.rev_ptr.numpy()
            ln = rp[posts + 1] - rp[posts]
            ids = np.repeat(rp[posts] - (np.cumsum(ln) - ln), ln) + np.arange(int(ln.sum()), dtype=np.int64)
            return torch.from_numpy(conn.rev_syn.numpy()[ids].astype(np.int64))
        rows = torch.as_tensor(posts, device=self.device)
        return conn.rev_syn[expand_rows(conn.rev_ptr, rows)].to(torch.int64)

    def _surfaced(
        self, counts: npt.NDArray[np.int64], driven: npt.NDArray[np.int64], exclude: Sequence[str]
    ) -> list[tuple[str, float]]:
        """Concepts (not in ``exclude``) whose members outside ``driven`` fired with share >= trigger_threshold."""
        flat, owner, names = self._concepts.index()
        if not names:
            return []
        active = counts >= 1
        keep = ~np.isin(flat, driven)
        act = active[flat] & keep
        sizes = np.maximum(np.bincount(owner, weights=keep, minlength=len(names)), 1.0)
        share = np.bincount(owner, weights=act, minlength=len(names)) / sizes
        skip = set(exclude)
        out = [
            (names[i], float(share[i]))
            for i in np.flatnonzero(share >= self.config.trigger_threshold)
            if names[i] not in skip
        ]
        out.sort(key=lambda kv: (-kv[1], kv[0]))
        return out

    def _memories_of(
        self, presented: dict[str, float], surfaced: list[tuple[str, float]]
    ) -> list[tuple[str, float]]:
        """Memories bound to a surfaced concept, scored by the summed activity of all their concepts (presented
        count 1, surfaced their share), best first; ties: the later binding first."""
        act = {**presented, **dict(surfaced)}
        reg = self._concepts
        candidates = dict.fromkeys(m for c, _ in surfaced for m in reg.bound(c))
        scored = [(key, sum(act.get(c, 0.0) for c in reg.memories[key]), reg.seq(key)) for key in candidates]
        scored.sort(key=lambda x: (-x[1], -x[2]))
        return [(k, float(v)) for k, v, _ in scored]

    def bind_memory(self, key: str, concepts: Sequence[str]) -> None:
        """Bind the memory ``key`` to the concepts it mentions (keys already presented; others are ignored).

        Raises:
            ValueError: empty key.
        """
        if not key:
            raise ValueError("key must be a non-empty string")
        self._concepts.bind(key, tuple(c for c in dict.fromkeys(concepts) if c in self._concepts.concepts))

    def concepts_of(self, key: str) -> tuple[str, ...]:
        """The concepts the memory ``key`` is bound to (empty if none)."""
        return self._concepts.memories.get(key, ())

    def concept_keys(self) -> list[str]:
        """Registered concept keys."""
        return list(self._concepts.concepts)

    # ------------------------------------------------------------------ reward
    def reward(self, value: float) -> None:
        """Third factor on what was learned recently: every synapse changed by a learning stimulation within
        ``tag_ms`` gets ``w += lr * value * dw * exp(-age / tau_elig)`` (clipped to [0, w_max]), so a
        positive reward strengthens and a negative one weakens (or undoes) those changes. Sparse: only the
        tagged synapses are touched. No-op without plasticity.

        Raises:
            ValueError: non-finite value.
        """
        if not np.isfinite(value):
            raise ValueError("reward must be finite")
        if not self.config.plasticity or value == 0.0:
            return
        for key in self._recent:
            entry = self._concepts.concepts.get(key)
            if entry is not None:
                entry.reward += float(value)
        cfg, w, now = self.config, self.engine.conn.w, self.engine.t_ms
        self._tags = [t for t in self._tags if now - t[0] <= cfg.tag_ms]
        for t_ms, syn, dw in self._tags:
            g = cfg.stdp.reward_lr * float(value) * float(np.exp(-(now - t_ms) / cfg.stdp.tau_elig))
            w[syn] = (w[syn] + g * dw).clamp_(0.0, cfg.stdp.w_max)

    # ------------------------------------------------------------------ idle
    def idle(self, duration_ms: float, learn: bool = False) -> list[Trigger]:
        """Advance ``duration_ms`` under background drive with replay cues; return the triggers (module doc).

        Raises:
            ValueError: negative duration.
        """
        if duration_ms < 0:
            raise ValueError("duration_ms must be >= 0")
        if self._concepts.memories:
            return self._idle_concepts(duration_ms, learn)
        cfg, eng = self.config, self.engine
        mode = self._learn_mode(learn)
        triggers: list[Trigger] = []
        left = self._steps(duration_ms)
        win = max(1, self._steps(cfg.cue_window_ms))
        cue = min(win, self._steps(cfg.cue_ms))
        while left > 0:
            n = min(win, left)
            left -= n
            names = list(self._bindings)
            seed_key = None
            if names:
                seed_key = names[int(torch.randint(len(names), (1,), generator=self._rng))]
            eng.drive.zero_()
            counts = torch.zeros(cfg.neurons, dtype=torch.int32, device=self.device)
            c = min(cue, n) if seed_key is not None else 0
            if seed_key is not None and c > 0:
                members = torch.as_tensor(self._bindings[seed_key].members, device=self.device)
                eng.drive[members] = cfg.cue_drive_mv
                counts += eng.run(c, mode).counts
                eng.drive.zero_()
            if n - c > 0:
                counts += eng.run(n - c, mode).counts
            if seed_key is None:
                continue
            now = eng.t_ms
            # concept-layer members only: the category layer also receives the cue's feed-forward volley
            seed_members = self._bindings[seed_key].members
            excl = np.union1d(seed_members, self._cat_ids)
            got = [
                (k, s)
                for k, s in self._key_strengths(counts >= 1, exclude=excl)
                if k != seed_key
                and s >= cfg.trigger_threshold
                and now - self._cool.get(k, -1e18) >= cfg.cooldown_ms
            ]
            if got:
                for k, _ in got:
                    self._cool[k] = now
                self._cool[seed_key] = now
                triggers.append(Trigger(got, [seed_key, *[k for k, _ in got]], now))
        return triggers

    def _idle_concepts(self, duration_ms: float, learn: bool) -> list[Trigger]:
        """Idle with concepts (module docstring, "Idle"): per window, spontaneous ignition at a concept sampled by
        salience, lateral spread, and a trigger naming the path and the memories it surfaced."""
        cfg, eng, reg = self.config, self.engine, self._concepts
        triggers: list[Trigger] = []
        left = self._steps(duration_ms)
        win = max(1, self._steps(cfg.cue_window_ms))
        cue_steps = min(win, self._steps(cfg.cue_ms))
        plastic = learn and cfg.plasticity
        while left > 0:
            n = min(win, left)
            left -= n
            now0 = eng.t_ms
            ready = [k for k in reg.with_memories() if now0 - self._cool.get(k, -1e18) >= cfg.cooldown_ms]
            eng.drive.zero_()
            if not ready:
                eng.run(n, "off")
                continue
            weights = torch.tensor([reg.salience(k, cfg.salience_tau) for k in ready], dtype=torch.float64)
            cue = ready[int(torch.multinomial(weights, 1, generator=self._rng))]
            members = reg.concepts[cue].members
            c = min(cue_steps, n)
            g = gate(self._with_reverse(), members) if plastic else None
            eng.drive[torch.as_tensor(members, device=self.device)] = cfg.cue_drive_mv
            counts = eng.run(c, "direct" if plastic else "off", gate=g).counts.cpu().numpy()
            eng.drive.zero_()
            if n - c > 0:
                counts += eng.run(n - c, "off").counts.cpu().numpy()
            if plastic:
                synaptic_scaling(
                    eng.conn.rev_ptr,
                    eng.conn.rev_syn,
                    eng.conn.w,
                    torch.as_tensor(members),
                    cfg.lat_budget_mv,
                )
            ignited = float((counts[members] >= 1).mean())
            if ignited < cfg.trigger_threshold:
                continue
            now = eng.t_ms
            surfaced = [
                (k, v)
                for k, v in self._surfaced(counts, members, exclude=[cue])
                if now - self._cool.get(k, -1e18) >= cfg.cooldown_ms
            ]
            if not surfaced:
                continue
            bound = reg.bound(cue)
            cue_memory = bound[-1] if bound else None
            memories = [(m, v) for m, v in self._memories_of({cue: 1.0}, surfaced) if m != cue_memory]
            self._cool[cue] = now
            for k, _ in surfaced:
                self._cool[k] = now
            if memories:
                triggers.append(Trigger(memories[:5], [cue, *[k for k, _ in surfaced]], now, cue_memory))
        return triggers

    # ------------------------------------------------------------------ plain runs
    def run(
        self,
        duration_ms: float,
        record: bool = False,
        record_cap: int | None = None,
        learn: bool | None = None,
    ) -> RunStats:
        """Advance ``duration_ms`` with background drive only; learning per config unless ``learn`` is given.

        ``record`` keeps up to ``record_cap`` (default: 20 spikes per neuron) (step, neuron) rows.
        """
        if duration_ms < 0:
            raise ValueError("duration_ms must be >= 0")
        steps = self._steps(duration_ms)
        cap = (record_cap if record_cap is not None else 20 * self.config.neurons) if record else 0
        self.engine.drive.zero_()
        res = self.engine.run(
            steps, self._learn_mode(self.config.plasticity if learn is None else learn), cap
        )
        counts = res.counts.cpu()
        spikes = {p.name: int(counts[p.start : p.stop].sum()) for p in self.layout.populations}
        sim_s = steps * self.config.dt_ms / 1000.0
        rates = {
            p.name: (spikes[p.name] / p.size / sim_s if sim_s > 0 else 0.0) for p in self.layout.populations
        }
        rates["all"] = res.spikes / self.config.neurons / sim_s if sim_s > 0 else 0.0
        raster = res.raster.cpu().numpy() if record else None
        return RunStats(steps, steps * self.config.dt_ms, res.wall_s, spikes, rates, res.events, raster)

    # ------------------------------------------------------------------ introspection
    def stats(self) -> dict[str, Any]:
        """JSON-able summary: sizes, synapses, weights, bindings, device, backend, simulated time."""
        conn = self.engine.conn
        pl = self.engine.plastic_ids()
        wp = conn.w[pl] if pl.numel() else torch.zeros(1)
        return {
            "neurons": self.config.neurons,
            "populations": {p.name: p.size for p in self.layout.populations},
            "synapses": conn.n_synapses,
            "plastic_synapses": int(pl.numel()),
            "plastic_weight_mean": float(wp.mean()),
            "plastic_weight_max": float(wp.max()),
            "bytes": conn.nbytes() + int(self.engine.elig.numel()) * 4,
            "build_s": round(self.build_s, 3),
            "bindings": len(self._bindings),
            "concepts": len(self._concepts.concepts),
            "memories": len(self._concepts.memories),
            "code_k": self.config.code_k,
            "plasticity": self.config.plasticity,
            "device": str(self.device),
            "backend": self.engine.backend,
            "sim_time_ms": self.engine.t_ms,
            "dt_ms": self.config.dt_ms,
        }

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the whole substrate (config, connectivity, weights, traces, bindings, RNG) to ``path``."""
        eng = self.engine
        blob = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "conn": {k: v.cpu() for k, v in eng.conn._asdict().items() if not k.startswith("rev_")},
            "state": {k: v.cpu() for k, v in eng.state._asdict().items()},
            "x_pre": eng.x_pre.cpu(),
            "x_post": eng.x_post.cpu(),
            "tags": [(t, syn.cpu(), dw.cpu()) for t, syn, dw in self._tags],
            "context": None if self._context is None else self._context.tolist(),
            "step": eng.step,
            "rng": self._rng.get_state(),
            "bindings": {k: (b.code.tolist(), b.members.tolist()) for k, b in self._bindings.items()},
            "cooldown": dict(self._cool),
            "concepts": self._concepts.to_blob(),
            "recent": list(self._recent),
        }
        path = Path(path)
        # atomic: a unique temp file beside the target, flushed to disk, then renamed over it
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                torch.save(blob, out)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def copy(self) -> Substrate:
        """An independent substrate in the same state (what :meth:`save` then :meth:`load` would give, without
        the file): tens of milliseconds where building the connectivity takes seconds, so a pool can keep one
        fresh substrate per configuration and hand each new user a copy of it."""
        eng = self.engine
        conn = Connectivity(*(t.clone() for t in eng.conn))
        sub = type(self)(self.config, device=str(self.device), backend=eng.backend, _conn=conn)
        other = sub.engine
        other.state = LIFState(*(t.clone() for t in eng.state))
        other.x_pre, other.x_post = eng.x_pre.clone(), eng.x_post.clone()
        other.step = eng.step
        sub._tags = [(t, a.clone(), b.clone()) for t, a, b in self._tags]
        sub._context = None if self._context is None else self._context.copy()
        sub._rng.set_state(self._rng.get_state())
        sub._bindings = {k: _Binding(b.code.copy(), b.members.copy()) for k, b in self._bindings.items()}
        sub._cool = dict(self._cool)
        sub._concepts = ConceptRegistry.from_blob(self._concepts.to_blob())
        sub._recent = list(self._recent)
        return sub

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", backend: str | None = None) -> Substrate:
        """Read a substrate written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file. ValueError: not a substrate file or an unsupported version.
        """
        try:
            # weights_only: tensors and plain containers only, so a crafted file cannot run code when unpickled
            blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise ValueError(f"{path} is not a readable substrate file: {exc}") from exc
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise ValueError(f"{path} is not a substrate file")
        if blob.get("version") not in READABLE_VERSIONS:
            raise ValueError(
                f"unsupported substrate format version {blob.get('version')} (this build reads "
                f"{FORMAT_VERSION})"
            )
        cfg = SubstrateConfig.from_dict(blob["config"])
        parts = {k: v for k, v in blob["conn"].items() if not k.startswith("rev_")}
        conn = with_reverse(
            Connectivity(**parts, rev_ptr=torch.zeros(0), rev_syn=torch.zeros(0), rev_pre=torch.zeros(0))
        )
        sub = cls(cfg, device=device, backend=_backend(backend), _conn=conn)
        eng = sub.engine
        eng.state = LIFState(*(blob["state"][k].to(sub.device).contiguous() for k in LIFState._fields))
        eng.x_pre = blob["x_pre"].to(sub.device)
        eng.x_post = blob["x_post"].to(sub.device)
        sub._tags = [(float(t), a.to(sub.device), b.to(sub.device)) for t, a, b in blob.get("tags", [])]
        ctx = blob.get("context")
        sub._context = None if ctx is None else np.asarray(ctx, dtype=np.int64)
        eng.step = int(blob["step"])
        sub._rng.set_state(blob["rng"])
        sub._bindings = {
            k: _Binding(np.asarray(c, dtype=np.int64), np.asarray(m, dtype=np.int64))
            for k, (c, m) in blob["bindings"].items()
        }
        sub._cool = {str(k): float(v) for k, v in blob["cooldown"].items()}
        sub._concepts = ConceptRegistry.from_blob(blob.get("concepts"))
        sub._recent = [str(k) for k in blob.get("recent", [])]
        return sub
