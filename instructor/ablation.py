"""What each ingredient of the instructor's optimised model (Question 3.3) buys: an ablation.

    python -m instructor.ablation                          # every variant, 5,000 training images
    python -m instructor.ablation --variants recipe no-augmentation --train-images 10000
    python -m instructor.ablation --variants recipe --seeds 1   # the recipe again: the noise
    python -m instructor.ablation --variants recipe --learning-rate-scale 2 --weight-decay-scale 5
    python -m instructor.ablation --render-only --out results/gpu  # the table again, from JSON

Each variant trains the teacher notebook's own ``build_optimized_cnn`` and ``train_optimized_cnn``
with exactly one ingredient changed, on the first ``--train-images`` training images, and is tested
on the whole test set. The change is made from outside, so the notebook's solution stays the one
students see: layers are removed from the built model's configuration (a fresh model is made from
it), and the loss or optimiser handed to ``model.compile`` is swapped for a copy with one setting
changed. ``cutout-8``, ``cutout-12``, ``dropout`` and ``ema`` add an ingredient the recipe does
not use yet.

A full-size run of the recipe takes about 53 minutes on 2 cores, so the ablation runs on a part of
the training set (the same epochs, hence proportionally fewer steps); the differences it shows are
what each ingredient buys at that scale. Run the recipe under a second seed to see how large a
difference must be to mean anything.

Results go to ``--out`` (default ``results/``): ``ablation.json`` (every run, merged across
invocations; a run with the same settings is skipped unless ``--force``) and ``ablation.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from . import benchmark

LOG = "[ablation]"


# ---------------------------------------------------------------------------------------------
# The variants
# ---------------------------------------------------------------------------------------------
def _copy(obj, **changes):
    """A fresh Keras loss or optimiser like *obj*, with some of its settings changed.

    An optimiser's ``exclude_from_weight_decay`` choice is not part of its config; it is carried
    over from Keras's private attributes, as no public API reads it back.
    """
    copy = type(obj).from_config({**obj.get_config(), **changes})
    for excluded in ("_exclude_from_weight_decay", "_exclude_from_weight_decay_pattern"):
        if hasattr(obj, excluded):
            setattr(copy, excluded, getattr(obj, excluded))
    return copy


def _schedule_mean(optimizer) -> float:
    """The learning rate the optimiser's schedule gives on average over its steps."""
    import keras

    config = optimizer.get_config()["learning_rate"]
    if not isinstance(config, dict):
        return float(config)
    schedule = keras.optimizers.schedules.deserialize(config)
    inner = config["config"]
    steps = int(inner.get("decay_steps", 0)) + int(inner.get("warmup_steps") or 0)
    return float(np.mean([float(schedule(step)) for step in range(max(steps, 1))]))


def _no_label_smoothing(compile_kwargs: dict) -> dict:
    return {**compile_kwargs, "loss": _copy(compile_kwargs["loss"], label_smoothing=0.0)}


def _constant_learning_rate(compile_kwargs: dict) -> dict:
    optimizer = compile_kwargs["optimizer"]
    return {**compile_kwargs,
            "optimizer": _copy(optimizer, learning_rate=_schedule_mean(optimizer))}


def _no_weight_decay(compile_kwargs: dict) -> dict:
    return {**compile_kwargs, "optimizer": _copy(compile_kwargs["optimizer"], weight_decay=None)}


def _weight_averaging(compile_kwargs: dict) -> dict:
    return {**compile_kwargs, "optimizer": _copy(compile_kwargs["optimizer"], use_ema=True,
                                                  ema_momentum=0.99)}


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    change: str  # what differs from the recipe, in words
    drop_layers: tuple[str, ...] = ()  # layer classes removed from the built model
    compile_change: Callable[[dict], dict] | None = None
    augmentation: dict | None = None  # settings passed to utils.training.augmented_batches
    learned_first_layer: bool = False  # the patch-whitening layer trained from a random start
    builtin_layers: bool = False  # MaxPooling2D and the augmentation layers in the model, no XLA
    filters: tuple[tuple[int, int], ...] = ()  # (old, new) filter counts of the convolutions
    dropout: float = 0.0  # a Dropout layer of this rate just before the output layer


