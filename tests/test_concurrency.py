"""Concurrency: many threads and asyncio tasks on one ``Memory`` and one ``Agent``: no lost or duplicated write,
no deadlock (every worker must finish within a bound, else the test fails), exact counts at the end."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from pathlib import Path

from cogarch.agent import Agent
from cogarch.clock import ManualClock
from memory import Memory
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM

BOUND_S = 240.0  # generous on a loaded 2-core machine; a deadlock never finishes


def run_threads(workers: list[Callable[[], None]]) -> None:
    """Start every worker at once, join within the bound, re-raise the first error."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                barrier.wait(timeout=BOUND_S)
                fn()
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=BOUND_S)
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"deadlock or stall: {alive} still running after {BOUND_S} s"
    if errors:
        raise errors[0]


def test_memory_threads_lose_no_write(tmp_path: Path) -> None:
    per_thread, threads = 20, 6
    with Memory.open(tmp_path, embedder=HashEmbedder(64)) as memory:
        kept: dict[str, int] = {}
        shared_ids: list[list[str]] = [[] for _ in range(threads)]

        def worker(n: int) -> Callable[[], None]:
            def run() -> None:
                rng = random.Random(n)
                ns = f"user-{n}"
                mine: list[str] = []
                for i in range(per_thread):
                    mine.append(memory.remember(f"thread {n} note {i} about apples", namespace=ns))
                    shared_ids[n].append(memory.remember(f"shared note {n}-{i}", namespace="shared"))
                    op = rng.random()
                    if op < 0.3:
                        assert memory.recall("apples note", namespace=ns, k=5)
                    elif op < 0.45 and mine:
                        memory.forget(mine.pop(rng.randrange(len(mine))), namespace=ns)
                    elif op < 0.5:
                        memory.consolidate(namespace=ns)
                    elif op < 0.55:
                        memory.export(ns, with_vectors=False)
                kept[ns] = len(mine)

            return run

        run_threads([worker(n) for n in range(threads)])
        for ns, count in kept.items():
            assert memory.stats(ns)["episodes"] == count
            assert len(memory.index.ids(ns)) == count + memory.stats(ns)["scenes"] + memory.stats(ns)["facts"]
        ids = [i for per in shared_ids for i in per]
        assert len(set(ids)) == len(ids) == per_thread * threads
        assert memory.stats("shared")["episodes"] == per_thread * threads
        assert memory.stats()["pending_index_ops"] == 0


def test_memory_async_tasks_lose_no_write(tmp_path: Path) -> None:
    async def main(memory: Memory) -> None:
        async def task(n: int) -> None:
            for i in range(10):
                await asyncio.to_thread(memory.remember, f"async {n} item {i}", namespace=f"a{n % 3}")
                await asyncio.to_thread(memory.recall, "item", namespace=f"a{n % 3}", k=3)

        await asyncio.wait_for(asyncio.gather(*(task(n) for n in range(12))), timeout=BOUND_S)

    with Memory.open(tmp_path, embedder=HashEmbedder(64)) as memory:
        asyncio.run(main(memory))
        assert [memory.stats(f"a{j}")["episodes"] for j in range(3)] == [40, 40, 40]


def test_agent_threads_and_tasks_chat_remember_and_forget(tmp_path: Path) -> None:
    agent = Agent.open(
        tmp_path,
        llm=ScriptedLLM(lambda messages, options: f"ok: {messages[-1]['content']}"),
        embedder=HashEmbedder(64),
        clock=ManualClock(1.7e9),
        substrate={"neurons": 1000},
        memory={"consolidate_every": 4},
    )
    chat_users = ["ann", "ben", "cy"]
    turns_per_thread = 4
    scratch_kept: dict[str, int] = {}
    try:

        def chatter(user: str, n: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(turns_per_thread):
                    reply = agent.chat(f"{user} message {n}-{i}", user=user)
                    assert reply.text == f"ok: {user} message {n}-{i}"
                    if i % 3 == 2:
                        agent.idle(3600, user=user)

            return run

        def scratch(n: int) -> Callable[[], None]:
            def run() -> None:
                ns = f"scratch-{n}"
                ids = [agent.memory.remember(f"scratch {n} fact {i}", namespace=ns) for i in range(12)]
                agent.forget(ids[:3], user=ns)
                agent.memory.recall("fact", namespace=ns, k=3)
                scratch_kept[ns] = 9

            return run

        def doomed() -> None:
            for i in range(5):
                agent.chat(f"doomed note {i}", user="doomed")
            agent.forget_user("doomed")

        workers = [
            chatter(u, n) for u in chat_users for n in range(2)
        ]  # two threads per user: serialised turns
        workers += [scratch(n) for n in range(3)] + [doomed]

        async def tasks() -> None:
            async def one(i: int) -> None:
                reply = await agent.achat(f"async hello {i}", user="dee")
                assert reply.text == f"ok: async hello {i}"

            await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(6))), timeout=BOUND_S)

        workers.append(lambda: asyncio.run(tasks()))
        run_threads(workers)

        for user in chat_users:
            episodes = agent.memory.episodes(namespace=user)
            assert (
                len(episodes) == 2 * 2 * turns_per_thread
            )  # input and reply of every turn, none lost or doubled
            assert len({e.text for e in episodes if e.speaker == user}) == 2 * turns_per_thread
            state = agent.graph.get_state({"configurable": {"thread_id": f"{user}/main"}}).values
            assert state["turn"] == 2 * turns_per_thread  # every turn advanced the checkpointed counter once
        assert len(agent.memory.episodes(namespace="dee")) == 12
        for ns, count in scratch_kept.items():
            assert agent.memory.stats(ns)["episodes"] == count
        assert agent.memory.stats("doomed")["episodes"] == 0
        # consolidation runs on the agent's worker: an index write of one still running is pending meanwhile
        assert agent.wait_consolidated(timeout=BOUND_S)
        assert agent.memory.stats()["pending_index_ops"] == 0
    finally:
        agent.close()
