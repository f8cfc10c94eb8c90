"""The crypto package depends on nothing but the standard library and crypto libraries (STYLE.md §2)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "crypto"
ALLOWED = set(sys.stdlib_module_names) | {"crypto", "cryptography", "argon2", "pyotp", "pkcs11"}
MODULES = sorted(PACKAGE.rglob("*.py"))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            roots.add("__import__")
    return roots


def test_package_has_modules() -> None:
    assert len(MODULES) >= 10


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_module_imports_only_allowed_packages(module: Path) -> None:
    roots = _imported_roots(ast.parse(module.read_text(), filename=str(module)))
    assert "app" not in roots
    assert roots <= ALLOWED, roots - ALLOWED


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_module_reads_no_environment(module: Path) -> None:
    tree = ast.parse(module.read_text(), filename=str(module))
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"environ", "getenv", "environb"}


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_security_module_opens_with_a_design_docstring(module: Path) -> None:
    docstring = ast.get_docstring(ast.parse(module.read_text()))
    assert docstring
    if module.name not in {"__init__.py", "errors.py"}:
        assert "Threat" in docstring
