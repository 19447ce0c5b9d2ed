"""The remaining commands through CliRunner: serve (key generation, bad options), bench substrate."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_serve_new_key_prints_a_key_and_its_hash() -> None:
    result = runner.invoke(app, ["serve", "--new-key", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    key = next(v for k, v in data.items() if "key" in k and "hash" not in k)
    digest = next(v for k, v in data.items() if "hash" in k)
    assert key and digest and key not in digest


def test_serve_rejects_a_bad_memory_mode() -> None:
    result = runner.invoke(app, ["serve", "--memory-mode", "sideways"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_bench_substrate_s1_json() -> None:
    result = runner.invoke(
        app, ["bench", "substrate", "s1", "--neurons", "2000", "--duration", "0.2", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["neurons"] == 2000
    for key in ("synapses", "rate_hz", "wall_s", "rtf", "events_per_s"):
        assert key in data


def test_bench_substrate_bad_device() -> None:
    result = runner.invoke(app, ["bench", "substrate", "s1", "--device", "tpu", "--json"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_chat_idle_loop_reports_a_failure_once_and_keeps_going(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io
    import threading

    from rich.console import Console

    import cli.chat
    from cogarch.errors import CorruptStoreError

    out = io.StringIO()
    monkeypatch.setattr(cli.chat, "console", Console(file=out, width=200))
    calls: list[float] = []
    recovered = threading.Event()

    class FailingTwice:
        def idle(self, seconds: float, *, user: str) -> list[object]:
            calls.append(seconds)
            if len(calls) <= 2:
                raise CorruptStoreError("agent.db is damaged", hint="run cogarch doctor")
            recovered.set()
            return []

    session = cli.chat.Session(FailingTwice(), "bob", time_scale=60.0, proactive=True, idle_grace_s=0.0)
    loop = threading.Thread(target=session._idle_loop, daemon=True)
    loop.start()
    assert recovered.wait(10), "the idle loop stopped after a failure"
    session._stop.set()
    loop.join(5)
    said = out.getvalue().count("idle loop: CorruptStoreError: agent.db is damaged")
    assert said == 1  # said once, not on every tick


def test_chat_idle_work_waits_for_the_grace_period_and_counts_it_as_idle() -> None:
    """No idle work right after the user's last message (it would hold their next turn); then the whole
    silence, grace included, is passed to the agent as idle time."""
    import threading
    import time

    import cli.chat

    calls: list[tuple[float, float]] = []
    called = threading.Event()

    class Recording:
        def idle(self, seconds: float, *, user: str) -> list[object]:
            calls.append((time.monotonic(), seconds))
            called.set()
            return []

    session = cli.chat.Session(
        Recording(), "bob", time_scale=10.0, proactive=True, idle_grace_s=1.0, idle_period_s=0.05
    )
    started = session._last_activity = time.monotonic()  # the user just sent a message
    loop = threading.Thread(target=session._idle_loop, daemon=True)
    loop.start()
    time.sleep(0.3)
    assert calls == []  # within the grace period: nothing runs
    assert called.wait(10), "idle work never started after the grace period"
    session._stop.set()
    loop.join(5)
    first_at, first_seconds = calls[0]
    assert first_at - started >= 1.0
    assert first_seconds >= 0.9 * 10.0 * (first_at - started)  # the grace time counted as idle time


def test_chat_memory_without_a_query_lists_the_newest_episodes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io
    from types import SimpleNamespace

    from rich.console import Console

    import cli.chat

    out = io.StringIO()
    monkeypatch.setattr(cli.chat, "console", Console(file=out, width=200))
    asked: list[dict[str, object]] = []

    class Episodes:
        def episodes(self, **kw: object) -> list[SimpleNamespace]:
            asked.append(kw)
            return [
                SimpleNamespace(id="ep_2", text="my cat is Tom", speaker="bob"),
                SimpleNamespace(id="ep_1", text="hi", speaker=None),
            ]

        def recall(self, query: str, **kw: object) -> list[object]:
            raise AssertionError("/memory without a query must not recall")

    session = cli.chat.Session(
        SimpleNamespace(memory=Episodes()), "bob", time_scale=1.0, proactive=False, idle_grace_s=0.0
    )
    assert session.command("/memory") is True
    assert asked == [{"namespace": "bob", "limit": 10, "newest_first": True}]
    lines = out.getvalue().splitlines()
    assert lines == ["  episode ep_2 bob: my cat is Tom", "  episode ep_1 hi"]