#: Settings of ``utils.training.augmented_batches`` that turn its flips and shifts off.
NO_AUGMENTATION = {"flip": False, "shift": 0}

VARIANTS = {v.name: v for v in (
    Variant("recipe", "the notebook's model and training, unchanged"),
    Variant("no-augmentation", "no random flips or shifts of the training images",
            augmentation=NO_AUGMENTATION),
    Variant("no-translation", "random flips kept, no random shifts",
            augmentation={"shift": 0}),
    Variant("no-batchnorm", "no batch normalisation (the convolutions get their biases back)",
            drop_layers=("BatchNormalization",)),
    Variant("no-label-smoothing", "plain cross-entropy (label smoothing 0)",
            compile_change=_no_label_smoothing),
    Variant("constant-lr", "no warm-up or cosine decay: the schedule's mean learning rate "
            "throughout", compile_change=_constant_learning_rate),
    Variant("no-weight-decay", "no weight decay", compile_change=_no_weight_decay),
    Variant("shift-4", "random shifts of up to 4 pixels instead of 2",
            augmentation={"shift": 4}),
    Variant("width-1.5x", "blocks 1.5 times as wide: 48, 192, 192 filters instead of 32, 128, 128",
            filters=((32, 48), (128, 192))),
    Variant("width-2x", "blocks twice as wide: 64, 256, 256 filters (airbench's widths)",
            filters=((32, 64), (128, 256))),
    Variant("no-whitening", "the first layer (2 x 2, 24 filters) is an ordinary convolution, "
            "trained from a random start, instead of fixed patch-whitening filters",
            learned_first_layer=True),
    Variant("cutout-8", "added: Cutout, a random 8 x 8 square of each training image painted "
            "grey", augmentation={"cutout": 8}),
    Variant("cutout-12", "added: Cutout, a random 12 x 12 square of each training image painted "
            "grey", augmentation={"cutout": 12}),
    Variant("dropout", "added: dropout (rate 0.3) of the pooled features before the output layer",
            dropout=0.3),
    Variant("ema", "added: the final weights are an exponential moving average (0.99) of the "
            "last steps' weights", compile_change=_weight_averaging),
    Variant("builtin-layers", "the same network written with built-in layers only "
            "(MaxPooling2D; RandomFlip and RandomTranslation inside the model) and trained "
            "without XLA: what the fast form buys in time", builtin_layers=True,
            augmentation=NO_AUGMENTATION,
            compile_change=lambda kwargs: {**kwargs, "jit_compile": False}),
)}


def _scaled_learning_rate(optimizer, factor: float):
    """The optimiser's learning rate (a number or a schedule's config) times *factor*."""
    config = optimizer.get_config()["learning_rate"]
    if not isinstance(config, dict):
        return float(config) * factor
    inner = dict(config["config"])
    for key in ("initial_learning_rate", "warmup_target"):
        if inner.get(key) is not None:
            inner[key] = float(inner[key]) * factor
    return {**config, "config": inner}


def adjusted(variant: Variant, *, learning_rate_scale: float = 1.0,
             weight_decay_scale: float = 1.0, decay_normalization: bool = True) -> Variant:
    """*variant* with the optimiser's learning rate and weight decay scaled, and optionally the
    batch normalisation's scale and offset spared from weight decay: a sweep on top of any
    variant. Unchanged settings give *variant* itself back."""
    if learning_rate_scale == 1 and weight_decay_scale == 1 and decay_normalization:
        return variant
    suffixes, changes = [], []
    if learning_rate_scale != 1:
        suffixes.append(f"lr×{learning_rate_scale:g}")
        changes.append(f"learning rate ×{learning_rate_scale:g}")
    if weight_decay_scale != 1:
        suffixes.append(f"wd×{weight_decay_scale:g}")
        changes.append(f"weight decay ×{weight_decay_scale:g}")
    if not decay_normalization:
        suffixes.append("no-bn-decay")
        changes.append("no weight decay on batch normalisation's scale and offset")

    def compile_change(kwargs: dict) -> dict:
        if variant.compile_change:
            kwargs = variant.compile_change(kwargs)
        optimizer = kwargs["optimizer"]
        decay = optimizer.get_config().get("weight_decay")
        if weight_decay_scale != 1 and not decay:
            raise ValueError(f"{variant.name}: the optimiser has no weight decay to scale")
        optimizer = _copy(optimizer, learning_rate=_scaled_learning_rate(optimizer,
                                                                         learning_rate_scale),
                          weight_decay=decay * weight_decay_scale if decay else decay)
        if not decay_normalization:
            optimizer.exclude_from_weight_decay(var_names=["gamma", "beta"])
        return {**kwargs, "optimizer": optimizer}

    return dataclasses.replace(
        variant, name="+".join([variant.name, *suffixes]),
        change=f"{variant.change}; {', '.join(changes)}", compile_change=compile_change)


