#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine (the `device` tool) from the repository root:
#
#   bash scripts/gpu-check.sh        (with .device/payload/sraseg-gpu.tar.xz from scripts/gpu-pack.sh)
#
# It unpacks the payload with Python's tarfile, links its dist/ and node_modules/ into the checkout,
# puts the payload's Node first on PATH and its Debian libraries on the library path where the machine
# lacks them, finds NVIDIA's Vulkan driver (the loader's own search, then the driver's nvidia_icd.json
# under /usr/local/nvidia, then an ICD file written for libEGL_nvidia.so.0 / libGLX_nvidia.so.0;
# OpenGL through NVIDIA's EGL as a last resort), refuses a software adapter, and runs, each step under
# its own timeout (the limits add up to 560 s, the adapter search's 60 included, then the soak's 60 s
# in whatever time is left) and the whole within GPU_CHECK_BUDGET_S (default 510 s) plus the report
# (≤ 20 s), so under 9 minutes:
#   adapter (nvidia-smi, scripts/probe-adapter.mjs --json: info, features, limits, timestamp check),
#   tests (node test/run.mjs on the GPU), unet-step (batch 4 and 24), unet-profile (per-kernel times
#   of one batch-4 step), vit, kernels (engine vs tfjs-webgpu on the same adapter), the PyTorch twins
#   on CUDA with TF32 on and off (the off runs also set NVIDIA_TF32_OVERRIDE=0), kernels-f16 (the
#   kernels with SRASEG_F16=1), soak-stylegan (bench/soak.js at the published 256² × 16, in the time
#   left), and, on a software
#   adapter only unless GPU_CHECK_GPU_KERNELS=1, the tests again with SRASEG_GPU_KERNELS=1.
# Every step prints 'step NAME: ok|fail|timeout|skipped in S s'; no step stops the others.
# $OUT receives summary.txt, results.json, adapter.json, check.log (all steps' output) and
# logs.tar.gz (per-step logs and JSON files); without $OUT they go to .device/out.
#
# Dry run on a machine without a GPU: SRASEG_ALLOW_SOFTWARE=1 GPU_CHECK_QUICK=1 (small sizes, a few
# test files); PyTorch steps are skipped without CUDA unless GPU_CHECK_TORCH_CPU=1 (tiny CPU runs).
# Other knobs: GPU_CHECK_PAYLOAD, GPU_CHECK_WORK (unpack folder, default /tmp/sraseg-gpu),
# GPU_CHECK_PYTHON (default python3), GPU_CHECK_TESTS (test file filters), GPU_CHECK_STEP_SCALE (multiplies
# every step's time limit: a dry run on a busy CPU needs more; raise GPU_CHECK_BUDGET_S with it),
# GPU_CHECK_SKIP=name,name (steps to leave out, e.g. tests on a second call).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
started=$(date +%s)
deadline=$((started + ${GPU_CHECK_BUDGET_S:-510}))
OUT=${OUT:-$repo/.device/out}
work=${GPU_CHECK_WORK:-/tmp/sraseg-gpu}
payload=${GPU_CHECK_PAYLOAD:-$repo/.device/payload/sraseg-gpu.tar.xz}
quick=${GPU_CHECK_QUICK:-0}
PY=${GPU_CHECK_PYTHON:-python3}
logs=$work/logs
res=$work/results
mkdir -p "$OUT" "$work"
rm -rf "$logs" "$res"
mkdir -p "$logs" "$res"
summary=$OUT/summary.txt
combined=$OUT/check.log
: >"$summary"
: >"$combined"

