"""Results and status files are written whole or not at all."""

from __future__ import annotations

import json

from grader.files import read_json, write_json


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "deeper" / "status.json"
    write_json(path, {"b": 1, "a": [1, 2]}, indent=1, sort_keys=True)
    assert path.read_text() == json.dumps({"a": [1, 2], "b": 1}, indent=1, sort_keys=True) + "\n"
    write_json(path, {"c": 3})
    assert read_json(path) == {"c": 3}
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]


def test_read_json_of_a_missing_file_gives_the_default(tmp_path):
    assert read_json(tmp_path / "none.json", {}) == {}
    assert read_json(tmp_path / "none.json") is None
