/**
 * Exhaustive check that the float32 exp kernel equals the JavaScript loop for every float32
 * input: all 2^32 bit patterns go through the wasm kernel and through
 * `Math.fround(Math.exp(x))`, and the results are compared bit for bit (any NaN equals any NaN).
 *
 *   node --import tsx bench/exhaustive-exp.ts            (about two minutes)
 *
 * The float32 kernel uses a cheaper polynomial than Math.exp's algorithm (see expF32Lanes in
 * src/backend/cpu/wasm/elementwise-kernel.ts); it is only correct because this check passes.
 * Re-run it after changing that kernel or on another V8 version. Not part of `npm test`.
 *
 * @module
 */
import { setElementwiseVariant, tryUnary } from '../src/backend/cpu/vector.js';

setElementwiseVariant('wasm');
const CHUNK = 1 << 22;
const bits = new Uint32Array(CHUNK);
const x = new Float32Array(bits.buffer);
const got = new Float32Array(CHUNK);
const gotBits = new Uint32Array(got.buffer);
const want = new Float32Array(CHUNK);
const wantBits = new Uint32Array(want.buffer);
let mismatches = 0;
const start = performance.now();
for (let base = 0; base < 2 ** 32; base += CHUNK) {
  for (let i = 0; i < CHUNK; i++) bits[i] = base + i;
  if (!tryUnary('exp', x, 0, got, 0, CHUNK)) throw new Error('the wasm exp kernel is not available');
  for (let i = 0; i < CHUNK; i++) want[i] = Math.exp(x[i]!);
  for (let i = 0; i < CHUNK; i++) {
    if (gotBits[i] !== wantBits[i] && !(got[i] !== got[i] && want[i] !== want[i])) {
      if (mismatches++ < 20) console.log(`mismatch: x = ${x[i]} (0x${bits[i]!.toString(16)}): kernel ${got[i]}, Math.exp ${want[i]}`);
    }
  }
  if ((base / CHUNK) % 128 === 127) console.log(`${((base + CHUNK) / 2 ** 32 * 100).toFixed(0)}% (${((performance.now() - start) / 1000).toFixed(0)} s), ${mismatches} mismatches`);
}
console.log(`all 2^32 float32 inputs: ${mismatches} mismatches (${((performance.now() - start) / 1000).toFixed(0)} s)`);
process.exitCode = mismatches === 0 ? 0 : 1;
