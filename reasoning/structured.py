"""Structured output: ask for JSON matching a schema, extract it from whatever the model said, validate it,
and re-ask with the validation error until it fits or the retries run out.

Models (small ones especially) wrap JSON in code fences, put prose before or after it, or emit junk. The
pipeline here never crashes on that: :func:`extract_json` finds the first decodable JSON value in the text,
:func:`validate_output` checks it against a pydantic model or a JSON schema, and :func:`generate_structured`
repairs by feeding the error back to the model. The end is always a validated value or a
:class:`~reasoning.errors.StructuredOutputError` carrying the last raw text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from reasoning.errors import InvalidInputError, StructuredOutputError
from reasoning.llm import LLM, Completion, GenerationOptions, Message, Schema, Usage

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def json_schema_of(schema: Schema) -> dict[str, Any]:
    """The JSON schema of a pydantic model class, or the dict itself.

    Raises:
        InvalidInputError: ``schema`` is neither.
    """
    if isinstance(schema, dict):
        return schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    raise InvalidInputError(f"schema must be a pydantic model class or a JSON-schema dict, not {schema!r}")


def schema_name(schema: Schema) -> str:
    """A short identifier for the schema (the model's class name, or the dict's ``title``)."""
    if isinstance(schema, dict):
        title = schema.get("title")
        name = title if isinstance(title, str) and title else "output"
    else:
        name = schema.__name__
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "output"


def schema_skeleton(schema: Schema) -> str:
    """A compact example of the expected JSON: ``{"action": "<string>", "n": <integer>}``.

    Small models copy a JSON schema instead of following it; a filled-in shape is easier to imitate.
    """
    root = json_schema_of(schema)
    defs: dict[str, Any] = {**root.get("$defs", {}), **root.get("definitions", {})}

    def shape(node: Any, depth: int) -> str:
        if not isinstance(node, dict) or depth > 6:
            return "<value>"
        ref = node.get("$ref")
        if isinstance(ref, str):
            return shape(defs.get(ref.rsplit("/", 1)[-1], {}), depth + 1)
        for key in ("anyOf", "oneOf", "allOf"):
            options = node.get(key)
            if isinstance(options, list) and options:
                non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                return shape(non_null[0] if non_null else options[0], depth + 1)
        if "enum" in node and isinstance(node["enum"], list):
            return " | ".join(json.dumps(v) for v in node["enum"][:8])
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            props = node.get("properties") or {}
            inner = ", ".join(f"{json.dumps(k)}: {shape(v, depth + 1)}" for k, v in props.items())
            return "{" + inner + "}"
        if kind == "array":
            return "[" + shape(node.get("items", {}), depth + 1) + ", ...]"
        if isinstance(kind, str):
            return f'"<{kind}>"' if kind == "string" else f"<{kind}>"
        return "<value>"

    return shape(root, 0)


def schema_instruction(schema: Schema, *, include_schema: bool = True) -> str:
    """A prompt telling the model to reply with only JSON of ``schema``'s shape (and, by default, the schema)."""
    text = (
        "Reply with only one JSON object, no prose and no code fences, of this form:\n"
        f"{schema_skeleton(schema)}"
    )
    if include_schema:
        compact = json.dumps(json_schema_of(schema), separators=(",", ":"))
        text += f"\nIt must match this JSON schema: {compact}"
    return text


