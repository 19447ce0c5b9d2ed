"""Forgetting erases: after ``forget`` of a user or of items, the forgotten text is in no byte of any file of the
data directory (SQLite + WAL, the lexical index, Chroma, the substrate, the proactive log, the checkpoints), and
an export shows nothing. Every test writes a unique marker, forgets, closes, then scans every file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from cogarch.agent import Agent
from cogarch.clock import ManualClock
from cogarch.store.proactive import ProactiveLog
from cogarch.substrates import user_file
from memory import Memory
from memory.embedders.base import HashEmbedder
from memory.memory import embed_text
from reasoning.engines.scripted import ScriptedLLM, remembering

pytestmark = pytest.mark.usefixtures("memory_store")  # each test on SQLite and on Postgres

EMBEDDER_DIM = 256
CLI_ENV = {"COGARCH_EMBEDDING__MODEL": "hash", "COGARCH_EMBEDDING__DIM": str(EMBEDDER_DIM)}


def make_agent(data_dir: Path, substrate: bool = True) -> Agent:
    return Agent.open(
        data_dir,
        llm=ScriptedLLM(remembering),
        embedder=HashEmbedder(EMBEDDER_DIM),
        clock=ManualClock(1.7e9),
        substrate={"enabled": substrate, "neurons": 2000},
    )


def marker() -> str:
    return f"zq{uuid.uuid4().hex[:12]}mark"


def files_containing(root: Path, needle: bytes, *, text: bool = True) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle`` (a text also as UTF-16, in case a store uses it)."""
    forms = (needle, needle.decode().encode("utf-16-le")) if text else (needle,)
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and any(f in p.read_bytes() for f in forms)
    )


def chat_with_secret(agent: Agent, user: str, secret: str, other: str = "bob") -> None:
    for i in range(4):
        agent.chat(f"filler note {i} about the garden and tomatoes", user=user)
        agent.chat(f"{other} talks about bicycles, round {i}", user=other)
    agent.chat(f"My locker code word is {secret} and nobody else knows it", user=user)
    # three more turns: the statement leaves the prompt's history window, so the question recalls it as a note
    for topic in ("the garden", "tomatoes", "the weather"):
        agent.chat(f"Tell me about {topic}", user=user)
    agent.chat("What is my locker code word?", user=user)  # recalled: the secret lands in the reply too
    agent.chat("Tell me about the garden", user=user)
    agent.memory.consolidate(namespace=user)


def test_forget_user_erases_every_file(data_dir: Path) -> None:
    secret = marker()
    with make_agent(data_dir) as agent:
        chat_with_secret(agent, "alice", secret)
        agent.save()
        assert agent.context.substrates.stored("alice")  # a file (SQLite) or a row (Postgres)
        assert files_containing(data_dir, secret.encode())  # the marker really was written
        vector = HashEmbedder(EMBEDDER_DIM)(
            [embed_text(f"My locker code word is {secret} and nobody else knows it", "alice")]
        )[0]
        agent.forget_user("alice")
        assert agent.memory.export("alice")["episodes"] == []
        bob_before = len(agent.memory.episodes(namespace="bob"))
    assert files_containing(data_dir, secret.encode()) == []
    assert files_containing(data_dir, np.asarray(vector, np.float32).tobytes(), text=False) == []
    assert not user_file(data_dir / "substrate", "alice").exists()
    with make_agent(data_dir) as agent:  # the other user is untouched, the forgotten one starts from nothing
        assert not agent.context.substrates.stored("alice")
        assert len(agent.memory.episodes(namespace="bob")) == bob_before
        assert agent.memory.stats("alice")["episodes"] == 0
        assert agent.graph.get_state({"configurable": {"thread_id": "alice/main"}}).values == {}
        reply = agent.chat("What is my locker code word?", user="alice")
        assert secret not in reply.text and all(secret not in r.text for r in reply.recalled)


