"""The import structure: no module of the grader or the generators imports, directly or through others, a module
that imports it back; nor does any package, seen as one unit, so the layers stack (the extension contract at the
bottom, the pipeline above the stages, the front ends on top)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("grader", "generators")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> set[tuple[str, str]]:
    """(importer, imported) for every import in the code, lazy and type-checking ones included. ``from pkg import
    mod`` is an arrow to ``pkg.mod`` only: the package's own names are not used."""

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    arrows = set()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in subs if t in modules]
                if len(targets) < len(subs):
                    targets.append(node.module)
            else:
                continue
            arrows |= {(name, t) for t in map(known, targets) if t and t != name}
    return arrows


def _cycles(arrows: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in arrows:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def _unit(module: str) -> str:
    """A sub-package of the grader or the generators as one unit (``grader.encoders``), else the module."""
    parts = module.split(".")
    return ".".join(parts[:2])


ARROWS = _imports(_modules())


@pytest.mark.parametrize("level", ["module", "package"])
def test_no_import_cycles(level):
    arrows = ARROWS if level == "module" else {(_unit(a), _unit(b)) for a, b in ARROWS if _unit(a) != _unit(b)}
    cycles = _cycles(arrows)
    described = [
        " <-> ".join(c) + ": " + ", ".join(f"{a}->{b}" for a, b in sorted(arrows) if {a, b} <= set(c)) for c in cycles
    ]
    assert not cycles, "\n".join(described)


def test_the_check_finds_a_cycle():
    assert _cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
    assert _cycles({("a", "b"), ("b", "c")}) == []


def test_the_documented_layout_names_every_module():
    text = (ROOT / "docs" / "development.md").read_text("utf-8")
    layout = text[text.index("## Layout") :]
    missing = []
    for name, path in _modules().items():
        shown = path.parent.name + "/" if path.name == "__init__.py" else path.name
        if path.name == "__main__.py":
            continue
        if shown not in layout:
            missing.append(name)
    assert not missing, f"docs/development.md's Layout does not name: {', '.join(missing)}"


# The public surface: the API, the extension contract and the pipeline.
DOCUMENTED = [
    "grader/api.py",
    "grader/plugins.py",
    "grader/specs.py",
    "grader/problems.py",
    "grader/registry.py",
    "grader/rules/__init__.py",
    "grader/encoders/__init__.py",
    "grader/layouts.py",
    "grader/result.py",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "grader/grading").glob("*.py"))),
]


def test_every_public_function_and_class_of_the_surface_has_a_docstring():
    missing = []

    def visit(body: list, path: str, prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not node.name.startswith(
                "_"
            ):
                if ast.get_docstring(node) is None:
                    missing.append(f"{path}:{prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, path, f"{prefix}{node.name}.")

    for path in DOCUMENTED:
        visit(ast.parse((ROOT / path).read_text("utf-8")).body, path, "")
    assert not missing, "no docstring: " + ", ".join(missing)
