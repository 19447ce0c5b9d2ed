"""``cogarch memory ...`` through CliRunner: each command's main path and a bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
ENV = {"COGARCH_EMBEDDING__MODEL": "hash", "COGARCH_EMBEDDING__DIM": "64"}


def run(*args: str, data_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["memory", *args, "--data-dir", str(data_dir)], env=ENV)
    return result.exit_code, result.output


@pytest.fixture
def filled(data_dir: Path, tmp_path: Path) -> Path:
    lines = [
        {"text": "Ada lives in Paris with her cat Tom.", "speaker": "ada"},
        {"text": "Bob plays the violin every Sunday.", "speaker": "bob", "metadata": {"dia_id": "D1:2"}},
    ]
    source = tmp_path / "turns.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, output = run("ingest", str(source), "--user", "u", data_dir=data_dir)
    assert code == 0, output
    return data_dir


def test_search_show_stats(filled: Path) -> None:
    code, output = run("search", "violin Sunday", "--user", "u", "--json", data_dir=filled)
    assert code == 0, output
    items = json.loads(output)["items"]
    assert "violin" in items[0]["text"]
    code, output = run("show", items[0]["id"], "--json", data_dir=filled)
    assert code == 0 and "violin" in output
    code, output = run("stats", "--user", "u", "--json", data_dir=filled)
    assert code == 0 and json.loads(output)["episodes"] == 2


def test_export_import_forget(filled: Path, tmp_path: Path) -> None:
    dump = tmp_path / "u.json"
    code, output = run("export", str(dump), "--user", "u", data_dir=filled)
    assert code == 0, output
    again, _ = run("import", str(dump), "--user", "copy", data_dir=filled)
    assert again == 2  # ids are unique per data directory: a clear refusal, nothing half-written
    other = tmp_path / "other"
    code, output = run("import", str(dump), "--user", "copy", data_dir=other)
    assert code == 0, output
    code, output = run("forget", "--query", "violin", "--user", "u", data_dir=filled)
    assert code == 0, output
    code, output = run("search", "violin Sunday", "--user", "u", "--json", data_dir=filled)
    assert all("violin" not in item["text"] for item in json.loads(output)["items"])
    code, output = run("search", "violin Sunday", "--user", "copy", "--json", data_dir=other)
    assert any("violin" in item["text"] for item in json.loads(output)["items"])


def test_bad_inputs_give_one_line_and_distinct_exit_codes(data_dir: Path, tmp_path: Path) -> None:
    code, output = run("ingest", str(tmp_path / "missing.jsonl"), "--user", "u", data_dir=data_dir)
    assert code in (2, 3) and "Traceback" not in output
    code, output = run("show", "ep_doesnotexist", data_dir=data_dir)
    assert code == 3 and "ep_doesnotexist" in output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, output = run("import", str(broken), "--user", "u", data_dir=data_dir)
    assert code == 2 and "Traceback" not in output


@pytest.mark.skipif(
    not __import__("memory.nlp").nlp.installed(), reason="no spaCy English pipeline installed"
)
def test_facts_as_of(data_dir: Path, tmp_path: Path) -> None:
    lines = [
        {"text": "I live in Lyon.", "speaker": "bob", "timestamp": "2024-01-10T12:00:00"},
        {"text": "I moved to Porto last week.", "speaker": "bob", "timestamp": "2024-03-10T12:00:00"},
    ]
    source = tmp_path / "turns.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, output = run("ingest", str(source), "--user", "bob", data_dir=data_dir)
    assert code == 0, output
    code, output = run("facts", "--user", "bob", "--json", data_dir=data_dir)
    assert code == 0, output
    assert {(f["object"], f["valid_to"] is None) for f in json.loads(output)} == {
        ("Lyon", False),
        ("Porto", True),
    }
    code, output = run("facts", "--user", "bob", "--as-of", "2024-02-01", data_dir=data_dir)
    assert code == 0 and "Lyon" in output and "Porto" not in output
    code, output = run("facts", "--user", "bob", "--as-of", "not a date", data_dir=data_dir)
    assert code != 0 and "bad timestamp" in output
