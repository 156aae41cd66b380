"""What each ingredient of the instructor's optimised model (Question 3.3) buys: an ablation.

    python -m lab.ablation                          # every variant, 5,000 training images
    python -m lab.ablation --variants recipe no-augmentation --train-images 10000
    python -m lab.ablation --variants recipe --seeds 1   # the recipe again: the noise
    python -m lab.ablation --variants recipe --learning-rate-scale 2 --weight-decay-scale 5
    python -m lab.ablation --render-only --out results/gpu  # the table again, from JSON

Each variant (:mod:`lab.variants`) trains the teacher notebook's own ``build_optimized_cnn`` and
``train_optimized_cnn`` with exactly one ingredient changed, on the first ``--train-images``
training images, and is tested on the whole test set.

A full-size run of the recipe is long (the optimised model's time is in
``results/benchmark.json`` and ``results/README.md``), so the ablation runs on a part of the
training set (the same epochs, hence proportionally fewer steps); the differences it shows are
what each ingredient buys at that scale. Run the recipe under a second seed to see how large a
difference must be to mean anything.

Results go to ``--out`` (default ``results/``): ``ablation.json`` (every run, merged across
invocations; a run with the same settings is skipped unless ``--force``) and ``ablation.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from grader.assignment import TeacherNotebook
from grader.files import read_json, write_json
from grader.reports import markdown_table

from .evaluation import tta_accuracies
from .fitting import make_epoch_timer, patched_training, train_optimized, with_callbacks
from .machine import data_summary, machine_summary, run_metadata
from .options import add_data_arguments, data_dir_env, positive
from .report import fmt
from .variants import (VARIANTS, Variant, adjusted, augmentation_settings, build_variant,
                       random_first_layer)

PROGRAM = "python -m lab.ablation"
LOG = "[ablation]"


def run_variant(variant: Variant, functions: dict, data, *, epochs: int | None, seed: int) -> dict:
    """Train one variant with the notebook's ``train_optimized_cnn``; return its figures."""
    import keras

    xtrain, ytrain, xtest, ytest = data
    keras.utils.set_random_seed(seed)
    model = build_variant(variant, functions)
    timer = make_epoch_timer()
    with patched_training(model, fit=lambda arguments: with_callbacks(arguments, timer),
                          compile=variant.compile_change), \
            augmentation_settings(variant.name, variant.augmentation), \
            random_first_layer(variant.name, variant.learned_first_layer):
        train_optimized(functions, model, xtrain, ytrain, epochs)
    records = [timer.records[e] for e in sorted(timer.records)]
    test = model.evaluate(xtest, ytest, verbose=0, return_dict=True)
    flip_tta, crop_tta = tta_accuracies(model, xtest, ytest)
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
    return read_json(path, {"runs": {}})


def _table(group: list[dict], baseline: float | None) -> str:
    header = ["Variant", "What changed", "Seed", "Test acc", "Δ", "Flip TTA", "Multi-crop TTA",
              "Train acc", "Train time (s)", "s/epoch (median)"]
    rows = []
    for r in group:
        delta = (f"{r['test_accuracy'] - baseline:+.3f}"
                 if baseline is not None and r["variant"] != "recipe" else "")
        rows.append([f"`{r['variant']}`", r["change"], r["seed"], f"{r['test_accuracy']:.3f}",
                     delta, f"{r['test_accuracy_flip_tta']:.3f}",
                     f"{r['test_accuracy_crop_tta']:.3f}", fmt(r["final_train_accuracy"], ".3f"),
                     f"{r['train_seconds']:.0f}", f"{r['seconds_per_epoch_median']:.1f}"])
    return markdown_table(header, rows, "llrrrrrrrr")


def render_markdown(results: dict) -> str:
    """The ablation table: every run, and its difference from the recipe's mean at its settings."""
    runs = list(results["runs"].values())

    def settings(run):
        return run["train_images"], run["epochs"], run["solutions"], run["data"]

    def position(run):  # a sweep's runs ("recipe+lr×2") after their variant's own
        base = run["variant"].split("+")[0]
        return list(VARIANTS).index(base) if base in VARIANTS else 99, run["variant"], run["seed"]

    lines = [
        "# Ablation: what each ingredient of the optimised model buys",
        "",
        "Generated by `python -m lab.ablation` from `ablation.json`; do not edit by hand. "
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
        group.sort(key=position)
        lines += [f"## {n:,} training images, {epochs} epoch{'s' if epochs != 1 else ''}", "",
                  f"Data: {data}. Notebook solutions `{solutions}`.", "", _table(group, baseline)]
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
              "python -m lab.ablation                         # every variant",
              "python -m lab.ablation --variants recipe --seeds 1 2  # the noise",
              "# full size, several runs at once on a GPU machine with Keras on JAX:",
              "lab/gpu_runs.sh OUT_DIR SECONDS [PARALLEL [RUNS_FILE]]",
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
    notebook = TeacherNotebook(args.notebook)
    functions = notebook.reference_functions()
    metadata = run_metadata(argv, args.data_dir, args.data_note, PROGRAM)
    solutions = notebook.solutions_digest
    xtrain, ytrain, xtest, ytest = functions["load_cifar10"]()
    data = (xtrain[:args.train_images], ytrain[:args.train_images], xtest, ytest)
    data_label = data_summary(metadata)
    machine = machine_summary(metadata["machine"], metadata["versions"])

    results = read_runs(json_path)
    for name in args.variants:
        variant = adjusted(VARIANTS[name], learning_rate_scale=args.learning_rate_scale,
                           weight_decay_scale=args.weight_decay_scale)
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
                       command=metadata["command"], machine=machine)
            results = read_runs(json_path)  # merge with whatever is there now
            results["runs"][key] = run
            write_json(json_path, results)
            md_path.write_text(render_markdown(results))
            print(f"{LOG} {name} (seed {seed}): test acc {run['test_accuracy']:.3f} "
                  f"(flip TTA {run['test_accuracy_flip_tta']:.3f}, multi-crop "
                  f"{run['test_accuracy_crop_tta']:.3f}), train acc "
                  f"{fmt(run['final_train_accuracy'], '.3f')}, "
                  f"{(time.perf_counter() - started) / 60:.1f} min", flush=True)
    if results["runs"]:
        md_path.write_text(render_markdown(results))
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Train the optimised model of Question 3.3 with one ingredient changed at a "
                    "time, on part of CIFAR-10, and tabulate what each ingredient buys.")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        metavar="VARIANT", help="of: " + " ".join(VARIANTS) + " (default all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="keras.utils.set_random_seed for each run (default 0)")
    parser.add_argument("--train-images", type=positive, default=5000, metavar="N",
                        help="the first N training images (default %(default)s); always the "
                             "whole test set")
    parser.add_argument("--epochs", type=positive,
                        help="epochs (default: train_optimized_cnn's own)")
    sweep = parser.add_argument_group("on top of every variant (a sweep)")
    sweep.add_argument("--learning-rate-scale", type=float, default=1.0, metavar="F",
                       help="multiply the optimiser's learning rate (its schedule's) by F")
    sweep.add_argument("--weight-decay-scale", type=float, default=1.0, metavar="F",
                       help="multiply the optimiser's weight decay by F")
    add_data_arguments(parser)
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
    with data_dir_env(args.data_dir):
        run_ablation(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
