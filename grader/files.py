"""Writing results files so that an interrupted run never leaves half a file."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: str | os.PathLike, payload, **dump_options) -> Path:
    """Write *payload* as JSON to *path* atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, **{"indent": 2, **dump_options}) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_json(path: str | os.PathLike, default=None):
    """The JSON in *path*, or *default* when there is no such file."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default
