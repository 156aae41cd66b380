"""The tests behind the test cells (utils.grading) and their evidence (utils.evidence): every
test passes the teacher's answers, judges the same evidence the same way after a round trip
through files, and evidence is plain data bound to one grading run."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from grader.assignment import TeacherNotebook
from utils import evidence, grading


@pytest.fixture(scope="module")
def reference():
    return TeacherNotebook().reference_functions()


def function_of(grade_id: str) -> str:
    return grade_id.removeprefix("test_").removesuffix("_basic").removesuffix("_hidden")


def test_every_test_cell_of_the_notebook_has_a_test():
    teacher = TeacherNotebook()
    tests = {g for g, cell in teacher.graded_cells.items() if cell.automatic}
    assert tests == set(grading.TESTS)


def run_recording(grade_id: str, function, monkeypatch, run_nonce: str = "a-grading-run"):
    """Run a test as its cell would while graded; return the evidence documents it sent."""
    sent = []
    monkeypatch.setenv(evidence.NONCE_ENV, run_nonce)
    monkeypatch.setattr("IPython.display.display",
                        lambda value, raw=False: sent.append({"data": value}))
    try:
        grading.run(grade_id, function)
    finally:
        monkeypatch.delenv(evidence.NONCE_ENV)
    return sent


@pytest.mark.parametrize("grade_id", sorted(grading.TESTS))
def test_the_teachers_answer_passes_in_the_notebook_and_in_the_grader(
        grade_id, reference, monkeypatch, capsys):
    sent = run_recording(grade_id, reference[function_of(grade_id)], monkeypatch)
    assert len(sent) == 1
    assert grading.judge(grade_id, evidence.from_outputs(sent, grade_id, "a-grading-run")) is None
    if grading.TESTS[grade_id].passed:
        assert grading.TESTS[grade_id].passed in capsys.readouterr().out


def test_a_wrong_loader_fails_in_the_notebook_and_in_the_grader_with_the_same_message(
        reference, monkeypatch):
    def load_cifar10():
        xtrain, ytrain, xtest, ytest = reference["load_cifar10"]()
        return xtrain * 255.0, ytrain, xtest, ytest

    sent = []
    monkeypatch.setattr("IPython.display.display",
                        lambda value, raw=False: sent.append({"data": value}))
    monkeypatch.setenv(evidence.NONCE_ENV, "run")
    with pytest.raises(AssertionError) as failure:
        grading.run("test_load_cifar10_basic", load_cifar10)
    assert "Did you divide by 255?" in str(failure.value)
    found = evidence.from_outputs(sent, "test_load_cifar10_basic", "run")
    assert grading.judge("test_load_cifar10_basic", found) == str(failure.value)


def test_the_inputs_of_a_grading_run_depend_on_its_nonce():
    assert evidence.seed(7, "") == 7
    assert evidence.seed(7, "one") != evidence.seed(7, "two") != 7
    assert evidence.seed(7, "one") == evidence.seed(7, "one")


def test_evidence_is_sent_only_while_grading(reference, monkeypatch):
    sent = []
    monkeypatch.delenv(evidence.NONCE_ENV, raising=False)
    monkeypatch.setattr("IPython.display.display", lambda value, raw=False: sent.append(value))
    grading.run("test_build_multilayer_nn_basic", reference["build_multilayer_nn"])
    assert sent == []


def test_evidence_of_another_run_another_test_or_with_pickles_is_ignored():
    document = evidence.payload("t", {"a": (1, 2)}, {"x": np.arange(3)}, "this-run")
    outputs = [{"data": {evidence.EVIDENCE_MIME: json.loads(json.dumps(document))}}]
    data, arrays = evidence.from_outputs(outputs, "t", "this-run")
    assert data == {"a": [1, 2]} and arrays["x"].tolist() == [0, 1, 2]
    assert evidence.from_outputs(outputs, "t", "another-run") is None
    assert evidence.from_outputs(outputs, "another-test", "this-run") is None
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    document["arrays"]["x"] = base64.b64encode(buffer.getvalue()).decode()
    assert evidence.read(document, "t", "this-run") is None
    assert evidence.read("not a document", "t", "this-run") is None


def test_missing_or_malformed_evidence_fails_with_a_reason():
    assert "No evidence" in grading.judge("test_load_cifar10_basic", None)
    assert grading.judge("test_build_multilayer_nn_hidden", ({"architecture": "nonsense"}, {}))
    assert grading.judge("test_train_multilayer_nn_hidden", ({"n": "x"}, {}))


def test_a_forged_architecture_must_be_the_right_one(reference):
    data, _ = grading.collect_model(reference["build_multilayer_nn"], fresh=True)
    forged = json.loads(json.dumps(data))
    forged["architecture"]["config"]["layers"][-1]["config"]["units"] = 9
    assert "units 10" in grading.judge("test_build_multilayer_nn_hidden", (forged, {}))
    assert grading.judge("test_build_multilayer_nn_hidden", (data, {})) is None
