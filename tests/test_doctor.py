"""``cogarch doctor``: checks a data directory and repairs what can be rebuilt (library and CLI)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cogarch.doctor import DoctorReport, diagnose
from memory import Memory
from memory.embedders.base import HashEmbedder
from reasoning.errors import StoreLockedError

EMB = HashEmbedder(64)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory written by a real agent: memory, index, checkpoints, proactive log, one substrate."""
    from cogarch.agent import Agent
    from reasoning.engines.scripted import ScriptedLLM

    root = tmp_path_factory.mktemp("doctor") / "data"
    with Agent.open(
        root, llm=ScriptedLLM(lambda m, o: "Noted."), embedder=EMB, substrate={"neurons": 1000}
    ) as agent:
        for i in range(3):
            agent.chat(f"My sister Ada lives in Paris, note {i}.", user="bob")
        agent.memory.remember_many([f"garden note {i}" for i in range(30)], namespace="carol")
    return root


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(template, target)
    target.chmod(0o700)
    return target


def statuses(report: DoctorReport) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in report.checks:
        out.setdefault(c.name, set()).add(c.status)
    return out


def index_in_sync(data: Path) -> None:
    with Memory.open(data / "memory", embedder=EMB) as m:
        for ns in ("bob", "carol"):
            stored = {e.id for e in m.episodes(namespace=ns)} | {s.id for s in m.scenes(namespace=ns)}
            stored |= {f.id for f in m.facts(namespace=ns)}
            assert m.index.ids(ns) == stored
        assert m.recall("garden note 4", namespace="carol", k=1)[0].text == "garden note 4"


def test_healthy_directory_is_ok(data: Path) -> None:
    report = diagnose(data, embedder=EMB)
    assert report.ok
    got = statuses(report)
    assert got["memory"] == got["index"] == got["checkpoints"] == got["proactive_log"] == {"ok"}
    assert got["substrate"] == {"ok"} and got["permissions"] == {"ok"}


def test_damaged_index_is_rebuilt_from_sqlite(data: Path) -> None:
    (data / "memory" / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(9000))
    report = diagnose(data, embedder=EMB)
    assert not report.ok and statuses(report)["index"] == {"error"}
    seen: list[tuple[int, int]] = []
    report = diagnose(
        data, embedder=EMB, repair=True, progress=lambda task, done, total: seen.append((done, total))
    )
    assert report.ok and statuses(report)["index"] == {"repaired"}
    assert seen and seen[-1][0] == seen[-1][1] > 30
    assert any(p.name.startswith("chroma.corrupt-") for p in (data / "memory").iterdir())
    index_in_sync(data)
    assert statuses(diagnose(data, embedder=EMB))["index"] == {"ok"}


def test_out_of_sync_index_and_missing_vectors_are_repaired(data: Path) -> None:
    with Memory.open(data / "memory", embedder=EMB) as m:
        ids = sorted(m.index.ids("carol"))
        m.index.delete("carol", ids[:5])  # index entries lost
        m.index.upsert("carol", ["ep_stale000000000000000"], EMB(["gone"]), ["episode"])  # and one stale
        with m.store.transaction():  # two records without a stored vector (damage only raw SQL can do)
            m.store.conn.execute("UPDATE episodes SET vector=NULL WHERE id IN (?, ?)", (ids[0], ids[1]))
    report = diagnose(data, embedder=EMB)
    index = next(c for c in report.checks if c.name == "index")
    assert (
        index.status == "warning"
        and "5 records not indexed, 1 index entries without a record" in index.message
    )
    report = diagnose(data, embedder=EMB, repair=True)
    index = next(c for c in report.checks if c.name == "index")
    assert index.status == "repaired" and "2 re-embedded" in index.message and "1 removed" in index.message
    index_in_sync(data)
    with Memory.open(data / "memory", embedder=EMB) as m:
        assert m.store.vectors_of("episode", ids[:2]).keys() == set(ids[:2])


def test_damaged_substrate_is_moved_aside_and_starts_fresh(data: Path) -> None:
    from cogarch.settings import SubstrateSettings
    from cogarch.substrates import SubstratePool

    [path] = list((data / "substrate").glob("*.pt"))
    path.write_bytes(path.read_bytes()[:1000])
    (data / "substrate" / f"{path.name}.k3x9q1.tmp").write_bytes(b"half")  # a torn save
    report = diagnose(data, embedder=EMB)
    assert statuses(report)["substrate"] == {"error", "warning"}
    report = diagnose(data, embedder=EMB, repair=True)
    assert report.ok and statuses(report)["substrate"] == {"repaired"}
    names = sorted(p.name for p in (data / "substrate").iterdir())
    assert len(names) == 1 and ".pt.corrupt-" in names[0]
    pool = SubstratePool(SubstrateSettings(neurons=1000), data / "substrate")
    assert pool.get("bob").stats()["bindings"] == 0  # fresh


