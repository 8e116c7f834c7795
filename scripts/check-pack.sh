#!/usr/bin/env bash
# Packaging check: build, `npm pack`, install the tarball into a scratch ESM project in a
# temporary directory, then use it there as a consumer would:
#   - plain `node` (no tsx) imports 'fluxion', makes tensors and multiplies them, and runs
#     the JavaScript, WebAssembly and worker-thread variants of gemm and of the elementwise
#     maps from the installed dist/ (the wasm modules and the worker's source are generated
#     at load time);
#   - `tsc --noEmit` type-checks a small TypeScript file against the shipped .d.ts files
#     (strict, skipLibCheck off, no @types/node);
#   - the package's `fluxion-tsc` bin (with the TypeScript the scratch project installs, as a
#     TypeScript project would) passes the README's operator examples that plain `tsc`
#     refuses, and fails on a genuine type error.
# Usage: scripts/check-pack.sh   (from anywhere; needs the project's node_modules)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/fluxion-pack.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$root"

say() { printf 'check-pack: %s\n' "$*"; }

npm run --silent build
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
say "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"

# What the tarball must and must not contain.
tar -tzf "$work/$tarball" | sed 's|^package/||' | sort > "$work/contents"
for f in package.json README.md CHANGELOG.md dist/index.js dist/index.d.ts dist/index.js.map dist/index.d.ts.map src/index.ts; do
  grep -qx "$f" "$work/contents" || { say "missing from the tarball: $f"; exit 1; }
done
if grep -E '^(spec|bench|examples|scripts|\.ci|node_modules)/' "$work/contents"; then
  say "the tarball holds files it should not (above)"; exit 1
fi

# A scratch consumer project. It takes this project's .npmrc, so gl (gpu.js's optional
# native dependency) is installed the same way as here: never built (see .npmrc).
app="$work/app"
mkdir "$app"
cp "$root/.npmrc" "$app/.npmrc"
cat > "$app/package.json" <<'EOF'
{ "name": "fluxion-pack-check", "version": "0.0.0", "private": true, "type": "module" }
EOF
tsversion=$(node -p "require('$root/node_modules/typescript/package.json').version")
(cd "$app" && npm install --no-audit --no-fund --loglevel=error "$work/$tarball" "typescript@$tsversion" >/dev/null)
say "installed into a scratch project (with typescript@$tsversion, for fluxion-tsc)"

cat > "$app/smoke.mjs" <<'EOF'
import assert from 'node:assert/strict';
import os from 'node:os';
import { tensor, matmul, rand, randn, seed, sum, exp, add, conv2d, ShapeError } from 'fluxion';

// The public API, from dist/ with plain node.
const W = tensor([[1, 2, 3], [4, 5, 6]]);
assert.deepEqual(matmul(W, [1, 0, -1]).toArray(), [-2, -2]);
assert.equal(sum(W).item(), 21);
assert.equal(String(W), '2×3 Tensor<float64>:\n 1.0  2.0  3.0\n 4.0  5.0  6.0');
assert.throws(() => matmul(tensor([[1, 2, 3]]), tensor([[1, 2]])), ShapeError);
assert.deepEqual(conv2d(tensor([[[[1, 2], [3, 4]]]]), tensor([[[[2]]]])).toArray(), [[[[2, 4], [6, 8]]]]);

// The gemm variants. This reaches into the installed dist/ by file URL, which is the same
// module instance 'fluxion' loaded: if gemm.js or vector.js moves, update this check.
const gemmUrl = new URL('./node_modules/fluxion/dist/backend/cpu/gemm.js', import.meta.url);
const { gemmVariants, setGemmVariant, gemmThreadPool } = await import(gemmUrl.href);
const variants = gemmVariants();
const cores = os.availableParallelism?.() ?? os.cpus().length;
assert.ok(variants.includes('wasm'), `the WebAssembly gemm is available (variants: ${variants})`);
if (cores > 1) assert.ok(variants.includes('threaded'), `the threaded gemm is available on ${cores} cores (variants: ${variants})`);
const pool = gemmThreadPool();
if (pool) assert.ok(pool.waitReady(20000) > 0, 'worker threads started from the installed package');

function reference(a, b, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}
seed(1);
const [m, k, n] = [150, 130, 170]; // above the threaded threshold (96³ multiply-adds)
for (const dtype of ['float32', 'float64']) {
  const a = rand([m, k], { dtype }), b = rand([k, n], { dtype });
  const want = reference(a.data, b.data, m, k, n);
  for (const v of variants) {
    setGemmVariant(v);
    const got = matmul(a, b);
    assert.equal(got.dtype, dtype);
    const tol = dtype === 'float32' ? 1e-4 : 1e-12;
    got.data.forEach((x, i) => {
      if (!(Math.abs(x - want[i]) <= tol * (1 + Math.abs(want[i])))) assert.fail(`${v} ${dtype} matmul[${i}] = ${x}, expected ${want[i]}`);
    });
  }
}
setGemmVariant('auto');
const gemmJobs = pool ? pool.jobCounts().reduce((s, x) => s + x, 0) : 0;
if (pool) assert.ok(gemmJobs > 0, 'the worker threads ran gemm jobs');

