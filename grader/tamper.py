"""Spot student code that reaches into the grading machinery, before it runs.

Test cells run in the same Python process as the student's code, so code that rebinds a library
function (``np.allclose = ...``), a test helper (``utils.checks.check_layers = ...``), a builtin,
or ``sys.modules`` could make a failing check pass. No check inside the kernel can rule that out
(the student's code runs first), so :func:`find_tampering` reads the student's cells instead: a
submission it flags keeps its automatic scores out of the total (``grader.grade`` sets them
to 0 as manual grades) until an instructor has looked at it in formgrader.
"""

from __future__ import annotations

import ast

import nbformat

#: Names whose use in a student's cell is reason enough to look.
SUSPICIOUS_NAMES = {"builtins", "__builtins__", "sys.modules", "importlib.reload", "__import__",
                    "setattr", "delattr", "exec", "eval", "compile", "globals", "ctypes", "gc"}


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain (empty when the chain does not start at a name)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def scan_code(source: str, imported: set[str]) -> list[str]:
    """Findings in one cell: rebinding attributes of imported modules, and suspicious names.

    *imported* collects the names the notebook binds to modules (``np``, ``keras``, ``utils`` ...),
    across cells, so that ``np.allclose = ...`` is caught wherever ``np`` came from.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # does not run at all, so it cannot tamper
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                imported.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in targets:
            name = dotted(target)
            if isinstance(target, ast.Attribute) and name.split(".")[0] in imported:
                findings.append(f"line {node.lineno}: rebinds {name}")
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = dotted(node)
            if name in SUSPICIOUS_NAMES:
                findings.append(f"line {node.lineno}: uses {name}")
    return sorted(set(findings), key=lambda f: int(f.split()[1].rstrip(":")))


def trusted_sources(release_notebook) -> set[str]:
    """The code the students were given: any cell that still reads exactly so is the course's."""
    nb = nbformat.read(release_notebook, as_version=4)
    return {cell.source for cell in nb.cells if cell.cell_type == "code"}


def find_tampering(notebook: nbformat.NotebookNode, trusted: set[str]) -> list[str]:
    """Findings in every code cell that is not, word for word, one the course handed out.

    (Cell metadata cannot decide this: a student can edit it.)
    """
    imported = {"utils", "np", "numpy", "keras", "tf", "tensorflow", "plt", "layers"}
    findings = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code" or cell.get("source", "") in trusted:
            continue
        findings += [f"cell {index} {f}" for f in scan_code(cell.get("source", ""), imported)]
    return findings
