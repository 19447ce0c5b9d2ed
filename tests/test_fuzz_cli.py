"""Fuzzed command lines: random argv over the quick commands (typer's CliRunner, scripted model, hash embedder).

Every run ends with exit code 0, 1, 2 or 3 and a readable message, never a Python traceback. Commands that
block or run for long (``chat``, ``serve``, ``bench``, ``textworld``, ``think``, ``substrate``, ``graph``) are
left out: their option parsing is the same typer machinery, their bodies are tested in their own files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import typer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
QUICK = [
    ("config", "show"),
    ("config", "init"),
    ("models", "check"),
    ("memory", "search"),
    ("memory", "show"),
    ("memory", "forget"),
    ("memory", "export"),
    ("memory", "import"),
    ("memory", "ingest"),
    ("memory", "stats"),
    ("doctor",),
    ("episode", "run"),
]


def _options() -> dict[tuple[str, ...], list[str]]:
    root: Any = typer.main.get_command(app)
    found: dict[tuple[str, ...], list[str]] = {}
    for path in QUICK:
        command, ctx = root, type(click.Context(root))(root)
        for name in path:
            sub = command.get_command(ctx, name)
            assert sub is not None, path
            command, ctx = sub, type(ctx)(sub, parent=ctx)
        found[path] = [opt for p in command.params for opt in getattr(p, "opts", []) if opt.startswith("-")]
    return found


OPTIONS = _options()
word = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
number = st.one_of(st.integers(-(2**40), 2**40).map(str), st.sampled_from(["0", "-1", "nan", "1e999", "3.5"]))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("cli-files")
    junk = root / "junk.json"
    junk.write_bytes(b"\x80\x81{not json")
    script = root / "script.yaml"
    script.write_text("environment: {conversation: {turns: [{user: hi}]}}\nrunz: 2\n")
    notes = root / "notes.txt"
    notes.write_text("Ada lives in Paris.\nBob likes tea.\n")
    lines = root / "lines.jsonl"
    lines.write_text('{"text": "Ada lives in Paris."}\n[1, 2]\n{"text": 5, "timestamp": "x"}\n"str"\n')
    good = root / "good.jsonl"
    good.write_text('{"text": "Ada lives in Paris.", "speaker": "bob", "timestamp": 1700000000}\n')
    export = root / "export.json"
    export.write_text('{"format": "cogarch-memory", "version": 1, "namespace": "x", "episodes": [{}]}')
    return [str(p) for p in (junk, script, notes, lines, good, export, root, root / "missing.json")] + [
        "/dev/null"
    ]


def argv_for(path: tuple[str, ...], files: list[str]) -> st.SearchStrategy[list[str]]:
    token = st.one_of(
        st.sampled_from(OPTIONS[path] + ["--help", "--bogus", "-x"]),
        word,
        number,
        st.sampled_from(files),
    )
    option_with_value = st.tuples(
        st.sampled_from(OPTIONS[path]), st.one_of(st.sampled_from(files), word, number)
    )
    pieces = st.lists(st.one_of(token.map(lambda t: [t]), option_with_value.map(list)), max_size=4)
    return pieces.map(lambda rest: [*path, *(t for piece in rest for t in piece)])


@st.composite
def command_lines(draw: st.DrawFn, files: list[str]) -> list[str]:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.lists(word, max_size=4))  # anything at the top level
    return draw(argv_for(draw(st.sampled_from(QUICK)), files))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_command_lines_never_show_a_traceback(
    tmp_path: Path, files: list[str], data: st.DataObject
) -> None:
    argv = data.draw(command_lines(files))
    env = {
        "COGARCH_DATA_DIR": str(tmp_path / "data"),
        "COGARCH_LLM__MODEL": "scripted/echo",
        "COGARCH_EMBEDDING__MODEL": "hash",
        "COGARCH_EMBEDDING__DIM": "32",
        "COGARCH_SUBSTRATE__ENABLED": "false",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)  # relative output paths (memory export 3.5) land in the test's directory
        result = runner.invoke(app, argv, env=env)
    output = result.output
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 1, 2, 3), (argv, result.exit_code, output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv,
        repr(result.exception),
    )
    assert "Traceback" not in output, (argv, output)
    if result.exit_code != 0:
        # a cogarch error is "error: <one line>" plus an optional hint; a usage error is click's box
        assert "error" in output.lower() or "usage" in output.lower(), (argv, output)
        lines = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(lines) <= 1, (argv, output)


@pytest.mark.parametrize("path", QUICK, ids=lambda p: " ".join(p))
def test_a_data_dir_that_is_a_file_is_a_clear_error(tmp_path: Path, path: tuple[str, ...]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    args = {("memory", "search"): ["q"], ("memory", "show"): ["ep_x"], ("memory", "forget"): ["--all"]}
    args |= {("memory", "export"): ["out.json"], ("memory", "import"): [str(blocker)]}
    args |= {("memory", "ingest"): [str(blocker)], ("episode", "run"): [str(blocker)]}
    env = {
        "COGARCH_LLM__MODEL": "scripted/echo",
        "COGARCH_EMBEDDING__MODEL": "hash",
        "COGARCH_EMBEDDING__DIM": "32",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        result = runner.invoke(app, [*path, *args.get(path, []), "--data-dir", str(blocker)], env=env)
    assert result.exit_code in (0, 1, 2, 3), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert blocker.read_text() == "not a directory"
