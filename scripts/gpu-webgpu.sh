#!/usr/bin/env bash
# The GPU backend's WebGPU leg: gpu.js's 'webgpu' mode on Dawn (the `webgpu` npm package,
# a devDependency whose prebuilt binary ships inside the package) over Mesa's OpenGL ES
# driver (llvmpipe), with no display: EGL_PLATFORM=surfaceless. Runs spec/backend/gpu with
# FLUXION_GPU_MODE=webgpu and FLUXION_GPU_REQUIRED=1, so the specs fail rather than skip.
# Debian packages, the minimal set (checked with LD_DEBUG=files on Debian 12): Dawn dlopens
# the unversioned libEGL.so (libegl-dev, which brings libegl1), glvnd then loads Mesa's EGL
# (libegl-mesa0), which runs the swrast/llvmpipe driver (libgl1-mesa-dri). No Vulkan: Dawn
# rejects Debian 12's lavapipe. The memory spec runs 1,000 steps under --expose-gc (it asks
# for a GC every 50 steps: V8 alone collects these small buffer handles only every ~1,600
# steps; the headless-gl leg checks the unforced GCs over 10,000: the count left after each). Measured on the
# 2-core machine: parity ~10–40 s (less with Mesa's shader cache warm), memory ~45 s.
#   bash scripts/gpu-webgpu.sh
#   FLUXION_GPU_STEPS=10000 bash scripts/gpu-webgpu.sh     the memory spec's full length
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
need=()
for p in libegl-dev libegl-mesa0 libgl1-mesa-dri; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "gpu-webgpu: apt-get install ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null)
fi
echo "gpu-webgpu: packages ready after $((SECONDS - t0)) s"
if [ ! -f node_modules/webgpu/package.json ]; then
  echo "gpu-webgpu: node_modules/webgpu is missing (run npm ci: it is a devDependency)" >&2
  exit 1
fi
# Dawn prints two notes about dynamic-offset limits on every device it creates; they are not errors
EGL_PLATFORM=surfaceless FLUXION_GPU_MODE=webgpu FLUXION_GPU_REQUIRED=1 FLUXION_GPU_STEPS="${FLUXION_GPU_STEPS:-1000}" \
  node --expose-gc --import tsx ./node_modules/uvu/bin.js spec/backend/gpu "\.spec\.ts$" --no-color </dev/null \
  2> >(grep -v 'artificially reduced' >&2)
echo "gpu-webgpu: done after $((SECONDS - t0)) s"