def with_builtin_layers(model):
    """A fresh copy of *model* in built-in Keras layers: ``MaxPooling2D`` for ``MaxPooling2x2``,
    and the recipe's flips and shifts as ``RandomFlip``/``RandomTranslation`` at its start."""
    import keras
    from keras import layers

    from utils.training import MaxPooling2x2, augmentation_layers

    if not any(isinstance(layer, MaxPooling2x2) for layer in model.layers):
        raise ValueError("builtin-layers: the model has no MaxPooling2x2 to replace")
    copies = [layers.MaxPooling2D((2, 2)) if isinstance(layer, MaxPooling2x2)
              else type(layer).from_config(layer.get_config()) for layer in model.layers]
    return keras.Sequential([keras.Input(shape=model.input_shape[1:]),
                             *augmentation_layers(model.input_shape[1:3]), *copies])


def build_variant(variant: Variant, functions: dict):
    """The notebook's optimised model with *variant*'s layer changes (rebuilt from its config)."""
    import keras

    model = functions["build_optimized_cnn"]()
    if variant.drop_layers or variant.filters:
        config = model.get_config()
        kept = [layer for layer in config["layers"]
                if layer["class_name"] not in variant.drop_layers]
        if len(kept) == len(config["layers"]) and variant.drop_layers:
            raise ValueError(f"{variant.name}: the model has no {', '.join(variant.drop_layers)}")
        convolutions = [layer["config"] for layer in kept if layer["class_name"] == "Conv2D"]
        if "BatchNormalization" in variant.drop_layers:
            for convolution in convolutions:
                convolution["use_bias"] = True
        widths = dict(variant.filters)
        if widths and not any(c["filters"] in widths for c in convolutions):
            raise ValueError(f"{variant.name}: the model has no convolution with "
                             f"{' or '.join(map(str, widths))} filters")
        for convolution in convolutions:
            convolution["filters"] = widths.get(convolution["filters"], convolution["filters"])
        # Each layer is built afresh for its new input (the saved input shapes may be stale).
        kept = [{key: value for key, value in layer.items() if key != "build_config"}
                for layer in kept]
        model = keras.Sequential.from_config({**config, "layers": kept})
    if variant.builtin_layers:
        model = with_builtin_layers(model)
    if variant.dropout:
        *features, output = model.layers
        model = keras.Sequential([keras.Input(shape=model.input_shape[1:]), *features,
                                  keras.layers.Dropout(variant.dropout), output])
    if variant.learned_first_layer:
        _whitening_layer(model, variant.name).trainable = True
    return model


#: The name of the recipe's patch-whitening layer in ``build_optimized_cnn``.
WHITENING_LAYER = "patch_whitening"


def _whitening_layer(model, name: str):
    try:
        return model.get_layer(WHITENING_LAYER)
    except ValueError:
        raise ValueError(f"{name}: the model has no layer named {WHITENING_LAYER!r}") from None


