"""Secrets: API keys never appear in error messages, exception reprs or chains, logs (ours and litellm's, at
DEBUG), traces, exports, the data directory's files, ``cogarch config show`` or the server's JSON errors; the
data directory is created private to its owner (0700, files 0600).

The stub server plays a provider that echoes a rejected key back in its error body, as real providers do.
"""

from __future__ import annotations

import json
import logging
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app
from cogarch.agent import Agent
from cogarch.serve.app import create_app
from cogarch.serve.auth import hash_key
from cogarch.settings import ServeSettings, Settings
from memory.embedders import LiteLLMEmbedder
from memory.embedders.base import HashEmbedder
from reasoning.config import LLMSettings
from reasoning.engines import build_llm
from reasoning.engines._litellm import import_litellm
from reasoning.engines.litellm_engine import LiteLLMEngine
from reasoning.errors import CogarchError, ConfigError, MissingResourceError
from reasoning.llm import LLM, user
from reasoning.redact import MASK, redact, redacted
from reasoning.testing import StubReply, StubServer

KEY = "sk-proj-SECRET-4f1c9a7e2b0d"
PG_PASSWORD = "pg-SECRET-pass-9931"
runner = CliRunner()


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


@pytest.fixture(autouse=True)
def _fresh(server: StubServer) -> None:
    server.clear()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, litellm's verbose loggers included (restored afterwards)."""
    litellm = import_litellm()
    loggers = [
        logging.getLogger(n) for n in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "openai")
    ]
    levels = [lg.level for lg in loggers]
    caplog.set_level(logging.DEBUG)
    litellm._turn_on_debug()
    try:
        yield caplog
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def echo_rejection(status: int = 401) -> StubReply:
    return StubReply(
        status=status, text=f"Incorrect API key provided: {KEY}. Find your key in the dashboard."
    )


