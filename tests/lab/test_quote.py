"""``python -m lab.quote``: figures quoted in prose come from the result files, and stay in step."""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.assignment import REPO_ROOT, SOURCE_NOTEBOOK
from lab import quote


@pytest.fixture
def root(tmp_path):
    """A folder laid out like the repository: results/, README.md, docs/ and the notebook."""
    (tmp_path / "results" / "gpu").mkdir(parents=True)
    (tmp_path / "results" / "bench.json").write_text(json.dumps(
        {"models": {"cnn": {"test_accuracy": 0.72913, "total_train_seconds": 5280.4}},
         "epochs": [10.5, 11.25]}))
    (tmp_path / "results" / "gpu" / "run.json").write_text(json.dumps({"ratio": 1.3456}))
    (tmp_path / "docs").mkdir()
    notebook = tmp_path / SOURCE_NOTEBOOK.relative_to(REPO_ROOT)
    notebook.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Takes <!--fig bench models.cnn.total_train_seconds .0f /60-->"
                                      "1<!--/fig--> minutes."),
        nbformat.v4.new_code_cell("x = '<!--fig bench epochs.0 .1f-->0<!--/fig-->'")])
    nbformat.write(nb, notebook)
    return tmp_path


def test_a_figure_is_formatted_from_its_file_path_and_divisor(root):
    text = ("acc <!--fig bench models.cnn.test_accuracy .3f-->0.7<!--/fig-->, "
            "<!--fig bench models.cnn.total_train_seconds .0f /60-->?<!--/fig--> min, "
            "second epoch <!--fig bench epochs.1-->?<!--/fig--> s, "
            "ratio <!--fig gpu/run ratio .2f-->?<!--/fig-->")
    assert quote.fill(text, root / "results") == (
        "acc <!--fig bench models.cnn.test_accuracy .3f-->0.729<!--/fig-->, "
        "<!--fig bench models.cnn.total_train_seconds .0f /60-->88<!--/fig--> min, "
        "second epoch <!--fig bench epochs.1-->11.25<!--/fig--> s, "
        "ratio <!--fig gpu/run ratio .2f-->1.35<!--/fig-->")


@pytest.mark.parametrize("spec, named", [
    ("nothing models.cnn.test_accuracy", "no file"),
    ("bench models.mlp.test_accuracy", "has no models.mlp.test_accuracy"),
    ("bench epochs.7", "has no epochs.7"),
    ("bench", "give a results file and a path"),
])
def test_a_figure_with_no_source_is_an_error_that_names_it(root, spec, named):
    with pytest.raises(quote.FigureError, match=named):
        quote.fill(f"<!--fig {spec}-->1<!--/fig-->", root / "results")


def test_check_reports_stale_figures_and_update_fixes_them(root):
    readme = root / "README.md"
    readme.write_text("CNN: <!--fig bench models.cnn.test_accuracy .3f-->0.700<!--/fig-->\n")
    (root / "docs" / "page.md").write_text("<!--fig gpu/run ratio .2f-->1.35<!--/fig-->\n")
    stale = quote.update(root, write=False)
    assert stale == ["README.md: bench models.cnn.test_accuracy .3f: 0.700 -> 0.729",
                     f"{SOURCE_NOTEBOOK.relative_to(REPO_ROOT)} cell 0: "
                     "bench models.cnn.total_train_seconds .0f /60: 1 -> 88"]
    assert "0.700" in readme.read_text(), "--check changes nothing"
    assert quote.update(root) == stale
    assert quote.update(root, write=False) == []
    nb = nbformat.read(root / SOURCE_NOTEBOOK.relative_to(REPO_ROOT), as_version=4)
    assert "-->88<!--" in nb.cells[0].source
    assert nb.cells[1].source.endswith("-->0<!--/fig-->'"), "code cells are not prose: left alone"


def test_main_check_exits_non_zero_while_a_figure_is_stale(root, capsys):
    (root / "README.md").write_text("<!--fig bench epochs.0-->1<!--/fig-->\n")
    assert quote.main(["--root", str(root), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert quote.main(["--root", str(root)]) == 0 and quote.main(["--root", str(root), "--check"]) == 0
    (root / "README.md").write_text("<!--fig bench epochs.9-->1<!--/fig-->\n")
    assert quote.main(["--root", str(root), "--check"]) == 2


def test_the_repository_s_quoted_figures_match_the_results():
    """README.md, docs/ and the teacher notebook quote results/ as it is now."""
    assert quote.update(REPO_ROOT, write=False) == []
    quoted = sum(len(quote.FIGURE.findall(p.read_text(encoding="utf-8")))
                 for p in quote.quoting_files(REPO_ROOT))
    assert quoted > 0, "no figure is quoted at all"