def test_forget_items_erases_them_and_rewrites_the_conversation(data_dir: Path) -> None:
    secret = marker()
    with make_agent(data_dir) as agent:
        chat_with_secret(agent, "alice", secret)
        tainted = [e.id for e in agent.memory.episodes(namespace="alice") if secret in e.text]
        assert len(tainted) >= 2  # the statement and the replies that quoted it
        agent.save()
        removed = agent.forget(tainted, user="alice")
        assert removed >= len(tainted)
        assert secret not in json.dumps(agent.memory.export("alice"))
        assert not set(tainted) & set(agent.substrate("alice").keys())
    assert files_containing(data_dir, secret.encode()) == []
    with make_agent(data_dir) as agent:
        state = agent.graph.get_state({"configurable": {"thread_id": "alice/main"}}).values
        assert state["history"], "the rest of the conversation is kept"
        assert all(secret not in m["content"] for m in state["history"])
        assert any("garden" in e.text for e in agent.memory.episodes(namespace="alice"))
        reply = agent.chat("What is my locker code word?", user="alice")
        assert secret not in reply.text


def test_forget_by_query_through_the_agent(data_dir: Path) -> None:
    secret = marker()
    with make_agent(data_dir, substrate=False) as agent:
        agent.chat(f"The wifi password is {secret}", user="carol")
        agent.chat("I like jazz records", user="carol")
        agent.forget(user="carol", query=f"wifi password {secret}", k=3)
        assert all(secret not in e.text for e in agent.memory.episodes(namespace="carol"))
    assert files_containing(data_dir, secret.encode()) == []


def test_memory_forget_erases_sqlite_fts_and_wal(tmp_path: Path) -> None:
    secret = marker()
    with Memory.open(tmp_path, embedder=HashEmbedder(EMBEDDER_DIM)) as memory:
        for i in range(50):
            memory.remember(f"ordinary note {i} on the weather", namespace="u")
        target = memory.remember(f"the vault phrase is {secret}", namespace="u")
        memory.remember(f"a neighbouring note {secret}-free", namespace="v")  # another namespace: kept
        memory.consolidate(namespace="u")
        memory.forget(target, namespace="u")
        # still open (WAL live): the text is already gone from the database and its WAL
        assert files_containing(tmp_path, f"vault phrase is {secret}".encode()) == []
        assert [
            r.text for r in memory.recall(f"vault phrase {secret}", namespace="u", k=5) if secret in r.text
        ] == []
        assert memory.stats("v")["episodes"] == 1
    assert files_containing(tmp_path, f"vault phrase is {secret}".encode()) == []


def test_scene_is_rebuilt_without_the_forgotten_member(tmp_path: Path) -> None:
    secret = marker()
    with Memory.open(tmp_path, embedder=HashEmbedder(EMBEDDER_DIM)) as memory:
        ids = [
            memory.remember(f"hiking trip day {i} in the alps", namespace="u", timestamp=1.7e9 + i)
            for i in range(3)
        ]
        target = memory.remember(f"hiking trip day 3 {secret} {secret}", namespace="u", timestamp=1.7e9 + 3)
        memory.consolidate(namespace="u")
        assert any(secret in s.summary or target in s.members for s in memory.scenes(namespace="u"))
        memory.forget(target, namespace="u")
        for scene in memory.scenes(namespace="u"):
            assert secret not in scene.summary and target not in scene.members
            assert set(scene.members) <= set(ids)
    assert files_containing(tmp_path, secret.encode()) == []


