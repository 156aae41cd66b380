"""``python -m utils synthetic OUT_DIR``: write a small synthetic CIFAR-10 for offline practice and tests."""

import argparse

from . import data


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m utils synthetic OUT_DIR [--train-per-class N]``."""
    parser = argparse.ArgumentParser(prog="python -m utils", description="Tools of the course helper library.")
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synthetic", help="write a small synthetic CIFAR-10 in the official format")
    synth.add_argument("out_dir")
    synth.add_argument("--train-per-class", type=int, default=500)
    synth.add_argument("--test-per-class", type=int, default=100)
    synth.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    root = data.write_synthetic_cifar10(args.out_dir, args.train_per_class, args.test_per_class, args.seed)
    print(f"Wrote synthetic CIFAR-10 to {root / data.BATCHES_FOLDER}.\n"
          f"Use it with: export {data.DATA_DIR_ENV}={root}")


if __name__ == "__main__":
    main()
