#!/usr/bin/env bash
# Full-size runs on a GPU machine that has Keras on JAX but no TensorFlow: the assignment's three
# models timed with their exact settings, then the optimised model's ablation and width/epoch
# variants on all 50,000 training images, several runs at once on the one GPU (each is small).
# Results land in OUT_DIR: benchmark.json and benchmark.md (lab.benchmark's JSON and README),
# ablation.json and ablation.md (lab.ablation's, merged) and logs.tar.gz (the logs and learning
# curves).
#
#   CIFAR10_DIR=... lab/gpu_runs.sh OUT_DIR SECONDS [PARALLEL [RUNS_FILE]]
#
# SECONDS bounds the whole script; runs still going at the end are stopped and left out. With a
# RUNS_FILE (lines of "VARIANT EPOCHS [more lab.ablation options]") the assignment's models
# are skipped and those runs made instead of the list below.
set -u
out=$1 budget=$2 parallel=${3:-6} runs_file=${4:-}
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
export JAX_DEFAULT_MATMUL_PRECISION=highest  # float32 as on the CPU, not TF32
start=$SECONDS
work=$(mktemp -d)
mkdir -p "$out" "$work/runs" "$work/logs"

python - <<'PY' || exit 1  # fail in seconds, not minutes, if the machine cannot run Keras on JAX
import jax, keras
from grader.assignment import TeacherNotebook
print("keras", keras.__version__, keras.backend.backend(), "jax", jax.__version__, jax.devices())
TeacherNotebook().reference_functions()["build_optimized_cnn"]().summary()
PY

# 1. The assignment's models alone on the GPU, so that their times are clean.
if [ -z "$runs_file" ]; then
timeout $((budget * 35 / 100)) python -m lab.benchmark --models mlp cnn binary --no-curves \
    --out "$work/logs/benchmark" > "$work/logs/benchmark.log" 2>&1
cp "$work/logs/benchmark/benchmark.json" "$out/benchmark.json"
cp "$work/logs/benchmark/README.md" "$out/benchmark.md"
fi

# 2. The optimised model, full size, PARALLEL runs at a time, most wanted first.
default_runs=(
    "recipe 22" "cutout-8 22" "cutout-12 22" "dropout 22" "no-label-smoothing 22" "recipe 26"
    "cutout-8 26" "no-whitening 22" "recipe 22 --seeds 1" "cutout-8 22 --seeds 1" "recipe 18"
    "shift-4 22" "no-augmentation 22" "no-weight-decay 22" "ema 22" "constant-lr 22"
)
left=$((budget - (SECONDS - start) - 30))
export RUNS="$work/runs" LOGS="$work/logs"
{ if [ -n "$runs_file" ]; then grep -v '^ *$' "$runs_file"; else printf '%s\n' "${default_runs[@]}"; fi; } |
    timeout "$left" xargs -P "$parallel" -L 1 sh -c '
        variant=$0 epochs=$1; shift
        tag=$(printf "%s" "$variant-$epochs$*" | tr -c "A-Za-z0-9.-" "_")
        python -m lab.ablation --variants "$variant" --epochs "$epochs" \
            --train-images 50000 "$@" --out "$RUNS/$tag" > "$LOGS/$tag.log" 2>&1'

# 3. One table of every finished run.
python - "$work/runs" "$out/ablation.json" <<'PY'
import sys
from pathlib import Path
from grader.files import read_json, write_json
runs = {}
for path in sorted(Path(sys.argv[1]).glob("*/ablation.json")):
    runs.update(read_json(path)["runs"])
write_json(sys.argv[2], {"runs": runs})
print(len(runs), "runs")
PY
python -m lab.ablation --render-only --out "$out"
nvidia-smi > "$work/logs/nvidia-smi.txt" 2>&1
tar -czf "$out/logs.tar.gz" -C "$work" logs
