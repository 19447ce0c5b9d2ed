"""Fuzzed input files: memory import files (library and ``cogarch memory import``) and episode scripts.

Every outcome is a success or a typed usage error naming what is wrong (never another exception), and a failed
import writes nothing: the target namespace (even with ``replace``) and the rest of the memory are unchanged.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from cogarch.episodes.script import EpisodeScript, load_script, parse_script
from memory import Memory
from memory.embedders.base import HashEmbedder
from reasoning.errors import InvalidInputError, MissingResourceError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "episodes"

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


# -- memory import -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    with Memory.open(tmp_path_factory.mktemp("fuzz-memory"), embedder=HashEmbedder(32)) as mem:
        for i, text in enumerate(["Ada lives in Paris.", "Bob likes tea.", "The cat is called Tom."]):
            mem.remember(text, namespace="base", speaker="bob", timestamp=1_700_000_000 + i)
        mem.consolidate(namespace="base")
        mem.remember("the target's own note", namespace="target", speaker="bob", timestamp=1_700_000_000)
        yield mem


def snapshot(memory: Memory) -> dict[str, Any]:
    """Everything a failed import must leave unchanged."""
    stats = memory.store.stats()
    counts = {t: stats[t] for t in ("episodes", "facts", "scenes", "entities", "persona", "edges")}
    counts["fts"] = memory.store.conn.execute("SELECT count(*) FROM fts").fetchone()[
        0
    ]  # SQLite's lexical index
    return {"counts": counts, "target": memory.export("target", with_vectors=False)}


@pytest.fixture(scope="module")
def base_export(memory: Memory) -> dict[str, Any]:
    data: dict[str, Any] = memory.export("base", with_vectors=True)
    return data


def fresh_export(base: dict[str, Any]) -> dict[str, Any]:
    """A valid export of ``base`` whose record ids are new (so it could be imported)."""
    data = copy.deepcopy(base)
    tag = uuid.uuid4().hex[:8]
    text = json.dumps(data)
    for table in ("episodes", "facts", "scenes"):
        for record in data[table]:
            old = record["id"]
            text = text.replace(json.dumps(old), json.dumps(f"{old[:3]}{tag}{old[3:]}"))
    out: dict[str, Any] = json.loads(text)
    return out


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths_of(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += paths_of(inner, (*prefix, i))
    return found


def mutate(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(document)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete" and isinstance(parent, dict):
        del parent[last]
    elif action == "delete" and isinstance(parent, list):
        parent.pop(last)
    else:
        parent[last] = value
    return doc


def import_outcome(memory: Memory, data: Any, *, replace: bool) -> str:
    before = snapshot(memory)
    try:
        memory.import_(data, namespace="target", replace=replace)
    except InvalidInputError as error:
        assert error.message.strip() and "\n" not in error.message
        assert snapshot(memory) == before, "a failed import changed the memory"
        return "refused"
    return "imported"


def restore_target(memory: Memory) -> None:
    memory.forget(namespace="target", all=True)
    memory.remember("the target's own note", namespace="target", speaker="bob", timestamp=1_700_000_000)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_mutated_export_imports_whole_or_not_at_all(
    memory: Memory, base_export: dict[str, Any], data: st.DataObject
) -> None:
    document = fresh_export(base_export)
    mutations = data.draw(st.integers(min_value=1, max_value=3))
    for _ in range(mutations):
        path = data.draw(st.sampled_from(paths_of(document)[1:]))
        action = data.draw(st.sampled_from(["replace", "delete"]))
        document = mutate(document, path, action, data.draw(json_values))
    outcome = import_outcome(memory, document, replace=True)
    event(outcome)
    if outcome == "imported":
        restore_target(memory)


@FUZZ
@given(data=json_values, replace=st.booleans())
def test_random_json_is_refused_cleanly(memory: Memory, data: Any, replace: bool) -> None:
    assert import_outcome(memory, data, replace=replace) == "refused"


def test_valid_export_still_imports(memory: Memory, base_export: dict[str, Any]) -> None:
    document = fresh_export(base_export)
    count = memory.import_(document, namespace="copy")
    assert count == len(document["episodes"]) + len(document["facts"]) + len(document["scenes"])
    again = memory.export("copy", with_vectors=False)
    assert [e["text"] for e in again["episodes"]] == [e["text"] for e in document["episodes"]]
    assert len(again["edges"]) == len(document["edges"]) and len(again["entities"]) == len(
        document["entities"]
    )
    assert memory.export("base", with_vectors=True) == base_export  # the source namespace is untouched
    assert memory.recall("Where does Ada live?", namespace="copy", k=3)


def test_import_with_replace_keeps_the_namespace_when_the_file_is_bad(
    memory: Memory, base_export: dict[str, Any]
) -> None:
    document = fresh_export(base_export)
    document["episodes"][-1]["ts"] = "yesterday"
    with pytest.raises(InvalidInputError, match=r"episodes\[2\]\.ts"):
        memory.import_(document, namespace="target", replace=True)
    assert [e.text for e in memory.episodes(namespace="target")] == ["the target's own note"]


runner = CliRunner()
CLI_ENV = {
    "COGARCH_EMBEDDING__MODEL": "hash",
    "COGARCH_EMBEDDING__DIM": "32",
    "COGARCH_LLM__MODEL": "scripted/echo",
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_cli_import_of_random_files(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "dump.json"
    path.write_bytes(raw)
    data_dir = tmp_path / "data"
    result = runner.invoke(
        app, ["memory", "import", str(path), "--user", "u", "--data-dir", str(data_dir)], env=CLI_ENV
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "error:" in result.output
    stats = runner.invoke(
        app, ["memory", "stats", "--user", "u", "--json", "--data-dir", str(data_dir)], env=CLI_ENV
    )
    assert stats.exit_code == 0, stats.output


# -- episode scripts ---------------------------------------------------------------------------------------------


def example_scripts() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]


def script_outcome(build: Any) -> None:
    try:
        result = build()
    except (InvalidInputError, MissingResourceError) as error:
        assert error.message.strip()
        return
    assert isinstance(result, EpisodeScript)


@FUZZ
@given(data=st.data())
def test_mutated_episode_scripts(data: st.DataObject) -> None:
    document: Any = data.draw(st.sampled_from(example_scripts()))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(paths_of(document)))
        action = data.draw(st.sampled_from(["replace", "delete"]))
        document = mutate(document, path, action, data.draw(json_values))
    script_outcome(lambda: parse_script(document, source="fuzz.yaml", base_dir=EXAMPLES))


@FUZZ
@given(text=st.one_of(st.text(max_size=200), json_values.map(yaml.safe_dump)))
def test_random_yaml_episode_scripts(tmp_path: Path, text: str) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(text, encoding="utf-8")
    script_outcome(lambda: load_script(path))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_episode_script_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "script.yaml"
    path.write_bytes(raw)
    script_outcome(lambda: load_script(path))


def test_cli_episode_run_with_a_bad_script(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("environment: {conversation: {turns: []}}\nrunz: 3\n")
    result = runner.invoke(app, ["episode", "run", str(path), "--data-dir", str(tmp_path / "d")], env=CLI_ENV)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "runz" in result.output


episode_items = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"text": st.one_of(st.text(max_size=20), json_values)},
        optional={
            "speaker": json_values,
            "timestamp": st.one_of(
                st.floats(), st.integers(-(2**70), 2**70), st.text(max_size=12), json_values
            ),
            "metadata": json_values,
            "id": st.one_of(st.text(max_size=8).map(lambda t: "ep_" + t), json_values),
        },
    ),
)


@FUZZ
@given(items=st.lists(episode_items, min_size=1, max_size=4))
def test_remember_many_with_random_items(memory: Memory, items: list[Any]) -> None:
    before = snapshot(memory)
    try:
        ids = memory.remember_many(items, namespace="remember-fuzz")
    except InvalidInputError as error:
        assert error.message.strip()
        assert snapshot(memory) == before, "a refused batch wrote something"
        return
    assert len(ids) == len(items)
    memory.forget(namespace="remember-fuzz", all=True)
