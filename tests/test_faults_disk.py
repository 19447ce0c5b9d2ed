"""A full disk, simulated by a file-size limit (``RLIMIT_FSIZE``, with SIGXFSZ ignored so writes fail with EFBIG) in
a child process: the write fails with a typed error whose hint says to free disk space, nothing of it is kept, and
every store stays readable (in the child, and after reopening)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from memory import Memory
from memory.embedders.base import HashEmbedder

CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    import numpy as np
    from memory import Memory
    from memory.embedders.base import HashEmbedder
    from cogarch.settings import SubstrateSettings
    from cogarch.substrates import SubstratePool
    from reasoning.errors import CogarchError

    root = Path(sys.argv[1])
    out = {}
    m = Memory.open(root / "memory", embedder=HashEmbedder(64))
    pool = SubstratePool(SubstrateSettings(neurons=1000), root / "substrate")
    pool.get("bob")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    biggest = max(p.stat().st_size for p in root.rglob("*") if p.is_file())
    resource.setrlimit(resource.RLIMIT_FSIZE, (biggest + 65536, resource.RLIM_INFINITY))

    def attempt(name, fn):
        try:
            fn()
            out[name] = "ok"
        except CogarchError as exc:
            out[name] = {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}

    big = biggest + 200_000  # more than any file may grow by now
    attempt("remember", lambda: m.remember("x" * big, namespace="bob"))
    attempt("remember_many", lambda: m.remember_many(["y" * 20_000] * (big // 20_000), namespace="bob"))
    out["readable"] = [e.text for e in m.episodes(namespace="bob")]
    out["recall"] = [r.text for r in m.recall("kept number 3", namespace="bob", k=1)]
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
    attempt("substrate", lambda: pool.save("bob"))
    out["substrate_files"] = sorted(p.name for p in (root / "substrate").iterdir())
    m.close()
    print(json.dumps(out))
    """
)


def test_full_disk_fails_the_write_clearly_and_keeps_the_stores_readable(tmp_path: Path) -> None:
    from cogarch.settings import SubstrateSettings
    from cogarch.substrates import SubstratePool, user_file

    with Memory.open(tmp_path / "memory", embedder=HashEmbedder(64)) as m:
        m.remember_many([f"kept number {i}" for i in range(20)], namespace="bob")
    pool = SubstratePool(SubstrateSettings(neurons=1000), tmp_path / "substrate")
    pool.get("bob")
    pool.save("bob")
    before = user_file(tmp_path / "substrate", "bob").read_bytes()

    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("remember", "remember_many", "substrate"):
        err = out[name]
        assert err != "ok", name
        assert err["type"] == "MemoryBackendError", err
        assert "full" in err["message"] and "free disk space" in err["hint"], err
    assert out["readable"] == [f"kept number {i}" for i in range(20)]
    assert out["recall"] == ["kept number 3"]
    assert out["substrate_files"] == [user_file(tmp_path / "substrate", "bob").name]  # no temp file left

    with Memory.open(tmp_path / "memory", embedder=HashEmbedder(64)) as m:
        assert [e.text for e in m.episodes(namespace="bob")] == [f"kept number {i}" for i in range(20)]
        assert m.index.ids("bob") == {e.id for e in m.episodes(namespace="bob")}
        assert m.stats()["pending_index_ops"] == 0
        m.remember("after the disk was freed", namespace="bob")  # writable again
    assert user_file(tmp_path / "substrate", "bob").read_bytes() == before  # the previous state is intact
    assert SubstratePool(SubstrateSettings(neurons=1000), tmp_path / "substrate").get("bob") is not None


CHAT_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM
    from reasoning.errors import CogarchError

    root = Path(sys.argv[1])
    agent = Agent.open(root, llm=ScriptedLLM(lambda m, o: "Noted."), embedder=HashEmbedder(64),
                       substrate={"enabled": False})
    agent.chat("hello before", user="bob")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    biggest = max(p.stat().st_size for p in root.rglob("*") if p.is_file())
    resource.setrlimit(resource.RLIMIT_FSIZE, (biggest + 65536, resource.RLIM_INFINITY))
    out = {}
    try:
        agent.chat("z" * (biggest + 200_000), user="bob")
        out["turn"] = "ok"
    except CogarchError as exc:
        out["turn"] = {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    agent.cancel_pending("bob")
    out["after"] = agent.chat("hello after", user="bob").text
    out["episodes"] = [e.text[:12] for e in agent.memory.episodes(namespace="bob")]
    agent.close()
    print(json.dumps(out))
    """
)


def test_full_disk_during_a_chat_turn_is_a_typed_error_and_the_next_turn_works(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHAT_CHILD, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["turn"] != "ok"
    assert out["turn"]["type"] == "MemoryBackendError" and "free disk space" in out["turn"]["hint"]
    assert out["after"] == "Noted."
    assert out["episodes"] == [
        "hello before",
        "Noted.",
        "hello after",
        "Noted.",
    ]  # the failed turn left nothing
