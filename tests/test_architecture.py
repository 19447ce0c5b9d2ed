"""Architecture rules, checked on the source: SQL lives only in ``store/`` folders, and no package has an import
cycle between its modules (counting every import, also those inside functions and under ``TYPE_CHECKING``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cogarch", "memory", "reasoning", "snn_substrate", "cli")
SQL = re.compile(
    r"\b(SELECT\s+[\w*(].*?\bFROM\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b"
    r"|CREATE\s+(TABLE|INDEX|VIRTUAL|UNIQUE)\b|DROP\s+TABLE\b|ALTER\s+TABLE\b|PRAGMA\s+\w+|VACUUM\b)",
    re.DOTALL,  # upper-case keywords: how this code base writes SQL (prose says "select ... from")
)


def _sources(package: str, root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / package).rglob("*.py") if ".venv" not in p.parts)


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def sql_outside_stores(packages: tuple[str, ...] = PACKAGES, root: Path = ROOT) -> list[str]:
    """``path:line: text`` of every string constant that reads as SQL in a module outside a ``store/`` folder
    (docstrings excepted: they may name statements)."""
    found: list[str] = []
    for package in packages:
        for path in _sources(package, root):
            if "store" in path.relative_to(root).parts[:-1]:
                continue
            tree = ast.parse(path.read_text(), str(path))
            skip = _docstrings(tree)
            for node in ast.walk(tree):
                text = node.value if isinstance(node, ast.Constant) and id(node) not in skip else None
                if isinstance(text, str) and SQL.search(text):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {text[:60]!r}")
    return found


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (anywhere in the file). ``from a.b import c`` imports the
    submodule ``a.b.c`` when there is one, else a name of ``a.b`` itself."""
    sources = {_module_name(path): path for path in _sources(package)}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.split(".")[0] == package)
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith(package)
            ):
                module = str(node.module)
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    deps.add(sub if sub in sources else module)
        graph[name] = {d for d in deps if d in sources and d != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (each reported once, from where it was entered)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                found.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_sql_outside_store_folders() -> None:
    assert sql_outside_stores() == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_between_modules(package: str) -> None:
    # a package's __init__ re-exporting its modules is not a cycle of the modules themselves (the layer and
    # sibling rules between packages and subpackages are import-linter's contracts in pyproject.toml)
    graph = import_graph(package)
    graph = {m: {d for d in deps if d != package} for m, deps in graph.items()}
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('x = "SELECT id FROM episodes WHERE id=?"', 1),
        ('x = f"DELETE FROM {table} WHERE id=?"', 1),
        ('x = "PRAGMA secure_delete=ON"', 1),
        ('x = "select the best items from the pool"', 0),
        ('def f():\n    """Runs DELETE FROM t."""', 0),
    ],
)
def test_the_sql_rule_sees_statements(tmp_path: Path, source: str, expected: int) -> None:
    """The rule fails on a statement planted outside a store folder (and only there)."""
    pkg = tmp_path / "pkg"
    (pkg / "store").mkdir(parents=True)
    (pkg / "mod.py").write_text(source + "\n")
    (pkg / "store" / "ok.py").write_text(source + "\n")
    assert len(sql_outside_stores(("pkg",), tmp_path)) == expected


def test_the_cycle_rule_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
