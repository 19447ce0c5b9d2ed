"""SmolLM2's chat format (ChatML) and its tokenizer, on the ``tokenizers`` library alone (no transformers).

ChatML wraps every message as ``<|im_start|>{role}\\n{content}<|im_end|>\\n``; a reply to be generated starts
with ``<|im_start|>assistant\\n``. SmolLM2-Instruct's template also inserts a default system message when the
conversation does not start with one (:data:`DEFAULT_SYSTEM`). :func:`chatml` reproduces the template's
output exactly (a test compares it with transformers' ``apply_chat_template``).

``<|im_start|>`` / ``<|im_end|>`` are added special tokens of the tokenizer, so encoding the formatted text
maps them to their single ids; decoding skips special tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning.llm import Message

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
"""The system message SmolLM2-Instruct's chat template adds when the conversation has none."""

IM_START, IM_END = "<|im_start|>", "<|im_end|>"


def chatml(messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
    """The ChatML text of ``messages`` as SmolLM2-Instruct's chat template renders it."""
    parts: list[str] = []
    if messages and messages[0]["role"] != "system":
        parts.append(f"{IM_START}system\n{DEFAULT_SYSTEM}{IM_END}\n")
    parts.extend(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    if add_generation_prompt:
        parts.append(f"{IM_START}assistant\n")
    return "".join(parts)


class ChatTokenizer:
    """A ``tokenizers.Tokenizer`` (from ``tokenizer.json``) with the few operations the engine needs.

    Args:
        tokenizer: a path to ``tokenizer.json``, or a ``tokenizers.Tokenizer``.
    """

    def __init__(self, tokenizer: Path | Any) -> None:
        if isinstance(tokenizer, Path):
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tok: Any = tokenizer

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special-token strings in it map to their ids; nothing is added)."""
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``, special tokens skipped."""
        return str(self._tok.decode(list(ids), skip_special_tokens=True))

    def token_id(self, token: str) -> int | None:
        """The id of a (special) token, or None when the vocabulary lacks it."""
        found = self._tok.token_to_id(token)
        return int(found) if found is not None else None

    def prompt_ids(self, messages: Sequence[Message], prefill: str = "") -> list[int]:
        """Token ids of the ChatML prompt for ``messages`` plus the start of the assistant reply ``prefill``."""
        return self.encode(chatml(messages) + prefill)


__all__ = ["DEFAULT_SYSTEM", "IM_END", "IM_START", "ChatTokenizer", "chatml"]
