"""Grading a whole class with grader.grade: parallel, time-limited, resumable, on Dask, any gradebook."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import nbformat
import psutil
import pytest

from demo import submissions
from grader import grade, sandbox

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="needs bubblewrap (.ci/run installs it)")


@pytest.fixture
def course(tmp_path, grading_env, monkeypatch):
    """A course copy with its release generated, and the grading environment set."""
    for key, value in grading_env.items():
        monkeypatch.setenv(key, value)
    return submissions.scratch_course(tmp_path / "course")


def hand_in(course, **notebooks):
    """Hand in notebooks, or kinds of demo.submissions (e.g. ann="solved")."""
    for student, notebook in notebooks.items():
        course.submit(student, submissions.build(course, notebook) if isinstance(notebook, str)
                      else notebook)


def test_a_class_is_graded_in_parallel_with_a_summary_and_a_report(course, capsys, points):
    hand_in(course, full="solved", untouched="release", not_json=b"{ not a notebook")
    exit_code = grade.main(["--course", str(course.root), "--workers", "2", "--timeout", "300"])
    out = capsys.readouterr().out
    assert exit_code == 1, "one submission was not graded"
    assert "3 submissions" in out and "2 graded, 1 invalid" in out
    assert "not_json: invalid: not a valid notebook" in out

    # Scores are in the gradebook as nbgrader autograde puts them: export sees them.
    totals = course.totals()
    assert totals["full"] == points["solved"]
    assert totals["untouched"] == 0
    export = course.export_grades(course.root / "grades.csv").read_text()
    assert ",full," in export and ",untouched," in export

    report = (course.root / "reports" / "scores.csv").read_text().splitlines()
    assert report[0] == "student,status,seconds,Part 1,Part 2,Part 3,Part 4,auto,total"
    full = f"{points['solved']:.1f}"
    assert any(line.startswith("full,graded,") and line.endswith(f",{full},{full}") for line in report)
    assert any(line.startswith("not_json,invalid,") for line in report)
    assert (course.root / "reports" / "class_report.png").stat().st_size > 10_000


def test_a_rerun_skips_what_is_graded_and_regrades_a_resubmission(course, capsys, points):
    hand_in(course, ann="solved", bob="solved")
    assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
    capsys.readouterr()

    assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
    assert "2 skipped" in capsys.readouterr().out

    hand_in(course, bob="mistakes")  # bob resubmits
    assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "1 submissions in" in out and "1 skipped" in out
    assert course.totals()["bob"] == points["mistakes"]

    assert grade.main(["--course", str(course.root), "--students", "ann", "--force"]) == 0
    assert "1 submissions in" in capsys.readouterr().out


def test_a_submission_past_its_time_limit_is_stopped_with_its_kernel(course):
    slow = submissions.build(course, "solved")
    slow.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(15)\ntime.sleep(15)"))
    hand_in(course, slow=slow)
    result = grade.grade_one(str(course.root), "slow", timeout=12)
    assert result["status"] == "timeout" and "12 s" in result["reason"]
    time.sleep(1)
    # nbgrader runs in the course directory and its kernel in the student's folder below it.
    leftovers = [p for p in psutil.process_iter(["pid", "cwd"])
                 if (p.info["cwd"] or "").startswith(str(course.root))]
    assert leftovers == [], "nbgrader and its kernel were killed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_grading_on_a_separate_dask_scheduler_and_workers(course, capsys, points):
    """A scheduler and two workers started as their own processes, on loopback only."""
    hand_in(course, ann="solved", bob="release")
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard"], env=env, stderr=subprocess.DEVNULL)
    workers = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
                               env=env, stderr=subprocess.DEVNULL)
    try:
        assert grade.main(["--course", str(course.root), "--scheduler", address]) == 0
        out = capsys.readouterr().out
        assert address in out and "2 graded" in out
        totals = course.totals()
        assert totals["ann"] == points["solved"]
        assert totals["bob"] == 0
    finally:
        for process in (workers, scheduler):
            grade.kill_tree(process.pid)


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"),
                    reason="needs TEST_POSTGRES_URL (a PostgreSQL server; .ci/run starts one)")
def test_a_postgresql_gradebook_for_concurrent_graders(course, monkeypatch, capsys, points):
    """The same grading with the gradebook in PostgreSQL, written by two workers at once."""
    import sqlalchemy

    url = os.environ["TEST_POSTGRES_URL"]
    database = f"gradebook_{os.getpid()}_{int(time.time())}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {database}"))
    db_url = url.rsplit("/", 1)[0] + f"/{database}"
    monkeypatch.setenv("NBGRADER_DB_URL", db_url)
    (course.root / "gradebook.db").unlink()  # made by the fixture; from now on only PostgreSQL
    try:
        course.generate_release()  # registers the assignment in the new gradebook
        hand_in(course, ann="solved", bob="mistakes", cy="solved")
        assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
        assert "3 graded" in capsys.readouterr().out
        totals = course.totals()
        assert totals == {"ann": points["solved"], "bob": points["mistakes"], "cy": points["solved"]}
        assert not (course.root / "gradebook.db").exists(), "nothing went to SQLite"
        status = json.loads((course.root / grade.STATUS_FILE).read_text())
        assert {s["status"] for s in status.values()} == {"graded"}
    finally:
        admin.dispose()
        with sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


def test_each_local_grader_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(grade.os, "cpu_count", lambda: 32)
    assert grade.thread_limits(8)["TF_NUM_INTRAOP_THREADS"] == "4"
    assert grade.thread_limits(64)["OMP_NUM_THREADS"] == "1"


def test_cell_timeout_is_read_from_the_course_config(monkeypatch):
    """The throughput report quotes the limit nbgrader really applies, not a copy of its default."""
    from grader.course import REPO_ROOT, Course

    monkeypatch.delenv("NBGRADER_CELL_TIMEOUT", raising=False)
    assert Course(REPO_ROOT).cell_timeout() == 60
    monkeypatch.setenv("NBGRADER_CELL_TIMEOUT", "17")
    assert Course(REPO_ROOT).cell_timeout() == 17
