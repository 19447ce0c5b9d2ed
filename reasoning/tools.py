"""Tools: plain Python callables the model calls through function calling, and how a call is run.

:func:`tool` turns a callable (sync or ``async def``) into a :class:`Tool`: its name is the function's name,
its description the docstring's first paragraph, and its JSON schema comes from the type hints (pydantic
builds it, so a parameter typed as a pydantic model becomes a nested object and arrives as that model), with
each parameter described by its line in the docstring's ``Args:`` section. Parameters without a default are
required. ``*args`` / ``**kwargs`` are not allowed (the model could not know what to pass).

:func:`run_call` runs one :class:`~reasoning.llm.ToolCall` and never raises for what the tool or the model did:
arguments that are not JSON or do not validate, a tool that raises, and a tool that does not finish within the
timeout all become a :class:`ToolResult` with ``error=True`` and a message the model can read and act on. Each
call runs on a daemon thread (an ``async`` tool in its own event loop there, cancelled at the timeout); a sync
tool that hangs cannot be stopped by Python, so its thread is abandoned and the turn goes on.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from reasoning.errors import ConfigError
from reasoning.llm import ToolCall, ToolSpec

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class ToolResult:
    """What a call gave back to the model: ``content`` (the result as text, or the error message)."""

    call: ToolCall
    content: str
    error: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class Tool:
    """A callable the model may call.

    Attributes:
        spec: name, description and JSON schema as the model sees them.
        fn: the callable (sync or async), called with keyword arguments.
        arguments: validates the model's arguments (None: passed as decoded, unchecked).
    """

    spec: ToolSpec
    fn: Callable[..., Any]
    arguments: type[BaseModel] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.spec.name


def _doc_parts(doc: str) -> tuple[str, dict[str, str]]:
    """The docstring's first paragraph and the descriptions of its ``Args:`` section."""
    text = inspect.cleandoc(doc or "")
    description = text.split("\n\n", 1)[0].strip() if text else ""
    if re.match(r"^(Args|Arguments|Parameters|Returns|Raises):", description):
        description = ""
    args: dict[str, str] = {}
    in_args = False
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"^(Args|Arguments|Parameters):\s*$", stripped):
            in_args = True
            continue
        if in_args and re.match(r"^[A-Z][A-Za-z ]*:\s*$", stripped):
            break  # the next section
        if not in_args or not stripped:
            continue
        match = _ARG_LINE.match(line)
        indent = len(line) - len(line.lstrip())
        if match and (not current or indent <= 4):
            current = match.group(1).lstrip("*")
            args[current] = match.group(2).strip()
        elif current:
            args[current] = f"{args[current]} {stripped}".strip()
    return " ".join(description.split()), args


def tool(fn: Callable[..., Any] | Tool, *, name: str | None = None, description: str | None = None) -> Tool:
    """A :class:`Tool` for ``fn`` (see the module docstring for how the schema is made).

    Raises:
        ConfigError: the name is not a valid function name, or ``fn`` takes ``*args`` / ``**kwargs`` or a
            parameter whose type pydantic cannot describe.
    """
    if isinstance(fn, Tool):
        return fn
    tool_name = str(name or getattr(fn, "__name__", ""))
    if not _NAME.match(tool_name):
        raise ConfigError(
            f"{tool_name!r} is not a valid tool name",
            hint="use letters, digits, '_' or '-' (at most 64), via name=",
        )
    summary, arg_docs = _doc_parts(inspect.getdoc(fn) or "")
    signature = inspect.signature(fn)
    try:
        hints = get_type_hints(fn)
    except (NameError, TypeError):
        hints = {}
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigError(
                f"tool {tool_name!r} takes *{param.name}: a model cannot fill it",
                hint="give the tool named parameters with type hints",
            )
        if param.name in ("self", "cls"):
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name) or None))
    try:
        model = create_model(f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()
    except Exception as exc:
        raise ConfigError(
            f"cannot describe the parameters of tool {tool_name!r}: {exc}",
            hint="use JSON-friendly type hints (str, int, float, bool, lists, dicts, pydantic models)",
        ) from exc
    schema.pop("title", None)
    spec = ToolSpec(name=tool_name, description=description or summary, parameters=schema)
    return Tool(spec=spec, fn=fn, arguments=model)


def tools_of(items: Iterable[Callable[..., Any] | Tool]) -> list[Tool]:
    """:func:`tool` of each item (Tools pass through).

    Raises:
        ConfigError: two tools with one name, or an item that is not callable.
    """
    out: list[Tool] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Tool) and not callable(item):
            raise ConfigError(f"{item!r} is not a callable tool", hint="pass functions (or cogarch Tools)")
        made = tool(item)
        if made.name in seen:
            raise ConfigError(f"two tools are named {made.name!r}", hint="rename one with tool(fn, name=...)")
        seen.add(made.name)
        out.append(made)
    return out