// The WebAssembly elementwise maps (and their threaded variant) must agree bit for bit with
// the JavaScript loops.
const vectorUrl = new URL('./node_modules/fluxion/dist/backend/cpu/vector.js', import.meta.url);
const { vectorVariants, setElementwiseVariant } = await import(vectorUrl.href);
const vvariants = vectorVariants();
assert.ok(vvariants.includes('wasm'), `the WebAssembly elementwise kernels are available (variants: ${vvariants})`);
if (pool) assert.ok(vvariants.includes('threaded'), `the threaded elementwise kernels are available (variants: ${vvariants})`);
for (const dtype of ['float32', 'float64']) {
  const z = randn([1 << 16], { dtype });
  setElementwiseVariant('js');
  const want = [exp(z).data, add(z, 1).data];
  for (const v of vvariants) {
    setElementwiseVariant(v);
    const got = [exp(z).data, add(z, 1).data];
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < want[k].length; i++) {
        if (!Object.is(got[k][i], want[k][i])) assert.fail(`${v} ${dtype} ${k ? 'add' : 'exp'}[${i}] = ${got[k][i]}, the JS loop gives ${want[k][i]}`);
      }
    }
  }
}
setElementwiseVariant('auto');
const jobs = pool ? pool.jobCounts().reduce((s, x) => s + x, 0) : 0;
if (pool && vvariants.includes('threaded')) assert.ok(jobs > gemmJobs, 'the worker threads ran elementwise jobs');
console.log(`smoke: ok (gemm variants ${variants.join(', ')}; elementwise variants ${vvariants.join(', ')}; worker jobs ${jobs})`);
EOF
(cd "$app" && timeout 300 node smoke.mjs)

# CommonJS consumers: require() of the ESM package (Node 20.19+ loads it synchronously; the
# package has no top-level await), including a gradient through the AD core.
cat > "$app/smoke.cjs" <<'EOF'
const { tensor, matmul, gradient, mul, add, pow } = require('fluxion');
const y = matmul(tensor([[1, 2]]), tensor([[3], [4]])).item();
const g = gradient((x) => add(mul(3, pow(x, 2)), add(mul(2, x), 1)), 1)[0];
if (y !== 11 || g !== 8) throw new Error(`require smoke: matmul ${y} (expected 11), gradient ${g} (expected 8)`);
console.log('require smoke: ok');
EOF
(cd "$app" && timeout 120 node smoke.cjs)

cat > "$app/consumer.ts" <<'EOF'
import { tensor, matmul, softmax, zeros, type Tensor, type DType, ShapeError } from 'fluxion';

const W: Tensor = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' });
const y: Tensor = matmul(W, [1, 0, -1]);
const dt: DType = y.dtype;
const n: number = y.get(0) + softmax(zeros([3])).sum().item();
const err: Error = new ShapeError('x');
// @ts-expect-error: dtype must be 'float32' or 'float64'
tensor([1], { dtype: 'int32' });
export { n, dt, err };
EOF
cat > "$app/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "lib": ["ES2022"],
    "strict": true, "noEmit": true, "skipLibCheck": false, "types": []
  },
  "files": ["consumer.ts"]
}
EOF
"$root/node_modules/.bin/tsc" -p "$app/tsconfig.json"
say "types: tsc --noEmit passed on a consumer file (strict, skipLibCheck off)"

# fluxion-tsc, the command a project's CI runs instead of tsc for code using operators on
# tensors: the README's operator examples (spec/transform/programs/operators-readme.ts.txt).
# skipLibCheck here: the shipped .d.ts files are checked above; this checks user code.
cp "$root/spec/transform/programs/operators-readme.ts.txt" "$app/ops.ts"
cat > "$app/tsconfig.ops.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "lib": ["ES2022"],
    "strict": true, "noEmit": true, "skipLibCheck": true, "types": []
  },
  "files": ["ops.ts"]
}
EOF
if (cd "$app" && ./node_modules/.bin/tsc -p tsconfig.ops.json >/dev/null); then
  say "plain tsc accepted the operator examples: the fluxion-tsc check below would prove nothing"; exit 1
fi
(cd "$app" && ./node_modules/.bin/fluxion-tsc -p tsconfig.ops.json)
say "fluxion-tsc: the README's operator examples type-check (plain tsc refuses them)"
printf "export const wrong = matmul('abc', W);\n" >> "$app/ops.ts"
if out=$(cd "$app" && ./node_modules/.bin/fluxion-tsc -p tsconfig.ops.json); then
  say "fluxion-tsc passed a string given to matmul"; exit 1
fi
grep -q "error TS2345: Argument of type 'string' is not assignable to parameter of type 'TensorLike'" <<<"$out" \
  || { say "fluxion-tsc failed without the expected error:"; printf '%s\n' "$out"; exit 1; }
say "fluxion-tsc: a genuine type error still fails it"
say "ok"
