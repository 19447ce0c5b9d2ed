"""SIGKILL at chosen and random points: remembering, consolidation, a chat turn, a substrate save, an episode run.

A child process does the operations and prints one acknowledgement line after each returns; it is killed with
SIGKILL either by itself at an injected point inside the critical section (the child script wraps one method of
the store so that its k-th call kills the process: no hook in the library) or by the parent after a seeded
random delay. The parent then reopens the stores and checks: every acknowledged item is present exactly once,
SQLite and the vector index agree, no outbox operation is left, checkpoints resume.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pgstore
import pytest

from memory import Memory
from memory.embedders.base import HashEmbedder

pytestmark = pytest.mark.usefixtures("memory_store")  # each test on SQLite and on Postgres

ENV = {"ANONYMIZED_TELEMETRY": "False", "OMP_NUM_THREADS": "1"}

# Installed in every child: FAULT="<object>.<method>:<k>" makes the k-th call of that method SIGKILL the process
# (before the call with a leading "!", after it otherwise).
PRELUDE = textwrap.dedent(
    """
    import os, signal, sys

    def arm(targets):
        spec = os.environ.get("FAULT", "")
        if not spec:
            return
        where, k = spec.split(":")
        before = where.startswith("!")
        obj_name, method = where.lstrip("!").split(".")
        obj = targets[obj_name]
        original = getattr(obj, method)
        calls = [0]

        def dying(*args, **kwargs):
            calls[0] += 1
            if calls[0] == int(k) and before:
                os.kill(os.getpid(), signal.SIGKILL)
            result = original(*args, **kwargs)
            if calls[0] == int(k):
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(obj, method, dying)
    """
)


def run_child(
    script: str, *args: str, fault: str = "", kill_after: float | None = None, timeout: float = 120
) -> tuple[list[str], int]:
    """Run ``script``; return its stdout lines (the acknowledgements) and its return code. ``kill_after``: the
    parent SIGKILLs the child that many seconds after its first acknowledgement."""
    proc = subprocess.Popen(
        [sys.executable, "-c", pgstore.CHILD_HOOK + PRELUDE + textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV, "FAULT": fault},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    if kill_after is not None:
        first = proc.stdout.readline()
        lines.append(first)
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=timeout)
    lines += out.splitlines()
    lines = [x.strip() for x in lines if x.strip()]
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"child failed ({proc.returncode}): {err[-3000:]}")
    return lines, proc.returncode


def check_index_matches(m: Memory, namespaces: list[str]) -> None:
    for ns in namespaces:
        stored = {e.id for e in m.episodes(namespace=ns)}
        stored |= {f.id for f in m.facts(namespace=ns)} | {s.id for s in m.scenes(namespace=ns)}
        assert m.index.ids(ns) == stored, ns
    assert m.stats()["pending_index_ops"] == 0


# -- remembering ---------------------------------------------------------------------------------------------------

WRITER = """
    from memory import Memory
    from memory.embedders.base import HashEmbedder
    from memory.store.postgres import PostgresWriter
    from memory.store.sqlite import SQLiteWriter
    m = Memory.open(sys.argv[1], embedder=HashEmbedder(64))
    Writer = PostgresWriter if os.environ.get("COGARCH_TEST_PG_STORE") else SQLiteWriter
    arm({"store": m.store, "index": m.index, "tx": Writer})
    start, stop = int(sys.argv[2]), int(sys.argv[3])
    for i in range(start, stop):
        m.remember(f"item {i} about topic {i % 5}", namespace="ns", id=f"ep_item{i:06d}", metadata={"i": i})
        print(f"ack {i}", flush=True)
    m.close()