def test_cli_forget_all_erases_the_user(data_dir: Path) -> None:
    secret = marker()
    with make_agent(data_dir) as agent:
        chat_with_secret(agent, "dave", secret)
    runner = CliRunner(env=CLI_ENV)
    result = runner.invoke(
        app, ["memory", "forget", "--all", "-u", "dave", "--data-dir", str(data_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["removed"] > 0
    assert files_containing(data_dir, secret.encode()) == []
    exported = runner.invoke(app, ["memory", "export", "-", "-u", "dave", "--data-dir", str(data_dir)])
    assert secret not in exported.output


def test_cli_forget_items_erases_them(data_dir: Path) -> None:
    secret = marker()
    with make_agent(data_dir) as agent:
        chat_with_secret(agent, "erin", secret)
        tainted = [e.id for e in agent.memory.episodes(namespace="erin") if secret in e.text]
    runner = CliRunner(env=CLI_ENV)
    result = runner.invoke(app, ["memory", "forget", *tainted, "-u", "erin", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert files_containing(data_dir, secret.encode()) == []
    with make_agent(data_dir) as agent:
        assert agent.memory.stats("erin")["episodes"] > 0
        assert not set(tainted) & set(agent.substrate("erin").keys())


def test_proactive_log_forgets_items_and_users(tmp_path: Path) -> None:
    secret = marker()
    log = ProactiveLog(tmp_path / "agent.db")
    log.record("u", 1.0, "action", action="message", content=f"remember {secret}?", cause=["ep_a"])
    log.record("u", 2.0, "trigger", cause=["ep_b"])
    log.record("u", 3.0, "action", action="message", content="how was the trip?", cause=["ep_c"])
    log.record("w", 4.0, "trigger", cause=["ep_b"])
    assert log.forget_items("u", ["ep_b"], [secret]) == 2
    assert [e["cause"] for e in log.entries("u")] == [["ep_c"]]
    assert len(log.entries("w")) == 1
    log.forget_user("u")
    assert log.entries("u") == []
    log.close()
    assert files_containing(tmp_path, secret.encode()) == []


def test_forgotten_namespace_leaves_no_vector_in_chroma_files(tmp_path: Path) -> None:
    """Past Chroma's persist threshold (1000 vectors) its HNSW files hold the vectors: dropping the namespace
    must remove them too (Chroma leaves the segment directory behind; forget removes it)."""
    embedder = HashEmbedder(64)
    texts = [f"note {i} about subject {i * 7}" for i in range(1200)]
    with Memory.open(tmp_path, embedder=embedder) as memory:
        memory.remember_many(texts, namespace="big")
        memory.remember_many([f"kept {i} about subject {i}" for i in range(20)], namespace="keep")
    vector = np.asarray(embedder([embed_text(texts[123], None)])[0], np.float32).tobytes()
    assert files_containing(tmp_path, vector, text=False)  # really written, HNSW files included
    with Memory.open(tmp_path, embedder=embedder) as memory:
        memory.forget(namespace="big", all=True)
    assert files_containing(tmp_path, vector, text=False) == []
    with Memory.open(tmp_path, embedder=embedder) as memory:  # the other namespace still works
        assert (
            memory.recall("kept 3 about subject", namespace="keep", k=3)[0].text == "kept 3 about subject 3"
        )
        assert memory.reconcile(full=True)["added"] == 0


def _plant_in_hnsw_tails(chroma: Path, text: bytes) -> int:
    """Write ``text`` into the unused capacity of every HNSW level-0 file, as Chroma's uncleared buffer can."""
    planted = 0
    for data in chroma.glob("*/data_level0.bin"):
        head = (data.parent / "header.bin").read_bytes()
        capacity, used, slot = np.frombuffer(head, dtype="<u8", count=3, offset=12).tolist()
        assert data.stat().st_size == capacity * slot and used < capacity
        with open(data, "r+b") as f:
            f.seek((capacity - 1) * slot)
            f.write(text)
        planted += 1
    return planted


def test_forget_zeroes_what_chroma_left_in_unused_hnsw_slots(tmp_path: Path) -> None:
    """Chroma writes a segment's level-0 file at full capacity from a buffer it does not clear (CI once found a
    forgotten message there): forget zeroes the unused slots, and the index still answers afterwards."""
    secret = marker()
    with Memory.open(tmp_path, embedder=HashEmbedder(EMBEDDER_DIM)) as memory:
        keep = [memory.remember(f"ordinary note {i} on the weather", namespace="u") for i in range(5)]
        target = memory.remember(f"the vault phrase is {secret}", namespace="u")
        assert _plant_in_hnsw_tails(tmp_path / "chroma", f"freed heap: {secret}".encode()) >= 1
        assert files_containing(tmp_path, secret.encode()) != []
        memory.forget(target, namespace="u")
        assert files_containing(tmp_path, secret.encode()) == []
        assert {r.id for r in memory.recall("ordinary note on the weather", namespace="u", k=10)} >= set(keep)
    assert files_containing(tmp_path, secret.encode()) == []
    with Memory.open(tmp_path, embedder=HashEmbedder(EMBEDDER_DIM)) as memory:
        assert {r.id for r in memory.recall("ordinary note on the weather", namespace="u", k=10)} >= set(keep)
