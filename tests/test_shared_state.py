"""What server processes on several hosts share through Postgres (``cogarch.store.postgres.AgentDatabase``), against a
real server (``COGARCH_TEST_POSTGRES_URL``, started by ``cogarch/serve/ci_services.sh``). Each "process" here is
an object with its own connections, which is what Postgres' locks and notifications see:

- substrates: a save is a compare-and-swap, the loser reloads, a turn's lock refreshes a stale copy;
- turn order: one user's turns wait for each other across agents (processes), other users' do not;
- rate limits: one bucket per key over every process;
- proactive events: published by one process, delivered to a stream held by another;
- consolidation: one process at a time per namespace (Postgres and SQLite stores).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import pytest
from conftest import POSTGRES_URL
from pydantic import SecretStr

from cogarch import Agent
from cogarch.events import Event
from cogarch.serve.hub import ProactiveHub
from cogarch.serve.metrics import Metrics
from cogarch.settings import Settings, SubstrateSettings
from cogarch.store.postgres import AgentDatabase
from cogarch.substrates import SubstratePool, SubstrateRows
from memory.embedders.base import HashEmbedder
from memory.store.lock import file_lock
from memory.store.postgres import PostgresStore
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import MemoryBackendError
from reasoning.llm import Message

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL,
    reason='no Postgres server: set COGARCH_TEST_POSTGRES_URL (eval "$(cogarch/serve/ci_services.sh)")',
)


@pytest.fixture
def schema() -> Iterator[str]:
    import psycopg

    name = f"s_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(str(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def two(schema: str) -> Iterator[tuple[AgentDatabase, AgentDatabase]]:
    """Two processes' views of one database."""
    a = AgentDatabase(str(POSTGRES_URL), schema=schema, timeout=5.0)
    b = AgentDatabase(str(POSTGRES_URL), schema=schema, timeout=5.0)
    yield a, b
    a.close()
    b.close()


def test_a_substrate_save_never_overwrites_a_newer_one_and_the_loser_reloads(
    two: tuple[AgentDatabase, AgentDatabase],
) -> None:
    settings = SubstrateSettings(neurons=1000)
    pool_a = SubstratePool(settings, Path("/nonexistent"), store=SubstrateRows(two[0], "cpu"))
    pool_b = SubstratePool(settings, Path("/nonexistent"), store=SubstrateRows(two[1], "cpu"))
    a, b = pool_a.get("u"), pool_b.get("u")  # both start from nothing (version 0)
    code = a.encode(np.linspace(-1.0, 1.0, 64))
    a.bind(code, "learned-on-a")
    b.bind(code, "learned-on-b")
    pool_a.save("u")
    assert two[0].substrate_version("u") == 1
    pool_b.save("u")  # stale: B loaded version 0, A saved 1 since
    assert two[1].substrate_version("u") == 1, "the stale save must not have been written"
    assert pool_b.get("u").keys() == ["learned-on-a"], "the loser reloads the newer substrate"
    pool_b.get("u").bind(code, "then-on-b")
    pool_b.save("u")  # now current: version 2
    assert two[0].substrate_version("u") == 2
    assert pool_a.refresh("u") is True  # what a turn's lock does: A's copy is stale, it reloads
    assert sorted(pool_a.get("u").keys()) == ["learned-on-a", "then-on-b"]
    assert pool_a.refresh("u") is False
    pool_a.forget_user("u")
    assert two[1].substrate_version("u") is None
    assert not pool_b.stored("other")


def _agent(tmp: Path, schema: str, name: str, seen: list[str], gate: threading.Event | None = None) -> Agent:
    def reply(messages: Sequence[Message], options: object) -> str:
        text = str(next(m["content"] for m in reversed(messages) if m["role"] == "user"))
        if gate is not None and "slow" in text:
            gate.wait(10)
        seen.append(f"{name}:{text}")
        return "ok"

    settings = Settings(
        data_dir=tmp / name,
        substrate=SubstrateSettings(enabled=False),
        memory={"store": "postgres", "postgres_url": SecretStr(str(POSTGRES_URL)), "postgres_schema": schema},
    )
    return Agent(settings, llm=ScriptedLLM(reply), embedder=HashEmbedder(64))


