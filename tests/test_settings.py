"""Settings: sources and their precedence, nested env variables, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogarch.errors import ConfigError
from cogarch.settings import Settings
from reasoning.config import LOCAL_MODEL


def test_defaults_run_offline_on_the_bundled_models() -> None:
    settings = Settings()
    assert settings.llm.model == LOCAL_MODEL
    assert settings.embedding.model == "local/all-minilm-l6-v2"
    assert settings.persistence.checkpointer == "sqlite"


def test_default_data_dir_is_under_the_users_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings().data_dir == tmp_path / "cogarch"


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGARCH_LLM__MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("COGARCH_MEMORY__CHROMA_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("COGARCH_SUBSTRATE__NEURONS", "5000")
    settings = Settings()
    assert settings.llm.model == "openai/gpt-4o-mini"
    assert settings.memory.chroma_url == "http://127.0.0.1:8000"
    assert settings.substrate.neurons == 5000


def test_precedence_arguments_over_env_over_toml_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[llm]\nmodel = "from-toml"\ntemperature = 0.3\nmax_tokens = 99\n[search]\nmax_nodes = 7\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COGARCH_LLM__MODEL", "from-env")
    monkeypatch.setenv("COGARCH_LLM__TEMPERATURE", "0.5")
    settings = Settings.load(config, llm={"model": "from-args"})
    assert settings.llm.model == "from-args"  # argument beats env and file
    assert settings.search.max_nodes == 7  # file beats default
    assert settings.llm.max_tokens == 99  # file beats default within a section the args also touched
    only_env_and_file = Settings.load(config)
    assert only_env_and_file.llm.model == "from-env"
    assert only_env_and_file.llm.temperature == 0.5  # env beats file


def test_config_toml_in_the_data_dir_is_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('user = "ada"\n', encoding="utf-8")
    assert Settings(data_dir=tmp_path).user == "ada"


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[proactive]\nmax_per_day = 9\n", encoding="utf-8")
    monkeypatch.setenv("COGARCH_CONFIG", str(config))
    assert Settings().proactive.max_per_day == 9


def test_unknown_key_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as info:
        Settings(llm={"modle": "x"})
    message = str(info.value)
    assert "llm.modle" in message
    assert "model" in message and "temperature" in message


def test_unknown_env_section_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGARCH_MEMORY__CHROMA_ULR", "http://x")
    with pytest.raises(ConfigError, match=r"memory\.chroma_ulr"):
        Settings()


def test_invalid_value_names_key_and_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        Settings(persistence={"checkpointer": "redis"})
    message = str(info.value)
    assert "persistence.checkpointer" in message
    assert "sqlite" in message and "postgres" in message


def test_invalid_env_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGARCH_LLM__TEMPERATURE", "hot")
    with pytest.raises(ConfigError, match=r"llm\.temperature"):
        Settings()


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[llm\nmodel=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(config)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(tmp_path / "nope.toml")


def test_settings_are_frozen_and_overrides_make_copies() -> None:
    settings = Settings()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own frozen error
        settings.user = "x"  # type: ignore[misc]
    changed = settings.with_overrides(llm={"model": "scripted/echo"}, user="bob")
    assert changed.llm.model == "scripted/echo"
    assert changed.llm.max_tokens == settings.llm.max_tokens
    assert changed.user == "bob" and settings.user == "default"


def test_secrets_are_masked_in_the_dump() -> None:
    settings = Settings(llm={"api_key": "sk-very-secret"})
    assert "sk-very-secret" not in str(settings.masked())
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == "sk-very-secret"
    assert settings.with_overrides(user="x").llm.api_key == settings.llm.api_key