"""

# the critical points of the write path, in order: inside the transaction (before COMMIT), after COMMIT before the
# index write, after the index write before the outbox row is deleted
REMEMBER_FAULTS = ["tx.enqueue", "!index.upsert", "!store.done"]


def test_remember_killed_inside_critical_sections_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(10)
    n = 30
    acked: list[int] = []
    resume = 0
    for fault in REMEMBER_FAULTS:
        lines, rc = run_child(
            WRITER, str(tmp_path), str(resume), str(n), fault=f"{fault}:{rng.randint(2, 5)}"
        )
        assert rc == -signal.SIGKILL, fault
        got = [int(x.split()[1]) for x in lines]
        assert got, fault
        acked += got
        # a client retries from its last acknowledged item (re-sending it, and the one in flight, which may or may
        # not have been committed): ids make the retry idempotent
        resume = got[-1]
    lines, rc = run_child(WRITER, str(tmp_path), str(resume), str(n))
    assert rc == 0
    acked += [int(x.split()[1]) for x in lines]
    with Memory.open(tmp_path, embedder=HashEmbedder(64)) as m:
        texts = [e.text for e in m.episodes(namespace="ns")]
        assert sorted(texts) == sorted(f"item {i} about topic {i % 5}" for i in range(n))  # exactly once each
        assert set(acked) == set(range(n))
        check_index_matches(m, ["ns"])
        assert m.recall("item 7 about topic 2", namespace="ns", k=1)[0].text.startswith("item 7 ")


# -- consolidation -------------------------------------------------------------------------------------------------

CONSOLIDATOR = """
    import json
    from memory import Memory
    from memory.embedders.base import HashEmbedder
    from memory.store.postgres import PostgresWriter
    from memory.store.sqlite import SQLiteWriter
    m = Memory.open(sys.argv[1], embedder=HashEmbedder(64))
    Writer = PostgresWriter if os.environ.get("COGARCH_TEST_PG_STORE") else SQLiteWriter
    arm({"store": m.store, "index": m.index, "tx": Writer})
    for ns in ("u1", "u2"):
        counts = m.consolidate(namespace=ns)
        print("ack", ns, json.dumps(counts), flush=True)
    m.close()
"""


def fill(directory: Path, *, consolidate: bool) -> None:
    with Memory.open(directory, embedder=HashEmbedder(64)) as m:
        words = ["Ada lives in Paris", "Bob plays chess", "Ada likes tea", "Carl moved to Rome"]
        for ns in ("u1", "u2"):
            items = [
                {"text": f"{words[i % 4]} on day {i}", "timestamp": 1000.0 + 60 * i, "speaker": "user"}
                for i in range(60)
            ]
            m.remember_many(items, namespace=ns)
        if consolidate:
            for ns in ("u1", "u2"):
                m.consolidate(namespace=ns)


def graph_shape(m: Memory, ns: str) -> tuple[int, ...]:
    entities = m.store.entities(ns)
    return (
        len(m.store.episode_ids(ns, state=1)),
        len(m.store.scenes(ns)),
        # 'similar' links come from approximate nearest neighbours: not compared (their key forbids duplicates)
        sum(kind != "similar" for _, _, kind, _ in m.store.edges(ns)),
        len(entities),
        sum(int(e["mentions"]) for e in entities),
    )


@pytest.mark.parametrize("fault", ["tx.audit:2", "!index.upsert:1"])
def test_consolidation_killed_then_rerun_matches_an_uninterrupted_one(tmp_path: Path, fault: str) -> None:
    # tx.audit:2: inside the transaction of the second consolidation (u2), before its COMMIT;
    # !index.upsert:1: u1's consolidation is committed, the process dies before its scenes reach the index
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    fill(reference, consolidate=True)
    fill(crashed, consolidate=False)
    lines, rc = run_child(CONSOLIDATOR, str(crashed), fault=fault)
    assert rc == -signal.SIGKILL
    acked = [x.split()[1] for x in lines if x.startswith("ack")]
    with Memory.open(crashed, embedder=HashEmbedder(64)) as m:
        assert len(m.episodes(namespace="u1")) == len(m.episodes(namespace="u2")) == 60
        check_index_matches(m, ["u1", "u2"])  # reconciled at open
        for ns in acked:
            assert graph_shape(m, ns)[0] == 60  # an acknowledged consolidation is kept
        for ns in ("u1", "u2"):
            m.consolidate(namespace=ns)  # the rerun after the crash
        check_index_matches(m, ["u1", "u2"])
        got = {ns: graph_shape(m, ns) for ns in ("u1", "u2")}
    with Memory.open(reference, embedder=HashEmbedder(64)) as m:
        want = {ns: graph_shape(m, ns) for ns in ("u1", "u2")}
    assert got == want  # nothing duplicated, nothing missing


# -- a chat turn ---------------------------------------------------------------------------------------------------

CHATTER = """
    import time
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM

    def reply(messages, options):
        time.sleep(0.01)
        return "Noted."

    agent = Agent.open(sys.argv[1], llm=ScriptedLLM(reply), embedder=HashEmbedder(64),
                       substrate={"enabled": False}, memory={"consolidate_every": 4})
    agent.resume_pending("bob")
    start = int(sys.argv[2])
    for i in range(start, start + 40):
        agent.chat(f"message number {i}", user="bob")
        print(f"ack {i}", flush=True)
