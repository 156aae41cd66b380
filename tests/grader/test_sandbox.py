"""The grading kernel's sandbox, tested directly: what student code can see, write and reach."""

from __future__ import annotations

import json
import time

import pytest
from jupyter_client.manager import KernelManager

from grader import sandbox
from grader.course import REPO_ROOT

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="needs bubblewrap (.ci/run installs it)")

PROBE = r'''
import json, os, socket
def can(action):
    try:
        action(); return True
    except Exception:
        return False
report = {
    "source": os.path.exists(%(source)r),
    "source_listing": sorted(os.listdir(os.path.dirname(%(source)r)))
                      if os.path.isdir(os.path.dirname(%(source)r)) else [],
    "gradebook": os.path.exists(%(gradebook)r),
    "write_own_folder": can(lambda: open("mine.txt", "w").write("ok")),
    "write_utils": can(lambda: open(%(utils)r + "/x.py", "w").write("")),
    "internet": can(lambda: socket.create_connection(("pypi.org", 443), timeout=3)),
    "secret_env": "NBGRADER_DB_URL" in os.environ,
    "uid": os.getuid(),
    "import_utils": can(lambda: __import__("utils.checks")),
}
print("REPORT" + json.dumps(report))
'''


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(sandbox.install_kernelspec(tmp_path / "jupyter")))
    monkeypatch.setenv("NBGRADER_DB_URL", "postgresql://grader:secret@db/course")
    (tmp_path / "sockets").mkdir()
    (tmp_path / "work").mkdir()
    manager = KernelManager(kernel_name=sandbox.KERNEL_NAME, transport="ipc",
                            ip=str(tmp_path / "sockets" / "kernel"))
    manager.start_kernel(cwd=str(tmp_path / "work"))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield manager, client, tmp_path / "work"
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code: str, timeout: float = 60) -> list[dict]:
    """Execute *code*; return the iopub messages up to the kernel going idle."""
    msg_id = client.execute(code)
    messages, deadline = [], time.time() + timeout
    while time.time() < deadline:
        message = client.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    return messages


def test_student_code_sees_and_reaches_only_its_own_folder(kernel):
    _, client, work = kernel
    out = "".join(m["content"].get("text", "") for m in run(client, PROBE % {
        "source": str(REPO_ROOT / "source" / "cifar10_keras" / "cifar10_keras.ipynb"),
        "gradebook": str(REPO_ROOT / "gradebook.db"),
        "utils": str(REPO_ROOT / "utils")}))
    report = json.loads(out.split("REPORT", 1)[1])
    assert report == {"source": False, "source_listing": ["utils"], "gradebook": False,
                      "write_own_folder": True,
                      "write_utils": False, "internet": False, "secret_env": False,
                      "uid": 65534, "import_utils": True}
    assert (work / "mine.txt").read_text() == "ok"


def test_files_handed_in_beside_the_notebook_never_replace_course_or_library_code(kernel):
    _, client, work = kernel
    (work / "utils.py").write_text("FAKE = True\n")
    (work / "keras").mkdir()
    (work / "keras" / "__init__.py").write_text("FAKE = True\n")
    out = "".join(m["content"].get("text", "") for m in run(client, (
        "import utils, utils.checks, keras\n"
        "print('REPORT', hasattr(utils, 'FAKE'), hasattr(keras, 'FAKE'), utils.checks.__name__)")))
    assert out.split("REPORT", 1)[1].split() == ["False", "False", "utils.checks"]


def test_an_endless_cell_can_be_interrupted(kernel):
    manager, client, _ = kernel
    msg_id = client.execute("while True:\n    pass")
    time.sleep(2)
    manager.interrupt_kernel()
    deadline = time.time() + 30
    while time.time() < deadline:
        message = client.get_iopub_msg(timeout=30)
        if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "error":
            assert message["content"]["ename"] == "KeyboardInterrupt"
            break
    else:
        pytest.fail("no KeyboardInterrupt")
    time.sleep(1)  # ipykernel drops requests that arrive right after an error
    text = "".join(m["content"].get("text", "") for m in run(client, "print(1 + 1)"))
    assert text == "2\n", "the kernel lives on"
