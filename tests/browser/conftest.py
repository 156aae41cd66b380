"""A shared teaching server on this machine, for the browser tests: an exchange folder, the
instructor's course with a JupyterLab server of its own, a student who is a separate Unix user
with their own JupyterLab server, and headless Chromium.

It needs what a real shared server needs: root (to add the student's account and run a server as
them), Debian's ``chromium`` and util-linux's ``runuser``. Without them the tests are skipped.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.assignment import ASSIGNMENT, COURSE_ID, REPO_ROOT
from grader.course import Course

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
STUDENT = "cifar10-student"
#: Where the screenshots of the flows go (kept by CI as test artefacts).
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server on loopback, started by the test and stopped after it."""

    process: subprocess.Popen
    port: int
    token: str
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def wait_until_up(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def start_lab(jupyter: Path, root_dir: Path, env: dict, log: Path, user: str | None = None
              ) -> LabServer:
    port, token = free_port(), secrets.token_hex(16)
    command = [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root_dir}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if user:
        command = [RUNUSER, "-u", user, "--", "env", *(f"{k}={v}" for k, v in env.items()),
                   *command]
    elif os.geteuid() == 0:
        command.append("--allow-root")
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(process, port, token, log)
    server.wait_until_up()
    return server


@dataclass
class Classroom:
    course: Course
    exchange: Path
    student_home: Path
    student_name: str
    instructor: LabServer
    student: LabServer

    def scores(self) -> dict[str, dict]:
        return self.course.scores().get(self.student_name, {})

    def automatic_points(self) -> float:
        return sum(c["score"] for c in self.scores().values() if not c["needs_manual"])

    def total_score(self) -> float:
        return sum(c["score"] for c in self.scores().values())

    @staticmethod
    def requests_leaving_loopback(*pages) -> list[str]:
        """A list that fills with every request these pages make to anywhere but this machine."""
        outside: list[str] = []
        for page in pages:
            page.context.on("request", lambda r: None if r.url.startswith(
                ("http://127.0.0.1", "data:", "blob:", "about:")) else outside.append(r.url))
        return outside


def quiet_lab_settings(home: Path) -> None:
    """JupyterLab settings of a fresh account: no prompt about Jupyter's news over the pages."""
    folder = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}\n')


def need(condition: bool, reason: str) -> None:
    if not condition:
        pytest.skip(reason)


def ensure_user(name: str) -> None:
    """A Unix account for the student, without a home of its own (the test gives it one)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True)


@pytest.fixture(scope="module")
def classroom(student_bin):
    need(os.geteuid() == 0, "the browser tests run the student as a second Unix user: needs root")
    need(Path(CHROMIUM).exists(), "the browser tests need Debian's chromium (apt install chromium)")
    need(Path(RUNUSER).exists(), "the browser tests need runuser (util-linux)")
    from utils.data import write_synthetic_cifar10

    ensure_user(STUDENT)
    shared = Path(tempfile.mkdtemp(prefix="cifar10-classroom-"))
    servers: list[LabServer] = []
    try:
        shared.chmod(0o755)
        data = write_synthetic_cifar10(shared / "data", train_per_class=6, test_per_class=2)
        for path in [shared / "data", *(shared / "data").rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        exchange = shared / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)  # nbgrader's exchange: everyone may submit, as on a real server
        course = Course.copy_of(shared / "course")
        instructor_home = shared / "instructor"
        instructor_home.mkdir()
        quiet_lab_settings(instructor_home)

        student_home = shared / "student"
        (student_home / ".jupyter").mkdir(parents=True)
        # The student's only nbgrader setting: where the course's exchange is.
        (student_home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n")
        quiet_lab_settings(student_home)
        subprocess.run(["chown", "-R", f"{STUDENT}:{STUDENT}", str(student_home)], check=True)

        common = {"LANG": "C.UTF-8", "CIFAR10_DIR": str(data), "TF_CPP_MIN_LOG_LEVEL": "2"}
        instructor_env = {**common, "HOME": str(instructor_home), "NBGRADER_EXCHANGE": str(exchange),
                          "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
        student_env = {**common, "HOME": str(student_home), "USER": STUDENT,
                       "PATH": f"{student_bin}:/usr/bin:/bin"}
        servers.append(start_lab(Path(sys.executable).parent / "jupyter", course.root,
                                 instructor_env, shared / "instructor.log"))
        servers.append(start_lab(student_bin / "jupyter", student_home, student_env,
                                 shared / "student.log", user=STUDENT))
        yield Classroom(course, exchange, student_home, STUDENT, *servers)
    finally:
        for server in servers:
            server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in shared.glob("*.log"):
            shutil.copy(log, ARTIFACTS / log.name)
        shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(classroom):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshots():
    """Numbered screenshots of one flow, so that the folder reads as the story of the run."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    count = 0

    def shoot(page, name: str) -> None:
        nonlocal count
        count += 1
        page.screenshot(path=str(ARTIFACTS / f"{count:02d}-{name}.png"))

    return shoot


__all__ = ["ASSIGNMENT", "Classroom"]
