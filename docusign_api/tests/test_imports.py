"""docusign_api is a plain library: no Django, nothing from the project (STYLE.md, habit 9)."""

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent
FORBIDDEN_ROOTS = {
    "django",
    "portal",
    "tenants",
    "connect",
    "common",
    "accounts",
    "docusign_emulator",
}
# The tests may use the emulator's harness; the library itself may not.
LIBRARY_MODULES = sorted(p for p in PACKAGE_DIR.glob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_library_has_modules_to_check():
    names = {p.name for p in LIBRARY_MODULES}

    assert {"client.py", "oauth.py", "connect.py", "models.py", "errors.py", "pkce.py"} <= names
    assert "_http.py" in names


@pytest.mark.parametrize("path", LIBRARY_MODULES, ids=lambda p: p.name)
def test_module_imports_neither_django_nor_the_project(path):
    assert imported_roots(path) & FORBIDDEN_ROOTS == set()


@pytest.mark.parametrize(
    "path", sorted((PACKAGE_DIR / "tests").glob("*.py")), ids=lambda p: f"tests/{p.name}"
)
def test_tests_import_neither_django_nor_the_portal_apps(path):
    assert imported_roots(path) & (FORBIDDEN_ROOTS - {"docusign_emulator"}) == set()


def test_the_check_catches_forbidden_imports(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import django.conf\nfrom tenants.models import Tenant\nfrom . import ok\n")

    assert imported_roots(module) & FORBIDDEN_ROOTS == {"django", "tenants"}
