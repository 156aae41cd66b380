"""Train the assignment's models with the assignment's exact settings and record reference results.

    python -m instructor.benchmark                       # all four models on $CIFAR10_DIR
    python -m instructor.benchmark --models mlp cnn      # some of them (always run in this order:
                                                         # mlp, cnn, binary, optimized)
    python -m instructor.benchmark --data-dir ~/.cache/cifar10-mirror --out results/
    python -m instructor.benchmark --limit 500           # smoke test: 500 training images only
    python -m instructor.benchmark --speed               # plain vs tuned input pipeline, CNN of Q3.1

The model code is not duplicated here: :func:`load_reference_functions` executes the teacher
notebook's solution cells that define functions, and each model is trained by calling the
notebook's own ``train_...`` function unchanged. To measure, the model's ``fit`` is wrapped for
that one call: the wrapper adds a timing callback, ``keras.callbacks.BackupAndRestore`` (so an
interrupted long run resumes at its last finished epoch) and, with ``--curves`` (default), a pass
over the test set after every epoch for the learning curves. Epoch times exclude that pass; its
cost is recorded separately.

Results go to ``--out`` (default ``results/``): ``benchmark.json`` (all models, merged across
runs), ``README.md`` (generated from the JSON) and ``curves_<model>.png``. A model already in
``benchmark.json`` is skipped unless ``--force``. Figures made with ``--limit`` are marked as such
in both files, and never silently replace full-data figures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as _dt
import hashlib
import inspect
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from utils.data import DATA_DIR_ENV

from .course import REPO_ROOT, Course

NOTEBOOK = Course(REPO_ROOT).source_notebook
SCHEMA = 1
LOG = "[benchmark]"

#: The ten functions the students write (and the teacher notebook solves).
REFERENCE_FUNCTIONS = (
    "load_cifar10", "build_multilayer_nn", "train_multilayer_nn", "build_convolution_nn",
    "train_convolution_nn", "build_optimized_cnn", "train_optimized_cnn", "get_binary_cifar10",
    "build_binary_classifier", "train_binary_classifier",
)

#: Benchmarked models, in the order they always run: name -> (data, build, train, title).
MODELS = {
    "mlp": ("load_cifar10", "build_multilayer_nn", "train_multilayer_nn",
            "One hidden layer (Q2)"),
    "cnn": ("load_cifar10", "build_convolution_nn", "train_convolution_nn",
            "Convolutional network (Q3.1/3.2)"),
    "binary": ("get_binary_cifar10", "build_binary_classifier", "train_binary_classifier",
               "Animal or vehicle, binary CNN (Q4)"),
    "optimized": ("load_cifar10", "build_optimized_cnn", "train_optimized_cnn",
                  "Optimised CNN, instructor's model (Q3.3)"),
}

SPEED_VARIANTS = ("plain", "tuned", "tuned-threads", "tuned-xla")
SPEED_DESCRIPTIONS = {
    "plain": "as students do: model.fit(xtrain, ytrain_1hot, batch_size=32) on load_cifar10's arrays",
    "tuned": "float32 arrays, fast_dataset (tf.data, batch 32, prefetch), steps_per_execution={spe}",
    "tuned-threads": "tuned + TensorFlow threads intra_op={intra}, inter_op={inter}",
    "tuned-xla": "tuned + compiled with XLA (jit_compile=True)",
}


# ---------------------------------------------------------------------------------------------
# The teacher notebook's reference solutions
# ---------------------------------------------------------------------------------------------
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _is_definition_cell(tree: ast.Module) -> bool:
    """True when a cell only defines things (functions, classes, imports; a docstring is fine)."""
    body = [node for node in tree.body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    return (any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in body)
            and all(isinstance(node, _DEFINITIONS) for node in body))


def solution_cells(notebook_path: str | os.PathLike = NOTEBOOK) -> list[tuple[str, str]]:
    """Return ``(grade_id, source)`` of the notebook's solution code cells that define functions.

    Cells whose nbgrader metadata has ``solution: true`` but that also run code at the top level
    (the figure cell ``first_image_of_each_class``, say) are left out.
    """
    notebook = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    cells = []
    for index, cell in enumerate(notebook.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("solution"):
            continue
        source = _cell_source(cell)
        grade_id = meta.get("grade_id", f"cell {index}")
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            raise SyntaxError(f"solution cell {grade_id!r} of {notebook_path} does not parse: "
                              f"{error}") from error
        if _is_definition_cell(tree):
            cells.append((grade_id, source))
    return cells


def load_reference_functions(notebook_path: str | os.PathLike = NOTEBOOK) -> dict:
    """Execute the notebook's function-defining solution cells; return ``{name: function}``.

    They run in a fresh namespace that holds what the notebook's setup cell imports
    (``np``, ``keras``, ``layers``, ``plt``, ``utils``), so the functions behave exactly as in the
    notebook: ``load_cifar10()`` reads ``$CIFAR10_DIR`` through ``utils.load_data()``.
    """
    import keras
    import matplotlib.pyplot as plt
    from keras import layers

    import utils

    namespace = {"__name__": "cifar10_keras_reference", "np": np, "keras": keras,
                 "layers": layers, "plt": plt, "utils": utils}
    preset = set(namespace)
    name = Path(notebook_path).name
    for grade_id, source in solution_cells(notebook_path):
        exec(compile(source, f"<{name}: {grade_id}>", "exec"), namespace)
    return {key: value for key, value in namespace.items()
            if key not in preset and inspect.isfunction(value)}


def _solutions_digest(notebook_path: Path) -> str:
    text = "\n".join(source for _, source in solution_cells(notebook_path))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Faster input for the same training (used by --speed)
# ---------------------------------------------------------------------------------------------
def fast_dataset(x, y, batch_size: int = 32, shuffle: bool = True):
    """Return a ``tf.data.Dataset`` that feeds *x*, *y* to ``model.fit`` faster, same learning.

    What students learn stays unchanged: the same images and labels, the same batch size, a new
    random order every epoch (as ``model.fit`` shuffles numpy arrays), hence the same kind of SGD
    updates. Only the feeding changes:

    * **float32.** Keras computes in float32. ``x / 255.0`` and ``keras.utils.to_categorical``
      give float64 arrays, which are twice the bytes to move and must be converted batch by
      batch; converting once up front removes that work from every step.
    * **Shuffle indices, then gather whole batches.** Only the 8-byte indices are shuffled (a
      fresh permutation each epoch), and each batch is cut from the images with one vectorised
      ``tf.gather`` instead of copying images one by one through a shuffle buffer.
    * **batch(batch_size)**: the students' batch size (32), so each step is the same update.
    * **prefetch(tf.data.AUTOTUNE)**: the next batches are prepared on background threads while
      the current step trains, so the model never waits for its input.

    Pair it with ``model.compile(..., steps_per_execution=16 or 32)``, which runs that many
    training steps in one call of the compiled function: the per-step Python and dispatch
    overhead, large next to the arithmetic of a small model on batches of 32, is paid once per
    group of steps. The updates are the same; only callbacks and the progress line are
    refreshed less often (every group).
    """
    from utils.training import augmented_batches

    # The optimised network's input pipeline with its flips and shifts turned off.
    return augmented_batches(x, y, batch_size, flip=False, shift=0, shuffle=shuffle)


# ---------------------------------------------------------------------------------------------
# Measuring a training run
# ---------------------------------------------------------------------------------------------
def make_epoch_timer(records: dict | None = None, progress_path: Path | None = None,
                     fingerprint: dict | None = None):
    """Return a Keras callback that times every epoch and keeps its logs.

    ``records[epoch]`` gets ``train_seconds`` (the fit time of the epoch *without* the pass over
    the validation data, which Keras brackets with ``on_test_begin``/``on_test_end``),
    ``validation_seconds`` and the epoch's logs. With *progress_path* the records are saved after
    every epoch, so a run resumed by ``BackupAndRestore`` still has the history of its first part.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.records = dict(records or {})
            self._start = self._train_end = self._test_start = None
            self._validation = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            self._train_end = self._test_start = None
            self._validation = 0.0

        def on_test_begin(self, logs=None):
            if self._start is None:  # an evaluate() outside fit
                return
            now = time.perf_counter()
            if self._train_end is None:
                self._train_end = now
            self._test_start = now

        def on_test_end(self, logs=None):
            if self._test_start is not None:
                self._validation += time.perf_counter() - self._test_start
                self._test_start = None

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            logs = {key: float(value) for key, value in (logs or {}).items()}
            validated = any(key.startswith("val_") for key in logs)
            # If Keras ever validated without on_test_begin, the time includes that pass: say so.
            includes_validation = validated and self._train_end is None
            self.records[epoch] = {
                "train_seconds": (self._train_end or now) - self._start,
                "validation_seconds": None if includes_validation or not validated
                else self._validation,
                "includes_validation": includes_validation,
                "logs": logs,
            }
            self._start = None
            if progress_path is not None:
                _write_json(progress_path, {"fingerprint": fingerprint,
                                            "records": _records_to_json(self.records)})

    return EpochTimer()


