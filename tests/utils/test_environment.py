"""The notebook's setup cell: utils.check_environment reports versions and keeps TensorFlow's
start-up notices out of the student's first output, but never a real warning."""

import subprocess
import sys

from grader.assignment import REPO_ROOT

UTILS_PARENT = REPO_ROOT / "source" / "cifar10_keras"


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run *code* in a new interpreter that imports the course's utils, as the notebook does."""
    return subprocess.run([sys.executable, "-c", code], cwd=UTILS_PARENT, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin"})


def test_setup_prints_versions_and_no_startup_notices():
    result = run_python("import utils; utils.check_environment(); import keras")
    assert result.returncode == 0, result.stderr
    assert "keras" in result.stdout and "tensorflow" in result.stdout
    assert result.stderr == ""


def test_real_messages_on_stderr_still_show():
    code = ("import os, utils\n"
            "with utils._without_startup_notices():\n"
            "    os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on.\\n')\n"
            "    os.write(2, b'E0000 something really went wrong\\n')\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "E0000 something really went wrong\n"
