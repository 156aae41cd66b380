"""Train the assignment's models with the assignment's exact settings and record reference results.

    python -m lab.benchmark                       # all four models on $CIFAR10_DIR
    python -m lab.benchmark --models mlp cnn      # some of them (always run in this order:
                                                  # mlp, cnn, binary, optimized)
    python -m lab.benchmark --data-dir ~/.cache/cifar10-mirror --out results/
    python -m lab.benchmark --limit 500           # smoke test: 500 training images only

The model code is not duplicated here: the teacher notebook's reference functions
(``grader.assignment.TeacherNotebook.reference_functions``) build each model, and the notebook's
own ``train_...`` function trains it unchanged. To measure, that one ``model.fit`` call gets
(:func:`lab.fitting.patched_training`) a timing callback, ``keras.callbacks.BackupAndRestore``
(so an interrupted long run resumes at its last finished epoch) and, with ``--curves`` (default),
a pass over the test set after every epoch for the learning curves. Epoch times exclude that
pass; its cost is recorded separately.

Results go to ``--out`` (default ``results/``): ``benchmark.json`` (all models, merged across
runs), ``README.md`` (generated from the JSON, :mod:`lab.report`) and ``curves_<model>.png``. A
model already in ``benchmark.json`` is skipped unless ``--force``. Figures made with ``--limit``
are marked as such in both files, and never silently replace full-data figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from grader.assignment import MODELS, TeacherNotebook
from grader.files import read_json, write_json
from utils.data import DATA_DIR_ENV

from .curves import save_accuracy_vs_time, save_curves
from .evaluation import tta_accuracies
from .fitting import (fit_batch_size, make_epoch_timer, patched_training, records_from_json,
                      records_to_json, train_optimized, with_callbacks)
from .machine import data_summary, machine_summary, run_metadata
from .options import add_data_arguments, data_dir_env, positive
from .report import read_results, write_results

PROGRAM = "python -m lab.benchmark"
LOG = "[benchmark]"


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


def _resumable_records(out: Path, name: str, fingerprint: dict) -> dict:
    """The epoch records of an interrupted run of the same settings (else none, and no backup)."""
    backup_dir, progress_path = _backup_paths(out, name)
    previous = read_json(progress_path)
    keras_state = backup_dir / "training_metadata.json"  # written by BackupAndRestore
    records = {}
    if previous and previous.get("fingerprint") == fingerprint and keras_state.is_file():
        resume_at = int(read_json(keras_state).get("epoch", 0))
        records = {epoch: record for epoch, record
                   in records_from_json(previous.get("records", [])).items() if epoch < resume_at}
    elif backup_dir.exists() or progress_path.exists():
        print(f"{LOG} {name}: discarding an unusable backup (other settings, or no epoch "
              "finished)", flush=True)
        _clean_backup(out, name)
    backup_dir.parent.mkdir(parents=True, exist_ok=True)
    (backup_dir.parent / ".gitignore").write_text("*\n")
    write_json(progress_path, {"fingerprint": fingerprint, "records": records_to_json(records)})
    return records


def train_model(name: str, functions: dict, data: DataCache, out: Path, *, curves: bool = True,
                optimized_epochs: int | None = None, seed: int = 0, fingerprint: dict | None = None,
                extra_callbacks=()) -> dict:
    """Build and train model *name* with the notebook's functions; return its results entry.

    The notebook's ``train_...`` function runs unchanged; only its ``model.fit`` call gets the
    timing callback, BackupAndRestore (``out/.backup/<name>``), verbose=2 and, with *curves*,
    ``validation_data=(xtest, ytest)``. *extra_callbacks* are appended too (tests use them to
    interrupt a run).
    """
    import keras

    model_spec = MODELS[name]
    loader, build, train = model_spec.loader, model_spec.build, model_spec.train
    xtrain, ytrain, xtest, ytest = data.get(loader)
    backup_dir, progress_path = _backup_paths(out, name)
    fingerprint = {**(fingerprint or {}), "model": name, "train_images": len(xtrain),
                   "test_images": len(xtest), "curves": curves,
                   "optimized_epochs": optimized_epochs if name == "optimized" else None}
    records = _resumable_records(out, name, fingerprint)

    keras.utils.set_random_seed(seed)  # as the notebook's setup cell does
    model = functions[build]()
    records_at_start = bool(records)
    timer = make_epoch_timer(records, progress_path, fingerprint)
    calls: list[dict] = []

    def fit(arguments):
        calls.append({"epochs": arguments.get("epochs"), "batch_size": fit_batch_size(arguments)})
        arguments = with_callbacks(arguments, timer, keras.callbacks.BackupAndRestore(
            backup_dir=str(backup_dir)), *extra_callbacks)
        if curves and arguments.get("validation_data") is None \
                and not arguments.get("validation_split"):
            arguments["validation_data"] = (xtest, ytest)
        return arguments

    first_new = (max(records) + 1) if records else 0
    print(f"{LOG} {name}: start: {build} + {train} on {len(xtrain)} training / {len(xtest)} test "
          f"images" + (f", resuming after epoch {first_new}" if records else ""), flush=True)
    with patched_training(model, fit=fit):
        if name == "optimized":
            train_optimized(functions, model, xtrain, ytrain, optimized_epochs)
        else:
            functions[train](model, xtrain, ytrain)
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
    return {
        "name": name,
        "title": model_spec.title,
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
    notebook = TeacherNotebook(args.notebook)
    functions = notebook.reference_functions()
    needed = dict.fromkeys(f for m in MODELS.values() for f in (m.loader, m.build, m.train))
    missing = [f for f in needed if f not in functions]
    if missing:
        raise SystemExit(f"{notebook.path} does not define {', '.join(missing)}")

    metadata = run_metadata(argv, args.data_dir, args.data_note, PROGRAM)
    data = DataCache(functions, args.limit)
    data_dir = args.data_dir or os.environ.get(DATA_DIR_ENV)
    fingerprint = {"limit": args.limit, "seed": args.seed,
                   "data_dir": str(Path(data_dir).expanduser().resolve()) if data_dir else None,
                   "solutions": notebook.solutions_digest}
    results = read_results(out)
    for name in [name for name in MODELS if name in args.models]:
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
                      "machine": machine_summary(metadata["machine"]),
                      "data": data_summary(metadata)})
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


def _limit(text: str) -> int:
    value = int(text)
    if value < 5:
        raise argparse.ArgumentTypeError("must be at least 5 (N//5 test images are used)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Train the assignment's models with its exact settings and record reference "
                    "results (benchmark.json, README.md, learning curves). The input-speed "
                    "comparison is python -m lab.speed.")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        metavar="MODEL", help="models to run, of: mlp cnn binary optimized "
                        "(default all; they always run in that order)")
    add_data_arguments(parser)
    parser.add_argument("--force", action="store_true",
                        help="rerun models that benchmark.json already holds")
    parser.add_argument("--limit", type=_limit, metavar="N",
                        help="smoke test: only the first N training and N//5 test images "
                             "(marked as such in the results)")
    parser.add_argument("--optimized-epochs", type=positive, metavar="N",
                        help="epochs for the optimised CNN (default: train_optimized_cnn's own)")
    parser.add_argument("--curves", action=argparse.BooleanOptionalAction, default=True,
                        help="evaluate on the test set after every epoch for the learning "
                             "curves (timed separately; default on)")
    parser.add_argument("--seed", type=int, default=0,
                        help="keras.utils.set_random_seed before each model (default 0, as the "
                             "notebook)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    with data_dir_env(args.data_dir):
        run_benchmark(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