note() { echo "$*" | tee -a "$summary"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# record NAME STATUS SECONDS RC [WHY]
record() {
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$res/steps.tsv"
  note "step $1: $2 in $3 s${5:+ ($5)}"
}

# step NAME BUDGET_S COMMAND… — runs COMMAND under `timeout`, output to logs/NAME.log and check.log.
step() {
  local name=$1 want
  want=$(awk -v w="$2" -v s="${GPU_CHECK_STEP_SCALE:-1}" 'BEGIN {printf "%d", w * s}')
  shift 2
  case ",${GPU_CHECK_SKIP:-}," in *",$name,"*) record "$name" skipped 0 - "GPU_CHECK_SKIP"; return ;; esac
  local left=$((deadline - $(date +%s) - 15))
  local limit=$((want < left ? want : left))
  if [ "$limit" -lt 5 ]; then
    record "$name" skipped 0 - "no time left in the check's budget"
    return
  fi
  local t=$(now) rc status
  timeout -k 10 "$limit" "$@" >"$logs/$name.log" 2>&1
  rc=$?
  case $rc in 0) status=ok ;; 124 | 137) status=timeout ;; *) status=fail ;; esac
  local secs=$(since "$t")
  { echo "=== step $name: $status in $secs s (exit $rc, limit $limit s): $*"; cat "$logs/$name.log"; echo; } >>"$combined"
  record "$name" "$status" "$secs" "$rc" "$([ $status = timeout ] && echo "limit $limit s")"
  [ $status = ok ] || tail -n 6 "$logs/$name.log" | sed "s/^/  $name| /"
}

skip() { record "$1" skipped 0 - "$2"; }

note "gpu-check: $(date -u +%FT%TZ) on $(hostname), budget ${GPU_CHECK_BUDGET_S:-510} s$([ "$quick" = 1 ] && echo ', QUICK (small sizes)')"

# --- unpack ---------------------------------------------------------------------------------------
P=$work/payload
if [ ! -f "$payload" ]; then
  note "gpu-check: no payload at $payload: run 'bash scripts/gpu-pack.sh' where Node is, and carry .device/payload"
