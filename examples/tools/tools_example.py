"""An agent with tools, on the bundled model, offline: a calculator (a plain Python function) and the files of a
folder (an MCP server started as a child process, ``mcp_file_server.py`` beside this file).

    python examples/tools/tools_example.py

The bundled SmolLM2-135M picks a tool by scoring the tools' descriptions and fills in the arguments by
constrained JSON decoding (``reasoning/prompted_tools.py``); it is tiny, so its choices and answers are often
wrong (BENCHMARKS.md, "Tool calls"). Set ``COGARCH_LLM__MODEL`` (e.g. ``openai/gpt-4o-mini``) to run the same
script with a model that has native function calling.
"""

from __future__ import annotations

import ast
import operator
import sys
import tempfile
from pathlib import Path

from cogarch import Agent

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as 17 * 23.

    Args:
        expression: numbers with + - * / and parentheses.
    """

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return float(_OPS[type(node.op)](value(node.left), value(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise ValueError(f"not arithmetic: {ast.unparse(node)}")

    result = value(ast.parse(expression, mode="eval").body)
    return f"{result:g}"


QUESTIONS = [
    "What is 17 times 23?",
    "Read the file notes.txt and tell me what it says.",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shared = Path(tmp) / "shared"
        shared.mkdir()
        (shared / "notes.txt").write_text("The spare key is under the blue flower pot.\n")
        files = {
            "name": "files",
            "command": sys.executable,
            "args": [str(Path(__file__).with_name("mcp_file_server.py")), str(shared)],
        }
        with Agent.open(
            Path(tmp) / "agent", tools=[calculator], mcp=[files], substrate={"enabled": False}
        ) as agent:
            print("tools:", ", ".join(agent.context.tools.names))
            for question in QUESTIONS:
                print(f"\nyou> {question}")
                for event in agent.stream(question, user="ada"):
                    if event.kind == "tool":
                        data = event.data
                        print(f"  tool {data['name']}({data['arguments']}) -> {data['content'][:80]!r}")
                    elif event.reply is not None:
                        print(f"agent> {event.reply.text}")


if __name__ == "__main__":
    main()
