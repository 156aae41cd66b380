"""Grading a whole class with instructor.grade: parallel, time-limited, resumable, on Dask, any gradebook."""

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

from instructor import grade, sandbox, submissions
from instructor.course import Course

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="needs bubblewrap (.ci/run installs it)")


@pytest.fixture
def course(tmp_path, grading_env, monkeypatch):
    """A course copy with its release generated, and the grading environment set."""
    for key, value in grading_env.items():
        monkeypatch.setenv(key, value)
    course = Course.copy_of(tmp_path / "course")
    course.generate_release()
    return course


def hand_in(course, **notebooks):
    for student, notebook in notebooks.items():
        course.submit(student, notebook)


def test_a_class_is_graded_in_parallel_with_a_summary_and_a_report(course, capsys):
    full = submissions.solved(course.release_notebook, course.source_notebook)
    hand_in(course, full=full, untouched=course.release_notebook.read_bytes(),
            not_json=b"{ not a notebook")
    exit_code = grade.main(["--course", str(course.root), "--workers", "2", "--timeout", "300"])
    out = capsys.readouterr().out
    assert exit_code == 1, "one submission was not graded"
    assert "3 submissions" in out and "2 graded, 1 invalid" in out
    assert "not_json: invalid: not a valid notebook" in out

    # Scores are in the gradebook as nbgrader autograde puts them: export sees them.
    totals = course.totals()
    assert totals["full"] == 22
    assert totals["untouched"] == 0
    export = course.export_grades(course.root / "grades.csv").read_text()
    assert ",full," in export and ",untouched," in export

    report = (course.root / "reports" / "scores.csv").read_text().splitlines()
    assert report[0] == "student,status,seconds,Part 1,Part 2,Part 3,Part 4,auto,total"
    assert any(line.startswith("full,graded,") and line.endswith(",22.0,22.0") for line in report)
    assert any(line.startswith("not_json,invalid,") for line in report)
    assert (course.root / "reports" / "class_report.png").stat().st_size > 10_000


def test_a_rerun_skips_what_is_graded_and_regrades_a_resubmission(course, capsys):
    full = submissions.solved(course.release_notebook, course.source_notebook)
    hand_in(course, ann=full, bob=full)
    assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
    capsys.readouterr()

    assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
    assert "2 skipped" in capsys.readouterr().out

    hand_in(course, bob=submissions.with_mistakes(full))  # bob resubmits
    assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "1 submissions in" in out and "1 skipped" in out
    assert course.totals()["bob"] == 15

    assert grade.main(["--course", str(course.root), "--students", "ann", "--force"]) == 0
    assert "1 submissions in" in capsys.readouterr().out


def test_a_submission_past_its_time_limit_is_stopped_with_its_kernel(course):
    slow = submissions.solved(course.release_notebook, course.source_notebook)
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


def test_grading_on_a_separate_dask_scheduler_and_workers(course, capsys):
    """A scheduler and two workers started as their own processes, on loopback only."""
    full = submissions.solved(course.release_notebook, course.source_notebook)
    hand_in(course, ann=full, bob=course.release_notebook.read_bytes())
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
        assert totals["ann"] == 22
        assert totals["bob"] == 0
    finally:
        for process in (workers, scheduler):
            grade.kill_tree(process.pid)


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"),
                    reason="needs TEST_POSTGRES_URL (a PostgreSQL server; .ci/run starts one)")
def test_a_postgresql_gradebook_for_concurrent_graders(course, monkeypatch, capsys):
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
        full = submissions.solved(course.release_notebook, course.source_notebook)
        hand_in(course, ann=full, bob=submissions.with_mistakes(full), cy=full)
        assert grade.main(["--course", str(course.root), "--workers", "2"]) == 0
        assert "3 graded" in capsys.readouterr().out
        totals = course.totals()
        assert totals == {"ann": 22, "bob": 15, "cy": 22}
        assert not (course.root / "gradebook.db").exists(), "nothing went to SQLite"
        status = json.loads((course.root / grade.STATUS_FILE).read_text())
        assert {s["status"] for s in status.values()} == {"graded"}
    finally:
        admin.dispose()
        with sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


def test_throughput_class_mixes_kinds_evenly():
    """Every 20 submissions hold the stated mix, and the first ten already mix four kinds."""
    from collections import Counter

    from instructor import throughput

    kinds = throughput.kinds(100)
    for start in range(0, 100, 20):
        assert Counter(kinds[start:start + 20]) == dict(throughput.MIX)
    assert len(set(kinds[:10])) >= 4


def test_each_local_grader_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(grade.os, "cpu_count", lambda: 32)
    assert grade.thread_limits(8)["TF_NUM_INTRAOP_THREADS"] == "4"
    assert grade.thread_limits(64)["OMP_NUM_THREADS"] == "1"


def test_cell_timeout_is_read_from_the_course_config(monkeypatch):
    """The throughput report quotes the limit nbgrader really applies, not a copy of its default."""
    from instructor.course import REPO_ROOT, Course

    monkeypatch.delenv("NBGRADER_CELL_TIMEOUT", raising=False)
    assert Course(REPO_ROOT).cell_timeout() == 60
    monkeypatch.setenv("NBGRADER_CELL_TIMEOUT", "17")
    assert Course(REPO_ROOT).cell_timeout() == 17


def test_peak_memory_sees_a_child_process():
    """instructor.timing's sampler: the peak of a child that holds 200 MiB for a moment."""
    from instructor.timing import PeakMemory

    with PeakMemory(interval=0.05) as memory:
        holder = "import time; block = bytes(range(256)) * (200 * 2**12); time.sleep(1)"
        subprocess.run([sys.executable, "-c", holder], check=True)
    assert 200 * 2**20 <= memory.kernel <= memory.total
