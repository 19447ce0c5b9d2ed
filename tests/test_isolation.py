"""Isolation between users, tried with random users, namespaces and operations at three levels: the library
(``Agent`` / ``Memory``), the CLI (``cogarch memory ...``) and the server (per-key users).

Every text a user gives carries a unique marker naming its owner; every output produced for a user (replies,
recalled items, associations, exports, search results, consolidated facts and scenes, proactive actions and the
proactive log) is searched for markers, and each one found must be that user's. The scripted model repeats every
memory note it is shown, so a foreign memory that reached a prompt would show in the reply.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from starlette.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from cogarch.agent import Agent
from cogarch.clock import ManualClock
from cogarch.serve.app import create_app
from cogarch.serve.auth import hash_key
from cogarch.settings import ServeSettings
from memory import Memory
from memory.embedders.base import HashEmbedder
from reasoning.engines.scripted import ScriptedLLM
from reasoning.llm import GenerationOptions, Message

pytestmark = pytest.mark.usefixtures("memory_store")  # each test on SQLite and on Postgres

DIM = 128
MARK = re.compile(r"mk(\d+)q(\d+)z")
USERS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), max_codepoint=0x2FFF),
    min_size=1,
    max_size=10,
).filter(lambda s: s.strip() != "")


def repeat_notes(messages: Sequence[Message], options: GenerationOptions) -> str:
    """Repeats every memory note of the prompt (and for proactive decisions, every quoted memory)."""
    text = "\n".join(str(m["content"]) for m in messages)
    notes = [line.strip() for line in text.splitlines() if line.strip().startswith('- "')]
    if "Answer as JSON" in text:
        return json.dumps({"action": "message", "content": "Following up: " + " ".join(notes)})
    return ("I remember: " + " ".join(notes)) if notes else f"Noted: {messages[-1]['content']}"


def owners(text: str) -> set[int]:
    return {int(m.group(1)) for m in MARK.finditer(text)}


def dump(value: Any) -> str:
    return json.dumps(value, default=lambda o: getattr(o, "__dict__", str(o)), ensure_ascii=False)


class AgentIsolation(RuleBasedStateMachine):
    """Random chat / remember / recall / export / consolidate / idle / forget operations of several users."""

    users = Bundle("users")

    @initialize()
    def open_agent(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.agent = Agent.open(
            Path(self.tmp.name),
            llm=ScriptedLLM(repeat_notes),
            embedder=HashEmbedder(DIM),
            clock=ManualClock(1.7e9),
            substrate={"neurons": 1000},
            proactive={"cooldown_s": 0, "max_per_day": 1000},
            memory={"consolidate_every": 6},
        )
        self.index: dict[str, int] = {}
        self.counter = 0
        self.owned: dict[str, set[str]] = {}  # live markers of each user

    def teardown(self) -> None:
        if hasattr(self, "agent"):
            self.agent.close()
            self.tmp.cleanup()

    def marker(self, user: str) -> str:
        self.counter += 1
        mark = f"mk{self.index[user]}q{self.counter}z"
        self.owned.setdefault(user, set()).add(mark)
        return mark

    def check(self, user: str, output: Any) -> None:
        found = owners(dump(output))
        foreign = found - {self.index[user]}
        assert not foreign, f"{user!r} saw markers of users {foreign}: {dump(output)[:500]}"

    @rule(target=users, name=USERS)
    def add_user(self, name: str) -> str:
        self.index.setdefault(name, len(self.index))
        return name

    @rule(user=users, topic=st.sampled_from(["garden", "trip to Rome", "piano lessons", "dentist"]))
    def chat(self, user: str, topic: str) -> None:
        reply = self.agent.chat(f"Note {self.marker(user)} about my {topic}", user=user)
        self.check(user, [reply.text, reply.recalled, reply.associations])

    @rule(user=users, topic=st.sampled_from(["garden", "trip to Rome", "piano lessons", "dentist"]))
    def ask(self, user: str, topic: str) -> None:
        reply = self.agent.chat(f"What do you remember about my {topic}?", user=user)
        self.check(user, [reply.text, reply.recalled, reply.associations])

    @rule(user=users)
    def remember_and_recall(self, user: str) -> None:
        mark = self.marker(user)
        self.agent.memory.remember(f"stored {mark} with the garden notes", namespace=user)
        foreign = " ".join(m for u, ms in self.owned.items() if u != user for m in ms)
        self.check(user, self.agent.memory.recall(f"garden notes {foreign}", namespace=user, k=20))

    @rule(user=users)
    def export_and_records(self, user: str) -> None:
        self.check(user, self.agent.memory.export(user, with_vectors=False))
        self.check(user, [self.agent.memory.facts(namespace=user), self.agent.memory.scenes(namespace=user)])

    @rule(user=users)
    def consolidate(self, user: str) -> None:
        self.agent.memory.consolidate(namespace=user)
        self.check(user, self.agent.memory.export(user, with_vectors=False))

    @rule(user=users)
    def idle(self, user: str) -> None:
        actions = self.agent.idle(8 * 3600, user=user)
        self.check(user, [actions, self.agent.proactive_log(user)])

    @rule(user=users, victim=users)
    def leaked_substrate_key(self, user: str, victim: str) -> None:
        """An attack: another user's memory id bound into this user's substrate must never surface here."""
        episodes = self.agent.memory.episodes(namespace=victim, limit=1)
        if user == victim or not episodes:
            return
        text = f"Tell me again about the leaked topic {self.marker(user)}"
        substrate = self.agent.substrate(user)
        substrate.bind(substrate.encode(HashEmbedder(DIM)([text])[0]), episodes[0].id)
        reply = self.agent.chat(text, user=user)
        self.check(user, [reply.text, reply.recalled, reply.associations, self.agent.idle(3600, user=user)])

    @rule(user=users)
    def forget_one(self, user: str) -> None:
        eps = self.agent.memory.episodes(namespace=user, limit=1)
        if eps:
            self.agent.forget(eps[0].id, user=user)
            self.owned.setdefault(user, set()).difference_update(
                m.group(0) for m in MARK.finditer(eps[0].text)
            )

    @rule(user=users)
    def forget_whole_user(self, user: str) -> None:
        self.agent.forget_user(user)
        self.owned[user] = set()
        assert self.agent.memory.stats(user)["episodes"] == 0
        assert self.agent.memory.export(user)["episodes"] == []

    @invariant()
    def namespaces_hold_only_their_own_markers(self) -> None:
        if not hasattr(self, "agent"):
            return
        for user in self.index:
            self.check(user, self.agent.memory.export(user, with_vectors=False))


def test_agent_isolation() -> None:
    run_state_machine_as_test(
        AgentIsolation,
        settings=settings(
            max_examples=4, stateful_step_count=14, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )


# -- CLI ------------------------------------------------------------------------------------------------------
CLI_ENV = {"COGARCH_EMBEDDING__MODEL": "hash", "COGARCH_EMBEDDING__DIM": str(DIM)}


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(users=st.lists(USERS, min_size=2, max_size=3, unique=True))
def test_cli_shows_each_user_only_their_own_memory(users: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        with Memory.open(data_dir / "memory", embedder=HashEmbedder(DIM)) as memory:
            for i, user in enumerate(users):
                memory.remember_many(
                    [f"entry mk{i}q{j}z about the shared topic" for j in range(3)], namespace=user
                )
        runner = CliRunner(env=CLI_ENV)
        everyone = " ".join(f"mk{i}q{j}z" for i in range(len(users)) for j in range(3))
        for i, user in enumerate(users):
            base = ["-u", user, "--data-dir", str(data_dir)]
            for args in (
                ["memory", "search", f"shared topic {everyone}", "--json", *base],
                ["memory", "export", "-", *base],
                ["memory", "stats", "--json", *base],
            ):
                result = runner.invoke(cli_app, args)
                assert result.exit_code == 0, result.output
                assert owners(result.output) <= {i}, (args, result.output[:300])
        victim = users[0]
        result = runner.invoke(
            cli_app, ["memory", "forget", "--all", "-u", victim, "--data-dir", str(data_dir)]
        )
        assert result.exit_code == 0, result.output
        for i, user in enumerate(users):
            out = runner.invoke(
                cli_app, ["memory", "export", "-", "-u", user, "--data-dir", str(data_dir)]
            ).output
            assert owners(out) == (set() if user == victim else {i})


# -- server ---------------------------------------------------------------------------------------------------
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    users=st.lists(USERS, min_size=2, max_size=3, unique=True),
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(["chat", "search", "export", "records", "idle"])),
        min_size=4,
        max_size=10,
    ),
)
def test_server_keys_see_only_their_users(users: list[str], steps: list[tuple[int, str]]) -> None:
    keys = [f"ck-test-key-{i}" for i in range(len(users))]
    serve = ServeSettings(
        api_keys=[
            {"name": f"k{i}", "hash": hash_key(k), "users": [u]}
            for i, (k, u) in enumerate(zip(keys, users, strict=True))
        ]
    )
    with tempfile.TemporaryDirectory() as tmp:
        agent = Agent.open(
            Path(tmp),
            llm=ScriptedLLM(repeat_notes),
            embedder=HashEmbedder(DIM),
            clock=ManualClock(1.7e9),
            substrate={"enabled": False},
        )
        try:
            with TestClient(create_app(agent, serve)) as client:
                for counter, (who, op) in enumerate(steps, 1):
                    i = who % len(users)
                    headers = {"Authorization": f"Bearer {keys[i]}"}
                    everyone = " ".join(f"mk{j}q{c}z" for j in range(len(users)) for c in range(counter))
                    if op == "chat":
                        r = client.post(
                            "/v1/chat/completions",
                            headers=headers,
                            json={
                                "model": "cogarch",
                                "messages": [
                                    {"role": "user", "content": f"note mk{i}q{counter}z on the topic"}
                                ],
                            },
                        )
                    elif op == "search":
                        r = client.get(
                            "/v1/memory/search", headers=headers, params={"q": f"topic {everyone}"}
                        )
                    elif op == "export":
                        r = client.get("/v1/memory/export", headers=headers)
                    elif op == "records":
                        r = client.get("/v1/memory/records", headers=headers, params={"kind": "episode"})
                    else:
                        r = client.post("/v1/proactive/idle", headers=headers, json={"seconds": 3600})
                    assert r.status_code == 200, r.text
                    body = r.text
                    assert owners(body) <= {i}, (op, body[:300])
                    other = users[(i + 1) % len(users)]  # a key never acts for another user
                    denied = client.get("/v1/memory/export", headers=headers, params={"user": other})
                    assert denied.status_code == 403
                victim = 0
                r = client.post(
                    "/v1/memory/forget",
                    headers={"Authorization": f"Bearer {keys[victim]}"},
                    json={"all": True},
                )
                assert r.status_code == 200, r.text
                for i in range(len(users)):
                    out = client.get("/v1/memory/export", headers={"Authorization": f"Bearer {keys[i]}"}).text
                    assert owners(out) <= ({i} if i != victim else set())
        finally:
            agent.close()
