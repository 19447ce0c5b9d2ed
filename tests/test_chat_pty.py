"""``cogarch chat`` in a real pseudo-terminal on the bundled model: streamed replies, slash commands, a
proactive message after idle time, and a second run that recalls the first conversation."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.integration

EXE = shutil.which("cogarch", path=str(Path(sys.executable).parent)) or "cogarch"
MESSAGES = [
    "Alice is training for the Berlin marathon.",
    "Bob keeps talking about his sourdough bread.",
    "Alice ran twenty miles for the Berlin marathon today.",
    "Bob baked sourdough bread for his neighbours.",
    "Alice bought new shoes for the Berlin marathon.",
    "Bob wants to sell his sourdough bread at the market.",
    "Alice is nervous about the Berlin marathon.",
]


def _spawn(data_dir: Path) -> pexpect.spawn:
    env = {**os.environ, "COGARCH_LLM__MAX_TOKENS": "20", "COLUMNS": "200", "TERM": "dumb"}
    child = pexpect.spawn(
        EXE,
        ["chat", "--data-dir", str(data_dir), "--user", "ada"],
        env=env,
        encoding="utf-8",
        timeout=240,
        dimensions=(50, 200),
    )
    child.expect("you> ")
    return child


def _say(child: pexpect.spawn, text: str) -> str:
    child.sendline(text)
    child.expect("agent> ")
    child.expect("you> ")
    return str(child.before)


def test_chat_session_end_to_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    child = _spawn(data_dir)
    reply = _say(child, MESSAGES[0])
    assert len(reply.strip()) > 0  # the bundled model answered (streamed token by token)

    # prompt_toolkit redraws the prompt before a command's output: wait for the output itself
    child.sendline("/memory marathon")
    child.expect("Berlin marathon")
    child.sendline("/why")
    child.expect("recall confidence")
    child.expect("learn [0-9]+ ms")

    proactive = False
    for message in MESSAGES[1:]:
        _say(child, message)
        child.sendline("/idle 8h")
        index = child.expect(["agent \\(unprompted\\):", "nothing came to mind"])
        if index == 0:
            proactive = True
            break
    assert proactive, "no proactive message after 8 idle hours"
    child.sendline("/quit")
    child.expect("everything is saved")
    child.expect(pexpect.EOF)

    second = _spawn(data_dir)
    _say(second, "What is Alice training for?")
    second.sendline("/why")
    second.expect("Berlin marathon")
    second.expect("learn [0-9]+ ms")
    time.sleep(2)  # as a person would: Ctrl-D typed before the prompt is back would be eaten by the tty
    second.sendeof()  # Ctrl-D quits cleanly too
    second.expect("everything is saved")
    second.expect(pexpect.EOF)
