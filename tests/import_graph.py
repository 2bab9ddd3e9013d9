"""The import graph of the ``helpers`` package, read from the source with ``ast``.

Every import counts, including those inside functions (a function-level import
is still a dependency; it only hides a cycle from the interpreter). Written by
hand rather than with import-linter: the three contracts below fit in a page,
and the test must run on a tree copied to a temporary directory (the planted
forbidden import) without installing anything.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    importer: str     # module that imports, e.g. "helpers.sandbox.core"
    imported: str     # module (or module.name) imported, e.g. "helpers.tokens"
    path: Path
    line: int
    in_function: bool


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def imports(root: Path, package: str = "helpers") -> list[Import]:
    """Every import inside ``root/package`` of a module of that package."""
    found = []
    files = sorted((root / package).rglob("*.py"))
    known = {module_name(root, p) for p in files}
    for path in files:
        importer = module_name(root, path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        functions = {id(n) for f in ast.walk(tree)
                     if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                     for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(importer, is_package, node.level, node.module)
                # "from pkg import mod" imports the module pkg.mod; "from mod import x", mod.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                if target == package or target.startswith(package + "."):
                    found.append(Import(importer, target, path, node.lineno,
                                        id(node) in functions))
    return found


def top(module: str, depth: int = 2) -> str:
    """The unit a contract speaks of: ``helpers.sandbox.core`` -> ``helpers.sandbox``."""
    return ".".join(module.split(".")[:depth])


def unit_graph(found: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in found:
        a, b = top(imp.importer), top(imp.imported)
        if a != b:
            graph.setdefault(a, set()).add(b)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected set of more than one unit, sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)