def render_result(value: Any, limit: int) -> str:
    """A tool's return value as text for the model (JSON for data), cut to ``limit`` characters."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, BaseModel):
        text = value.model_dump_json()
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= limit else text[:limit] + f"... [cut at {limit} characters]"


def _invoke(found: Tool, kwargs: dict[str, Any], timeout_s: float) -> Any:
    """Call the tool (an async one in a fresh event loop, cancelled at the timeout)."""
    if inspect.iscoroutinefunction(found.fn):

        async def bounded() -> Any:
            return await asyncio.wait_for(found.fn(**kwargs), timeout_s)

        return asyncio.run(bounded())
    result = found.fn(**kwargs)
    if inspect.isawaitable(result):

        async def awaited() -> Any:
            return await asyncio.wait_for(result, timeout_s)

        return asyncio.run(awaited())
    return result


def run_call(
    tools: Mapping[str, Tool] | Sequence[Tool],
    call: ToolCall,
    *,
    timeout_s: float = 30.0,
    max_chars: int = 4000,
) -> ToolResult:
    """Run ``call`` with the tool of its name; every failure becomes an error result (module docstring)."""
    table = tools if isinstance(tools, Mapping) else {t.name: t for t in tools}
    found = table.get(call.name)
    if found is None:
        known = ", ".join(sorted(table)) or "none"
        return ToolResult(call, f"error: there is no tool named {call.name!r} (tools: {known})", error=True)
    try:
        raw = json.loads(call.arguments or "{}")
    except ValueError as exc:
        return ToolResult(call, f"error: the arguments are not valid JSON ({exc}); send a JSON object", True)
    if not isinstance(raw, dict):
        return ToolResult(call, "error: the arguments must be a JSON object", error=True)
    kwargs: dict[str, Any] = raw
    if found.arguments is not None:
        try:
            parsed = found.arguments.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()[:6]
            )
            return ToolResult(call, f"error: invalid arguments for {call.name}: {problems}", error=True)
        kwargs = {key: getattr(parsed, key) for key in type(parsed).model_fields}
    box: dict[str, Any] = {}
    started = time.perf_counter()

    def target() -> None:
        try:
            box["value"] = _invoke(found, kwargs, timeout_s)
        except BaseException as exc:  # reported to the model, never raised into the turn
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"cogarch-tool-{call.name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    seconds = time.perf_counter() - started
    if worker.is_alive() or isinstance(box.get("error"), TimeoutError | asyncio.TimeoutError):
        return ToolResult(
            call, f"error: the tool {call.name} did not finish within {timeout_s:g} s", True, seconds
        )
    if "error" in box:
        failure = box["error"]
        return ToolResult(
            call, f"error: {call.name} raised {type(failure).__name__}: {failure}", True, seconds
        )
    return ToolResult(call, render_result(box.get("value"), max_chars), False, seconds)


__all__ = ["Tool", "ToolResult", "render_result", "run_call", "tool", "tools_of"]
