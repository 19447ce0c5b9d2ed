"""The command line through typer's CliRunner: main paths and bad input (one line + hint, distinct exit codes)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
FAST = {
    "COGARCH_LLM__MODEL": "scripted/echo",
    "COGARCH_EMBEDDING__MODEL": "hash",
    "COGARCH_EMBEDDING__DIM": "64",
    "COGARCH_SUBSTRATE__ENABLED": "false",
}


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("cogarch ")


def test_config_show_json_masks_secrets(data_dir: Path) -> None:
    env = {"COGARCH_LLM__API_KEY": "sk-secret-123", "COGARCH_LLM__MODEL": "openai/gpt-4o-mini"}
    result = runner.invoke(app, ["config", "show", "--json", "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["llm"]["model"] == "openai/gpt-4o-mini"
    assert "sk-secret-123" not in result.stdout


def test_config_init_writes_a_file_that_loads_back(data_dir: Path) -> None:
    result = runner.invoke(app, ["config", "init", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    config = data_dir / "config.toml"
    assert tomllib.loads(config.read_text())["llm"]["model"] == "local/smollm2-135m-instruct"
    again = runner.invoke(app, ["config", "init", "--data-dir", str(data_dir)])
    assert again.exit_code == 2
    assert "already exists" in again.output and "--force" in again.output


def test_bad_setting_is_one_line_with_a_hint_and_exit_code_2(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["config", "show", "--data-dir", str(data_dir)], env={"COGARCH_LLM__TEMPERATURE": "9"}
    )
    assert result.exit_code == 2
    assert "llm.temperature" in result.output
    assert "Traceback" not in result.output


def test_models_check_with_a_hosted_model_and_no_key_fails_fast_naming_the_variable(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    env = {**FAST, "COGARCH_LLM__MODEL": "openai/gpt-4o-mini"}
    result = runner.invoke(app, ["models", "check", "--json", "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 3  # a missing resource
    report = json.loads(result.stdout)
    assert not report["llm"]["ok"]
    assert "OPENAI_API_KEY" in report["llm"]["detail"]


def test_models_check_reports_both_models(data_dir: Path) -> None:
    result = runner.invoke(app, ["models", "check", "--json", "--data-dir", str(data_dir)], env=FAST)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["llm"]["name"] == "scripted/echo" and report["llm"]["ok"]
    assert report["embedder"]["ok"] and "dim 64" in report["embedder"]["detail"]


def test_graph_prints_mermaid_and_draws_png(tmp_path: Path) -> None:
    out = tmp_path / "graph.png"
    result = runner.invoke(app, ["graph", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "perceive" in data["mermaid"] and "decide" in data["nodes"]
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_chat_piped_plain_and_json(data_dir: Path) -> None:
    args = ["chat", "--data-dir", str(data_dir), "--user", "ada"]
    plain = runner.invoke(app, args, input="hello there\n\nmy cat is called Tom\n", env=FAST)
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines() == ["You said: hello there", "You said: my cat is called Tom"]
    result = runner.invoke(app, [*args, "--json"], input="what is my cat called?\n", env=FAST)
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip())
    assert line["reply"] == "You said: what is my cat called?"
    assert any("Tom" in r["text"] for r in line["recalled"])  # the second run recalls the first


def test_chat_piped_commands_and_quit(data_dir: Path) -> None:
    args = ["chat", "--data-dir", str(data_dir), "--user", "ada"]
    script = "my cat is called Tom\n/memory\n/good\n/forget Tom\n/memory Tom\n/nope\n/quit\nnot read\n"
    result = runner.invoke(app, args, input=script, env=FAST)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "You said: my cat is called Tom"
    assert any("Tom" in line for line in lines[1 : lines.index("noted")])  # /memory lists the message
    forgot = next(line for line in lines if line.startswith("forgot "))
    assert forgot != "forgot 0 item(s)"
    after = lines[lines.index(forgot) + 1 :]
    assert not any("Tom" in line for line in after)  # /memory Tom finds nothing now
    assert "unknown command in piped mode: /nope; /help lists them" in after
    assert "not read" not in result.stdout  # /quit stops reading


def test_chat_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["chat", "--no-such-flag"])
    assert result.exit_code == 2


def test_chat_piped_idle_with_a_bad_duration(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["chat", "--data-dir", str(data_dir), "--json"], input="/idle soon\n", env=FAST
    )
    assert result.exit_code == 2
    assert "duration" in result.output


def test_chat_piped_think_runs_the_search_over_memory(data_dir: Path) -> None:
    args = ["chat", "--data-dir", str(data_dir), "--user", "ada", "--json"]
    script = "my cat Tom lives in Porto\n/think where does Tom live?\n"
    result = runner.invoke(app, args, input=script, env={**FAST, "COGARCH_SEARCH__MAX_NODES": "3"})
    assert result.exit_code == 0, result.output
    told, thought = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert "search" not in told
    assert thought["message"] == "where does Tom live?" and thought["reply"]
    assert thought["search"]["nodes"] >= 1  # the reply came through the CoAT search
    missing = runner.invoke(app, args, input="/think\n", env=FAST)
    assert missing.exit_code == 2 and "needs a question" in missing.output
