"""Run the grading kernel inside a bubblewrap sandbox, so student code only sees its own folder.

nbgrader starts the kernel that runs a student's notebook; during grading that kernel is this
module's kernel spec (``cifar10-sandbox``), which starts the ordinary IPython kernel under
`bubblewrap <https://github.com/containers/bubblewrap>`_ with:

* a file system made of read-only binds of what the kernel needs (the system's ``/usr``, the
  Python environment, the course's ``utils/`` and the data set) plus, writable, the student's own working copy
  in ``autograded/`` and a private ``/tmp``; ``source/``, the gradebook, ``submitted/`` and the
  other students' folders do not exist in there;
* no network (a network namespace of its own), and a cleared environment;
* Python's safe-path mode (``-P``): the working folder is not on ``sys.path``, so a ``utils.py``
  or ``utils/`` handed in with the notebook is never imported in place of the course's helpers;
* limits: address space (``--memory``), and, where this machine lets us create a cgroup, the
  number of processes; time is limited by nbgrader's per-cell timeout and the grader's
  per-submission timeout.

The kernel talks to nbgrader over Unix sockets in a folder private to it (TCP would need the
network), so grading runs nbgrader with :func:`nbgrader_args`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

KERNEL_NAME = "cifar10-sandbox"
UTILS_DIR = Path(__file__).resolve().parent.parent / "utils"
#: Variables the kernel keeps; everything else (database URLs, tokens ...) is dropped.
KEPT_ENV = ("CIFAR10_DIR", "CIFAR10_GRADING_NONCE", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "TF_CPP_MIN_LOG_LEVEL",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
            "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MEMORY_BYTES = int(os.environ.get("GRADING_MEMORY_BYTES", str(6 * 2**30)))
MAX_PROCESSES = int(os.environ.get("GRADING_MAX_PROCESSES", "256"))


def available() -> bool:
    """True where bubblewrap is installed (Debian: apt-get install bubblewrap)."""
    return shutil.which("bwrap") is not None


def install_kernelspec(jupyter_dir: Path) -> Path:
    """Write the sandbox kernel spec under *jupyter_dir*/kernels; point JUPYTER_PATH there."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "grader.sandbox", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "interrupt_mode": "message",  # a SIGINT to the process group would stop bwrap itself
    }, indent=1))
    return jupyter_dir


def nbgrader_args(socket_dir: Path) -> list[str]:
    """The nbgrader options that run the notebook in the sandbox kernel over Unix sockets."""
    return [f"--Execute.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
            f"--KernelManager.ip={socket_dir / 'kernel'}"]


def python_roots() -> list[Path]:
    """The folders the interpreter and its packages live in (the venv and its base Python)."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    return sorted(roots)


def bwrap_command(workdir: Path, connection_file: Path, inner: list[str]) -> list[str]:
    """The bubblewrap command line that runs *inner* in *workdir* inside the sandbox.

    The kernel sees its connection file (read-only) and the folder of its Unix sockets, which
    the grader makes private to this one kernel (``--KernelManager.ip=<private folder>/kernel``).
    """
    connection = json.loads(connection_file.read_text())
    if connection.get("transport") != "ipc" or not os.path.isabs(connection.get("ip", "")):
        raise SystemExit("the grading sandbox needs --KernelManager.transport=ipc and an absolute "
                         "--KernelManager.ip (its network is cut off)")
    socket_dir = Path(connection["ip"]).parent
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--uid", "65534", "--gid", "65534",
               "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for name in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/{name}").is_symlink():
            command += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif Path(f"/{name}").is_dir():
            command += ["--ro-bind", f"/{name}", f"/{name}"]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/ssl"):
        if Path(path).exists():
            command += ["--ro-bind", path, path]
    readonly = python_roots()
    if os.environ.get("CIFAR10_DIR"):
        readonly.append(Path(os.environ["CIFAR10_DIR"]).expanduser().resolve())
    for path in readonly:
        command += ["--ro-bind", str(path), str(path)]
    # The course's helpers, at their real place (where the installed package finds them) and
    # at the course folder's link to them.
    for place in sorted({UTILS_DIR.resolve(), UTILS_DIR}):
        command += ["--ro-bind", str(UTILS_DIR.resolve()), str(place)]
    command += ["--ro-bind", str(connection_file), str(connection_file),
                "--bind", str(socket_dir), str(socket_dir),
                "--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--clearenv"]
    env = {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp", "PYTHONNOUSERSITE": "1",
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    env.update({k: os.environ[k] for k in KEPT_ENV if k in os.environ})
    for key, value in sorted(env.items()):
        command += ["--setenv", key, value]
    limits = ["prlimit", f"--as={MEMORY_BYTES}", "--core=0", "--"]
    return command + ["--"] + limits + inner


CGROUP_BASES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


def make_process_cgroup() -> Path | None:
    """A fresh cgroup limited to MAX_PROCESSES processes, or None where none can be made.

    Uses cgroup v1's pids controller or cgroup v2, where this user may create cgroups; elsewhere
    the process limit is left to the machine (the time limits still hold).
    """
    name = f"cifar10-grading/{uuid.uuid4().hex[:12]}"
    for base in CGROUP_BASES:
        group = base / name
        try:
            group.mkdir(parents=True)
            (group / "pids.max").write_text(str(MAX_PROCESSES))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def process_limit_available() -> bool:
    """True where sandboxes get a process limit (see make_process_cgroup)."""
    group = make_process_cgroup()
    if group is None:
        return False
    group.rmdir()
    return True


def join_process_cgroup() -> Path | None:
    """Put this process (and so the sandbox it becomes) in a fresh process-limited cgroup."""
    group = make_process_cgroup()
    if group is not None:
        (group / "cgroup.procs").write_text(str(os.getpid()))
    return group


def remove_empty_cgroups() -> None:
    """Remove the finished sandboxes' cgroups (a cgroup can only be removed once it is empty)."""
    for base in CGROUP_BASES:
        for group in (base / "cifar10-grading").glob("*"):
            try:
                group.rmdir()
            except OSError:
                pass


def main() -> None:
    """Kernel spec entry point: ``python -m grader.sandbox CONNECTION_FILE [KERNEL OPTIONS]``
    (cwd: the workdir); the options go on to the IPython kernel."""
    connection_file = Path(sys.argv[1]).resolve()
    join_process_cgroup()
    # -P: the submission's folder is not on sys.path, so files handed in beside the notebook
    # (a utils.py, a keras/ folder) can never stand in for the course's or the libraries' code.
    inner = [sys.executable, "-P", "-m", "ipykernel_launcher", "-f", str(connection_file),
             *sys.argv[2:]]
    command = bwrap_command(Path.cwd(), connection_file, inner)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
