"""Crash safety: SIGKILL a writer at random points; reopening loses no acknowledged record and leaves no index
entry without a record (embedded Chroma, the default index)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pgstore
import pytest

from memory import Memory
from memory.embedders.base import HashEmbedder

pytestmark = pytest.mark.usefixtures("memory_store")  # each test on SQLite and on Postgres

WRITER = """
import sys
from memory import Memory
from memory.embedders.base import HashEmbedder
m = Memory.open(sys.argv[1], embedder=HashEmbedder(64))
i = 0
while True:
    rid = m.remember(f"event number {i} about topic {i % 7}", namespace="crash", metadata={"i": i})
    print(rid, flush=True)  # acknowledged
    i += 1
"""


def test_sigkill_loses_no_acknowledged_record(tmp_path: Path) -> None:
    rng = random.Random(7)
    acknowledged: list[str] = []
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", pgstore.CHILD_HOOK + WRITER, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        target = rng.randint(5, 40)
        got = 0
        while got < target and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
            got += 1
        time.sleep(rng.random() * 0.05)
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate()[0]
        acknowledged += [x for x in rest.split() if x.startswith("ep_")]
        assert got > 0
    with Memory.open(tmp_path, embedder=HashEmbedder(64)) as m:
        stored = {e.id for e in m.episodes(namespace="crash")}
        assert set(acknowledged) <= stored
        indexed = m.index.ids("crash")
        assert indexed <= stored  # no index entry without a record
        assert stored <= indexed  # reconcile re-indexed everything committed
        assert m.stats()["pending_index_ops"] == 0
