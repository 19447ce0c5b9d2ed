"""Concept assemblies learned by spike timing (issue 17): the STDP rule's direction, gating, reward, stable
concept assemblies, bounded idle learning, and associations that follow co-mention, not order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_substrate import Substrate, SubstrateConfig
from snn_substrate.connectivity import gate
from snn_substrate.substrate import DEFAULT_LIF, LEARN_STDP

QUIET = DEFAULT_LIF._replace(noise_hz=0.0)  # no background spikes: only what a test drives fires


def _substrate(neurons: int = 20_000, seed: int = 0, **kw: object) -> Substrate:
    return Substrate(SubstrateConfig(neurons=neurons, seed=seed, **kw))  # type: ignore[arg-type]


def _plastic_pair(sub: Substrate) -> tuple[int, int, int]:
    """(pre, post, synapse) of a plastic concept-layer synapse between two distinct neurons."""
    conn = sub._with_reverse()
    ce = sub.layout.pop("concept_E")
    for i in range(ce.start, ce.stop):
        a = int(conn.row_ptr[i])
        for s in range(a, a + int(conn.n_plastic[i])):
            j = int(conn.col[s])
            if j != i and ce.start <= j < ce.stop:
                return i, j, s
    raise AssertionError("no plastic synapse")


def _spike(sub: Substrate, neuron: int, g: object) -> None:
    eng = sub.engine
    eng.drive.zero_()
    eng.drive[neuron] = 1000.0  # one step is enough to cross threshold
    eng.run(1, "direct", gate=g)  # type: ignore[arg-type]
    eng.drive.zero_()


@pytest.mark.parametrize("pre_first", [True, False])
def test_pair_stdp_in_the_kernel_potentiates_pre_before_post_and_depresses_the_reverse(
    pre_first: bool,
) -> None:
    sub = _substrate(neurons=2000, lif=QUIET)
    pre, post, syn = _plastic_pair(sub)
    eng = sub.engine
    eng.stdp = LEARN_STDP
    eng.conn.w[syn] = 10.0
    g = gate(eng.conn, np.array([pre, post]))
    first, second = (pre, post) if pre_first else (post, pre)
    _spike(sub, first, g)
    eng.run(4, "direct", gate=g)
    _spike(sub, second, g)
    w = float(eng.conn.w[syn])
    expected = 10.0 + (1 if pre_first else -1) * (
        LEARN_STDP.a_plus if pre_first else LEARN_STDP.a_minus
    ) * float(np.exp(-5.0 / 20.0))
    assert w == pytest.approx(expected, rel=0.05)
    assert (w > 10.0) is pre_first


def test_the_gate_keeps_synapses_outside_the_presented_assemblies_unchanged() -> None:
    sub = _substrate(neurons=2000, lif=QUIET)
    pre, post, syn = _plastic_pair(sub)
    eng = sub.engine
    eng.stdp = LEARN_STDP
    before = float(eng.conn.w[syn])
    g = gate(eng.conn, np.array([pre]))  # post is outside the gate
    _spike(sub, pre, g)
    eng.run(4, "direct", gate=g)
    _spike(sub, post, g)
    assert float(eng.conn.w[syn]) <= before  # no potentiation onto a neuron outside the gate


def test_a_concept_has_the_same_assembly_in_every_message_and_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = _substrate(), _substrate()
    members = a.concept_members("priya")
    a.present_concepts([("priya", "person"), ("pottery", "activity")])
    a.present_concepts([("kofi", "person"), ("priya", "person")])
    assert np.array_equal(a.concept_members("priya"), members)
    assert np.array_equal(b.concept_members("priya"), members)  # another substrate, same seed
    a.bind_memory("m1", ["priya", "pottery"])
    a.save(tmp_path / "s.pt")
    assert np.array_equal(Substrate.load(tmp_path / "s.pt").concept_members("priya"), members)
    other = a.concept_members("pottery")
    assert len(np.intersect1d(members, other)) <= 4  # distinct concepts barely overlap


def _learn(sub: Substrate, messages: list[list[str]], reps: int = 3) -> None:
    for _ in range(reps):
        for i, concepts in enumerate(messages):
            sub.present_concepts([(c, "thing") for c in concepts])
            sub.bind_memory(f"m{len(sub._concepts.memories)}-{i}", concepts)


def test_associations_follow_co_mention_and_unrelated_concepts_stay_at_chance() -> None:
    sub = _substrate()
    _learn(sub, [["tomas", "sailing"], ["kofi", "marathon"], ["kitchen", "soup"]])
    probe = sub.present_concepts([("tomas", "person")], learn=False)
    surfaced = dict(probe.surfaced)
    assert "sailing" in surfaced
    assert not {"kofi", "marathon", "kitchen", "soup"} & set(surfaced)
    assert probe.memories and all("sailing" in sub.concepts_of(k) for k, _ in probe.memories)
    # learned in succession (kofi right after tomas), never together: no link beyond the initial weights
    w = sub.engine.conn.w
    conn = sub.engine.conn
    others = {c: sub.concept_members(c) for c in sub.concept_keys()}

    def own(c: str) -> np.ndarray:  # a neuron shared with another assembly takes part in that one's learning
        return np.setdiff1d(others[c], np.concatenate([m for o, m in others.items() if o != c]))

    t, k = own("tomas"), own("kofi")
    inside = np.isin(conn.col.numpy(), k)
    rows = [s for i in t for s in range(int(conn.row_ptr[i]), int(conn.row_ptr[i] + conn.n_plastic[i]))]
    between = [float(w[s]) for s in rows if inside[s]]
    assert between and max(between) <= sub.config.shape.w_lat + 1e-6


def test_without_plasticity_nothing_is_linked_and_idle_never_triggers() -> None:
    sub = _substrate(plasticity=False)
    _learn(sub, [["tomas", "sailing"], ["kofi", "marathon"]])
    assert sub.present_concepts([("tomas", "person")], learn=False).surfaced == []
    assert sub.idle(2000.0) == []


def test_idle_ignites_salient_concepts_and_records_the_path_and_cue() -> None:
    sub = _substrate()
    _learn(sub, [["tomas", "sailing"], ["kofi", "marathon"]])
    triggers = sub.idle(3000.0)
    assert triggers
    for trig in triggers:
        cue_concept, *surfaced = trig.path
        assert trig.cue is not None and cue_concept in sub.concepts_of(trig.cue)
        pair = {"tomas", "sailing"} if cue_concept in ("tomas", "sailing") else {"kofi", "marathon"}
        assert set(surfaced) <= pair  # activity spreads along learned links only
        assert all(set(sub.concepts_of(k)) == pair for k, _ in trig.keys)


def test_reward_sign_flips_what_the_last_message_learned() -> None:
    changes = []
    for value in (1.0, -1.0):
        sub = _substrate()
        sub.present_concepts([("tomas", "person"), ("sailing", "activity")])
        _, syn, dw = sub._tags[-1]
        up = syn[dw > 0]
        before = sub.engine.conn.w[up].clone()
        sub.reward(value)
        changes.append(float((sub.engine.conn.w[up] - before).sum()))
    assert changes[0] > 0 > changes[1]


def test_unbinding_the_last_memory_of_a_concept_removes_its_key() -> None:
    sub = _substrate()
    _learn(sub, [["tomas", "sailing"]], reps=1)
    (key,) = list(sub._concepts.memories)
    assert sub.unbind(key)
    assert sub.concept_keys() == []


@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 50),
    messages=st.lists(
        st.lists(st.sampled_from(["ann", "bo", "cy", "dee", "eli", "fay", "gus"]), min_size=1, max_size=4),
        min_size=2,
        max_size=6,
    ),
)
def test_idle_with_learning_stays_bounded(seed: int, messages: list[list[str]]) -> None:
    sub = _substrate(neurons=4000, seed=seed)
    _learn(sub, messages, reps=2)
    sub.idle(1000.0, learn=True)  # sleep: replay with plasticity on
    w = sub.engine.conn.w
    plastic = w[sub.engine.plastic_ids()]
    assert float(plastic.min()) >= 0.0 and float(plastic.max()) <= sub.config.stdp.w_max + 1e-4
    rates = sub.run(1000.0, learn=False).rates_hz
    assert rates["concept_E"] <= 5.0 and rates["category_E"] <= 5.0
    # each presented neuron's summed lateral input stays within the homeostatic budget
    conn = sub.engine.conn
    for key in sub.concept_keys():
        for j in sub.concept_members(key)[:5]:
            a, b = int(conn.rev_ptr[j]), int(conn.rev_ptr[j + 1])
            assert float(w[conn.rev_syn[a:b].long()].sum()) <= sub.config.lat_budget_mv + 1e-2


def test_concept_state_survives_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sub = _substrate()
    _learn(sub, [["tomas", "sailing"]], reps=2)
    sub.save(tmp_path / "s.pt")
    again = Substrate.load(tmp_path / "s.pt")
    assert again.concepts_of(next(iter(sub._concepts.memories))) == ("tomas", "sailing")
    assert dict(again.present_concepts([("tomas", "person")], learn=False).surfaced).keys() >= {"sailing"}
    assert torch.equal(again.engine.conn.w, sub.engine.conn.w)
