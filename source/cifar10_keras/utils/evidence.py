"""Evidence: what a student's functions returned and did, written down as plain data while a
notebook is graded, so that the grader can judge it after the kernel has exited, in a process
where no student code runs.

A test cell sends its evidence as one output of its own, of the type ``EVIDENCE_MIME``: nbgrader
receives it the moment the cell runs, so nothing the notebook does later can take it back, and
it belongs to that cell alone. Evidence is data, never a verdict: JSON, with arrays as ``.npy``
bytes (read back without pickle). Each grading run gets a fresh random nonce
(``CIFAR10_GRADING_NONCE``), from which the tests derive the seeds of the inputs they give the
student's functions; evidence that does not carry the run's nonce and the cell's grade id is
ignored. Outside grading nothing is sent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os

import numpy as np

NONCE_ENV = "CIFAR10_GRADING_NONCE"
EVIDENCE_MIME = "application/vnd.cifar10-keras.evidence+json"
#: No test's evidence is larger (the tests' data sets are tiny); anything larger is not read.
MAX_ARRAY_BYTES = 8 * 1024 * 1024


def nonce() -> str | None:
    """The nonce of the grading run in progress, or None outside grading."""
    return os.environ.get(NONCE_ENV) or None


def seed(base: int, run_nonce: str | None = None) -> int:
    """The seed of a test's inputs: *base* outside grading, else one drawn from the run's nonce
    (so that no submission can know its grading inputs in advance)."""
    run_nonce = run_nonce if run_nonce is not None else nonce()
    if not run_nonce:
        return base
    digest_ = hashlib.sha256(f"{run_nonce}:{base}".encode()).digest()
    return int.from_bytes(digest_[:4], "little")


def digest(array) -> str:
    """A fingerprint of an array's shape, type and values (to say which data a call was given)."""
    array = np.ascontiguousarray(array)
    return hashlib.sha256(f"{array.shape}{array.dtype.str}".encode() + array.tobytes()).hexdigest()


def plain(value):
    """JSON-safe copy of *value*: numbers, strings, lists and dicts only."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return repr(value)


def _encode(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) > MAX_ARRAY_BYTES:
        raise ValueError("array too large")
    return np.load(io.BytesIO(raw), allow_pickle=False)


def payload(name: str, data: dict, arrays: dict | None, run_nonce: str) -> dict:
    """The evidence of test *name* as one JSON document."""
    encoded = {key: _encode(np.asarray(value)) for key, value in (arrays or {}).items()
               if np.asarray(value).dtype.kind in "fiub"}
    return {"test": name, "nonce": run_nonce, "data": plain(data), "arrays": encoded}


def record(name: str, data: dict, arrays: dict | None = None) -> None:
    """Send the evidence of one test as an output of the running cell, if a notebook is graded."""
    run_nonce = nonce()
    if not run_nonce:
        return
    from IPython.display import display

    display({EVIDENCE_MIME: payload(name, data, arrays, run_nonce)}, raw=True)


def read(document, name: str, run_nonce: str) -> tuple[dict, dict] | None:
    """``(data, arrays)`` from one evidence document, or None if it is not this test's evidence
    from this run, or not plain data."""
    try:
        if not isinstance(document, dict) or document.get("test") != name \
                or document.get("nonce") != run_nonce or not isinstance(document.get("data"), dict):
            return None
        arrays = {str(key): _decode(value) for key, value in (document.get("arrays") or {}).items()}
    except (ValueError, TypeError, AttributeError):
        return None
    return document["data"], arrays


def from_outputs(outputs, name: str, run_nonce: str) -> tuple[dict, dict] | None:
    """The evidence of test *name* among a cell's outputs (the last valid one), or None."""
    found = None
    for output in outputs or []:
        document = (output.get("data") or {}).get(EVIDENCE_MIME)
        found = read(document, name, run_nonce) or found
    return found


def is_evidence(output) -> bool:
    return EVIDENCE_MIME in (output.get("data") or {})
