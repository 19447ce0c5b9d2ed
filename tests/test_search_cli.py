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
