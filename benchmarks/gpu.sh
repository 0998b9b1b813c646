#!/usr/bin/env bash
# Train Copernicus and the damped pendulum with KERAS_BACKEND=jax on the device JAX finds (a GPU with
# `pip install -U "jax[cuda12]"`; the CPU otherwise), and print wall time, samples/s and held-out RMS.
#   bash benchmarks/gpu.sh [OUT.json] [--set KEY=VALUE ...]
# The same figures on the CPU: python benchmarks/train_throughput.py --systems copernicus pendulum
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-throughput.json}"
shift || true
export KERAS_BACKEND=jax
python -c 'import jax; print("JAX", jax.__version__, "devices:", jax.devices())'
python benchmarks/train_throughput.py --systems copernicus pendulum --backends jax --json "$out" "$@"
