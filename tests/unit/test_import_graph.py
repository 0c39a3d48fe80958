"""No import circle among `chalicelib` modules (issue 7): services reach each other through
`bootstrap` and `wiring`, never by importing in a circle. Every import counts, at the top of a
module or inside a function alike, so a circle cannot be hidden in a function body.

An edge goes to the module an import names (`from chalicelib.services import outbox` names
`chalicelib.services.outbox`; `from chalicelib.errors import HavenError` names
`chalicelib.errors`). A package's `__init__` re-exporting its own modules is not a circle.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(filter(None, (_resolve(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _package_of(module).split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}") if f"{base}.{alias.name}" in MODULES else _resolve(base)
                if target:
                    found.add(target)
    found.discard(module)
    # a package re-exporting its own modules is not a circle
    if MODULES[module].name == "__init__.py":
        found = {t for t in found if not t.startswith(module + ".")}
    return found


def graph() -> dict[str, set[str]]:
    return {m: {t for t in imports_of(m) if t.startswith("chalicelib")} for m in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_circle_hidden_in_a_function_body():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_imports():
    # services.outbox is imported inside a function by bootstrap; the graph must see it
    assert "chalicelib.services.outbox" in imports_of("chalicelib.bootstrap")


def test_no_import_circle_among_chalicelib_modules():
    assert cycles(graph()) == []


def test_wiring_and_the_outbox_import_no_service():
    edges = graph()
    for leaf in ("chalicelib.wiring", "chalicelib.services.outbox"):
        assert not {t for t in edges[leaf] if t.startswith("chalicelib.services.")}, leaf
