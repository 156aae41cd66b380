"""The assignment's contract, read from the teacher notebook: the one place that knows it.

The teacher notebook (``source/cifar10_keras/cifar10_keras.ipynb``) is the single source of truth:
its graded cells and their points, which part each belongs to, the functions students write, and
the teacher's answers. Every tool and test asks :class:`TeacherNotebook` instead of parsing the
notebook itself or spelling out grade ids and points.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat

ASSIGNMENT = "cifar10_keras"
COURSE_ID = "cifar10-keras"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_NOTEBOOK = REPO_ROOT / "source" / ASSIGNMENT / NOTEBOOK

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(?:\n|\Z)", re.MULTILINE)
#: A solution region, markers included: what students do not see.
SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[ \t]*\n?",
                             re.MULTILINE | re.DOTALL)
#: A function defined at the top level of a cell.
TOP_LEVEL_DEF = re.compile(r"^(?:async )?def (\w+)\(", re.MULTILINE)
PART_INTRO = re.compile(r"^part(\d+)_intro$")


@dataclass(frozen=True)
class Model:
    """One of the assignment's trained models: the functions that load, build and train it."""

    name: str
    loader: str
    build: str
    train: str
    title: str


#: The assignment's models, in the order the reference runs train them.
MODELS = {m.name: m for m in (
    Model("mlp", "load_cifar10", "build_multilayer_nn", "train_multilayer_nn",
          "One hidden layer (Q2)"),
    Model("cnn", "load_cifar10", "build_convolution_nn", "train_convolution_nn",
          "Convolutional network (Q3.1/3.2)"),
    Model("binary", "get_binary_cifar10", "build_binary_classifier", "train_binary_classifier",
          "Animal or vehicle, binary CNN (Q4)"),
    Model("optimized", "load_cifar10", "build_optimized_cnn", "train_optimized_cnn",
          "Optimised CNN, instructor's model (Q3.3)"),
)}


@dataclass(frozen=True)
class GradedCell:
    """A graded cell: where it belongs, what it is worth and who grades it."""

    grade_id: str
    part: str         # "Part 1" ... from the notebook's part headings
    points: float
    automatic: bool   # a test cell (True) or an answer graded by hand (False)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _defines_only(tree: ast.Module) -> bool:
    """True when a cell only defines things (functions, classes, imports; a docstring is fine)."""
    body = [node for node in tree.body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return (any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in body)
            and all(isinstance(node, definitions) for node in body))


class TeacherNotebook:
    """The teacher notebook of a course directory, read once."""

    def __init__(self, path: str | Path = SOURCE_NOTEBOOK):
        self.path = Path(path)
        self.nb = nbformat.read(self.path, as_version=4)

    def _meta(self, cell) -> dict:
        return cell.metadata.get("nbgrader", {})

    @cached_property
    def graded_cells(self) -> dict[str, GradedCell]:
        """Every graded cell by grade_id, in notebook order.

        A part starts at a cell whose grade_id is ``partN_intro``.
        """
        part, cells = "Intro", {}
        for cell in self.nb.cells:
            meta = self._meta(cell)
            grade_id = meta.get("grade_id", "")
            match = PART_INTRO.match(grade_id)
            if match:
                part = f"Part {match.group(1)}"
            if meta.get("grade"):
                cells[grade_id] = GradedCell(grade_id, part, float(meta.get("points", 0)),
                                             automatic=not meta.get("solution"))
        return cells

    @cached_property
    def total_points(self) -> float:
        return sum(cell.points for cell in self.graded_cells.values())

    @cached_property
    def parts(self) -> list[str]:
        return sorted({cell.part for cell in self.graded_cells.values()})

    @cached_property
    def answers(self) -> dict[str, str]:
        """The teacher's answer of each solution cell, by grade_id, without the solution markers."""
        return {self._meta(cell)["grade_id"]: SOLUTION_MARKERS.sub("", _source(cell))
                for cell in self.nb.cells if self._meta(cell).get("solution")}

    @cached_property
    def function_cells(self) -> dict[str, str]:
        """The solution code cells that only define functions, by grade_id: the reference code.

        Solution cells that also run code at the top level (the figure of Question 1.2) are left out.
        """
        cells = {}
        for cell in self.nb.cells:
            meta = self._meta(cell)
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            try:
                tree = ast.parse(_source(cell))
            except SyntaxError as error:
                raise SyntaxError(f"solution cell {meta.get('grade_id')!r} of {self.path} does "
                                  f"not parse: {error}") from error
            if _defines_only(tree):
                cells[meta["grade_id"]] = _source(cell)
        return cells

    @cached_property
    def functions(self) -> tuple[str, ...]:
        """The functions students write, in notebook order: those whose ``def`` line students
        are given. Helpers of the teacher's own answer, defined inside a solution, are not."""
        names = []
        for source in self.function_cells.values():
            names += TOP_LEVEL_DEF.findall(SOLUTION_REGION.sub("", source))
        return tuple(names)

    def tests_of(self, function: str) -> list[str]:
        """The test cells that grade *function* (grade ids ``test_<function>_...``)."""
        return [g for g, cell in self.graded_cells.items()
                if cell.automatic and g.startswith(f"test_{function}_")]

    def automatic_points(self, failing: tuple[str, ...] = ()) -> float:
        """Automatic points of a notebook whose functions are right but for *failing*."""
        lost = {g for function in failing for g in self.tests_of(function)}
        return sum(c.points for g, c in self.graded_cells.items() if c.automatic and g not in lost)

    @cached_property
    def solutions_digest(self) -> str:
        """A short digest of the reference code: it changes when a solution changes."""
        text = "\n".join(self.function_cells.values())
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def reference_functions(self) -> dict:
        """Execute the reference code; return ``{name: function}``.

        It runs in a fresh namespace holding what the notebook's setup cell imports (``np``,
        ``keras``, ``layers``, ``plt``, ``utils``), so the functions behave as in the notebook:
        ``load_cifar10()`` reads ``$CIFAR10_DIR`` through ``utils.load_data()``.
        """
        import keras
        import matplotlib.pyplot as plt
        import numpy as np
        from keras import layers

        import utils

        namespace = {"__name__": "cifar10_keras_reference", "np": np, "keras": keras,
                     "layers": layers, "plt": plt, "utils": utils}
        preset = set(namespace)
        for grade_id, source in self.function_cells.items():
            exec(compile(source, f"<{self.path.name}: {grade_id}>", "exec"), namespace)
        return {key: value for key, value in namespace.items()
                if key not in preset and inspect.isfunction(value)}
