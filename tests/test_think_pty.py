"""``/think`` in ``cogarch chat`` and ``cogarch think`` in a real pseudo-terminal on the bundled model: one live
progress line redrawn in place, no markup in the output, and Ctrl-C stopping the search with its best so far."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.integration

EXE = shutil.which("cogarch", path=str(Path(sys.executable).parent)) or "cogarch"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("think") / "data"  # shared: the converted model is cached once


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGARCH_")}
    return {**env, "COLUMNS": "200", "TERM": "xterm", "COGARCH_LLM__MAX_TOKENS": "16", **extra}


def _type(child: pexpect.spawn, line: str) -> None:
    """Type a line and Enter once the prompt is ready (an xterm: prompt_toolkit first asks the terminal for the
    cursor position, and keys typed before it gives up on the answer are lost)."""
    time.sleep(1)
    child.send(line + "\r")


def test_chat_think_shows_one_progress_line_and_no_markup(data_dir: Path) -> None:
    child = pexpect.spawn(
        EXE,
        ["chat", "--data-dir", str(data_dir), "--user", "ada", "--no-proactive"],
        env=_env(COGARCH_SEARCH__MAX_TOKENS="300"),
        encoding="utf-8",
        timeout=300,
        dimensions=(50, 200),
    )
    child.expect("you>")
    _type(child, "Mia's violin teacher is called Sam.")
    child.expect("agent>")
    child.expect("you>")
    _type(child, "/think Who is Mia's violin teacher?")
    child.expect("thinking")  # the progress line, before the reply
    child.expect("agent>")
    progress = str(child.before)
    child.expect(r"search: \d+ nodes, depth \d+, \d+ tokens")
    child.expect("you>")
    after = str(child.before)
    _type(child, "/quit")
    child.expect(pexpect.EOF)
    shown = progress + after
    assert "[dim]" not in shown and "[/]" not in shown  # no markup leaks
    assert re.search(r"thinking · \d+ nodes · depth \d+ · \d+ tokens · best [0-9.]+", progress)
    # one line, redrawn in place: several updates, and no new line between the first and the last
    lines = progress[progress.index("thinking") : progress.rindex("thinking")]
    assert progress.count("thinking ·") > 1 and "\n" not in lines


def test_think_ctrl_c_returns_the_best_so_far(data_dir: Path) -> None:
    child = pexpect.spawn(
        EXE,
        ["think", "Where does the sister of Mia's teacher live?", "--max-tokens", "100000", "--max-nodes",
         "500", "--max-seconds", "600", "--associations", "none", "--no-tree", "--data-dir", str(data_dir)],
        env=_env(),
        encoding="utf-8",
        timeout=300,
        dimensions=(50, 200),
    )  # fmt: skip
    child.expect(r"thinking · [2-9]\d* nodes")  # the search is under way
    child.sendintr()  # Ctrl-C
    child.expect("answer:")
    child.expect("stopped by interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
