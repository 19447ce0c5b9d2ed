"""The curated public API and the one-way layering of the packages."""

from __future__ import annotations

import ast
from pathlib import Path

import cogarch

ROOT = Path(__file__).resolve().parents[1]


def test_public_api_is_pinned() -> None:
    assert sorted(cogarch.__all__) == [
        "ActResult",
        "Agent",
        "CoATSearch",
        "ManualClock",
        "Memory",
        "ProactiveAction",
        "RealClock",
        "RecalledItem",
        "Reply",
        "ScaledClock",
        "ScriptedLLM",
        "Settings",
        "Substrate",
        "TurnOptions",
    ]
    for name in cogarch.__all__:
        assert getattr(cogarch, name) is not None


def test_memory_is_importable_from_cogarch() -> None:
    from cogarch import Memory
    from memory import Memory as Direct

    assert Memory is Direct


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_imports_point_one_way() -> None:
    allowed = {
        "snn_substrate": set(),
        "reasoning": set(),
        "memory": {"reasoning"},
        "cogarch": {"memory", "reasoning", "snn_substrate"},
        "cli": {"cogarch", "memory", "reasoning", "snn_substrate"},
    }
    ours = set(allowed)
    for package, may in allowed.items():
        used = (_imports(package) & ours) - {package}
        assert used <= may, f"{package} imports {sorted(used - may)}"
