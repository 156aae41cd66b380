"""Tests of the metadata every lab result file carries."""

from __future__ import annotations

from lab import machine


def test_describe_data_tells_synthetic_from_real_by_the_files(data_dir, monkeypatch):
    assert machine.describe_data(data_dir) == "synthetic CIFAR-10"
    monkeypatch.setenv("CIFAR10_DIR", str(data_dir))
    assert machine.describe_data() == "synthetic CIFAR-10"
    monkeypatch.delenv("CIFAR10_DIR")
    assert "Keras" in machine.describe_data()


def test_machine_summary_names_the_cpu_gpus_and_backend():
    cpu = {"cpu": "AMD EPYC", "logical_cores": 2, "gpus": []}
    assert machine.machine_summary(cpu) == "AMD EPYC, 2 logical cores, no GPU"
    gpu = {**cpu, "gpus": ["H200"]}
    assert machine.machine_summary(gpu, {"keras": "3.1", "keras_backend": "jax"}) == \
        "AMD EPYC, 2 logical cores, GPU: H200, Keras 3.1 on jax"


def test_run_metadata_records_the_command_and_the_data(data_dir):
    meta = machine.run_metadata(["--runs", "2", "--out", "a b.json"], data_dir, "note",
                                "python -m lab.timing")
    assert meta["command"] == "python -m lab.timing --runs 2 --out 'a b.json'"
    assert meta["data"] == {"dir": data_dir.name, "note": "note"}
    assert machine.data_summary(meta) == f"{data_dir.name} (note)"
    assert meta["machine"]["logical_cores"] >= 1 and meta["versions"]["keras"]
