"""The layout's dependency rule, read from the imports: who may use whose code.

``utils`` runs in the student's kernel and imports nothing of ours; the grading service
``grader`` imports only ``utils``; ``demo`` may use both; the ``lab`` may use everything, and
nothing imports the lab.
"""

from __future__ import annotations

import ast

import pytest

from grader.assignment import REPO_ROOT

PACKAGES = ("utils", "grader", "demo", "lab")
ALLOWED = {"utils": set(), "grader": {"utils"}, "demo": {"utils", "grader"},
           "lab": {"utils", "grader", "demo"}}


def our_imports(path) -> set[str]:
    """The packages of ours that the file at *path* imports (relative imports stay inside)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


def modules(package: str):
    return sorted((REPO_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_it_may(package):
    assert modules(package), f"{package}/ has no modules"
    breaches = {str(path.relative_to(REPO_ROOT)): sorted(our_imports(path) - ALLOWED[package] - {package})
                for path in modules(package)}
    assert {path: found for path, found in breaches.items() if found} == {}


def test_the_course_config_needs_only_the_grading_service():
    assert our_imports(REPO_ROOT / "nbgrader_config.py") <= {"grader"}


def test_the_rule_sees_imports_of_every_form(tmp_path):
    """The reader of imports is itself right: plain, dotted, from-imports, and relative ones."""
    path = tmp_path / "example.py"
    path.write_text("import utils.checks\nfrom grader import course\nimport lab as l\n"
                    "from . import demo\nfrom .lab import x\nimport numpy\n")
    assert our_imports(path) == {"utils", "grader", "lab"}


def test_tests_mirror_the_packages():
    """Each package has a folder of tests of the same name."""
    for package in PACKAGES:
        assert list((REPO_ROOT / "tests" / package).glob("test_*.py")), package