def _records_to_json(records: dict) -> list:
    return [{"epoch": epoch, **record} for epoch, record in sorted(records.items())]


def _records_from_json(items: list) -> dict:
    return {int(item["epoch"]): {k: v for k, v in item.items() if k != "epoch"} for item in items}


def _bind_fit(original_fit, args, kwargs) -> dict:
    """The arguments of a ``model.fit`` call, by name (defaults filled in)."""
    bound = inspect.signature(original_fit).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _batch_size(fit_arguments: dict) -> int | None:
    """The batch size ``model.fit`` trains with: its argument, a ``PyDataset``'s ``batch_size``,
    or a given ``tf.data`` pipeline's."""
    if fit_arguments.get("batch_size"):
        return int(fit_arguments["batch_size"])
    data = fit_arguments.get("x")
    if isinstance(getattr(data, "batch_size", None), int):  # utils.training.AugmentedBatches
        return data.batch_size
    if not hasattr(data, "element_spec"):  # not a tf.data.Dataset
        return None
    # The size the pipeline batches to (tf.data keeps it on its batching step), else the size of
    # its first batch, which is smaller when there are fewer images than that.
    stage = data
    while stage is not None:
        if getattr(stage, "_batch_size", None) is not None:
            return int(stage._batch_size)
        stage = getattr(stage, "_input_dataset", None)
    return int(next(iter(data.take(1)))[0].shape[0])


@contextlib.contextmanager
def wrapped_fit(model, wrapper_factory):
    """Temporarily replace ``model.fit`` by ``wrapper_factory(original_bound_fit)``."""
    original = model.fit
    model.fit = wrapper_factory(original)
    try:
        yield original
    finally:
        del model.fit


@contextlib.contextmanager
def data_dir_env(data_dir):
    """Set $CIFAR10_DIR for the notebook's loaders while the block runs (if *data_dir* is given)."""
    if data_dir is None:
        yield
        return
    old = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(data_dir)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = old


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: ")) and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value and not value.isdigit():
                    return value
    except OSError:
        pass
    return platform.processor() or "unknown"