fi
step unpack 30 "$PY" -c '
import os, shutil, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
shutil.rmtree(dst, ignore_errors=True)
with tarfile.open(src, "r:xz") as t:
    t.extractall(dst, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
print(open(os.path.join(dst, "MANIFEST.txt")).read())
' "$payload" "$P"

# --- environment: node, the checkout's dist/ and node_modules/, libraries ---------------------------
export PATH="$P/bin:$PATH"
for d in dist node_modules; do
  if [ -L "$repo/$d" ] || [ ! -e "$repo/$d" ]; then
    ln -sfn "$P/$d" "$repo/$d"
  else
    note "gpu-check: $d/ exists in the checkout and is used as it is, not the payload's"
  fi
done
mkdir -p "$work/ld"
rm -f "$work/ld"/*
# Debian's loader and X libraries only where the machine has none of its own (a library that loads
# here is the machine's, and stays).
for so in $("$PY" -c '
import ctypes, os, sys
for f in sorted(os.listdir(sys.argv[1])):
    try:
        ctypes.CDLL(f)
    except OSError:
        print(f)
' "$P/lib/debian" 2>/dev/null); do ln -s "$P/lib/debian/$so" "$work/ld/$so"; done
ldpath="$work/ld"
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && ldpath="$ldpath:$d"; done
export LD_LIBRARY_PATH="$ldpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# dawn.node needs GLIBCXX_3.4.30; an older libstdc++ here gets the payload's.
if ! node -e "require('$P/node_modules/webgpu/dist/linux-x64/dawn.node')" 2>"$logs/dawn-load.err"; then
  export LD_LIBRARY_PATH="$P/lib/stdcxx:$LD_LIBRARY_PATH"
  note "gpu-check: dawn.node did not load with this machine's libraries ($(head -c 200 "$logs/dawn-load.err" | tr '\n' ' ')); using the payload's libstdc++"
fi
note "gpu-check: node $(node --version 2>&1) from $(command -v node); libraries from the payload: $(ls "$work/ld" | tr '\n' ' ')"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
# Every engine process from here on refuses a software adapter (unless SRASEG_ALLOW_SOFTWARE=1).
export SRASEG_REQUIRE_GPU=1

# --- adapter: the NVIDIA Vulkan driver, or a refusal ---------------------------------------------
adapter_t=$(now)
{
  echo "=== nvidia-smi"
  nvidia-smi 2>&1 || echo "(no nvidia-smi here)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
} >"$logs/adapter.log"
gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
note "gpu: ${gpu_line:-no nvidia-smi}"

# Candidates: label and the ICD file to force (empty: the loader's own search).
candidates=()
[ -n "${VK_DRIVER_FILES:-}" ] && candidates+=("given VK_DRIVER_FILES|$VK_DRIVER_FILES")
candidates+=("the loader's default search|")
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$f" ] && candidates+=("the driver's $f|$f")
done
find_lib() { # the first path of a library: the loader's cache, then the driver's folders
  local p
  p=$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}')
  [ -z "$p" ] && p=$(ls /usr/local/nvidia/lib64/"$1" /usr/local/nvidia/lib/"$1" /usr/lib/x86_64-linux-gnu/"$1" 2>/dev/null | head -1)
  echo "$p"
}
for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
  path=$(find_lib "$lib")
  [ -n "$path" ] || continue
  icd="$work/icd-${lib%%.*}.json"
  printf '{ "file_format_version": "1.0.1", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$path" >"$icd"
  candidates+=("an ICD file written for $path|$icd")
done

backend=""
# The whole search has 60 s, the last 20 kept for the OpenGL fallback; an attempt takes seconds.
adapter_end=$(($(date +%s) + 60))
attempt_left() { echo $((adapter_end - ${1:-0} - $(date +%s))); }
attempt_limit() { local l=$(attempt_left "${1:-0}"); echo $((l < 5 ? 5 : l < 40 ? l : 40)); } # never 0: no limit
unset VK_DRIVER_FILES VK_ICD_FILENAMES
for c in "${candidates[@]}"; do
  [ "$(attempt_left 20)" -ge 5 ] || { echo "=== (no time left for $c)" >>"$logs/adapter.log"; continue; }
  label=${c%%|*}
  icd=${c#*|}
  [ -n "$icd" ] && export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
  [ -z "$icd" ] && unset VK_DRIVER_FILES VK_ICD_FILENAMES
  echo "=== Vulkan through $label" >>"$logs/adapter.log"
  if timeout -k 5 "$(attempt_limit 20)" env SRASEG_BACKEND=vulkan SRASEG_VERBOSE_GPU=1 VK_LOADER_DEBUG=error,warn \
    node scripts/probe-adapter.mjs --json >"$res/adapter.json" 2>>"$logs/adapter.log"; then
    backend=vulkan
    note "adapter: Vulkan through $label"
    break
  fi
  tail -n 3 "$logs/adapter.log" | sed 's/^/  probe| /'
done
if [ -z "$backend" ]; then
  unset VK_DRIVER_FILES VK_ICD_FILENAMES
  egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
  echo "=== OpenGL through EGL (last resort: no f16, subgroups or timestamps)" >>"$logs/adapter.log"
  if timeout -k 5 "$(attempt_limit)" env SRASEG_BACKEND=opengl SRASEG_VERBOSE_GPU=1 node scripts/probe-adapter.mjs --json \
    >"$res/adapter.json" 2>>"$logs/adapter.log"; then
    backend=opengl
    note "adapter: no Vulkan driver worked; OpenGL through EGL instead"
  fi
fi
{ echo "=== step adapter"; cat "$logs/adapter.log"; cat "$res/adapter.json" 2>/dev/null; echo; } >>"$combined"
if [ -n "$backend" ]; then
  export SRASEG_BACKEND=$backend
  cp "$res/adapter.json" "$OUT/adapter.json"
  "$PY" scripts/gpu-check-report.py --adapter "$res/adapter.json" 2>&1 | while read -r line; do note "$line"; done
  record adapter ok "$(since "$adapter_t")" 0
else
  record adapter fail "$(since "$adapter_t")" 1 "no GPU adapter; the WebGPU steps will fail with the engine's refusal"
  tail -n 12 "$logs/adapter.log" | sed 's/^/  adapter| /'
fi
software=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["software"]))' "$res/adapter.json" 2>/dev/null || echo 0)

# --- the engine on that adapter --------------------------------------------------------------------
if [ "$quick" = 1 ]; then
  tests=${GPU_CHECK_TESTS:-adapter-policy runtime softmax}
  unet=(--batch 1 --size 64 --steps 1)
  unet_profile=(--batch 1 --size 64 --steps 1 --profile)
  vit=(--batch 1 --size 56 --models vits14)
  kernels=("sum 16M" --min-ms 200)
  torch_unet=(1 --size 64 --steps 1)
  torch_vit=(--batch 1 --no-models)
  soak=(--steps 2 --gan-resolution 16 --gan-batch 4)
else
  tests=${GPU_CHECK_TESTS:-}
  unet=(--batch 4,24)
  unet_profile=(--batch 4 --steps 1 --profile)
  vit=()
  kernels=(--min-ms 500)
  torch_unet=(4 24)
  torch_vit=()
  soak=(--steps 3)
fi
# shellcheck disable=SC2086 # test filters are words
step tests 160 node test/run.mjs $tests
step unet-step 45 node bench/unet-step.js "${unet[@]}"
step unet-profile 25 node bench/unet-step.js "${unet_profile[@]}"
step vit 50 node bench/vit.js "${vit[@]}"
step kernels 50 node bench/kernels.js "${kernels[@]}" --json "$res/kernels.json"

# --- the PyTorch twins -----------------------------------------------------------------------------
if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  step torch-unet-tf32 25 "$PY" bench/pytorch_unet_step.py "${torch_unet[@]}" --cuda --tf32 on --json "$res/torch-unet-tf32.json"
  step torch-unet-fp32 25 env NVIDIA_TF32_OVERRIDE=0 "$PY" bench/pytorch_unet_step.py "${torch_unet[@]}" --cuda --tf32 off --json "$res/torch-unet-fp32.json"
  step torch-vit-tf32 30 "$PY" bench/pytorch_vit.py "${torch_vit[@]}" --cuda --tf32 on --json "$res/torch-vit-tf32.json"
  step torch-vit-fp32 30 env NVIDIA_TF32_OVERRIDE=0 "$PY" bench/pytorch_vit.py "${torch_vit[@]}" --cuda --tf32 off --json "$res/torch-vit-fp32.json"
elif [ "${GPU_CHECK_TORCH_CPU:-0}" = 1 ]; then
  step torch-unet-cpu 60 "$PY" bench/pytorch_unet_step.py "${torch_unet[@]}" --json "$res/torch-unet-cpu.json"
  step torch-vit-cpu 60 "$PY" bench/pytorch_vit.py "${torch_vit[@]}" --json "$res/torch-vit-cpu.json"
else
  for s in torch-unet-tf32 torch-unet-fp32 torch-vit-tf32 torch-vit-fp32; do skip "$s" "this python3's PyTorch sees no CUDA GPU"; done
fi

# --- the kernels with the GEMMs staged in f16 (SRASEG_F16=1, the shader-f16 stretch; after the
# comparisons above, which matter more; without shader-f16 it fails in one line) --------------------
step kernels-f16 30 env SRASEG_F16=1 node bench/kernels.js "${kernels[@]}" --no-tfjs --json "$res/kernels-f16.json"

# --- the published-shape StyleGAN2 soak (256², a minibatch of 16 in one pass: buffers above the
# CPU drivers' 128 MiB bindings; memory flat from step 2), with whatever time is left ---------------
step soak-stylegan 60 node bench/soak.js --only stylegan "${soak[@]}"

# --- the tests again with the GPU kernel variants forced (where that makes a difference) -------------
if ! grep -q SRASEG_GPU_KERNELS dist/index.js 2>/dev/null; then
  skip tests-gpu-kernels "this dist/ has no SRASEG_GPU_KERNELS"
elif [ "$software" = 1 ] || [ "${GPU_CHECK_GPU_KERNELS:-0}" = 1 ]; then
  # shellcheck disable=SC2086
  step tests-gpu-kernels 170 env SRASEG_GPU_KERNELS=1 node test/run.mjs $tests
else
  skip tests-gpu-kernels "a GPU adapter runs the GPU variants already (GPU_CHECK_GPU_KERNELS=1 forces it)"
fi

# --- results -----------------------------------------------------------------------------------------
timeout -k 5 20 "$PY" scripts/gpu-check-report.py "$work" "$OUT" 2>&1 | tee -a "$combined" "$summary"
note "gpu-check: done in $(since "$started") s; files in \$OUT: $(ls "$OUT" | tr '\n' ' ')"
