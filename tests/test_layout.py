"""The package's layout rules, read from the source with `ast`: no import cycle, and a sandbox that knows no checker.

Every import counts, at module level or inside a function (a lazy import
only hides a cycle until the day the order of imports changes). `from
proofsmith.x import y` is an edge to the module `proofsmith.x.y` when there
is one, else to `proofsmith.x`; a package's `__init__` is a node of its own.
Package data under `redteam_corpus/` (exploit programs, never imported) is
not part of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "proofsmith"
#: What the sandbox may not import: it runs untrusted code for every checker and must know none of them.
SANDBOX_MAY_NOT_IMPORT = ("proofsmith.provers", "proofsmith.search", "proofsmith.models")


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (`pkg.__init__` for a package)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        if "redteam_corpus" in path.relative_to(root).parts:
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts)] = path
    return out


def _node(name: str, modules: dict[str, Path]) -> str | None:
    """The graph node a dotted name refers to: the module, the package's `__init__`, or None outside the package."""
    if name in modules:
        return name
    if f"{name}.__init__" in modules:
        return f"{name}.__init__"
    return None


def _package_of(module: str) -> list[str]:
    parts = module.split(".")
    return parts[:-1]  # for `pkg.__init__` as for `pkg.mod`: the package `pkg`


def imports_of(module: str, tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `module` imports anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                # `import a.b.c` loads a.b.c (and its parents; the edge that matters is to the module named)
                while name and _node(name, modules) is None:
                    name = name.rpartition(".")[0]
                if name:
                    found.add(_node(name, modules))  # type: ignore[arg-type]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = _package_of(module)[: len(_package_of(module)) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                target = _node(f"{base}.{alias.name}", modules) or _node(base, modules)
                if target is not None:
                    found.add(target)
    found.discard(module)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = module_files(root)
    return {name: imports_of(name, ast.parse(path.read_text(), str(path)), modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_module_level_lazy_and_relative_imports(tmp_path):
    """The reader itself, on a made-up package: every form of import is an edge, so the checks below can fail."""
    pkg = tmp_path / "proofsmith"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from proofsmith.sub.b import thing\n")
    (pkg / "a.py").write_text("def f():\n    from proofsmith.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from .. import a\nimport proofsmith.c\nthing = 1\n")
    (pkg / "c.py").write_text("from proofsmith import sub\n")
    graph = import_graph(pkg)
    assert graph["proofsmith.a"] == {"proofsmith.sub.b"}
    assert graph["proofsmith.sub.b"] == {"proofsmith.a", "proofsmith.c"}
    assert graph["proofsmith.c"] == {"proofsmith.sub.__init__"}
    assert graph["proofsmith.sub.__init__"] == {"proofsmith.sub.b"}
    # a <-> sub.b, and sub.b -> c -> sub (its __init__) -> sub.b: one component
    assert cycles(graph) == [["proofsmith.a", "proofsmith.c", "proofsmith.sub.__init__", "proofsmith.sub.b"]]
    (pkg / "sub" / "b.py").write_text("thing = 1\n")
    assert cycles(import_graph(pkg)) == []


def test_no_import_cycle_in_the_package():
    found = cycles(import_graph())
    assert found == [], "import cycles (move the shared code down, do not hide the import in a function):\n" + \
        "\n".join(" <-> ".join(c) for c in found)


def test_the_sandbox_imports_no_checker_search_or_model():
    graph = import_graph()
    wrong = sorted((mod, dep) for mod, deps in graph.items() if mod.startswith("proofsmith.sandbox.")
                   for dep in deps if dep.startswith(SANDBOX_MAY_NOT_IMPORT))
    assert wrong == []
