"""The project's own modules import each other without circles (DESIGN.md: "no import circles").

The graph is read from the source with :mod:`ast`, nothing is imported: every ``import x.y``,
``from x.y import z`` and ``from x import y`` (``x.y`` a module) anywhere in a file, at module
level or inside a function, is an edge. A function-level import only postpones a circle to the
first call, so it counts. Imports under ``if TYPE_CHECKING:`` never run and do not count.
Importing ``x.y`` also runs ``x/__init__.py``; that implicit edge is left out, or every package
whose ``__init__`` re-exports its modules would be a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Everything shipped or run as the project's code; benchmarks and tests only consume it.
PROJECT: tuple[str, ...] = ("eeg", "search_spaces", "trainables", "engines", "cluster", "tune_cluster.py")

# module -> {imported module: line numbers in the importing file}
Graph = dict[str, dict[str, list[int]]]


def module_files(root: Path, entries: Iterable[str]) -> dict[str, Path]:
    """Map each dotted module name under ``entries`` (packages or single files) to its file."""
    files: dict[str, Path] = {}
    for entry in entries:
        path = root / entry
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        for file in paths:
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = file
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``nodes``, at any depth, except those under ``if TYPE_CHECKING:``."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse)  # only the else branch runs
        else:
            yield from _imports(ast.iter_child_nodes(node))


def _project_module(name: str, modules: set[str]) -> str | None:
    """``name`` or its longest prefix that is a project module (``import a.b.attr`` imports ``a.b``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_graph(files: dict[str, Path]) -> Graph:
    """Edges between the modules of ``files``; imports of anything outside them are ignored."""
    modules = set(files)
    graph: Graph = {name: {} for name in files}
    for name, file in files.items():
        is_package = file.name == "__init__.py"
        for node in _imports([ast.parse(file.read_text(encoding="utf-8"), filename=str(file))]):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: resolve against the importing module's package
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = package[: len(package) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    # `from x import y` imports the module x.y when there is one, else a name from x.
                    submodule = f"{base}.{alias.name}" if base else alias.name
                    targets.append(submodule if submodule in modules else base)
            for target in targets:
                resolved = _project_module(target, modules)
                if resolved is not None and resolved != name:
                    lines = graph[name].setdefault(resolved, [])
                    if node.lineno not in lines:  # `from x import a, b` is one import
                        lines.append(node.lineno)
    return graph


def _cycle_through(start: str, members: set[str], graph: Graph) -> list[str]:
    """A shortest path ``start -> ... -> start`` inside one strongly connected component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        next_frontier = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target not in members:
                    continue
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in previous:
                    previous[target] = node
                    next_frontier.append(target)
        frontier = next_frontier
    raise AssertionError(f"{start} is in a circle but on no cycle")  # pragma: no cover


def circles(graph: Graph) -> list[set[str]]:
    """The strongly connected components of more than one module: each is one circle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components, key=min)


def describe_circles(components: list[set[str]], graph: Graph, files: dict[str, Path]) -> str:
    """Per circle: its shortest cycle, then every import between its modules as ``file:line  a -> b``.

    Breaking a circle means removing imports from that list until no cycle is left.
    """
    lines = [f"{len(components)} import circle(s) among the project's modules:"]
    for component in components:
        lines.append("  " + " -> ".join(_cycle_through(min(component), component, graph)))
        for source in sorted(component):
            for target in sorted(t for t in graph[source] if t in component):
                where = ",".join(str(n) for n in graph[source][target])
                lines.append(f"      {files[source].relative_to(ROOT)}:{where}  {source} -> {target}")
    return "\n".join(lines)


def test_no_project_module_imports_a_module_that_imports_it_back():
    files = module_files(ROOT, PROJECT)
    assert "eeg.dataset" in files and "tune_cluster" in files  # the scan sees the project
    graph = import_graph(files)
    components = circles(graph)
    assert not components, describe_circles(components, graph, files)


# engines/ in wings, lowest first: a wing imports only its own modules and the wings below it.
WINGS: dict[str, int] = {"experiment": 0, "backends": 1, "final_model": 1, "report": 1, "tune": 2}


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "engines" and parts[1] in WINGS else None


def test_every_engines_module_lives_in_a_wing():
    files = module_files(ROOT, ("engines",))
    assert sorted(m for m in files if m != "engines" and _wing(m) is None) == []


def test_no_wing_of_engines_imports_a_wing_beside_or_above_it():
    files = module_files(ROOT, PROJECT)
    graph = import_graph(files)
    wrong = []
    for source, targets in sorted(graph.items()):
        here = _wing(source)
        for target, lines in sorted(targets.items()):
            there = _wing(target)
            if here is not None and there is not None and there != here and WINGS[there] >= WINGS[here]:
                wrong.append(f"{files[source].relative_to(ROOT)}:{lines[0]}  {source} -> {target}")
    assert not wrong, "imports against the wings' order:\n" + "\n".join(wrong)