@contextlib.contextmanager
def _replaced_in_training(attribute: str, replacement: Callable, name: str, purpose: str):
    """While the block runs, ``utils.training.<attribute>`` is *replacement* (called with the
    original first). Raises afterwards if the training never called it, so that a variant cannot
    silently measure the recipe itself."""
    from utils import training

    original = getattr(training, attribute)
    calls = []

    def recorded(*args, **kwargs):
        calls.append(kwargs)
        return replacement(original, *args, **kwargs)

    setattr(training, attribute, recorded)
    try:
        yield
    finally:
        setattr(training, attribute, original)
    if not calls:
        raise ValueError(f"{name}: train_optimized_cnn does not use utils.training.{attribute}, "
                         f"so {purpose} cannot be changed")


def random_first_layer(name: str, active: bool):
    """While the block runs, ``utils.training.patch_whitening`` gives random starting weights
    (Keras's defaults for a ``Conv2D``: Glorot-uniform kernel, zero bias) instead of whitening
    filters."""
    if not active:
        return contextlib.nullcontext()
    import keras

    def random_weights(_original, images, size: int = 2, **_):
        channels = np.shape(images)[-1]
        shape = (size, size, channels, 2 * size * size * channels)
        kernel = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform()(shape))
        return [kernel, np.zeros(shape[-1], np.float32)]

    return _replaced_in_training("patch_whitening", random_weights, name, "its first layer")


def augmentation_settings(name: str, changes: dict | None):
    """While the block runs, ``utils.training.augmented_batches`` gets *changes* as settings.

    The recipe makes its flips and shifts in the input pipeline; this is how a variant turns them
    off without touching the notebook.
    """
    if not changes:
        return contextlib.nullcontext()

    def changed(original, *args, **kwargs):
        return original(*args, **{**kwargs, **changes})

    return _replaced_in_training("augmented_batches", changed, name, "its augmentation")


