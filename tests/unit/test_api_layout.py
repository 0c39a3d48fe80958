"""The HTTP layer's plumbing is split by concern without import cycles (issue 7, "Split by concern").

`routing` (the route decorator) may use `idempotency`; `middleware` and `openapi` read
`routing`'s table; nothing below imports back up. Read from the source (AST), so no AWS is needed.
"""
import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "chalicelib" / "api"
MODULES = sorted(path for path in API.glob("*.py") if path.stem != "__init__")


def _api_imports(path: Path) -> set[str]:
    """The `chalicelib.api` modules `path` imports at module level (lazy imports in functions excluded)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("chalicelib.api."):
                found.add(node.module.rsplit(".", 1)[1])
            elif node.module == "chalicelib.api":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name.rsplit(".", 1)[1] for alias in node.names
                         if alias.name.startswith("chalicelib.api."))
    return found & {path.stem for path in MODULES}


def test_the_api_modules_import_each_other_without_a_cycle():
    graph = {path.stem: _api_imports(path) for path in MODULES}
    done, on_path = set(), []

    def visit(name):
        assert name not in on_path, f"import cycle: {' -> '.join(on_path[on_path.index(name):] + [name])}"
        if name in done:
            return
        on_path.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        on_path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_plumbing_depends_in_one_direction():
    assert "middleware" not in _api_imports(API / "routing.py")
    assert "openapi" not in _api_imports(API / "routing.py")
    assert _api_imports(API / "idempotency.py") <= {"encoding"}
    assert _api_imports(API / "encoding.py") == set()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_an_api_module_says_what_it_is_for(path):
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} needs a module docstring"
