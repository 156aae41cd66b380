"""Tests of ``python -m lab.throughput``'s synthetic class."""

from __future__ import annotations

from collections import Counter

from lab import throughput


def test_throughput_class_mixes_kinds_evenly():
    """Every 20 submissions hold the stated mix, and the first ten already mix four kinds."""
    kinds = throughput.kinds(100)
    for start in range(0, 100, 20):
        assert Counter(kinds[start:start + 20]) == dict(throughput.MIX)
    assert len(set(kinds[:10])) >= 4


def test_make_class_builds_each_kind_once_and_hands_in_every_submission(monkeypatch):
    built, handed_in = [], {}

    def build(course, kind):
        built.append(kind)
        return f"notebook of kind {kind}"

    class FakeCourse:
        def submit(self, student, notebook):
            handed_in[student] = notebook

    monkeypatch.setattr(throughput.submissions, "build", build)
    throughput.make_class(FakeCourse(), 40)
    assert sorted(built) == sorted(dict(throughput.MIX))
    assert len(handed_in) == 40
    assert all(notebook == f"notebook of kind {student.split('_', 1)[1]}"
               for student, notebook in handed_in.items())
    assert list(handed_in)[:2] == [f"s0000_{throughput.kinds(1)[0]}",
                                   f"s0001_{throughput.kinds(2)[1]}"]