def _physical_cores() -> int:
    """Physical cores this process may use (hyper-threads counted once), best effort."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        pairs, physical, core = set(), None, None
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                physical = value.strip()
            elif key == "core id":
                core = value.strip()
            elif not line.strip():
                if core is not None:
                    pairs.add((physical, core))
                physical = core = None
        if core is not None:
            pairs.add((physical, core))
        if pairs:
            return max(1, min(len(pairs), logical or len(pairs)))
    except OSError:
        pass
    return logical or 1


def machine_info() -> dict:
    """Platform, CPU model, cores, load and GPUs of this machine."""
    info = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "physical_cores": _physical_cores(),
    }
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    info["gpus"] = _gpus()
    return info


def _gpus() -> list[str]:
    """The GPUs Keras's backend sees (names as the backend gives them); metadata only."""
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
        if keras.backend.backend() == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        import tensorflow as tf

        return [device.name for device in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - metadata only
        return []


def _backend_versions() -> dict:
    """Keras, its backend and the version of the backend's library (as that library reports it:
    the course installs TensorFlow as the ``tensorflow-cpu`` package)."""
    import importlib

    import keras

    backend = keras.backend.backend()
    try:
        library_version = importlib.import_module(backend).__version__
    except (ImportError, AttributeError):
        library_version = None
    return {"keras": keras.__version__, "keras_backend": backend, backend: library_version}


def _machine_summary(machine: dict) -> str:
    gpus = machine.get("gpus") or []
    text = f"{machine.get('cpu', '?')}, {machine.get('logical_cores', '?')} logical cores"
    return text + (f", GPU: {', '.join(gpus)}" if gpus else ", no GPU")


def run_metadata(argv: list[str], data_dir, data_note: str,
                 program: str = "python -m instructor.benchmark") -> dict:
    """Date, machine, versions, data and the exact command line of this run."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     **_backend_versions()},
        "data": {"dir": Path(data_dir).expanduser().resolve().name if data_dir
                 else "keras default (cache or download)", "note": data_note},
        "command": program + (" " + shlex.join(argv) if argv else ""),
    }


# ---------------------------------------------------------------------------------------------
# Results files
# ---------------------------------------------------------------------------------------------
def _write_json(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_results(out: Path) -> dict:
    """The merged results in *out*/benchmark.json (an empty skeleton if there are none yet)."""
    path = Path(out) / "benchmark.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    results.setdefault("schema", SCHEMA)
    results.setdefault("models", {})
    return results


def write_results(out: Path, results: dict) -> None:
    """Write benchmark.json and the README.md generated from it."""
    out = Path(out)
    results["models"] = {name: results["models"][name]
                         for name in [*MODELS, *sorted(set(results["models"]) - set(MODELS))]
                         if name in results["models"]}
    _write_json(out / "benchmark.json", results)
    (out / "README.md").write_text(render_readme(results), encoding="utf-8")


def _fmt(value, spec: str, missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def render_readme(results: dict) -> str:
    """The Markdown report of *results* (the content of benchmark.json)."""
    models = results.get("models", {})
    meta = results.get("metadata", {})
    lines = ["# Reference results: CIFAR-10 assignment", "",
             "Generated by `python -m instructor.benchmark` from `benchmark.json`; do not edit by "
             "hand. Every model was trained by the teacher notebook's own `build_...`/`train_...` "
             "functions with the assignment's settings, then evaluated on the test set.", ""]
    limited = {name: entry["limit"] for name, entry in models.items() if entry.get("limit")}
    if limited:
        lines += ["> **Smoke-test figures, not reference results:** "
                  + ", ".join(f"`{name}` was trained on only {n} images (`--limit {n}`)"
                              for name, n in limited.items())
                  + ". Rerun without `--limit` for real figures.", ""]
    if models:
        lines += ["| Model | Params | Epochs | s/epoch (median) | Total train time (min) | "
                  "Train acc | Test acc | Test acc, flip TTA | Test acc, multi-crop TTA | "
                  "Test loss |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, entry in models.items():
            label = f"`{name}`: {entry.get('title', name)}"
            if entry.get("limit"):
                label += f" **(limit {entry['limit']}, not a reference figure)**"
            total = entry.get("total_train_seconds")
            lines.append("| " + " | ".join([
                label, _fmt(entry.get("parameters"), ","), _fmt(entry.get("epochs"), "d"),
                _fmt(entry.get("seconds_per_epoch_median"), ".2f"),
                _fmt(None if total is None else total / 60, ".1f"),
                _fmt(entry.get("final_train_accuracy"), ".3f"),
                _fmt(entry.get("test_accuracy"), ".3f"),
                _fmt(entry.get("test_accuracy_flip_tta"), ".3f"),
                _fmt(entry.get("test_accuracy_crop_tta"), ".3f"), _fmt(entry.get("test_loss"), ".3f"),
            ]) + " |")
        lines.append("")
        notes = []
        for name, entry in models.items():
            if entry.get("epoch_times_include_validation"):
                notes.append(f"* `{name}`: epoch times **include** the pass over the test set for "
                             "the learning curve (it could not be timed apart).")
            elif entry.get("curves"):
                notes.append(f"* `{name}`: the learning curve's pass over the test set cost "
                             f"{_fmt(entry.get('validation_seconds_per_epoch_median'), '.2f')} s "
                             "per epoch on top (not included in the times above).")
            if entry.get("resumed_from_epoch"):
                notes.append(f"* `{name}`: interrupted and resumed at epoch "
                             f"{entry['resumed_from_epoch'] + 1} (BackupAndRestore).")
        lines += ["Times are training time only: *s/epoch* is the median over the epochs, *total* "
                  "their sum. Train accuracy and loss are those of the last epoch as Keras reports "
                  "them (running averages in training mode, dropout on). *Flip TTA*: each test "
                  "image's prediction averaged with that of its mirror image. *Multi-crop TTA*: "
                  "averaged over six views, the image and copies shifted one pixel up-left and "
                  "down-right, each also mirrored (half the weight on the unshifted pair; models "
                  "measured before it existed show –).", "", *notes, ""]
        curves = [f"[`{name}`](curves_{name}.png)" for name, entry in models.items()
                  if entry.get("curves_png")]
        if curves:
            lines += ["Learning curves: " + ", ".join(curves) + ".", ""]
        if any(entry.get("history", {}).get("val_accuracy") for entry in models.values()):
            lines += ["Test accuracy against training time, all models: "
                      "[`accuracy_vs_time.png`](accuracy_vs_time.png).", ""]

    speed = results.get("speed")
    if speed:
        lines += _render_speed(speed)

    if meta:
        machine = meta.get("machine", {})
        versions = meta.get("versions", {})
        data = meta.get("data", {})
        lines += ["## Last run", "",
                  f"* Date (UTC): {meta.get('date', '?')}",
                  f"* Machine: {machine.get('platform', '?')}; CPU {machine.get('cpu', '?')}, "
                  f"{machine.get('logical_cores', '?')} logical cores"
                  + (f"; GPU {', '.join(machine['gpus'])}" if machine.get("gpus") else "; no GPU")
                  + (f"; load average at start {machine['load_average']}"
                     if machine.get("load_average") else ""),
                  "* Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
                  f"* Data: `{data.get('dir', '?')}` ({data.get('note', '')})",
                  f"* Command: `{meta.get('command', '?')}`", ""]
        others = {name: entry for name, entry in models.items()
                  if entry.get("date") and entry.get("date") != meta.get("date")}
        if others:
            lines += ["Models measured in earlier runs:", ""]
            lines += [f"* `{name}`: {entry['date']}, {entry.get('machine', '?')}, data "
                      f"{entry.get('data', '?')}, `{entry.get('command', '?')}`"
                      for name, entry in others.items()]
            lines.append("")
    lines += ["## Reproduce", "",
              "```bash",
              "export CIFAR10_DIR=~/.cache/cifar10-mirror   # a folder holding cifar-10-batches-py",
              "python -m instructor.benchmark               # add --force to rerun finished models",
              "python -m instructor.benchmark --speed       # plain vs tuned input pipeline",
              "```", "",
              "An interrupted run resumes where it stopped (finished models are skipped, the "
              "model in training restarts from its last finished epoch).", ""]
    return "\n".join(lines)


def _render_speed(speed: dict) -> list[str]:
    variants = speed.get("variants", {})
    lines = ["## Speed: training the Question 3.1 CNN faster", "",
             f"Seconds per epoch (median of {speed.get('epochs')} epochs) on "
             f"{speed.get('images')} training images, batch size 32, each variant in its own "
             f"process, one after the other. Data: `{speed.get('data', '?')}`; "
             f"{speed.get('machine', '?')}; {speed.get('date', '?')}.", "",
             "| Variant | How | Input dtypes (x, y) | s/epoch (median) | Speed-up vs plain | "
             "s/epoch after the first (median) | Speed-up vs plain | Epoch times (s) |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    plain = variants.get("plain", {})
    for name, variant in variants.items():
        cells = [name, variant.get("description", ""),
                 f"{variant.get('x_dtype', '?')}, {variant.get('y_dtype', '?')}"]
        for key in ("seconds_per_epoch_median", "seconds_per_epoch_median_after_first"):
            value, base = variant.get(key), plain.get(key)
            cells += [_fmt(value, ".2f"), _fmt(base / value if base and value else None, ".2f")]
        cells.append(", ".join(f"{t:.2f}" for t in variant.get("epoch_seconds", [])))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if speed.get("ratio") is not None:
        lines.append(f"Ratio plain ÷ tuned: **{speed['ratio']:.2f}** over all epochs"
                     + (f", **{speed['ratio_after_first']:.2f}** without the first epoch (which "
                        "also traces and compiles the training step)"
                        if speed.get("ratio_after_first") else "")
                     + "; above 1 the tuned input is faster. " + speed.get("threads_verdict", ""))
        lines.append("")
    if speed.get("ratio_xla") is not None:
        lines.append(f"Ratio plain ÷ tuned-xla (the tuned input, and the model compiled with XLA): "
                     f"**{speed['ratio_xla']:.2f}**"
                     + (f", **{speed['ratio_xla_after_first']:.2f}** without the first epoch"
                        if speed.get("ratio_xla_after_first") else "") + ".")
        lines.append("")
    lines += [f"Command: `{speed.get('command', '?')}`", ""]
    return lines


def save_curves(history: dict, path: Path, title: str) -> None:
    """Draw the learning curves (loss and accuracy per epoch) into *path* with utils.plot_history."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils import plot_history

    labels = {"loss": "train loss", "val_loss": "test loss",
              "accuracy": "train accuracy", "val_accuracy": "test accuracy"}
    figure = plot_history({labels.get(key, key): values for key, values in history.items()
                           if values}, title)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def save_accuracy_vs_time(models: dict, path: Path) -> bool:
    """Test accuracy after each epoch against minutes of training so far, one line per model.

    The curve that says what an extra minute of training buys, and where the optimised model
    overtakes the assignment's CNN at equal cost. False when no model has a test curve.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.2))
    drawn = False
    for name, entry in models.items():
        accuracy = entry.get("history", {}).get("val_accuracy") or []
        seconds = entry.get("epoch_seconds") or []
        if not accuracy or len(accuracy) != len(seconds) or entry.get("limit"):
            continue
        minutes = np.cumsum(seconds) / 60
        axis.plot(minutes, accuracy, marker=".", label=f"{name} ({entry.get('epochs')} epochs)")
        drawn = True
    if drawn:
        axis.set(xlabel="training time (minutes, this machine)", ylabel="test accuracy",
                 title="Test accuracy after each epoch against training time")
        axis.grid(alpha=0.3)
        axis.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    plt.close(figure)
    return drawn


# ---------------------------------------------------------------------------------------------
# Training one model
# ---------------------------------------------------------------------------------------------
class DataCache:
    """Load each data set once per run, through the notebook's own loader, cut to --limit."""

    def __init__(self, functions: dict, limit: int | None):
        self.functions, self.limit, self._cache = functions, limit, {}

    def get(self, loader: str):
        if loader not in self._cache:
            if loader == "get_binary_cifar10":  # drop the ten-class copy while the binary one lives
                self._cache.pop("load_cifar10", None)
            else:
                self._cache.pop("get_binary_cifar10", None)
            xtrain, ytrain, xtest, ytest = self.functions[loader]()
            if self.limit:
                n_test = self.limit // 5
                xtrain, ytrain = xtrain[:self.limit], ytrain[:self.limit]
                xtest, ytest = xtest[:n_test], ytest[:n_test]
            self._cache[loader] = (xtrain, ytrain, xtest, ytest)
        return self._cache[loader]


def _backup_paths(out: Path, name: str) -> tuple[Path, Path]:
    root = Path(out) / ".backup"
    return root / name, root / f"{name}.progress.json"


def _clean_backup(out: Path, name: str) -> None:
    backup_dir, progress = _backup_paths(out, name)
    shutil.rmtree(backup_dir, ignore_errors=True)
    progress.unlink(missing_ok=True)
    root = backup_dir.parent
    if root.is_dir() and {p.name for p in root.iterdir()} <= {".gitignore"}:
        shutil.rmtree(root, ignore_errors=True)


def _mean_with_mirror(model, x, batch_size: int):
    return (model.predict(x, batch_size=batch_size, verbose=0)
            + model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2


def _accuracy(probabilities, y) -> float:
    if probabilities.shape[-1] == 1:  # one sigmoid output
        predicted, truth = probabilities[:, 0] > 0.5, np.asarray(y).reshape(-1) > 0.5
    else:
        predicted, truth = probabilities.argmax(-1), np.asarray(y).argmax(-1)
    return float(np.mean(predicted == truth))


def tta_accuracies(model, x, y, batch_size: int = 500) -> tuple[float, float]:
    """Test accuracy with flip and with multi-crop test-time augmentation, as ``(flip, crop)``.

    *Flip*: each image's prediction averaged with that of its mirror image, the one change that
    never alters a CIFAR-10 class. *Multi-crop* (airbench's): half the weight on that pair, half
    on the two copies shifted one pixel up-left and down-right (reflected borders), each also
    mirrored: six views per image. Both cost only passes over the test set, no training, and
    share the unshifted pair.
    """
    x = np.asarray(x, dtype=np.float32)
    unshifted = _mean_with_mirror(model, x, batch_size)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    height, width = x.shape[1:3]
    shifted = [padded[:, :height, :width], padded[:, 2:height + 2, 2:width + 2]]
    six_views = (unshifted / 2 + sum(_mean_with_mirror(model, s, batch_size) for s in shifted)
                 / (2 * len(shifted)))
    return _accuracy(unshifted, y), _accuracy(six_views, y)


def train_model(name: str, functions: dict, data: DataCache, out: Path, *, curves: bool = True,
                optimized_epochs: int | None = None, seed: int = 0, fingerprint: dict | None = None,
                extra_callbacks=()) -> dict:
    """Build and train model *name* with the notebook's functions; return its results entry.

    The notebook's ``train_...`` function runs unchanged; only its ``model.fit`` call is wrapped
    to add the timing callback, BackupAndRestore (``out/.backup/<name>``), verbose=2 and, with
    *curves*, ``validation_data=(xtest, ytest)``. *extra_callbacks* are appended too (tests use
    them to interrupt a run).
    """
    import keras

    loader, build, train, title = MODELS[name]
    xtrain, ytrain, xtest, ytest = data.get(loader)
    backup_dir, progress_path = _backup_paths(out, name)
    fingerprint = {**(fingerprint or {}), "model": name, "train_images": len(xtrain),
                   "test_images": len(xtest), "curves": curves,
                   "optimized_epochs": optimized_epochs if name == "optimized" else None}

    records: dict = {}
    previous = json.loads(progress_path.read_text()) if progress_path.is_file() else None
    keras_state = backup_dir / "training_metadata.json"  # written by BackupAndRestore
    if previous and previous.get("fingerprint") == fingerprint and keras_state.is_file():
        resume_at = int(json.loads(keras_state.read_text()).get("epoch", 0))
        records = {epoch: record for epoch, record
                   in _records_from_json(previous.get("records", [])).items() if epoch < resume_at}
    elif backup_dir.exists() or progress_path.exists():
        print(f"{LOG} {name}: discarding an unusable backup (other settings, or no epoch finished)", flush=True)
        _clean_backup(out, name)
    backup_dir.parent.mkdir(parents=True, exist_ok=True)
    (backup_dir.parent / ".gitignore").write_text("*\n")
    _write_json(progress_path, {"fingerprint": fingerprint, "records": _records_to_json(records)})

    keras.utils.set_random_seed(seed)  # as the notebook's setup cell does
    model = functions[build]()
    records_at_start = bool(records)
    timer = make_epoch_timer(records, progress_path, fingerprint)
    calls: list[dict] = []

    def factory(original_fit):
        def fit(*args, **kwargs):
            arguments = _bind_fit(original_fit, args, kwargs)
            calls.append({"epochs": arguments.get("epochs"),
                          "batch_size": _batch_size(arguments)})
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), timer,
                                   keras.callbacks.BackupAndRestore(backup_dir=str(backup_dir)),
                                   *extra_callbacks]
            kwargs["verbose"] = 2
            if curves and arguments.get("validation_data") is None \
                    and not arguments.get("validation_split"):
                kwargs["validation_data"] = (xtest, ytest)
            return original_fit(*args, **kwargs)
        return fit

    first_new = (max(records) + 1) if records else 0
    print(f"{LOG} {name}: start: {build} + {train} on {len(xtrain)} training / {len(xtest)} test "
          f"images" + (f", resuming after epoch {first_new}" if records else ""), flush=True)
    train_args = (model, xtrain, ytrain)
    train_kwargs = {"epochs": optimized_epochs} if name == "optimized" and optimized_epochs else {}
    with wrapped_fit(model, factory):
        functions[train](*train_args, **train_kwargs)
    if len(calls) != 1:
        raise RuntimeError(f"{train} called model.fit {len(calls)} times; expected once")
    epochs = int(calls[0]["epochs"])
    records = timer.records

    start = time.perf_counter()
    test = model.evaluate(xtest, ytest, verbose=0, return_dict=True)
    evaluation_seconds = time.perf_counter() - start
    tta_accuracy, crop_tta = tta_accuracies(model, xtest, ytest)

    ordered = [records[e] for e in range(epochs) if e in records]
    train_seconds = [r["train_seconds"] for r in ordered]
    validation_seconds = [r["validation_seconds"] for r in ordered
                          if r["validation_seconds"] is not None]
    history = {key: [r["logs"].get(key) for r in ordered]
               for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
    entry = {
        "name": name,
        "title": title,
        "functions": [loader, build, train],
        "parameters": int(model.count_params()),
        "epochs": epochs,
        "batch_size": calls[0]["batch_size"],
        "train_images": len(xtrain),
        "test_images": len(xtest),
        "seconds_per_epoch_median": statistics.median(train_seconds) if train_seconds else None,
        "total_train_seconds": sum(train_seconds),
        "epoch_times_include_validation": any(r["includes_validation"] for r in ordered),
        "curves": curves,
        "validation_seconds_per_epoch_median":
            statistics.median(validation_seconds) if validation_seconds else None,
        "validation_seconds_total": sum(validation_seconds),
        "final_train_accuracy": history["accuracy"][-1] if ordered else None,
        "final_train_loss": history["loss"][-1] if ordered else None,
        "test_loss": float(test["loss"]),
        "test_accuracy": float(test["accuracy"]),
        "test_evaluation_seconds": evaluation_seconds,
        "test_accuracy_flip_tta": tta_accuracy,
        "test_accuracy_crop_tta": crop_tta,
        "history": {key: values for key, values in history.items() if any(
            v is not None for v in values)},
        "epoch_seconds": train_seconds,
        "validation_seconds": validation_seconds,
        "history_complete": len(ordered) == epochs,
        "resumed_from_epoch": first_new if records_at_start else None,
        "seed": seed,
    }
    return entry


# ---------------------------------------------------------------------------------------------
# The benchmark run
# ---------------------------------------------------------------------------------------------
def _should_skip(name: str, existing: dict | None, limit: int | None, force: bool) -> str | None:
    """Why model *name* is skipped (None: run it)."""
    if existing is None or force:
        return None
    if existing.get("limit") == limit:
        return "already in benchmark.json (use --force to rerun it)"
    if not existing.get("limit"):  # full-data figures are never replaced by a --limit run
        return ("benchmark.json holds its full-data figures; --force replaces them with "
                f"--limit {limit} figures")
    return None  # a --limit entry is replaced by a full run, or by another limit


def run_benchmark(args, argv: list[str]) -> dict:
    """Train the chosen models one after another, saving the results after each."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    notebook = Path(args.notebook)
    functions = load_reference_functions(notebook)
    missing = [name for name in REFERENCE_FUNCTIONS if name not in functions]
    if missing:
        raise SystemExit(f"{notebook} does not define {', '.join(missing)}")

    metadata = run_metadata(argv, args.data_dir, args.data_note)
    data = DataCache(functions, args.limit)
    data_dir = args.data_dir or os.environ.get(DATA_DIR_ENV)
    fingerprint = {"limit": args.limit, "seed": args.seed,
                   "data_dir": str(Path(data_dir).expanduser().resolve()) if data_dir else None,
                   "solutions": _solutions_digest(notebook)}
    results = read_results(out)
    chosen = [name for name in MODELS if name in args.models]
    for name in chosen:
        why = _should_skip(name, results["models"].get(name), args.limit, args.force)
        if why:
            print(f"{LOG} {name}: skipped: {why}", flush=True)
            continue
        started = time.perf_counter()
        try:
            entry = train_model(name, functions, data, out, curves=args.curves,
                                optimized_epochs=args.optimized_epochs, seed=args.seed,
                                fingerprint=fingerprint)
        except KeyboardInterrupt:
            print(f"{LOG} {name}: interrupted; run the same command again to resume it at its "
                  f"last finished epoch (backup in {_backup_paths(out, name)[0]})", flush=True)
            raise
        entry.update({"limit": args.limit, "date": metadata["date"],
                      "command": metadata["command"],
                      "machine": _machine_summary(metadata["machine"]),
                      "data": f"{metadata['data']['dir']} ({metadata['data']['note']})"})
        png = out / f"curves_{name}.png"
        title = entry["title"] + (f" (limit {args.limit}, smoke test)" if args.limit else "")
        save_curves(entry["history"], png, title)
        entry["curves_png"] = png.name
        results = read_results(out)  # merge with whatever is there now
        results["models"][name] = entry
        results["metadata"] = metadata
        write_results(out, results)
        save_accuracy_vs_time(results["models"], out / "accuracy_vs_time.png")
        _clean_backup(out, name)
        print(f"{LOG} {name}: done in {(time.perf_counter() - started) / 60:.1f} min: "
              f"{entry['epochs']} epochs, {entry['seconds_per_epoch_median']:.2f} s/epoch, "
              f"train acc {entry['final_train_accuracy']:.3f}, test acc "
              f"{entry['test_accuracy']:.3f}" + (f" [limit {args.limit}]" if args.limit else ""),
              flush=True)
    results = read_results(out)
    if results["models"] or results.get("speed"):
        if "metadata" not in results:
            results["metadata"] = metadata
        write_results(out, results)
    return results


# ---------------------------------------------------------------------------------------------
# --speed: plain vs tuned input, each variant in its own process
# ---------------------------------------------------------------------------------------------
def _default_threads() -> tuple[int, int]:
    return _physical_cores(), 2


def speed_worker(variant: str, args) -> dict:
    """Time a few epochs of the Q3.1 CNN, fed *variant*'s way (runs in its own process)."""
    import tensorflow as tf

    threads = None
    if variant == "tuned-threads":  # must happen before TensorFlow runs its first operation
        threads = {"intra_op": args.speed_threads[0], "inter_op": args.speed_threads[1]}
        tf.config.threading.set_intra_op_parallelism_threads(threads["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(threads["inter_op"])
    import keras

    functions = load_reference_functions(args.notebook)
    keras.utils.set_random_seed(args.seed)
    xtrain, ytrain, _, _ = functions["load_cifar10"]()
    x, y = xtrain[:args.speed_images], ytrain[:args.speed_images]
    model = functions["build_convolution_nn"]()
    timer = make_epoch_timer()
    tuned = variant != "plain"
    seen: dict = {}

    original_compile = model.compile

    def compile_(*a, **k):
        if tuned:
            k["steps_per_execution"] = args.steps_per_execution
        if variant == "tuned-xla":
            k["jit_compile"] = True
        return original_compile(*a, **k)

    def factory(original_fit):
        def fit(*a, **k):
            arguments = _bind_fit(original_fit, a, k)
            batch_size = arguments.get("batch_size") or 32
            # The dtypes model.fit is fed: the notebook's arrays (plain), float32 (tuned).
            seen.update(batch_size=batch_size,
                        x_dtype="float32" if tuned else str(np.asarray(arguments["x"]).dtype),
                        y_dtype="float32" if tuned else str(np.asarray(arguments["y"]).dtype))
            common = {"epochs": args.speed_epochs, "verbose": 2, "callbacks": [timer]}
            if tuned:
                return original_fit(fast_dataset(arguments["x"], arguments["y"], batch_size),
                                    shuffle=False, **common)  # the dataset shuffles itself
            return original_fit(arguments["x"], arguments["y"], batch_size=batch_size, **common)
        return fit

    model.compile = compile_
    try:
        with wrapped_fit(model, factory):
            # The notebook's own train function: same loss, optimiser and batch size; the
            # wrapper only shortens the run to --speed-epochs and, when tuned, feeds it faster.
            functions["train_convolution_nn"](model, x, y)
    finally:
        del model.compile
    times = [timer.records[e]["train_seconds"] for e in sorted(timer.records)]
    return {
        "variant": variant,
        "description": SPEED_DESCRIPTIONS[variant].format(
            spe=args.steps_per_execution, intra=args.speed_threads[0],
            inter=args.speed_threads[1]),
        "images": len(x), "epochs": len(times), **seen,
        "steps_per_execution": args.steps_per_execution if tuned else 1,
        "jit_compile": variant == "tuned-xla",
        "threads": threads or "TensorFlow default",
        "epoch_seconds": times,
        "seconds_per_epoch_median": statistics.median(times),
        # The first epoch also traces and compiles the training step; without it, the steady pace.
        "seconds_per_epoch_median_after_first":
            statistics.median(times[1:]) if len(times) > 1 else None,
        "final_loss": timer.records[max(timer.records)]["logs"].get("loss"),
    }


def threads_verdict(tuned: list[float], threaded: list[float], threads: tuple) -> tuple[bool, str]:
    """Whether the thread settings measurably sped up the tuned variant, and why we say so.

    The first epoch (tracing, compiling) is left out when there are others. "Measurably" asks
    for two things: the medians differ by more than 5 %, and every epoch with the settings was
    faster than every epoch without them. Three noisy epochs on a shared 2-core machine easily
    give a 10 % median difference by chance; two sets of epoch times that do not even overlap
    do not.
    """
    steady = len(tuned) > 1 and len(threaded) > 1
    a, b = (tuned[1:], threaded[1:]) if steady else (tuned, threaded)
    gain = statistics.median(a) / statistics.median(b)
    separated = max(b) < min(a)
    helps = gain > 1.05 and separated
    text = (f"Thread settings (intra_op, inter_op) = {threads} made the tuned variant "
            f"{gain:.2f}× as fast" + (" (epochs after the first)" if steady else "") + ": ")
    if helps:
        text += "they help measurably."
    elif gain > 1.05:
        text += ("not a measurable gain: the epoch times of the two variants overlap, so the "
                 "difference is within this machine's noise (rerun with more --speed-epochs).")
    else:
        text += "no measurable gain (under 5 %); leave TensorFlow's defaults."
    return helps, text


def run_speed(args, argv: list[str]) -> dict:
    """Run every speed variant in a fresh process, one after another; merge into the results."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metadata = run_metadata(argv, args.data_dir, args.data_note)
    env = dict(os.environ)
    if args.data_dir:
        env[DATA_DIR_ENV] = str(Path(args.data_dir).expanduser().resolve())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    variants = {}
    for variant in args.speed_variants:
        with tempfile.TemporaryDirectory() as tmp:
            result_path = Path(tmp) / "speed.json"
            command = [sys.executable, "-m", "instructor.benchmark", "--speed-worker", variant,
                       "--speed-result", str(result_path),
                       "--notebook", str(Path(args.notebook).resolve()),
                       "--speed-images", str(args.speed_images),
                       "--speed-epochs", str(args.speed_epochs),
                       "--steps-per-execution", str(args.steps_per_execution),
                       "--speed-threads", *map(str, args.speed_threads), "--seed", str(args.seed)]
            print(f"{LOG} speed {variant}: start", flush=True)
            subprocess.run(command, env=env, cwd=REPO_ROOT, check=True)
            variants[variant] = json.loads(result_path.read_text())
            print(f"{LOG} speed {variant}: done: "
                  f"{variants[variant]['seconds_per_epoch_median']:.2f} s/epoch", flush=True)

    def median(name, key="seconds_per_epoch_median"):
        return variants.get(name, {}).get(key)

    def ratio(a, b, key="seconds_per_epoch_median"):
        return median(a, key) / median(b, key) if median(a, key) and median(b, key) else None

    steady = "seconds_per_epoch_median_after_first"

    speed = {
        "model": "build_convolution_nn + train_convolution_nn's compile settings (Q3.1/3.2)",
        "images": min((v["images"] for v in variants.values()), default=None),
        "epochs": args.speed_epochs,
        "batch_size": next((v.get("batch_size") for v in variants.values()), None),
        "variants": variants,
        "ratio": ratio("plain", "tuned"),
        "ratio_threads": ratio("plain", "tuned-threads"),
        "ratio_after_first": ratio("plain", "tuned", steady),
        "ratio_threads_after_first": ratio("plain", "tuned-threads", steady),
        "ratio_xla": ratio("plain", "tuned-xla"),
        "ratio_xla_after_first": ratio("plain", "tuned-xla", steady),
        "date": metadata["date"], "command": metadata["command"],
        "machine": _machine_summary(metadata["machine"]),
        "data": f"{metadata['data']['dir']} ({metadata['data']['note']})",
        "note": "ratio = plain s/epoch / tuned s/epoch (medians); above 1 the tuned input is "
                "faster. *_after_first: the same without the first epoch, which also traces and "
                "compiles the training step.",
    }
    if "tuned" in variants and "tuned-threads" in variants:
        speed["threads_help"], speed["threads_verdict"] = threads_verdict(
            variants["tuned"]["epoch_seconds"], variants["tuned-threads"]["epoch_seconds"],
            tuple(args.speed_threads))
    results = read_results(out)
    results["speed"] = speed
    results.setdefault("metadata", metadata)
    write_results(out, results)
    summary = [f"{label} = {speed[k]:.2f}" for label, k in (
        ("plain / tuned", "ratio"), ("after the first epoch", "ratio_after_first"),
        ("plain / tuned-threads", "ratio_threads"),
        ("after the first epoch", "ratio_threads_after_first"),
        ("plain / tuned-xla", "ratio_xla"),
        ("after the first epoch", "ratio_xla_after_first")) if speed.get(k)]
    print(f"{LOG} speed: " + (", ".join(summary) or "no ratio (a variant is missing)"),
          flush=True)
    return speed


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _limit(text: str) -> int:
    value = int(text)
    if value < 5:
        raise argparse.ArgumentTypeError("must be at least 5 (N//5 test images are used)")
    return value


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data-dir, --data-note, --out and --notebook, shared with instructor.ablation."""
    parser.add_argument("--data-dir", help=f"folder holding cifar-10-batches-py "
                        f"(default ${DATA_DIR_ENV}, else Keras's cache or download)")
    parser.add_argument("--data-note", default="CIFAR-10 (JPEG mirror)",
                        help="what the data are, for the report (default: %(default)s)")
    parser.add_argument("--out", default="results", help="results folder (default: %(default)s/)")
    parser.add_argument("--notebook", default=str(NOTEBOOK), help="the teacher notebook")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m instructor.benchmark",
        description="Train the assignment's models with its exact settings and record reference "
                    "results (benchmark.json, README.md, learning curves).")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        metavar="MODEL", help="models to run, of: mlp cnn binary optimized "
                        "(default all; they always run in that order)")
    add_data_arguments(parser)
    parser.add_argument("--force", action="store_true",
                        help="rerun models that benchmark.json already holds")
    parser.add_argument("--limit", type=_limit, metavar="N",
                        help="smoke test: only the first N training and N//5 test images "
                             "(marked as such in the results)")
    parser.add_argument("--optimized-epochs", type=_positive, metavar="N",
                        help="epochs for the optimised CNN (default: train_optimized_cnn's own)")
    parser.add_argument("--curves", action=argparse.BooleanOptionalAction, default=True,
                        help="evaluate on the test set after every epoch for the learning "
                             "curves (timed separately; default on)")
    parser.add_argument("--seed", type=int, default=0,
                        help="keras.utils.set_random_seed before each model (default 0, as the "
                             "notebook)")
    speed = parser.add_argument_group("speed comparison (--speed)")
    speed.add_argument("--speed", action="store_true",
                       help="instead of the models: time the Q3.1 CNN fed the plain way and the "
                            "tuned way, each in its own process")
    speed.add_argument("--speed-images", type=_positive, default=10000, metavar="N",
                       help="training images (default %(default)s)")
    speed.add_argument("--speed-epochs", type=_positive, default=3, metavar="N",
                       help="epochs per variant; the median is reported (default %(default)s)")
    speed.add_argument("--steps-per-execution", type=_positive, default=32, metavar="N",
                       help="for the tuned variants (default %(default)s)")
    speed.add_argument("--speed-threads", type=_positive, nargs=2, metavar=("INTRA", "INTER"),
                       default=list(_default_threads()),
                       help="TensorFlow intra-/inter-op threads of the tuned-threads variant "
                            "(default: physical cores, 2 = %(default)s)")
    speed.add_argument("--speed-variants", nargs="+", choices=SPEED_VARIANTS,
                       default=list(SPEED_VARIANTS), metavar="VARIANT",
                       help="of: " + " ".join(SPEED_VARIANTS) + " (default all)")
    parser.add_argument("--speed-worker", choices=SPEED_VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--speed-result", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    with data_dir_env(Path(args.data_dir).expanduser().resolve() if args.data_dir else None):
        if args.speed_worker:
            result = speed_worker(args.speed_worker, args)
            _write_json(Path(args.speed_result), result)
        elif args.speed:
            run_speed(args, argv)
        else:
            run_benchmark(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
