"""The tamper and fault suite: every attack graded beside an honest submission, in the sandbox."""

from __future__ import annotations

import pytest

from instructor import attacks, sandbox

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="needs bubblewrap (.ci/run installs it)")


@pytest.fixture(scope="module")
def rows(tmp_path_factory, grading_env):
    table = attacks.run_suite(tmp_path_factory.mktemp("attacks") / "course", workers=2,
                              env=grading_env)
    print("\n" + attacks.markdown(table))
    return {row["attack"]: row for row in table}


def test_no_attack_earns_more_than_its_notebook_and_nothing_else_is_harmed(rows):
    assert [name for name, row in rows.items() if not row["ok"]] == []
    assert rows["control_full_marks"]["points"] == 22 and rows["control_full_marks"]["status"] == "graded"


@pytest.mark.parametrize("attack, seen", [
    ("read_teacher_notebook", "blocked: FileNotFoundError"),
    ("write_gradebook", "blocked: OperationalError"),
    ("network", "blocked: pypi.org 443"),
    ("network", "blocked: 127.0.0.1 5432"),
    ("memory_hog", "blocked: MemoryError"),
    ("delete_files", "gone or never seen ../../../submitted"),
])
def test_the_sandbox_stops_the_attack(rows, attack, seen):
    assert seen in rows[attack]["observed"]


def test_rebinding_the_test_helpers_is_held_for_review(rows):
    row = rows["monkeypatch_helpers"]
    assert row["status"] == "flagged" and "setattr" in row["reason"] and "np.allclose" in row["reason"]
    assert row["points"] == 0


def test_faults_cost_only_their_own_cells(rows):
    for attack in ("sleep_forever", "print_100mb", "memory_hog", "delete_files"):
        assert rows[attack]["status"] == "graded" and rows[attack]["points"] == 22, attack
    assert rows["replace_after_test"]["points"] == 15
    assert rows["delete_and_duplicate_cells"]["status"] == "graded"
    assert rows["not_json"]["status"] == "invalid"