def test_turns_of_one_user_wait_for_each_other_across_processes(tmp_path: Path, schema: str) -> None:
    seen: list[str] = []
    gate = threading.Event()
    first = _agent(tmp_path, schema, "one", seen, gate)
    second = _agent(tmp_path, schema, "two", seen)
    try:
        slow = threading.Thread(target=first.chat, args=("a slow question",), kwargs={"user": "ann"})
        slow.start()
        deadline = time.monotonic() + 20
        while not first.context.user_locks.get("ann") or first.context.user_locks["ann"]._depth == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        other_user = threading.Thread(target=second.chat, args=("hello",), kwargs={"user": "bob"})
        other_user.start()
        other_user.join(20)  # another user is not held up by ann's turn
        assert not other_user.is_alive() and seen[-1].startswith("two:")
        queued = threading.Thread(target=second.chat, args=("a quick one",), kwargs={"user": "ann"})
        queued.start()
        time.sleep(1.0)
        assert queued.is_alive(), "ann's second turn ran while her first was running on the other process"
        gate.set()
        slow.join(20)
        queued.join(20)
        ann = [s for s in seen if "slow" in s or "quick" in s]
        assert [s.split(":", 1)[0] for s in ann] == ["one", "two"]
        texts = [e.text for e in second.memory.episodes(namespace="ann")]
        assert texts == ["a slow question", "ok", "a quick one", "ok"]
    finally:
        gate.set()
        first.close()
        second.close()


def test_a_turn_lock_not_granted_in_time_is_a_backend_error(two: tuple[AgentDatabase, AgentDatabase]) -> None:
    with two[0].user_lock("ann", 5.0):
        with pytest.raises(MemoryBackendError, match="another turn of user 'ann'") as info:  # noqa: SIM117
            with two[1].user_lock("ann", 0.2):
                pass
        assert info.value.hint
        with two[1].user_lock("bob", 0.2):
            pass
    with two[1].user_lock("ann", 0.2):  # released: granted at once
        pass


def test_rate_limits_are_shared_by_the_processes(two: tuple[AgentDatabase, AgentDatabase]) -> None:
    a, b = two
    allowed = [a.take_token("key", 1.0, 3), b.take_token("key", 1.0, 3), a.take_token("key", 1.0, 3)]
    assert allowed == [0.0, 0.0, 0.0]
    wait = b.take_token("key", 1.0, 3)  # the fourth in the minute, on either process
    assert 50.0 < wait <= 60.0
    assert a.take_token("other-key", 1.0, 3) == 0.0


def test_a_proactive_event_reaches_a_stream_on_another_process(
    two: tuple[AgentDatabase, AgentDatabase],
) -> None:
    publisher = ProactiveHub(Metrics(), publish=two[0].publish)
    receiver = ProactiveHub(Metrics(), publish=two[1].publish)

    async def scenario() -> list[dict[str, object]]:
        queue = receiver.open("ann")
        other = receiver.open("bob")
        stop = two[1].listen(receiver.deliver)
        try:
            for text in ("first", "second"):
                await asyncio.to_thread(
                    publisher.on_event,
                    Event(kind="proactive", user="ann", data={"acted": True, "content": text}, t=0.0),
                )
            got = [await asyncio.wait_for(queue.get(), 10) for _ in range(2)]
            await asyncio.sleep(0.3)
            assert other.empty(), "another user's stream received ann's event"
            return got
        finally:
            await asyncio.to_thread(stop)

    got = asyncio.run(scenario())
    assert [m["content"] for m in got] == ["first", "second"]
    assert all(m["user"] == "ann" for m in got)


def _overlap(enter: Callable[[str], AbstractContextManager[object]]) -> list[str]:
    """Two threads take the same lock; returns the order of their enter/leave marks."""
    marks: list[str] = []

    def worker(name: str) -> None:
        with enter(name):
            marks.append(f"in:{name}")
            time.sleep(0.3)
            marks.append(f"out:{name}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(10)
    return marks


def test_one_process_at_a_time_consolidates_a_namespace(tmp_path: Path, schema: str) -> None:
    stores = [PostgresStore(str(POSTGRES_URL), schema=schema) for _ in range(2)]
    try:
        by_name = {"a": stores[0], "b": stores[1]}
        marks = _overlap(lambda name: by_name[name].exclusive("consolidate:u"))
        assert marks == ["in:a", "out:a", "in:b", "out:b"]
        marks = _overlap(lambda name: by_name[name].exclusive(f"consolidate:{name}"))
        assert marks[:2] == ["in:a", "in:b"], "different namespaces must not wait for each other"
    finally:
        for store in stores:
            store.close()
    marks = _overlap(lambda name: file_lock(tmp_path / "locks", "consolidate:u"))
    assert marks == ["in:a", "out:a", "in:b", "out:b"]
