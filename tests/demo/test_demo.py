"""The main job (`make demo`): offline it runs end to end on synthetic data; with no data it stops clearly."""

from __future__ import annotations

import os
import subprocess
import sys

from grader.course import Course


def run_demo(course_root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "demo", "--course", str(course_root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=900)


def test_demo_with_synthetic_data_grades_the_demo_class(tmp_path, points):
    course = Course.copy_of(tmp_path / "course")
    result = run_demo(course.root, "--data", "synthetic")
    assert result.returncode == 0, result.stdout + result.stderr
    table = {line.split()[0]: line.split() for line in result.stdout.splitlines()
             if line.startswith("demo_")}
    of = f"/{points['solved']:g}"
    assert table["demo_full_marks"][5] == f"{points['solved']:g}{of}"      # the auto column
    assert table["demo_two_mistakes"][5] == f"{points['mistakes']:g}{of}"
    assert table["demo_untouched"][5] == f"0{of}"
    assert (course.root / "grades.csv").is_file()
    assert course.feedback_html("demo_full_marks").is_file()


def test_demo_without_data_or_network_names_the_offline_option(tmp_path):
    """No CIFAR10_DIR, an empty Keras cache and no network: a clear message, nothing graded."""
    course = Course.copy_of(tmp_path / "course")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "KERAS_HOME": str(home / ".keras"), "CIFAR10_DIR": "",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    result = run_demo(course.root, env=env)
    assert result.returncode != 0
    assert "DATA=synthetic" in result.stderr and "CIFAR10_DIR" in result.stderr
    assert not (course.root / "gradebook.db").exists()
