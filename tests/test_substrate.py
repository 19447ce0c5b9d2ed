"""Behaviour of snn_substrate: coding, dynamics properties, plasticity bounds, persistence, associations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_substrate import Substrate, SubstrateConfig, Trigger, population_code
from snn_substrate.connectivity import build
from snn_substrate.dynamics import LIFParams, init_state
from snn_substrate.engine import Engine
from snn_substrate.network import cuba_layout
from snn_substrate.plasticity import STDPParams

BACKENDS = ["native", "torch"]


def _cuba(n: int, backend: str, plastic: bool = False, seed: int = 0) -> Engine:
    lay = cuba_layout(n)
    projs = list(lay.projections)
    if plastic:
        projs[0] = projs[0]._replace(plastic=True)
    g = torch.Generator().manual_seed(seed)
    conn = build(n, lay.is_exc(), projs, g)
    lif = LIFParams()
    return Engine(
        conn,
        lif,
        STDPParams(a_plus=0.05, a_minus=0.06, w_max=3.0),
        init_state(n, lif, g, torch.device("cpu")),
        1.0,
        seed,
        torch.device("cpu"),
        backend=backend,
    )  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(dim=st.integers(1, 2000), k=st.integers(1, 64), seed=st.integers(0, 2**31 - 1))
def test_population_code_has_exactly_k_units(dim: int, k: int, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=dim) * (seed % 7 + 0.1)
    code = population_code(x, 500, k)
    assert len(code) == k
    assert np.all(np.diff(code.indices) > 0) and code.indices.min() >= 0 and code.indices.max() < 500


def test_population_code_is_deterministic_and_similarity_preserving() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=384)
    near, far = a + 0.3 * rng.normal(size=384), rng.normal(size=384)
    ca = population_code(a, 3000, 32)
    assert np.array_equal(ca.indices, population_code(a.copy(), 3000, 32).indices)
    assert ca.overlap(population_code(near, 3000, 32)) > ca.overlap(population_code(far, 3000, 32))
    # scale and offset do not matter (z-scoring)
    assert np.array_equal(ca.indices, population_code(3 * a + 1, 3000, 32).indices)


def test_population_code_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        population_code(np.array([]), 10, 2)
    with pytest.raises(ValueError):
        population_code(np.array([1.0, np.nan]), 10, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_input_and_zero_drive_give_no_spikes(backend: str) -> None:
    cfg = SubstrateConfig(neurons=2000, lif=SubstrateConfig().lif._replace(noise_hz=0.0))
    sub = Substrate(cfg, device="cpu", backend=backend)
    assert sub.run(200).spikes == {p.name: 0 for p in sub.layout.populations}


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1000), backend=st.sampled_from(BACKENDS))
def test_weights_stay_within_bounds_under_stdp(seed: int, backend: str) -> None:
    eng = _cuba(1000, backend, plastic=True, seed=seed)
    eng.run(100 if backend == "torch" else 500, "both")
    pl = eng.plastic_ids()
    w = eng.conn.w[pl]
    assert float(w.min()) >= 0.0 and float(w.max()) <= eng.stdp.w_max
    assert torch.isfinite(eng.elig).all()


def test_native_and_torch_backends_agree() -> None:
    a, b = _cuba(2000, "native"), _cuba(2000, "torch")
    ra, rb = a.run(300), b.run(300)
    assert ra.spikes > 0
    assert abs(ra.spikes - rb.spikes) / ra.spikes < 0.1


def test_cuba_rate_is_in_the_brian2_regime() -> None:
    eng = _cuba(4000, "native")
    r = eng.run(1000)
    assert 3.0 < r.spikes / 4000 < 9.0  # Brian2's CUBA example: about 5-6 Hz


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_then_run_gives_identical_spikes(tmp_path, backend: str) -> None:  # type: ignore[no-untyped-def]
    sub = Substrate(SubstrateConfig(neurons=2000, seed=3), device="cpu", backend=backend)
    code = sub.encode(np.arange(16.0))
    sub.stimulate(code)
    sub.bind(code, "m1")
    sub.save(tmp_path / "s.pt")
    r1 = sub.run(100, record=True)
    other = Substrate.load(tmp_path / "s.pt", device="cpu", backend=backend)
    r2 = other.run(100, record=True)
    assert r1.raster is not None and r2.raster is not None
    assert np.array_equal(r1.raster, r2.raster)
    assert other.keys() == ["m1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copy_runs_like_the_original_and_learns_on_its_own(backend: str) -> None:
    sub = Substrate(SubstrateConfig(neurons=2000, seed=3), device="cpu", backend=backend)
    code = sub.encode(np.arange(16.0))
    sub.stimulate(code)
    sub.bind(code, "m1")
    other = sub.copy()
    r1 = sub.run(100, record=True)
    r2 = other.run(100, record=True)
    assert r1.raster is not None and r2.raster is not None
    assert np.array_equal(r1.raster, r2.raster)
    assert other.keys() == ["m1"]
    other.bind(other.encode(np.ones(16)), "m2")
    other.stimulate(code)  # learning in the copy leaves the original as it was
    assert sub.keys() == ["m1"]
    assert not torch.equal(sub.engine.conn.w, other.engine.conn.w)


def test_load_rejects_foreign_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.save({"format": "x"}, tmp_path / "x.pt")
    with pytest.raises(ValueError):
        Substrate.load(tmp_path / "x.pt", device="cpu")


class _RunsCode:
    """Unpickling this calls ``Path.touch(marker)``: what a crafted substrate file could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_load_never_runs_code_from_a_crafted_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"
    torch.save({"format": "x", "payload": _RunsCode(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a readable substrate file"):
        Substrate.load(tmp_path / "evil.pt", device="cpu")
    assert not marker.exists()


def test_bind_unbind_keys_and_stats() -> None:
    sub = Substrate(SubstrateConfig(neurons=2000), device="cpu")
    code = sub.encode(np.ones(8) + np.arange(8))
    resp = sub.stimulate(code, learn=False)
    assert resp.assembly.size > 0
    sub.bind(code, "k")
    assert sub.keys() == ["k"]
    assert sub.stimulate(code, learn=False).keys[0][0] == "k"
    assert sub.unbind("k") and sub.keys() == []
    st_ = sub.stats()
    assert st_["neurons"] == 2000 and st_["synapses"] > 0 and st_["bindings"] == 0


def _pairing(plasticity: bool) -> tuple[float, float, list[Trigger]]:
    sub = Substrate(SubstrateConfig(neurons=8_000, plasticity=plasticity, key_threshold=0.0), device="cpu")
    rng = np.random.default_rng(1)
    a, b, c = (sub.encode(rng.normal(size=384)) for _ in range(3))
    for key, code in (("A", a), ("B", b), ("C", c)):
        sub.stimulate(code, learn=False)
        sub.bind(code, key)
    for _ in range(5):
        sub.stimulate(a.union(b), learn=True)
    shares = dict(sub.stimulate(a, learn=False).keys)
    sub.unbind("C")
    return shares.get("B", 0.0), shares.get("C", 0.0), sub.idle(1000)


def test_paired_stimuli_associate_and_replay_only_with_learning() -> None:
    b_share, c_share, triggers = _pairing(True)
    assert b_share > c_share + 0.15  # A alone reactivates B's assembly above chance (C: never paired)
    surfaced = {k for t in triggers for k, _ in t.keys}
    assert surfaced & {"A", "B"}
    b0, _, t0 = _pairing(False)
    assert b0 < b_share - 0.15
    assert t0 == []


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_path_runs_and_learns() -> None:
    sub = Substrate(SubstrateConfig(neurons=5000), device="cuda")
    code = sub.encode(np.arange(32.0))
    sub.stimulate(code)
    sub.bind(code, "k")
    stats = sub.run(100, record=True)
    assert stats.raster is not None
    assert sub.stats()["device"].startswith("cuda")


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), turns=st.integers(1, 12))
def test_assembly_learning_keeps_weights_and_lateral_input_bounded(seed: int, turns: int) -> None:
    cfg = SubstrateConfig(neurons=1500, seed=seed % 7, lat_budget_mv=20.0)
    sub = Substrate(cfg, device="cpu")
    conn = sub.engine.conn
    rng = np.random.default_rng(seed)
    before = torch.zeros(cfg.neurons).index_add_(
        0, conn.col[conn.rev_syn.long()].long(), conn.w[conn.rev_syn.long()]
    )
    for i in range(turns):
        code = sub.encode(rng.normal(size=48))
        sub.stimulate(code, 30.0, learn=True)
        sub.bind(code, f"k{i}")
    pl = conn.rev_syn.long()
    w = conn.w[pl]
    assert float(w.min()) >= 0.0 and float(w.max()) <= cfg.stdp.w_max + 1e-4
    incoming = torch.zeros(cfg.neurons).index_add_(0, conn.col[pl].long(), w)
    assert bool((incoming <= torch.maximum(before, torch.full_like(before, cfg.lat_budget_mv)) + 1e-3).all())


def test_assembly_learning_numpy_and_torch_paths_agree() -> None:
    from snn_substrate.plasticity import assembly_potentiation

    sub = Substrate(SubstrateConfig(neurons=1500), device="cpu")
    conn = sub.engine.conn
    members = torch.as_tensor(
        np.sort(np.random.default_rng(0).choice(np.arange(225, 1000), 60, replace=False))
    )
    out = []
    for use_numpy in (True, False):
        w = conn.w.clone()
        ids, dw = assembly_potentiation(
            conn.row_ptr,
            conn.col,
            w,
            conn.n_plastic,
            conn.rev_ptr,
            conn.rev_syn,
            members,
            0.7,
            30.0,
            20.0,
            use_numpy=use_numpy,
        )
        order = torch.argsort(ids)
        out.append((w, ids[order], dw[order]))
    assert out[0][1].numel() > 0
    assert torch.equal(out[0][1], out[1][1])
    assert torch.allclose(out[0][0], out[1][0], atol=1e-5) and torch.allclose(out[0][2], out[1][2], atol=1e-5)


def test_reward_scales_only_recent_learning() -> None:
    sub = Substrate(SubstrateConfig(neurons=1500), device="cpu")
    code = sub.encode(np.arange(40.0))
    w0 = sub.engine.conn.w.clone()
    sub.stimulate(code, learn=True)
    w1 = sub.engine.conn.w.clone()
    changed = w1 != w0
    sub.reward(-1.0)  # undoes (most of) what was just learned, touches nothing else
    w2 = sub.engine.conn.w
    assert bool(torch.equal(w2[~changed], w1[~changed]))
    assert float((w2[changed] - w0[changed]).abs().sum()) < float((w1[changed] - w0[changed]).abs().sum())


def test_assembly_size_is_decoupled_from_the_code_size() -> None:
    cfg = SubstrateConfig(neurons=4000, code_k=64, assembly_k=8, plasticity=False)
    sub = Substrate(cfg, device="cpu")
    code = sub.encode(np.random.default_rng(0).normal(size=384))
    assert len(code) == 64
    asm = sub.stimulate(code, learn=False).assembly
    ce, ge = sub.layout.pop("concept_E"), sub.layout.pop("category_E")
    assert int(((asm >= ce.start) & (asm < ce.stop)).sum()) == 16
    assert int(((asm >= ge.start) & (asm < ge.stop)).sum()) == 8
    with pytest.raises(ValueError):
        Substrate(SubstrateConfig(neurons=1000, assembly_rule="nope"), device="cpu")


@pytest.mark.parametrize("rule", ["lateral", "count"])
def test_half_an_assembly_recalls_the_other_half_after_learning(rule: str) -> None:
    sub = Substrate(SubstrateConfig(neurons=8000, code_k=64, assembly_k=16, assembly_rule=rule), device="cpu")
    code = sub.encode(np.random.default_rng(3).normal(size=384))
    for _ in range(3):
        sub.stimulate(code)
    members = sub.bind(code, "m")
    ce = sub.layout.pop("concept_E")
    mem = members[(members >= ce.start) & (members < ce.stop)]
    cue, rest = mem[: mem.size // 2], mem[mem.size // 2 :]
    counts = sub.present(cue, 50.0)
    others = np.setdiff1d(np.arange(ce.start, ce.stop), mem)
    assert float(np.mean(counts[rest] > 0)) > 0.5 > 5 * float(np.mean(counts[others] > 0))


@pytest.mark.parametrize("mode", ["off", "direct", "both"])
def test_native_results_do_not_depend_on_the_thread_count(mode: str) -> None:
    """Event lists by target owner, added in spike order: 1, 2 and 3 threads give the same bits."""
    runs = []
    for threads in (1, 2, 3):
        eng = _cuba(3000, "native", plastic=True)
        eng.threads = threads
        r1, r2 = eng.run(120, mode, record_cap=50_000), eng.run(80, mode, record_cap=50_000)  # split call
        runs.append((r1.raster, r2.raster, eng.conn.w, eng.elig, eng.state.v, eng.state.ge, eng.state.gi))
    assert runs[0][0].shape[0] > 1000
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            assert torch.equal(a, b)


def test_one_trace_array_for_equal_time_constants_is_exact() -> None:
    """tau_plus == tau_minus: the kernel decays and reads one trace array for both; the result is the same, bit
    for bit, as with two arrays decaying by the same factor (a tau_minus that rounds to the same float32)."""
    tau2 = 20.0 + 1e-9
    f32 = torch.tensor([math.exp(-1 / 20.0), math.exp(-1 / tau2)], dtype=torch.float64).float()
    assert f32[0] == f32[1]
    runs = []
    for tau_minus in (20.0, tau2):
        eng = _cuba(3000, "native", plastic=True)
        eng.stdp = eng.stdp._replace(tau_minus=tau_minus)
        r = eng.run(150, "direct", record_cap=50_000)
        runs.append((r.raster, eng.conn.w, eng.x_pre, eng.x_post))
    assert runs[0][0].shape[0] > 1000
    assert torch.equal(runs[0][2], runs[0][3])  # the caller's two arrays stay in step
    for a, b in zip(*runs, strict=True):
        assert torch.equal(a, b)


def test_each_new_user_gets_a_fresh_substrate_of_its_own() -> None:
    from cogarch.substrates import fresh_substrate

    config = SubstrateConfig(neurons=2000, seed=5)
    a, b = fresh_substrate(config, "cpu"), fresh_substrate(config, "cpu")
    built = Substrate(config, device="cpu")
    assert torch.equal(a.engine.conn.w, built.engine.conn.w)
    assert torch.equal(a.engine.state.v, built.engine.state.v)
    a.stimulate(a.encode(np.arange(16.0)))  # one user's learning is not another's
    assert not torch.equal(a.engine.conn.w, b.engine.conn.w)
    assert torch.equal(b.engine.conn.w, built.engine.conn.w)