def with_schema_instruction(
    messages: Sequence[Message], schema: Schema, *, include_schema: bool = True
) -> list[Message]:
    """``messages`` with the schema instruction added to the system message (one is created if absent).

    Engines without native JSON-schema decoding rely on it; for the others it is a harmless reminder.
    """
    instruction = schema_instruction(schema, include_schema=include_schema)
    out = list(messages)
    if out and out[0]["role"] == "system":
        out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{instruction}"}
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def extract_json(text: str) -> Any:
    """The first JSON value in ``text``: the whole text, else a fenced block, else the first decodable
    object or array found after leading prose.

    Raises:
        ValueError: no JSON value in the text (message says why).
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the reply was empty")
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    for block in _FENCE.findall(stripped):
        try:
            return json.loads(block.strip())
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", stripped):
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except ValueError:
            continue
        return value
    raise ValueError("the reply contains no valid JSON object")


@overload
def validate_output(text: str, schema: type[T]) -> T: ...


@overload
def validate_output(text: str, schema: dict[str, Any]) -> Any: ...


def validate_output(text: str, schema: Schema) -> Any:
    """Extract JSON from ``text`` and validate it against ``schema``.

    Returns:
        the pydantic object (model class) or the decoded JSON value (dict schema).

    Raises:
        ValueError: with a short, model-readable description of what is wrong.
    """
    value = extract_json(text)
    if isinstance(schema, dict):
        import jsonschema

        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
            raise ValueError(f"at {where}: {exc.message}") from None
        except jsonschema.SchemaError as exc:
            raise InvalidInputError(f"invalid JSON schema: {exc.message}") from None
        return value
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'top level'}: {err['msg']}" for err in exc.errors()[:8]
        )
        raise ValueError(problems) from None


def repair_message(error: str, schema: Schema) -> Message:
    """The user message that re-asks after an invalid reply."""
    return {
        "role": "user",
        "content": f"Your reply was not valid: {error}\n{schema_instruction(schema)}",
    }


def complete_structured(
    llm: LLM,
    messages: Sequence[Message],
    schema: Schema,
    *,
    retries: int = 2,
    options: GenerationOptions | None = None,
) -> Completion:
    """Complete with ``schema`` and repair up to ``retries`` times; the returned completion's ``parsed`` holds
    the validated value and ``usage`` sums every attempt.

    Raises:
        StructuredOutputError: still invalid after the retries (``raw`` is the last reply).
        LLMError: the model call itself failed.
    """
    base = replace(options or GenerationOptions(), schema=schema)
    history = list(messages)
    usage = Usage()
    raw = ""
    error = ""
    for _attempt in range(retries + 1):
        completion = llm.complete(history, base)
        usage = usage + completion.usage
        raw = completion.text
        parsed = completion.parsed
        if parsed is not None and isinstance(schema, type) and isinstance(parsed, schema):
            return replace(completion, usage=usage)
        try:
            value = validate_output(raw, schema)
        except ValueError as exc:
            error = str(exc)
            history = [*history, {"role": "assistant", "content": raw[:4000]}, repair_message(error, schema)]
            continue
        return replace(completion, usage=usage, parsed=value)
    shown = raw if len(raw) <= 200 else raw[:200] + "..."
    raise StructuredOutputError(
        f"{llm.name} did not produce a valid {schema_name(schema)} after {retries + 1} attempts: {error}",
        hint=f"use a stronger model or simplify the schema; last reply: {shown!r}",
        raw=raw,
    )


@overload
def generate_structured(
    llm: LLM,
    messages: Sequence[Message],
    schema: type[T],
    *,
    retries: int = 2,
    options: GenerationOptions | None = None,
) -> T: ...


@overload
def generate_structured(
    llm: LLM,
    messages: Sequence[Message],
    schema: dict[str, Any],
    *,
    retries: int = 2,
    options: GenerationOptions | None = None,
) -> Any: ...


def generate_structured(
    llm: LLM,
    messages: Sequence[Message],
    schema: Schema,
    *,
    retries: int = 2,
    options: GenerationOptions | None = None,
) -> Any:
    """Ask ``llm`` for output matching ``schema`` (a pydantic model class, or a JSON-schema dict) and return
    the validated object, re-asking with the validation error up to ``retries`` times.

    Example::

        class Fact(BaseModel):
            subject: str
            relation: str
            object: str

        fact = generate_structured(llm, [user("Alice moved to Paris. Extract one fact.")], Fact)

    Returns:
        an instance of the pydantic model, or the decoded JSON value for a dict schema.

    Raises:
        StructuredOutputError: the output never matched (``.raw`` holds the last reply).
        LLMError: the model call failed (timeouts etc., after the wrappers' retries).
    """
    return complete_structured(llm, messages, schema, retries=retries, options=options).parsed


__all__ = [
    "complete_structured",
    "extract_json",
    "generate_structured",
    "json_schema_of",
    "repair_message",
    "schema_instruction",
    "schema_name",
    "schema_skeleton",
    "validate_output",
    "with_schema_instruction",
]