"""


def test_chat_turns_killed_at_random_points_resume_without_loss_or_duplicates(data_dir: Path) -> None:
    from cogarch.agent import Agent
    from reasoning.engines.scripted import ScriptedLLM

    rng = random.Random(3)
    acked: list[int] = []
    start = 0
    for _ in range(2):
        lines, rc = run_child(CHATTER, str(data_dir), str(start), kill_after=rng.uniform(0.3, 1.5))
        assert rc == -signal.SIGKILL, "the child finished before it was killed: raise its turn count"
        got = [int(x.split()[1]) for x in lines]
        acked += got
        start += 1000  # new messages; the turn in flight is resumed (or was never stored)
    llm = ScriptedLLM(lambda m, o: "Noted.")
    with Agent.open(
        data_dir,
        llm=llm,
        embedder=HashEmbedder(64),
        substrate={"enabled": False},
        memory={"consolidate_every": 4},
    ) as agent:
        agent.resume_pending("bob")
        texts = [e.text for e in agent.memory.episodes(namespace="bob")]
        for i in acked:
            assert texts.count(f"message number {i}") == 1, i
        users = [t for t in texts if t.startswith("message number")]
        assert len(users) == len(set(users))  # no message stored twice, acknowledged or not
        assert texts.count("Noted.") == len(users)  # every stored message has its reply, once
        check_index_matches(agent.memory, ["bob"])


# -- a substrate save ----------------------------------------------------------------------------------------------

SAVER = """
    import numpy as np
    import torch
    from pathlib import Path
    from cogarch.settings import SubstrateSettings
    from cogarch.substrates import SubstratePool

    pool = SubstratePool(SubstrateSettings(neurons=1000), Path(sys.argv[1]))
    sub = pool.get("bob")
    saves = int(sys.argv[2])
    real_save = torch.save
    done = [0]

    def torn_save(obj, f, *a, **k):  # the last save writes half of its file, then the process dies
        if done[0] == saves - 1:
            import io
            buf = io.BytesIO()
            real_save(obj, buf, *a, **k)
            half = buf.getvalue()[: len(buf.getvalue()) // 2]
            if hasattr(f, "write"):  # an open file (Substrate.save writes to its own temp file)
                f.write(half)
                f.flush()
            else:
                with open(f, "wb") as fh:
                    fh.write(half)
                    fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real_save(obj, f, *a, **k)
        done[0] += 1

    torch.save = torn_save
    for i in range(saves):
        sub.bind(sub.encode(np.random.default_rng(i).standard_normal(32)), f"key{i}")
        pool.save("bob")
        print(f"ack {i}", flush=True)
"""


def test_substrate_save_killed_midway_keeps_the_previous_state(tmp_path: Path) -> None:
    from cogarch.settings import SubstrateSettings
    from cogarch.substrates import SubstratePool, user_file

    lines, rc = run_child(SAVER, str(tmp_path), "3")
    assert rc == -signal.SIGKILL
    assert lines == ["ack 0", "ack 1"]  # the third save was torn
    pool = SubstratePool(SubstrateSettings(neurons=1000), tmp_path)
    sub = pool.get("bob")  # loads: the torn write never replaced the file
    assert sub.stats()["bindings"] == 2
    assert user_file(tmp_path, "bob").stat().st_mode & 0o077 == 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != user_file(tmp_path, "bob").name]
    assert leftovers  # the torn temporary file is there, beside the intact state; the doctor removes it


# -- an episode run ------------------------------------------------------------------------------------------------

SCRIPT_YAML = """
name: talk
user: tester
runs: 3
environment:
  conversation:
    turns:
      - user: "My sister Ada lives in Paris."
      - user: "Where does Ada live?"
        reply_contains: ["Paris"]
"""

EPISODER = """
    from pathlib import Path
    from cogarch.agent import Agent
    from cogarch.episodes.script import load_script
    from cogarch.episodes.session import run_script
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM

    out, data = Path(sys.argv[2]), Path(sys.argv[3])
    stop_after = int(sys.argv[4])

    def make(policy, run):
        return Agent.open(data, llm=ScriptedLLM(lambda m, o: "Ada lives in Paris."), embedder=HashEmbedder(64),
                          substrate={"enabled": False})

    def on_run(i, res):
        print(f"ack run {i}", flush=True)

    def on_step(i, rec):
        if i == stop_after and rec.step == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of the next run

    run_script(load_script(Path(sys.argv[1])), out, agent_factory=make, cache_dir=data / "cache",
               on_step=on_step, on_run=on_run)
"""


def rerun(script: Path, out: Path, data: Path) -> Any:
    from cogarch.agent import Agent
    from cogarch.episodes.script import load_script
    from cogarch.episodes.session import run_script
    from reasoning.engines.scripted import ScriptedLLM

    def make(policy: Any, run: int) -> Agent:
        return Agent.open(
            data,
            llm=ScriptedLLM(lambda m, o: "Ada lives in Paris."),
            embedder=HashEmbedder(64),
            substrate={"enabled": False},
        )

    return run_script(load_script(script), out, agent_factory=make, cache_dir=data / "cache")


def test_episode_run_killed_midway_keeps_completed_runs_and_a_rerun_completes_each_once(
    tmp_path: Path,
) -> None:
    from cogarch.episodes.runner import read_trace

    script = tmp_path / "talk.yaml"
    script.write_text(SCRIPT_YAML, encoding="utf-8")
    out, data = tmp_path / "out", tmp_path / "data"
    lines, rc = run_child(
        EPISODER, str(script), str(out), str(data), "2"
    )  # killed in run 2, after its 1st turn
    assert rc == -signal.SIGKILL
    assert lines == ["ack run 0", "ack run 1"]
    results = json.loads((out / "results.json").read_text())
    assert [r["run"] for r in results["runs"]] == [0, 1]  # the acknowledged runs, once each
    for i in (0, 1):
        assert len(read_trace(out / f"talk-run{i}.jsonl")) == 2  # complete traces of the completed runs
    assert len(read_trace(out / "talk-run2.jsonl")) == 1  # the interrupted run's trace is readable
    result = rerun(script, out, data)
    assert result.passed
    assert [r["run"] for r in json.loads((out / "results.json").read_text())["runs"]] == [0, 1, 2]
    for i in range(3):
        assert len(read_trace(out / f"talk-run{i}.jsonl")) == 2


def test_episode_rerun_does_not_duplicate_the_runs_memory(tmp_path: Path) -> None:
    script = tmp_path / "talk.yaml"
    script.write_text(SCRIPT_YAML.replace("runs: 3", "runs: 1"), encoding="utf-8")
    out, data = tmp_path / "out", tmp_path / "data"
    rerun(script, out, data)  # e.g. the first attempt, killed after its run's turns were stored
    rerun(script, out, data)
    with Memory.open(data / "memory", embedder=HashEmbedder(64)) as m:
        texts = [e.text for e in m.episodes(namespace="tester-run0")]
    assert texts.count("My sister Ada lives in Paris.") == 1


EXTRACTOR = (
    """
    import json
    from memory import Memory
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM
"""
    + "\n".join(
        "    " + line
        for line in textwrap.dedent("""
def facts_llm(messages, options):
    prompt = str(messages[-1]["content"])
    if "Extract the facts" not in prompt:
        return json.dumps({"slots": []})
    lines = [x for x in prompt.splitlines() if x.startswith("[")]
    facts = [{"subject": "user", "relation": "said", "object": x.split("user: ", 1)[-1][:60], "multi": True,
              "text": "user said " + x.split("user: ", 1)[-1][:60], "source": i} for i, x in enumerate(lines)]
    return json.dumps({"facts": facts})
""").splitlines()
    )
    + """
    m = Memory.open(sys.argv[1], embedder=HashEmbedder(64), llm=ScriptedLLM(facts_llm))
    arm({"llm": m.llm, "store": m.store})
    for ns in ("u1", "u2"):
        print("ack", ns, json.dumps(m.consolidate(namespace=ns)), flush=True)
    m.close()
"""
)


def test_consolidation_killed_during_fact_extraction_extracts_each_episode_once(tmp_path: Path) -> None:
    fill(tmp_path, consolidate=False)
    # the 2nd LLM call: u1's first batch of facts is stored, the process dies before the second batch
    lines, rc = run_child(EXTRACTOR, str(tmp_path), fault="!llm.complete:2")
    assert rc == -signal.SIGKILL and lines == []
    lines, rc = run_child(EXTRACTOR, str(tmp_path))
    assert rc == 0 and len(lines) == 2
    with Memory.open(tmp_path, embedder=HashEmbedder(64)) as m:
        for ns in ("u1", "u2"):
            facts = [f.text for f in m.facts(namespace=ns)]
            assert len(facts) == 60 and len(set(facts)) == 60, ns  # every episode's fact, once
            assert graph_shape(m, ns)[0] == 60
        check_index_matches(m, ["u1", "u2"])


SUBSTRATE_CHATTER = """
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM

    agent = Agent.open(sys.argv[1], llm=ScriptedLLM(lambda m, o: "Noted."), embedder=HashEmbedder(64),
                       substrate={"neurons": 1000, "autosave_s": 0})  # save after every turn
    for i in range(200):
        agent.chat(f"fact number {i} about the garden", user="bob")
        print(f"ack {i} {len(agent.substrate('bob').keys())}", flush=True)
"""


def test_chat_with_substrate_killed_keeps_the_substrate_of_acknowledged_turns(data_dir: Path) -> None:
    from cogarch import composition
    from cogarch.settings import Settings, SubstrateSettings
    from cogarch.substrates import SubstratePool, SubstrateRows

    lines, rc = run_child(SUBSTRATE_CHATTER, str(data_dir), kill_after=random.Random(5).uniform(0.5, 1.5))
    assert rc == -signal.SIGKILL
    bound = int(lines[-1].split()[2])  # bindings at the last acknowledged turn
    assert bound > 0
    shared = composition.build_shared(
        Settings(data_dir=data_dir)
    )  # on Postgres: the substrate is a row there
    store = None if shared is None else SubstrateRows(shared, "cpu")
    try:
        pool = SubstratePool(SubstrateSettings(neurons=1000), data_dir / "substrate", store=store)
        assert len(pool.get("bob").keys()) >= bound  # saved whole, at least as of the last acknowledged turn
    finally:
        if shared is not None:
            shared.close()


DOCTOR = """
    from memory.embedders.base import HashEmbedder
    from memory.index.chroma import ChromaIndex
    from cogarch.doctor import diagnose

    arm({"ChromaIndex": ChromaIndex})
    report = diagnose(sys.argv[1], embedder=HashEmbedder(64), repair=True)
    print("ack", report.ok, flush=True)
"""


def test_doctor_killed_while_rebuilding_the_index_is_finished_at_the_next_open(tmp_path: Path) -> None:
    from cogarch.doctor import diagnose

    fill(tmp_path / "memory", consolidate=False)
    (tmp_path / "memory" / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(9000))
    lines, rc = run_child(DOCTOR, str(tmp_path), fault="!ChromaIndex.upsert:2")  # u1 rebuilt, u2 not yet
    assert rc == -signal.SIGKILL and lines == []
    with Memory.open(tmp_path / "memory", embedder=HashEmbedder(64)) as m:
        check_index_matches(m, ["u1", "u2"])
    assert {c.status for c in diagnose(tmp_path, embedder=HashEmbedder(64)).checks if c.name == "index"} == {
        "ok"
    }