def run_variant(variant: Variant, functions: dict, data, *, epochs: int | None, seed: int) -> dict:
    """Train one variant with the notebook's ``train_optimized_cnn``; return its figures."""
    import keras

    xtrain, ytrain, xtest, ytest = data
    keras.utils.set_random_seed(seed)
    model = build_variant(variant, functions)
    timer = benchmark.make_epoch_timer()
    original_compile = model.compile

    def compile_(*args, **kwargs):
        if args:
            raise TypeError("the ablation expects model.compile(loss=..., optimizer=...) by name")
        if variant.compile_change:
            kwargs = variant.compile_change(kwargs)
        return original_compile(**kwargs)

    def factory(original_fit):
        def fit(*args, **kwargs):
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), timer]
            kwargs["verbose"] = 2
            return original_fit(*args, **kwargs)
        return fit

    model.compile = compile_
    try:
        with benchmark.wrapped_fit(model, factory), \
                augmentation_settings(variant.name, variant.augmentation), \
                random_first_layer(variant.name, variant.learned_first_layer):
            functions["train_optimized_cnn"](model, xtrain, ytrain,
                                             **({"epochs": epochs} if epochs else {}))
    finally:
        del model.compile
    records = [timer.records[e] for e in sorted(timer.records)]
    test = model.evaluate(xtest, ytest, verbose=0, return_dict=True)
    flip_tta, crop_tta = benchmark.tta_accuracies(model, xtest, ytest)
    seconds = [r["train_seconds"] for r in records]
    return {
        "variant": variant.name,
        "change": variant.change,
        "seed": seed,
        "epochs": len(records),
        "train_images": len(xtrain),
        "test_images": len(xtest),
        "parameters": int(model.count_params()),
        "final_train_accuracy": records[-1]["logs"].get("accuracy"),
        "final_train_loss": records[-1]["logs"].get("loss"),
        "test_loss": float(test["loss"]),
        "test_accuracy": float(test["accuracy"]),
        "test_accuracy_flip_tta": flip_tta,
        "test_accuracy_crop_tta": crop_tta,
        "train_seconds": sum(seconds),
        "seconds_per_epoch_median": statistics.median(seconds),
    }


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
def read_runs(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {"runs": {}}


def render_markdown(results: dict) -> str:
    """The ablation table: every run, and its difference from the recipe's mean at its settings."""
    runs = list(results["runs"].values())

    def settings(run):
        return run["train_images"], run["epochs"], run["solutions"], run["data"]

    lines = [
        "# Ablation: what each ingredient of the optimised model buys",
        "",
        "Generated by `python -m instructor.ablation` from `ablation.json`; do not edit by hand. "
        "Each row trains the teacher notebook's `build_optimized_cnn` + `train_optimized_cnn` "
        "with one thing changed, on the first *N* training images and the whole test set. "
        "*Δ* is the difference in test accuracy from the recipe's mean (same *N*, epochs and "
        "notebook); the spread of the recipe's own runs under different seeds shows how large a Δ "
        "must be to mean anything.",
        "",
    ]
    groups: dict = {}
    for run in runs:
        groups.setdefault(settings(run), []).append(run)
    for (n, epochs, solutions, data), group in sorted(groups.items(), key=lambda kv: kv[0][:2]):
        recipe = [r["test_accuracy"] for r in group if r["variant"] == "recipe"]
        baseline = statistics.mean(recipe) if recipe else None
        order = list(VARIANTS)
        def position(run):  # a sweep's runs ("recipe+lr×2") after their variant's own
            base = run["variant"].split("+")[0]
            return order.index(base) if base in order else 99, run["variant"], run["seed"]

        group.sort(key=position)
        lines += [f"## {n:,} training images, {epochs} epoch{'s' if epochs != 1 else ''}", "",
                  f"Data: {data}. Notebook solutions `{solutions}`.", "",
                  "| Variant | What changed | Seed | Test acc | Δ | Flip TTA | Multi-crop TTA | "
                  "Train acc | Train time (s) | s/epoch (median) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in group:
            delta = (f"{r['test_accuracy'] - baseline:+.3f}"
                     if baseline is not None and r["variant"] != "recipe" else "")
            lines.append(
                f"| `{r['variant']}` | {r['change']} | {r['seed']} | {r['test_accuracy']:.3f} | "
                f"{delta} | {r['test_accuracy_flip_tta']:.3f} | {r['test_accuracy_crop_tta']:.3f}"
                f" | {benchmark._fmt(r['final_train_accuracy'], '.3f')}"
                f" | {r['train_seconds']:.0f} | {r['seconds_per_epoch_median']:.1f} |")
        if len(recipe) > 1:
            lines += ["", f"Recipe over {len(recipe)} seeds: mean {baseline:.3f}, "
                      f"range {min(recipe):.3f}–{max(recipe):.3f}."]
        machines = sorted({r["machine"] for r in group})
        dates = sorted(r["date"][:10] for r in group)
        lines += ["", f"Measured {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "")
                  + f" on {'; '.join(machines)}. Multi-crop TTA: the mean prediction of the image, "
                  "its mirror image and both shifted one pixel up-left and down-right (six views).",
                  ""]
    lines += ["## Reproduce", "", "```bash",
              "export CIFAR10_DIR=~/.cache/cifar10-mirror",
              "python -m instructor.ablation                         # every variant",
              "python -m instructor.ablation --variants recipe --seeds 1 2  # the noise",
              "# full size, several runs at once on a GPU machine with Keras on JAX:",
              "instructor/gpu_runs.sh OUT_DIR SECONDS [PARALLEL [RUNS_FILE]]",
              "```", ""]
    return "\n".join(lines)


def run_key(variant: str, seed: int, train_images: int, epochs: int | None,
            solutions: str) -> str:
    """Where a run is kept in ``ablation.json``: one entry per variant, seed, scale and notebook.

    A changed notebook (its solutions' digest) or another ``--epochs`` adds runs rather than
    overwriting those that earlier tables were made from.
    """
    return (f"{variant}/seed{seed}@{train_images}/{epochs or 'default'}-epochs"
            f"/solutions-{solutions}")


def run_ablation(args, argv: list[str]) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "ablation.json", out / "ablation.md"
    notebook = Path(args.notebook)
    functions = benchmark.load_reference_functions(notebook)
    metadata = benchmark.run_metadata(argv, args.data_dir, args.data_note,
                                      program="python -m instructor.ablation")
    solutions = benchmark._solutions_digest(notebook)
    xtrain, ytrain, xtest, ytest = functions["load_cifar10"]()
    data = (xtrain[:args.train_images], ytrain[:args.train_images], xtest, ytest)
    data_label = f"{metadata['data']['dir']} ({metadata['data']['note']})"
    versions = metadata["versions"]
    machine = (f"{benchmark._machine_summary(metadata['machine'])}, "
               f"Keras {versions['keras']} on {versions['keras_backend']}")

    results = read_runs(json_path)
    for name in args.variants:
        variant = adjusted(VARIANTS[name], learning_rate_scale=args.learning_rate_scale,
                           weight_decay_scale=args.weight_decay_scale,
                           decay_normalization=args.decay_normalization)
        name = variant.name
        for seed in args.seeds:
            # The key holds the variant, seed, scale, epochs and notebook; only the data is left.
            key = run_key(name, seed, len(data[0]), args.epochs, solutions)
            previous = results["runs"].get(key)
            if previous and not args.force and previous.get("data") == data_label:
                print(f"{LOG} {name} (seed {seed}): skipped, already in {json_path} "
                      f"(--force reruns it)", flush=True)
                continue
            print(f"{LOG} {name} (seed {seed}): start on {len(data[0])} training images",
                  flush=True)
            started = time.perf_counter()
            run = run_variant(variant, functions, data, epochs=args.epochs, seed=seed)
            run.update(solutions=solutions, data=data_label, date=metadata["date"],
                       command=metadata["command"],
                       machine=machine)
            results = read_runs(json_path)  # merge with whatever is there now
            results["runs"][key] = run
            benchmark._write_json(json_path, results)
            md_path.write_text(render_markdown(results))
            print(f"{LOG} {name} (seed {seed}): test acc {run['test_accuracy']:.3f} "
                  f"(flip TTA {run['test_accuracy_flip_tta']:.3f}, multi-crop "
                  f"{run['test_accuracy_crop_tta']:.3f}), train acc "
                  f"{benchmark._fmt(run['final_train_accuracy'], '.3f')}, "
                  f"{(time.perf_counter() - started) / 60:.1f} min", flush=True)
    if results["runs"]:
        md_path.write_text(render_markdown(results))
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m instructor.ablation",
        description="Train the optimised model of Question 3.3 with one ingredient changed at a "
                    "time, on part of CIFAR-10, and tabulate what each ingredient buys.")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        metavar="VARIANT", help="of: " + " ".join(VARIANTS) + " (default all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="keras.utils.set_random_seed for each run (default 0)")
    parser.add_argument("--train-images", type=benchmark._positive, default=5000, metavar="N",
                        help="the first N training images (default %(default)s); always the "
                             "whole test set")
    parser.add_argument("--epochs", type=benchmark._positive,
                        help="epochs (default: train_optimized_cnn's own)")
    sweep = parser.add_argument_group("on top of every variant (a sweep)")
    sweep.add_argument("--learning-rate-scale", type=float, default=1.0, metavar="F",
                       help="multiply the optimiser's learning rate (its schedule's) by F")
    sweep.add_argument("--weight-decay-scale", type=float, default=1.0, metavar="F",
                       help="multiply the optimiser's weight decay by F")
    sweep.add_argument("--no-decay-normalization", dest="decay_normalization",
                       action="store_false", help="leave batch normalisation's scale and offset "
                       "out of the weight decay (default: as the recipe does)")
    benchmark.add_data_arguments(parser)
    parser.add_argument("--force", action="store_true", help="rerun runs already recorded")
    parser.add_argument("--render-only", action="store_true",
                        help="train nothing: rewrite ablation.md from --out's ablation.json "
                             "(after merging runs made elsewhere)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.render_only:
        out = Path(args.out)
        results = read_runs(out / "ablation.json")
        if not results["runs"]:
            print(f"{LOG} no runs in {out / 'ablation.json'}", file=sys.stderr)
            return 1
        (out / "ablation.md").write_text(render_markdown(results))
        return 0
    data_dir = Path(args.data_dir).expanduser().resolve() if args.data_dir else None
    with benchmark.data_dir_env(data_dir):
        run_ablation(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
