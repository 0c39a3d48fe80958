"""The domain stays pure: no AWS, no environment, no clock (ARCHITECTURE "Habits")."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "chalicelib" / "domain"
MODULES = sorted(DOMAIN.glob("*.py"))
FORBIDDEN_IMPORTS = ("boto3", "botocore", "pynamodb", "chalice", "aws_lambda_powertools", "os", "time")
FORBIDDEN_CALLS = ("now", "utcnow", "today", "time", "getenv")


def test_importing_the_domain_loads_no_aws_library():
    names = ", ".join(f"chalicelib.domain.{path.stem}" for path in MODULES if path.stem != "__init__")
    code = (f"import sys, importlib; [importlib.import_module(m.strip()) for m in '{names}'.split(',')]; "
            "print(sorted({m.split('.')[0] for m in sys.modules}))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=DOMAIN.parents[1], capture_output=True,
                            text=True, check=True).stdout
    for library in ("boto3", "botocore", "pynamodb", "chalice", "aws_lambda_powertools"):
        assert f"'{library}'" not in loaded


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_a_domain_module_neither_reads_the_clock_nor_the_environment(path):
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.name} needs a docstring saying what it is for"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {alias.name.split(".")[0] for alias in node.names} & set(FORBIDDEN_IMPORTS)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_IMPORTS
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls .{node.func.attr}()"