def everything_said(error: BaseException) -> str:
    """Message, repr, hint and the full formatted traceback with its chain."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, CogarchError):
        parts.append(error.hint or "")
    return "\n".join(parts)


def assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert PG_PASSWORD not in text


def engine_for(source: str, server: StubServer, monkeypatch: pytest.MonkeyPatch) -> LLM:
    base = {"model": "openai/stub-model", "api_base": server.url, "timeout_s": 5.0, "max_retries": 1}
    if source == "explicit":
        return LiteLLMEngine(LLMSettings.model_validate({**base, "api_key": KEY}))
    if source == "OPENAI_API_KEY":
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        return LiteLLMEngine(LLMSettings.model_validate(base))
    monkeypatch.setenv("COGARCH_LLM__API_KEY", KEY)  # the full stack from settings
    monkeypatch.setenv("COGARCH_LLM__MODEL", "openai/stub-model")
    monkeypatch.setenv("COGARCH_LLM__API_BASE", server.url)
    monkeypatch.setenv("COGARCH_LLM__BACKOFF_S", "0.01")
    settings = Settings.load()
    assert settings.llm.api_key is not None and settings.llm.api_key.get_secret_value() == KEY
    return build_llm(settings.llm, cache_dir=Path("."))


@pytest.mark.parametrize("source", ["explicit", "OPENAI_API_KEY", "COGARCH_LLM__API_KEY"])
@pytest.mark.parametrize("stream", [False, True])
def test_rejected_key_echoed_by_the_provider_is_masked_everywhere(
    server: StubServer,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    source: str,
    stream: bool,
) -> None:
    llm = engine_for(source, server, monkeypatch)
    server.enqueue(echo_rejection())
    with pytest.raises(MissingResourceError) as info:
        if stream:
            list(llm.stream([user("hi")]))
        else:
            llm.complete([user("hi")])
    assert server.requests, "the request reached the server"
    said = everything_said(info.value)
    assert MASK in str(info.value) and "OPENAI_API_KEY" in str(info.value)  # still says what to fix
    out, err = capfd.readouterr()
    assert_secret_free(said, debug_logs.text, out, err)


@pytest.mark.parametrize("status", [400, 404, 429, 500, 503])
def test_other_errors_that_echo_the_key_are_masked(
    server: StubServer, debug_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], status: int
) -> None:
    llm = LiteLLMEngine(LLMSettings(model="openai/stub-model", api_base=server.url, api_key=KEY, timeout_s=5))
    server.enqueue(StubReply(status=status, text=f"request with key {KEY} failed"))
    with pytest.raises(CogarchError) as info:
        llm.complete([user("hi")])
    out, err = capfd.readouterr()
    assert_secret_free(everything_said(info.value), debug_logs.text, out, err)


def test_malformed_body_echoing_the_key_is_masked(server: StubServer) -> None:
    llm = LiteLLMEngine(LLMSettings(model="openai/stub-model", api_base=server.url, api_key=KEY, timeout_s=5))
    server.enqueue(StubReply.malformed(f'{{"key": "{KEY}", "choices": [{{"mess'))
    with pytest.raises(CogarchError) as info:
        llm.complete([user("hi")])
    assert_secret_free(everything_said(info.value))


def test_successful_calls_log_no_key_at_debug(
    server: StubServer, debug_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    llm = LiteLLMEngine(LLMSettings(model="openai/stub-model", api_base=server.url, api_key=KEY, timeout_s=5))
    assert llm.complete([user("hello")]).text == "You said: hello"
    assert "".join(c.delta for c in llm.stream([user("again")])) == "You said: again"
    out, err = capfd.readouterr()
    assert debug_logs.records  # the loggers did run at DEBUG
    assert_secret_free(debug_logs.text, out, err, repr(llm.settings), str(llm.settings.model_dump()))
    # the key did go out, in the Authorization header only (the stub records bodies)
    assert all(KEY not in json.dumps(body) for body in server.requests)


def test_embedder_rejection_echoing_the_key_is_masked(
    server: StubServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    server.enqueue(echo_rejection())
    embedder = LiteLLMEmbedder("openai/stub-embed", api_base=server.url, api_key=KEY)
    with pytest.raises(MissingResourceError) as info:
        embedder(["x"])
    assert_secret_free(everything_said(info.value), debug_logs.text)


def test_redact_helpers() -> None:
    assert redact(f"a {KEY} b {KEY}", [KEY]) == f"a {MASK} b {MASK}"
    error = redacted(ConfigError(f"bad {KEY}", hint=f"not {KEY}"), [KEY])
    assert_secret_free(str(error), repr(error), error.hint or "")


def test_agent_session_leaves_no_key_in_trace_files_export_or_reply(
    server: StubServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COGARCH_LLM__API_KEY", KEY)
    data_dir = tmp_path / "agent"
    trace = tmp_path / "trace.jsonl"
    llm = {"model": "openai/stub-model", "api_base": server.url, "max_retries": 0}
    with Agent.open(
        data_dir, llm=llm, embedder=HashEmbedder(64), substrate={"enabled": False}, trace_path=trace
    ) as agent:
        assert agent.settings.llm.api_key is not None
        reply = agent.chat("my favourite colour is green", user="bob")
        server.enqueue(echo_rejection())
        with pytest.raises(MissingResourceError) as info:
            agent.chat("and mine is blue", user="bob")
        agent.chat("what is my favourite colour?", user="bob")
        exported = json.dumps(agent.memory.export("bob"))
    out, err = capfd.readouterr()
    assert_secret_free(everything_said(info.value), repr(reply), exported, debug_logs.text, out, err)
    files = [trace, *(p for p in data_dir.rglob("*") if p.is_file())]
    assert any(p.name == "checkpoints.sqlite" for p in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path


def _serve_settings() -> ServeSettings:
    return ServeSettings.model_validate(
        {"api_keys": [{"name": "alice", "hash": hash_key("ck-alice-key"), "users": ["alice"]}]}
    )


def test_server_json_errors_never_carry_the_provider_key_or_the_client_key(
    server: StubServer, tmp_path: Path
) -> None:
    llm = build_llm(
        LLMSettings(model="openai/stub-model", api_base=server.url, api_key=KEY, max_retries=0),
        cache_dir=tmp_path,
    )
    with Agent.open(
        tmp_path / "srv", llm=llm, embedder=HashEmbedder(64), substrate={"enabled": False}
    ) as agent:
        client = TestClient(create_app(agent, _serve_settings()))
        body = {"model": "cogarch", "messages": [{"role": "user", "content": "hi"}]}
        server.enqueue(echo_rejection())
        response = client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": "Bearer ck-alice-key"}
        )
        assert 400 <= response.status_code < 600 and response.status_code != 500
        assert "error" in response.json()
        assert_secret_free(response.text)
        server.enqueue(echo_rejection())
        streamed = client.post(
            "/v1/chat/completions",
            json={**body, "stream": True},
            headers={"Authorization": "Bearer ck-alice-key"},
        )
        assert "error" in streamed.text
        assert_secret_free(streamed.text)
        wrong = "ck-wrong-SECRET-client-key"
        refused = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {wrong}"})
        assert refused.status_code == 401 and wrong not in refused.text


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        f'[llm]\nmodel = "openai/gpt-4o-mini"\napi_key = "{KEY}"\n'
        f'[persistence]\npostgres_url = "postgresql://me:{PG_PASSWORD}@db:5432/x"\n'
    )
    return path


@pytest.mark.parametrize("json_output", [False, True])
def test_config_show_masks_keys_from_env_and_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_output: bool
) -> None:
    extra = ["--json"] if json_output else []
    from_toml = runner.invoke(
        app, ["config", "show", "--data-dir", str(tmp_path), "--config", str(_config_file(tmp_path)), *extra]
    )
    assert from_toml.exit_code == 0, from_toml.output
    assert "**********" in from_toml.output
    monkeypatch.setenv("COGARCH_LLM__API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    from_env = runner.invoke(app, ["config", "show", "--data-dir", str(tmp_path), *extra])
    assert from_env.exit_code == 0, from_env.output
    assert_secret_free(from_toml.output, from_env.output)


def test_config_errors_never_echo_secret_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[llm]\napi_key = ["{KEY}"]\napikey = "{KEY}"\ntemperature = 9\n'
        f'[persistence]\npostgres_url = ["postgresql://me:{PG_PASSWORD}@db/x"]\n'
    )
    with pytest.raises(ConfigError) as info:
        Settings.load(bad)
    for key in ("llm.api_key", "llm.apikey", "llm.temperature", "persistence.postgres_url"):
        assert key in str(info.value)
    assert_secret_free(everything_said(info.value))
    monkeypatch.setenv("COGARCH_LLM__API_KEY", KEY)
    monkeypatch.setenv("COGARCH_LLM__MAX_TOKENS", "many")
    result = runner.invoke(app, ["config", "show", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "llm.max_tokens" in result.output
    assert_secret_free(result.output)


def test_config_init_writes_a_private_file_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGARCH_LLM__API_KEY", KEY)
    data_dir = tmp_path / "fresh"
    result = runner.invoke(app, ["config", "init", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    path = data_dir / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert_secret_free(text)
    assert "**********" not in text  # a mask written as a value would become the key
    monkeypatch.delenv("COGARCH_LLM__API_KEY")
    assert Settings.load(data_dir=data_dir).llm.api_key is None


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_data_directory_is_private_to_its_owner(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "agent"
    trace = data_dir / "trace.jsonl"
    with Agent.open(
        data_dir,
        llm={"model": "scripted/echo"},
        embedder=HashEmbedder(64),
        substrate={"neurons": 1000, "plasticity": False},
        trace_path=trace,
    ) as agent:
        opened = _modes(data_dir)
        agent.chat("hello there", user="bob")
        agent.save()
    closed = _modes(data_dir)
    assert opened["."] == 0o700
    for name in ("memory/memory.sqlite3", "checkpoints.sqlite", "agent.db", "trace.jsonl"):
        assert opened[name] == 0o600, (name, oct(opened[name]))
    assert any(name.startswith("substrate/") and name.endswith(".pt") for name in closed)
    for name, mode in closed.items():
        path = data_dir / name
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, (name, oct(mode))


def test_cli_memory_commands_create_a_private_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli-data"
    env = {"COGARCH_EMBEDDING__MODEL": "hash", "COGARCH_EMBEDDING__DIM": "64"}
    result = runner.invoke(app, ["memory", "stats", "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 0, result.output
    modes = _modes(data_dir)
    assert modes["."] == 0o700
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_cli_chat_error_line_masks_the_key(server: StubServer, tmp_path: Path) -> None:
    env = {
        "COGARCH_LLM__MODEL": "openai/stub-model",
        "COGARCH_LLM__API_BASE": server.url,
        "COGARCH_LLM__API_KEY": KEY,
        "COGARCH_LLM__MAX_RETRIES": "0",
        "COGARCH_EMBEDDING__MODEL": "hash",
        "COGARCH_EMBEDDING__DIM": "32",
        "COGARCH_SUBSTRATE__ENABLED": "false",
    }
    server.enqueue(echo_rejection())
    result = runner.invoke(
        app, ["chat", "--data-dir", str(tmp_path / "d"), "--no-proactive"], input="hello\n", env=env
    )
    assert result.exit_code == 3, result.output  # a rejected key: a missing resource
    assert "error:" in result.output and MASK in result.output and "Traceback" not in result.output
    assert_secret_free(result.output)
