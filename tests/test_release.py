"""The release as a student receives it: it carries what it needs, and a solved copy runs top to
bottom in a fresh environment made from nothing but its own ``requirements.txt``, in a folder
that holds only the student's files (and a stray ``utils.py`` of the student's own)."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from demo import submissions
from grader.assignment import ASSIGNMENT, NOTEBOOK, REPO_ROOT, SOURCE_NOTEBOOK

RELEASE = REPO_ROOT / "release" / ASSIGNMENT
SOURCE_UTILS = REPO_ROOT / "source" / ASSIGNMENT / "utils"
#: What a student installs, and nothing of the grading service or the tests.
STUDENT_PACKAGES = {"tensorflow-cpu", "keras", "numpy", "matplotlib", "jupyterlab", "nbgrader"}


def released_files() -> set[str]:
    return {str(p.relative_to(RELEASE)) for p in RELEASE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_release_carries_the_helpers_and_the_students_requirements():
    helpers = {f"utils/{p.name}" for p in SOURCE_UTILS.glob("*.py")}
    assert released_files() == {NOTEBOOK, "requirements.txt", *helpers}
    for name in helpers:
        assert filecmp.cmp(RELEASE / name, SOURCE_UTILS.parent / name, shallow=False), \
            f"release/{name} is out of date: run make release"
    lines = (RELEASE / "requirements.txt").read_text().splitlines()
    pinned = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert set(pinned) == STUDENT_PACKAGES and all(re.fullmatch(r"[\d.]+", v) for v in pinned.values())


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory):
    """A home folder with the fetched assignment, answered, and a stray utils.py beside it."""
    from utils.data import write_synthetic_cifar10

    home = tmp_path_factory.mktemp("student-home")
    folder = home / ASSIGNMENT
    shutil.copytree(RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    nbformat.write(submissions.solved(RELEASE / NOTEBOOK, SOURCE_NOTEBOOK), folder / NOTEBOOK)
    (folder / "utils.py").write_text("# the student's own notes, not the course's helpers\n")
    data = write_synthetic_cifar10(home / "data", train_per_class=6, test_per_class=2)
    return home, folder, data


def student_env(bin_dir: Path, home: Path, data: Path) -> dict[str, str]:
    """Only what a student's shell would have: no instructor environment, no course on the path."""
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "CIFAR10_DIR": str(data), "CIFAR10_TRAINING_CACHE": str(home / "training-cache")}


def run_all(bin_dir, folder, env, output: str) -> tuple[nbformat.NotebookNode, float]:
    """*Restart Kernel and Run All Cells*, as nbconvert does it; the executed copy and the time."""
    started = time.perf_counter()
    result = subprocess.run([str(bin_dir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                             "--ExecutePreprocessor.timeout=900", "--output", output, NOTEBOOK],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return nbformat.read(folder / output, as_version=4), time.perf_counter() - started


def outputs(nb, kind=None):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if kind is None or o.output_type == kind]


def text_of(nb) -> str:
    return "".join(o.get("text", "") for o in outputs(nb, "stream"))


@pytest.mark.timeout(2400)
def test_a_solved_release_runs_in_a_fresh_student_environment(student_bin, student_folder):
    home, folder, data = student_folder
    env = student_env(student_bin, home, data)
    before = {p: p.read_bytes() for p in RELEASE.rglob("*") if p.is_file()}

    first, _ = run_all(student_bin, folder, env, "first-run.ipynb")
    assert [(o.ename, o.evalue) for o in outputs(first, "error")] == []
    text = text_of(first)
    assert text.count("Visible checks passed") == 8 and text.count("test accuracy:") == 4
    setup = next(c for c in first.cells if c.cell_type == "code")
    assert [o for o in setup.outputs if o.get("name") == "stderr"] == [], "cell 1 shows no log"
    figures = [o for o in outputs(first) if "image/png" in o.get("data", {})]
    assert len(figures) >= 6, "sample images, the figure of Question 1.2 and four learning curves"
    assert len(list((home / "training-cache").glob("*/history.json"))) == 4

    second, _ = run_all(student_bin, folder, env, "second-run.ipynb")
    assert [o.ename for o in outputs(second, "error")] == []
    assert text_of(second).count("Reusing the training") == 4

    validate = subprocess.run([str(student_bin / "nbgrader"), "validate", NOTEBOOK], cwd=folder,
                              env=env, capture_output=True, text=True, timeout=900)
    assert validate.returncode == 0 and "Success! Your notebook passes all the tests." in validate.stdout, \
        validate.stdout[-3000:] + validate.stderr[-3000:]
    assert {p: p.read_bytes() for p in RELEASE.rglob("*") if p.is_file()} == before
