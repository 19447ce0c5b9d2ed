"""``cogarch think`` (cli/think_cmd.py) on the scripted engine."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.think_cmd import app


def test_think_json_runs_the_search(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "Why is the sky blue?",
            "--json",
            "--max-nodes",
            "3",
            "--model",
            "scripted/echo",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["nodes"] == 3 and data["stopped_by"] == "nodes"
    assert len(data["tree"]["nodes"]) == 4


def test_think_prints_tree_chain_answer_and_writes_dot(data_dir: Path, tmp_path: Path) -> None:
    dot = tmp_path / "tree.dot"
    result = CliRunner().invoke(
        app,
        ["2+2?", "--max-nodes", "2", "--associations", "none", "--model", "scripted/echo",
         "--data-dir", str(data_dir), "--dot", str(dot)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "chain:" in result.output and "answer:" in result.output and "stopped by nodes" in result.output
    assert result.output.count("answer:") == 1  # the tree's own answer line is not repeated
    assert dot.read_text().startswith("digraph coat {")


def test_think_reports_bad_options_as_one_line(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["q", "--associations", "bogus", "--model", "scripted/echo", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 2
    assert "unknown associations" in result.output


def test_think_recalls_associations_from_the_data_directory(data_dir: Path, tmp_path: Path) -> None:
    from cli.main import app as main_app

    env = {"COGARCH_EMBEDDING__MODEL": "hash", "COGARCH_EMBEDDING__DIM": "64"}
    told = ["Mia's violin teacher is called Sam.", "Sam's sister is named Lena.", "Lena lives in Porto."]
    source = tmp_path / "told.jsonl"
    source.write_text("\n".join(json.dumps({"text": t, "speaker": "ada"}) for t in told) + "\n")
    runner = CliRunner()
    ingest = runner.invoke(
        main_app, ["memory", "ingest", str(source), "--user", "ada", "--data-dir", str(data_dir)], env=env
    )
    assert ingest.exit_code == 0, ingest.output
    listed = runner.invoke(
        main_app, ["memory", "search", "Sam Lena Porto", "--user", "ada", "--json", "--data-dir", str(data_dir)],
        env=env,
    )  # fmt: skip
    stored = {item["id"] for item in json.loads(listed.output)["items"]}
    args = ["Who is Mia's violin teacher?", "--json", "--max-nodes", "3", "--model", "scripted/echo",
            "--user", "ada", "--data-dir", str(data_dir)]  # fmt: skip
    result = runner.invoke(main_app, ["think", *args], env=env)  # --associations defaults to memory here
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["associations_from"] == "memory"
    assert {"nodes", "depth", "tokens", "chain"} <= data.keys()
    found = [a for node in data["tree"]["nodes"] for a in node["associations"]]
    assert found and all(a["source_ids"][0] in stored for a in found)
    assert any("Sam" in a["text"] for a in found)
    # another user has no memories here: auto falls back to generative associations
    other = runner.invoke(
        main_app, ["think", *args[:-4], "--user", "bob", "--data-dir", str(data_dir)], env=env
    )
    assert json.loads(other.output.strip().splitlines()[-1])["associations_from"] == "generative"
