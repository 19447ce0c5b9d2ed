"""The graph that ``langgraph.json`` exports, run the way the LangGraph server runs it: loaded from the file
path the JSON names, called as a factory with the run's config, given the server's checkpointer, invoked with a
JSON context and a thread id."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

ROOT = Path(__file__).resolve().parents[1]


def exported_graph(config: dict[str, object]) -> object:
    spec = json.loads((ROOT / "langgraph.json").read_text())
    path, attr = spec["graphs"]["cogarch"].split(":")
    module_spec = importlib.util.spec_from_file_location("studio_entry", ROOT / path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    factory = getattr(module, attr)
    graph = factory(config) if inspect.signature(factory).parameters else factory()
    graph.checkpointer = InMemorySaver()  # the server's own
    return graph


def test_the_exported_graph_runs_turns_with_context_from_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGARCH_EMBEDDING__MODEL", "hash")
    monkeypatch.setenv("COGARCH_EMBEDDING__DIM", "64")
    monkeypatch.setenv("COGARCH_SUBSTRATE__ENABLED", "false")
    config = {"configurable": {"thread_id": "studio-1"}}
    graph = exported_graph(config)
    context = {"data_dir": str(tmp_path / "studio-data"), "model": "scripted/echo"}
    first = graph.invoke({"mode": "chat", "user": "ada", "text": "My cat is Tom."}, config, context=context)  # type: ignore[attr-defined]
    assert first["reply"] == "You said: My cat is Tom." and len(first["stored"]) == 2
    second = graph.invoke({"mode": "chat", "user": "ada", "text": "What is my cat?"}, config, context=context)  # type: ignore[attr-defined]
    assert [m["content"] for m in second["history"]][:2] == ["My cat is Tom.", "You said: My cat is Tom."]
    assert any("Tom" in item["text"] for item in second["recalled"])
    # the model can come from the config's configurable too, as Studio's assistant settings give it
    other = {
        "configurable": {
            "thread_id": "studio-2",
            "data_dir": str(tmp_path / "other"),
            "model": "scripted/echo",
        }
    }
    third = graph.invoke({"mode": "chat", "user": "bo", "text": "hi"}, other)  # type: ignore[attr-defined]
    assert third["reply"] == "You said: hi"
