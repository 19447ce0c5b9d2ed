"""Fuzzed settings: explicit arguments, ``COGARCH_*`` environment variables and TOML files with random keys and
values. Every outcome is valid settings or a :class:`ConfigError` naming the offending key; never another
exception (a traceback for the user)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from cogarch.settings import Settings
from reasoning.errors import ConfigError

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}
KNOWN = [(section, key) for section, model in SECTIONS.items() for key in model.model_fields]
TOP = [name for name in Settings.model_fields if name not in SECTIONS]

names = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)
keys = st.one_of(
    st.sampled_from(KNOWN),
    st.tuples(st.sampled_from(sorted(SECTIONS)), names),  # unknown keys of known sections
    st.tuples(names, names),  # unknown sections
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=2),
)
env_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)


def check(build: Any, named: list[str]) -> None:
    """``build()`` gives Settings, or a ConfigError whose message names one of ``named`` (or the file)."""
    try:
        result = build()
    except ConfigError as error:
        message = str(error)
        assert error.hint, message
        assert any(name in message for name in named), (named, message)
        assert "Traceback" not in message
        return
    assert isinstance(result, Settings)


@FUZZ
@given(entries=st.lists(st.tuples(keys, values), min_size=1, max_size=4))
def test_explicit_arguments(tmp_path: Path, entries: list[tuple[tuple[str, str], Any]]) -> None:
    overrides: dict[str, Any] = {"data_dir": tmp_path}
    for (section, key), value in entries:
        section_values = overrides.setdefault(section, {})
        if isinstance(section_values, dict):
            section_values[key] = value
    named = [f"{section}.{key}" for (section, key), _ in entries] + [section for (section, _), _ in entries]
    check(lambda: Settings.load(**overrides), named)


@FUZZ
@given(top=st.sampled_from(TOP), value=values)
def test_explicit_top_level_values(tmp_path: Path, top: str, value: Any) -> None:
    overrides = {"data_dir": tmp_path, top: value}
    check(lambda: Settings.load(**overrides), [top])


@FUZZ
@given(
    entries=st.lists(
        st.tuples(st.one_of(keys, st.tuples(st.sampled_from(sorted(SECTIONS)), st.just(""))), env_text),
        min_size=1,
        max_size=4,
    )
)
def test_environment_variables(tmp_path: Path, entries: list[tuple[tuple[str, str], str]]) -> None:
    env = {"COGARCH_DATA_DIR": str(tmp_path)}
    named = []
    for (section, key), value in entries:
        name = f"COGARCH_{section}__{key}" if key else f"COGARCH_{section}"  # a whole section as JSON
        env[name.upper()] = value
        named += [f"{section}.{key}".lower(), section.lower(), name.upper()]
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        check(Settings.load, named)


@FUZZ
@given(top=st.sampled_from(["COGARCH_DATA_DIR", "COGARCH_USER", "COGARCH_CONFIG"]), value=env_text)
def test_top_level_environment_variables(tmp_path: Path, top: str, value: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)  # a relative COGARCH_DATA_DIR lands in the test's directory
        mp.setenv("COGARCH_DATA_DIR", str(tmp_path))
        mp.setenv(top, value)
        check(Settings.load, [top.removeprefix("COGARCH_").lower(), top, "config file"])


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items() if v is not None)
            + "}"
        )
    return '""'


@FUZZ
@given(entries=st.lists(st.tuples(keys, values), min_size=1, max_size=4))
def test_toml_files(tmp_path: Path, entries: list[tuple[tuple[str, str], Any]]) -> None:
    sections: dict[str, dict[str, Any]] = {}
    for (section, key), value in entries:
        if value is not None:
            sections.setdefault(section, {})[key] = value
    text = "".join(
        f"[{json.dumps(section)}]\n"
        + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in values.items())
        for section, values in sections.items()
    )
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    named = [f"{s}.{k}" for s, vs in sections.items() for k in vs] + list(sections) + [str(path)]
    check(lambda: Settings.load(path, data_dir=tmp_path), named)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_toml_files_with_random_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "junk.toml"
    path.write_bytes(raw)
    check(lambda: Settings.load(path, data_dir=tmp_path), [str(path), "llm", "memory", "serve", *TOP])


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(tmp_path / "nope.toml")
    assert os.environ.get("COGARCH_CONFIG") is None


@pytest.mark.parametrize("name", ["self", "cls"])
def test_a_section_named_like_a_parameter_is_an_unknown_setting(tmp_path: Path, name: str) -> None:
    # hypothesis found it: Settings.load(self={...}) raised TypeError ("multiple values for argument 'self'")
    check(lambda: Settings.load(data_dir=tmp_path, **{name: {"a": 1}}), [name])
