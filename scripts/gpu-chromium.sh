#!/usr/bin/env bash
# The GPU backend's Chromium leg: spec/backend/gpu/parity.spec.ts bundled with esbuild into a
# page in headless Debian chromium (playwright-core), where gpu.js runs on WebGL2 over
# SwiftShader (--use-angle=swiftshader --enable-unsafe-swiftshader). Where chromium is
# missing it says so and exits 0; with CI=true it fails instead. Measured: ~20 s.
#   bash scripts/gpu-chromium.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
node --import tsx spec/backend/gpu/chromium.ts </dev/null
echo "gpu-chromium: done after $((SECONDS - t0)) s"
