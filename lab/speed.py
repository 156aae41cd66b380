"""Plain ``model.fit`` against a tuned input pipeline, for the same training of the Q3.1 CNN.

    python -m lab.speed                                # every variant, 10,000 images, 3 epochs
    python -m lab.speed --variants plain tuned --epochs 5

Students feed ``model.fit`` the float64 arrays of their ``load_cifar10``; the tuned variants feed
the same images, labels and batch size faster (:func:`fast_dataset`, ``steps_per_execution``,
thread settings, XLA). Each variant trains the notebook's own ``build_convolution_nn`` and
``train_convolution_nn`` in a fresh process (``--worker``), so that one variant's TensorFlow
settings and warmed-up caches cannot speed up the next.

The comparison is merged into ``--out``'s ``benchmark.json`` (key ``speed``) and its section of
the ``README.md`` generated from it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from grader.assignment import REPO_ROOT, TeacherNotebook
from grader.files import read_json, write_json
from utils.data import DATA_DIR_ENV

from .fitting import make_epoch_timer, patched_training
from .machine import data_summary, machine_summary, physical_cores, run_metadata
from .options import add_data_arguments, data_dir_env, positive
from .report import read_results, write_results

PROGRAM = "python -m lab.speed"
LOG = "[speed]"
VARIANTS = ("plain", "tuned", "tuned-threads", "tuned-xla")
DESCRIPTIONS = {
    "plain": "as students do: model.fit(xtrain, ytrain_1hot, batch_size=32) on load_cifar10's arrays",
    "tuned": "float32 arrays, fast_dataset (tf.data, batch 32, prefetch), steps_per_execution={spe}",
    "tuned-threads": "tuned + TensorFlow threads intra_op={intra}, inter_op={inter}",
    "tuned-xla": "tuned + compiled with XLA (jit_compile=True)",
}


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


def worker(variant: str, args) -> dict:
    """Time a few epochs of the Q3.1 CNN, fed *variant*'s way (runs in its own process)."""
    import tensorflow as tf

    threads = None
    if variant == "tuned-threads":  # must happen before TensorFlow runs its first operation
        threads = {"intra_op": args.threads[0], "inter_op": args.threads[1]}
        tf.config.threading.set_intra_op_parallelism_threads(threads["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(threads["inter_op"])
    import keras

    functions = TeacherNotebook(args.notebook).reference_functions()
    keras.utils.set_random_seed(args.seed)
    xtrain, ytrain, _, _ = functions["load_cifar10"]()
    x, y = xtrain[:args.images], ytrain[:args.images]
    model = functions["build_convolution_nn"]()
    timer = make_epoch_timer()
    tuned = variant != "plain"
    seen: dict = {}

    def compile_(arguments):
        if tuned:
            arguments["steps_per_execution"] = args.steps_per_execution
        if variant == "tuned-xla":
            arguments["jit_compile"] = True
        return arguments

    def fit(arguments):
        batch_size = arguments.get("batch_size") or 32
        # The dtypes model.fit is fed: the notebook's arrays (plain), float32 (tuned).
        seen.update(batch_size=batch_size,
                    x_dtype="float32" if tuned else str(np.asarray(arguments["x"]).dtype),
                    y_dtype="float32" if tuned else str(np.asarray(arguments["y"]).dtype))
        common = {"epochs": args.epochs, "verbose": 2, "callbacks": [timer]}
        if tuned:  # the dataset shuffles itself
            return {"x": fast_dataset(arguments["x"], arguments["y"], batch_size),
                    "shuffle": False, **common}
        return {"x": arguments["x"], "y": arguments["y"], "batch_size": batch_size, **common}

    # The notebook's own train function: same loss, optimiser and batch size; the changes only
    # shorten the run to --epochs and, when tuned, feed it faster.
    with patched_training(model, fit=fit, compile=compile_):
        functions["train_convolution_nn"](model, x, y)
    times = [timer.records[e]["train_seconds"] for e in sorted(timer.records)]
    return {
        "variant": variant,
        "description": DESCRIPTIONS[variant].format(
            spe=args.steps_per_execution, intra=args.threads[0], inter=args.threads[1]),
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
    faster than every epoch without them. A few noisy epochs on a shared small machine easily
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
                 "difference is within this machine's noise (rerun with more --epochs).")
    else:
        text += "no measurable gain (under 5 %); leave TensorFlow's defaults."
    return helps, text


def worker_command(variant: str, args, result_path: Path) -> list[str]:
    """The command line that runs :func:`worker` for *variant* in a fresh interpreter."""
    return [sys.executable, "-m", "lab.speed", "--worker", variant, "--result", str(result_path),
            "--notebook", str(Path(args.notebook).resolve()), "--images", str(args.images),
            "--epochs", str(args.epochs), "--steps-per-execution", str(args.steps_per_execution),
            "--threads", *map(str, args.threads), "--seed", str(args.seed)]


def run_speed(args, argv: list[str]) -> dict:
    """Run every variant in a fresh process, one after another; merge into the results."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metadata = run_metadata(argv, args.data_dir, args.data_note, PROGRAM)
    env = dict(os.environ)
    if args.data_dir:
        env[DATA_DIR_ENV] = str(Path(args.data_dir).expanduser().resolve())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    variants = {}
    for variant in args.variants:
        with tempfile.TemporaryDirectory() as tmp:
            result_path = Path(tmp) / "speed.json"
            print(f"{LOG} {variant}: start", flush=True)
            subprocess.run(worker_command(variant, args, result_path), env=env, cwd=REPO_ROOT,
                           check=True)
            variants[variant] = read_json(result_path)
            print(f"{LOG} {variant}: done: "
                  f"{variants[variant]['seconds_per_epoch_median']:.2f} s/epoch", flush=True)

    def ratio(a, b, key="seconds_per_epoch_median"):
        slow, fast = variants.get(a, {}).get(key), variants.get(b, {}).get(key)
        return slow / fast if slow and fast else None

    steady = "seconds_per_epoch_median_after_first"
    speed = {
        "model": "build_convolution_nn + train_convolution_nn's compile settings (Q3.1/3.2)",
        "images": min((v["images"] for v in variants.values()), default=None),
        "epochs": args.epochs,
        "batch_size": next((v.get("batch_size") for v in variants.values()), None),
        "variants": variants,
        "ratio": ratio("plain", "tuned"),
        "ratio_threads": ratio("plain", "tuned-threads"),
        "ratio_after_first": ratio("plain", "tuned", steady),
        "ratio_threads_after_first": ratio("plain", "tuned-threads", steady),
        "ratio_xla": ratio("plain", "tuned-xla"),
        "ratio_xla_after_first": ratio("plain", "tuned-xla", steady),
        "date": metadata["date"], "command": metadata["command"],
        "machine": machine_summary(metadata["machine"]),
        "data": data_summary(metadata),
        "note": "ratio = plain s/epoch / tuned s/epoch (medians); above 1 the tuned input is "
                "faster. *_after_first: the same without the first epoch, which also traces and "
                "compiles the training step.",
    }
    if "tuned" in variants and "tuned-threads" in variants:
        speed["threads_help"], speed["threads_verdict"] = threads_verdict(
            variants["tuned"]["epoch_seconds"], variants["tuned-threads"]["epoch_seconds"],
            tuple(args.threads))
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
    print(f"{LOG} " + (", ".join(summary) or "no ratio (a variant is missing)"), flush=True)
    return speed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Time the Q3.1 CNN fed the plain way and the tuned way, each in its own "
                    "process; merge the comparison into benchmark.json and its README.md.")
    add_data_arguments(parser)
    parser.add_argument("--images", type=positive, default=10000, metavar="N",
                        help="training images (default %(default)s)")
    parser.add_argument("--epochs", type=positive, default=3, metavar="N",
                        help="epochs per variant; the median is reported (default %(default)s)")
    parser.add_argument("--steps-per-execution", type=positive, default=32, metavar="N",
                        help="for the tuned variants (default %(default)s)")
    parser.add_argument("--threads", type=positive, nargs=2, metavar=("INTRA", "INTER"),
                        default=[physical_cores(), 2],
                        help="TensorFlow intra-/inter-op threads of the tuned-threads variant "
                             "(default: physical cores, 2 = %(default)s)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS),
                        metavar="VARIANT", help="of: " + " ".join(VARIANTS) + " (default all)")
    parser.add_argument("--seed", type=int, default=0,
                        help="keras.utils.set_random_seed before training (default 0)")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    with data_dir_env(args.data_dir):
        if args.worker:
            write_json(args.result, worker(args.worker, args))
        else:
            run_speed(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
