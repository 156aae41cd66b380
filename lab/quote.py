"""Fill the measured figures that prose quotes from the result files under ``results/``.

    python -m lab.quote            # rewrite every quoted figure from results/*.json
    python -m lab.quote --check    # exit 1 and name each figure that differs from its file

A figure in Markdown (README.md, docs/, the teacher notebook's Markdown cells) is written with
the place it comes from, and this command keeps the value in step with it::

    <!--fig benchmark models.cnn.test_accuracy .3f-->0.729<!--/fig-->
    <!--fig benchmark models.cnn.total_train_seconds .0f /60-->88<!--/fig-->

The fields are: the JSON file under ``results/`` (without ``.json``), the dotted path to the
value (list items by number), a Python format spec (optional) and a divisor (optional, ``/60``
turns seconds into minutes). The comments do not show in rendered Markdown.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from grader.assignment import REPO_ROOT, SOURCE_NOTEBOOK
from grader.files import read_json

FIGURE = re.compile(r"<!--fig (?P<spec>[^>]*?)-->(?P<value>.*?)<!--/fig-->", re.DOTALL)
#: Where quoted figures may appear: Markdown files, and the Markdown cells of the notebook.
MARKDOWN = ("README.md", "docs/*.md")


class FigureError(ValueError):
    """A quoted figure whose place does not exist in the result files."""


def lookup(spec: str, results: Path) -> str:
    """The text a ``<!--fig SPEC-->`` stands for, formatted as SPEC says."""
    fields = spec.split()
    if len(fields) < 2:
        raise FigureError(f"{spec!r}: give a results file and a path")
    name, path, *rest = fields
    fmt = next((f for f in rest if not f.startswith("/")), "")
    divisor = next((float(f[1:]) for f in rest if f.startswith("/")), 1.0)
    value = read_json(results / f"{name}.json")
    if value is None:
        raise FigureError(f"{spec!r}: no file {results / name}.json")
    for key in path.split("."):
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise FigureError(f"{spec!r}: {name}.json has no {path}") from None
    if divisor != 1:
        value = value / divisor
    return format(value, fmt)


def fill(text: str, results: Path) -> str:
    """*text* with every quoted figure set to its current value."""
    return FIGURE.sub(lambda m: f"<!--fig {m['spec']}-->{lookup(m['spec'], results)}<!--/fig-->",
                      text)


def quoting_files(root: Path) -> list[Path]:
    files = [p for pattern in MARKDOWN for p in sorted(root.glob(pattern))]
    notebook = root / SOURCE_NOTEBOOK.relative_to(REPO_ROOT)
    return files + ([notebook] if notebook.is_file() else [])


def update(root: Path = REPO_ROOT, write: bool = True) -> list[str]:
    """Bring every quoted figure under *root* up to date (or, without *write*, only compare).

    Returns one line per figure that was (or would be) changed.
    """
    results, changes = root / "results", []

    def refreshed(text: str, where: str) -> str:
        new = fill(text, results)
        for old, current in zip(FIGURE.finditer(text), FIGURE.finditer(new)):
            if old["value"] != current["value"]:
                changes.append(f"{where}: {old['spec']}: {old['value']} -> {current['value']}")
        return new

    for path in quoting_files(root):
        where = str(path.relative_to(root))
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            before = len(changes)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "markdown":
                    cell.source = refreshed(cell.source, f"{where} cell {index}")
            if write and len(changes) > before:
                nbformat.write(nb, path)
        else:
            text = path.read_text(encoding="utf-8")
            new = refreshed(text, where)
            if write and new != text:
                path.write_text(new, encoding="utf-8")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.quote", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a quoted figure differs from its file")
    parser.add_argument("--root", type=Path, default=REPO_ROOT,
                        help="the course repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        changes = update(args.root, write=not args.check)
    except FigureError as error:
        print(f"quote: {error}", file=sys.stderr)
        return 2
    for line in changes:
        print(line)
    if args.check and changes:
        print(f"{len(changes)} quoted figures are out of date: run python -m lab.quote",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
