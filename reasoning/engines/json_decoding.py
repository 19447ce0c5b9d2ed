"""Constrained JSON decoding for flat object schemas: the model fills in values, the decoder writes the rest.

For a JSON schema whose properties are all scalars (``string``, ``integer``, ``number``, ``boolean``, a string
``enum``; optionally ``anyOf`` with ``null``), the decoder writes ``{"key": `` for each property in order and lets
the model choose only the value, under a constraint on its tokens:

- enum / boolean: the model picks among the allowed values, token by token along a trie of their token ids;
- integer / number: only tokens made of digits (a leading ``-``, one ``.`` for numbers) or the end of the value;
- string: free tokens after the opening quote until the model writes a closing quote (or a newline, or
  ``MAX_STRING_TOKENS`` tokens), the end-of-turn token being forbidden.

The result is assembled with ``json.dumps`` from the chosen values, so it always parses and matches the types
(required properties are always present). Greedy decoding (argmax among the allowed tokens). What the values
say is still up to the model: this guarantees the shape, not the content.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

MAX_STRING_TOKENS = 32
MAX_NUMBER_TOKENS = 8


def _scalar(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The non-null branch of a property schema when it is a scalar we can constrain, else None."""
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if isinstance(b, Mapping) and b.get("type") != "null"]
        return _scalar(branches[0]) if len(branches) == 1 else None
    if "enum" in node:
        values = node["enum"]
        return node if values and all(isinstance(v, str) for v in values) else None
    return node if node.get("type") in ("string", "integer", "number", "boolean") else None


def flat_properties(schema: Any) -> list[tuple[str, Mapping[str, Any]]] | None:
    """``[(name, scalar schema), ...]`` when ``schema`` is a flat object schema this decoder handles, else None."""
    if not isinstance(schema, Mapping) or schema.get("type") not in ("object", None):
        return None
    props = schema.get("properties")
    if not isinstance(props, Mapping) or not props:
        return None
    out = []
    for name, node in props.items():
        scalar = _scalar(node) if isinstance(node, Mapping) else None
        if scalar is None:
            return None
        out.append((str(name), scalar))
    return out


class JsonDecoder:
    """Fills a flat object schema with a model (see the module docstring).

    Args:
        encode: text -> token ids (no special tokens added).
        decode: token ids -> text.
        vocab_size: the model's vocabulary size.
        forbidden: token ids never allowed (end of turn, end of text).
    """

    def __init__(
        self,
        encode: Callable[[str], list[int]],
        decode: Callable[[Sequence[int]], str],
        vocab_size: int,
        forbidden: frozenset[int],
    ) -> None:
        self.encode, self.decode = encode, decode
        self.forbidden = forbidden
        digits: list[int] = []
        minus: list[int] = []
        dots: list[int] = []
        for token in range(vocab_size):
            text = decode([token])
            if text and text.isdigit() and text.isascii():
                digits.append(token)
            elif text in ("-", " -"):
                minus.append(token)
            elif text == ".":
                dots.append(token)
        self.digits, self.minus, self.dots = digits, minus, dots

    def fill(
        self, schema: Any, next_logits: Callable[[list[int]], Any], prompt: list[int]
    ) -> tuple[str, int]:
        """The JSON text for ``schema`` and the tokens the model chose. ``next_logits(ids)`` gives the
        next-token logits (vocab,) after the whole sequence ``ids`` (the caller caches its prefix)."""
        props = flat_properties(schema)
        assert props is not None, "not a flat object schema"
        ids = list(prompt)
        values: dict[str, Any] = {}
        generated = 0
        for i, (name, node) in enumerate(props):
            ids += self.encode(("{" if i == 0 else ", ") + json.dumps(name) + ": ")
            value, used = self._value(node, ids, next_logits)
            values[name] = value
            generated += used
        return json.dumps(values, ensure_ascii=False), generated

    # -- values --------------------------------------------------------------------------------------------------
    def _value(
        self, node: Mapping[str, Any], ids: list[int], next_logits: Callable[[list[int]], Any]
    ) -> tuple[Any, int]:
        if "enum" in node:
            return self._choice([str(v) for v in node["enum"]], ids, next_logits, quoted=True)
        kind = node.get("type")
        if kind == "boolean":
            choice, used = self._choice(["true", "false"], ids, next_logits, quoted=False)
            return choice == "true", used
        if kind in ("integer", "number"):
            return self._number(kind == "number", ids, next_logits)
        return self._string(ids, next_logits)

    def _choice(
        self, options: list[str], ids: list[int], next_logits: Callable[[list[int]], Any], *, quoted: bool
    ) -> tuple[str, int]:
        """One of ``options``, token by token along their token sequences."""
        encoded = [self.encode(json.dumps(o) if quoted else o) for o in options]
        alive = list(range(len(options)))
        step = 0
        while len(alive) > 1 or (alive and step < len(encoded[alive[0]])):
            if len(alive) == 1:  # the rest is determined
                ids += encoded[alive[0]][step:]
                break
            allowed = sorted({encoded[j][step] for j in alive if step < len(encoded[j])})
            finished = [j for j in alive if step >= len(encoded[j])]
            logits = next_logits(ids)
            best = max(allowed, key=lambda t: float(logits[t])) if allowed else None
            if best is None:
                alive = finished[:1]
                break
            ids.append(best)
            alive = [j for j in alive if step < len(encoded[j]) and encoded[j][step] == best]
            step += 1
        return options[alive[0]], step

    def _number(
        self, decimal: bool, ids: list[int], next_logits: Callable[[list[int]], Any]
    ) -> tuple[Any, int]:
        text = ""
        used = 0
        stops = self.encode(",") + self.encode("}")
        for _ in range(MAX_NUMBER_TOKENS):
            logits = next_logits(ids)
            allowed = list(self.digits)
            if not text:
                allowed += self.minus
            elif text[-1].isdigit():
                allowed += stops
                if decimal and "." not in text:
                    allowed += self.dots
            token = max(allowed, key=lambda t: float(logits[t]))
            if token in stops:
                break
            ids.append(token)
            used += 1
            text += self.decode([token]).strip()
        text = text.rstrip(".-") or "0"
        return (float(text) if decimal else int(text.replace(".", ""))), used

    def _string(self, ids: list[int], next_logits: Callable[[list[int]], Any]) -> tuple[str, int]:
        ids += self.encode('"')
        start = len(ids)
        for _ in range(MAX_STRING_TOKENS):
            logits = next_logits(ids)
            for token in self.forbidden:
                logits[token] = float("-inf")
            ids.append(int(logits.argmax()))
            text = self.decode(ids[start:])
            if '"' in text or "\n" in text:
                cut = min(i for i in (text.find('"'), text.find("\n")) if i >= 0)
                used = len(ids) - start
                del ids[start:]
                ids += self.encode(text[:cut] + '"')  # the context continues after a clean closing quote
                return text[:cut], used
        return self.decode(ids[start:]), len(ids) - start


__all__ = ["MAX_STRING_TOKENS", "JsonDecoder", "flat_properties"]