def test_damaged_checkpoints_are_moved_aside_and_the_agent_starts(data: Path) -> None:
    from cogarch.agent import Agent
    from reasoning.engines.scripted import ScriptedLLM

    (data / "checkpoints.sqlite").write_bytes(os.urandom(5000))
    assert statuses(diagnose(data, embedder=EMB))["checkpoints"] == {"error"}
    assert diagnose(data, embedder=EMB, repair=True).ok
    with Agent.open(
        data, llm=ScriptedLLM(lambda m, o: "Hi."), embedder=EMB, substrate={"enabled": False}
    ) as agent:
        assert agent.chat("hello again", user="bob").text == "Hi."
        assert any("Ada lives in Paris" in e.text for e in agent.memory.episodes(namespace="bob"))


def test_damaged_proactive_log_is_moved_aside(data: Path) -> None:
    (data / "agent.db").write_bytes(os.urandom(5000))
    assert statuses(diagnose(data, embedder=EMB))["proactive_log"] == {"error"}
    assert statuses(diagnose(data, embedder=EMB, repair=True))["proactive_log"] == {"repaired"}
    assert not (data / "agent.db").exists() and list(data.glob("agent.db.corrupt-*"))
    assert "agent_tables" not in statuses(diagnose(data, embedder=EMB))  # SQLite: no shared tables


def test_damaged_memory_database_is_reported_not_repaired(data: Path) -> None:
    db = data / "memory" / "memory.sqlite3"
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)
    db.write_bytes(os.urandom(20000))
    report = diagnose(data, embedder=EMB, repair=True)
    memory = next(c for c in report.checks if c.name == "memory")
    assert not report.ok and memory.status == "error"
    assert "cannot be rebuilt" in (memory.hint or "")
    assert db.exists()  # the system of record is never moved or deleted


def test_permissions_are_made_private(data: Path) -> None:
    data.chmod(0o755)
    assert statuses(diagnose(data, embedder=EMB))["permissions"] == {"warning"}
    assert statuses(diagnose(data, embedder=EMB, repair=True))["permissions"] == {"repaired"}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_repair_refused_while_the_memory_is_open(data: Path) -> None:
    with Memory.open(data / "memory", embedder=EMB):
        report = diagnose(data, embedder=EMB)  # checking while in use is allowed
        assert "warning" in statuses(report)["memory"]
        with pytest.raises(StoreLockedError):
            diagnose(data, embedder=EMB, repair=True)


def test_cli_json_and_exit_codes(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    monkeypatch.setenv("COGARCH_EMBEDDING__MODEL", "hash")
    monkeypatch.setenv("COGARCH_EMBEDDING__DIM", "64")
    runner = CliRunner()
    ok = runner.invoke(app, ["doctor", "--data-dir", str(data), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    (data / "memory" / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(9000))
    bad = runner.invoke(app, ["doctor", "--data-dir", str(data)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    fixed = runner.invoke(app, ["doctor", "--data-dir", str(data), "--repair", "--json"])
    assert fixed.exit_code == 0, fixed.output
    assert "repaired" in {c["status"] for c in json.loads(fixed.output)["checks"]}
    missing = runner.invoke(app, ["doctor", "--data-dir", str(data / "nope")])
    assert missing.exit_code == 3


def test_damaged_hnsw_segment_fails_recall_clearly_and_is_rebuilt(tmp_path: Path) -> None:
    from reasoning.errors import CorruptStoreError

    data = tmp_path / "data"
    with Memory.open(
        data / "memory", embedder=EMB
    ) as m:  # enough records for Chroma to write an HNSW segment
        m.remember_many([f"note {i} about the garden" for i in range(1200)], namespace="a")
    [header] = list((data / "memory" / "chroma").rglob("header.bin"))
    header.write_bytes(os.urandom(100))
    with Memory.open(data / "memory", embedder=EMB) as m, pytest.raises(CorruptStoreError) as info:
        m.recall("note 5 about the garden", namespace="a", k=1)
    assert "cogarch doctor --repair" in (info.value.hint or "")
    assert statuses(diagnose(data, embedder=EMB))["index"] == {"error"}
    assert statuses(diagnose(data, embedder=EMB, repair=True))["index"] == {"repaired"}
    with Memory.open(data / "memory", embedder=EMB) as m:
        assert m.recall("note 5 about the garden", namespace="a", k=1)[0].text == "note 5 about the garden"
