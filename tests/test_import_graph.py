"""No two modules of archclass import each other, directly or through others.

Every import statement counts, including those inside functions and under TYPE_CHECKING: a cycle
hidden in a function is still a cycle (it only fails later, at call time, in whichever order the
modules happen to load).
"""

from __future__ import annotations

import ast
from pathlib import Path

import archclass

PACKAGE_DIR = Path(archclass.__file__).resolve().parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The archclass modules that MODULE's import statements name (explicitly, not parent packages)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] == "archclass":
                found.add(target)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of GRAPH as a path that ends where it starts, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stacks = [iter(sorted(graph[start]))]
        state[start] = 1
        while stacks:
            following = next(stacks[-1], None)
            if following is None:
                state[path.pop()] = 2
                stacks.pop()
            elif state.get(following) == 1:
                return path[path.index(following) :] + [following]
            elif not state.get(following):
                state[following] = 1
                path.append(following)
                stacks.append(iter(sorted(graph.get(following, ()))))
    return None


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    known = set(names)
    return {module: imported_modules(module, path, known) - {module} for module, path in names.items()}


def test_the_cycle_finder_finds_a_cycle_through_several_modules():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_function_level_imports_are_edges():
    graph = import_graph()
    # classifier reads its rules file through a function-level import of paths.
    assert "archclass.paths" in graph["archclass.classifier"]


def test_no_import_cycle_among_archclass_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_classifier_does_not_know_about_registries():
    assert "archclass.registry" not in import_graph()["archclass.classifier"]
