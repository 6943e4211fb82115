#!/usr/bin/env bash
# GPU checks for AutoCircuit for .NET, for a Linux x64 machine with an NVIDIA GPU and the .NET 10 SDK.
#   1. builds everything for CUDA, in one of two ways:
#      - default: -p:TorchBackend=cuda (the libtorch-cuda-12.8-linux-x64 NuGet package; needs NuGet access to it,
#        which the CPU-only development machines do not have), or
#      - --pytorch: -p:TorchBackend=none plus AUTOCIRCUIT_LIBTORCH=<the torch/lib folder of the machine's PyTorch>
#        (python3 with a CUDA build of torch; checked with PyTorch 2.11.0+cu130 on an H200),
#   2. runs the device-aware tests (trait Category=Gpu: the micro-model parity tests against auto-circuit's numbers,
#      the fast patch paths against auto-circuit's computation, memory-bounded mode, transformer algorithm oracles, and
#      the CUDA-only tests: CPU vs GPU, engine buffers on the GPU, half-precision buffers, the CLI) with
#      AUTOCIRCUIT_TEST_DEVICE=cuda, and fails if any of them was skipped,
#   3. runs the benchmark on the GPU (float32 and bfloat16 source buffers) and on the CPU for comparison, and prints
#      the ratios.
# Usage: tests/gpu/run-gpu-checks.sh [--pytorch] [bench options, e.g. --shape gpt2 --batch 8 --seq 32]
# Outputs land in artifacts/gpu/ (test results, bench-cuda.json, bench-cuda-bf16.json, bench-cpu.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out="$root/artifacts/gpu"
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
  echo "error: no NVIDIA GPU/driver found (nvidia-smi failed); these checks need one." >&2
  exit 3
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

torch_backend=cuda
if [ "${1:-}" = "--pytorch" ]; then
  shift
  torch_backend=none
  AUTOCIRCUIT_LIBTORCH=$(python3 -c "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))")
  export AUTOCIRCUIT_LIBTORCH
  python3 -c "import torch; print('PyTorch', torch.__version__, 'CUDA', torch.version.cuda, 'available:', torch.cuda.is_available())"
  echo "libtorch from $AUTOCIRCUIT_LIBTORCH"
fi

backend=(-c Release --property:TorchBackend=$torch_backend)
echo "== build (TorchBackend=$torch_backend)"
dotnet build "${backend[@]}"

echo "== device-aware tests on CUDA (Category=Gpu)"
export AUTOCIRCUIT_TEST_DEVICE=${AUTOCIRCUIT_TEST_DEVICE:-cuda}
status=0
for project in tests/AutoCircuit.Host.Tests tests/AutoCircuit.Algorithms.Tests; do
  dotnet test "$project" "${backend[@]}" --no-build --filter "Category=Gpu" \
    --logger "trx;LogFileName=$(basename "$project").trx" --results-directory "$out" || status=1
done
skipped=$(grep -ho 'outcome="NotExecuted"' "$out"/*.trx 2>/dev/null | wc -l || true)
if [ "$skipped" -ne 0 ]; then
  echo "error: $skipped GPU test(s) were skipped: CUDA was not available to libtorch (see the skip reasons above)." >&2
  status=1
fi

echo "== benchmark on CUDA"
tool=(dotnet src/Host/AutoCircuit.Tool/bin/Release/net10.0/dotnet-autocircuit.dll)
"${tool[@]}" bench --device cuda --json "$@" > "$out/bench-cuda.json"
"${tool[@]}" bench --device cuda "$@"
"${tool[@]}" bench --device cuda --patch-buffer-dtype bfloat16 --json "$@" > "$out/bench-cuda-bf16.json"
echo "== benchmark on the CPU of the same machine (for comparison)"
"${tool[@]}" bench --device cpu --json "$@" > "$out/bench-cpu.json"
python3 - "$out/bench-cuda.json" "$out/bench-cuda-bf16.json" "$out/bench-cpu.json" <<'PY' || true
import json, sys
keys = ["patched_forward_over_forward", "mask_gradient_over_2f1b", "acdc_edge_over_forward",
        "evaluate_count_over_forward", "src_buffer_bytes_over_minimum"]
for path in sys.argv[1:]:
    d = json.load(open(path))
    print(path, d["machine"]["device"], d["reference_shape"], d.get("patch_buffer_dtype"), {k: d[k] for k in keys})
PY
echo "results in $out"
exit $status
